//! Proof of delivery's parts, and the files a delivery or attempt writes durably before its
//! transaction: made safe, written once each, and taken back if the request fails.

use std::sync::Arc;

use uuid::Uuid;

use super::error::PodError;
use super::files::{ProofFiles, sha256_hex};
use super::geofence::Geofence;
use super::photo::PhotoPipeline;
use crate::store::pod::{FileRole, PodStore, ProofFile};

/// Proof of delivery's parts: where records and files are kept, how photos are made safe, how far from
/// the door is too far.
pub struct Pod {
    pub store: Arc<dyn PodStore>,
    /// This server instance, which holds the idempotency keys of the actions it handles.
    pub holder: Uuid,
    pub files: ProofFiles,
    pub photos: PhotoPipeline,
    pub geofence: Geofence,
}

/// Files one request wrote, with their hashes for the seal.
pub(super) struct Written {
    pub files: Vec<ProofFile>,
    pub digests: Vec<String>,
    created: Vec<String>,
}

/// Makes each photo safe and small, then writes the signature and the photos durably. A failure takes
/// back what this request wrote.
pub(super) async fn store_files(
    pod: &Pod,
    signature: Option<Vec<u8>>,
    photos: Vec<Vec<u8>>,
) -> Result<Written, PodError> {
    let mut outputs: Vec<(FileRole, Vec<u8>)> = Vec::new();
    if let Some(png) = signature {
        outputs.push((FileRole::Signature, png));
    }
    for (index, photo) in photos.into_iter().enumerate() {
        let processed = pod.photos.process(photo.into()).await.map_err(|error| PodError::Photo { index, error })?;
        outputs.push((FileRole::Display, processed.display));
        outputs.push((FileRole::Thumbnail, processed.thumbnail));
        if let Some(original) = processed.original {
            outputs.push((FileRole::Original, original));
        }
    }
    let mut written = Written { files: Vec::new(), digests: Vec::new(), created: Vec::new() };
    for (role, bytes) in outputs {
        let extension = match role {
            FileRole::Signature => "png",
            FileRole::Original => original_extension(&bytes),
            FileRole::Display | FileRole::Thumbnail => "jpg",
        };
        let digest = sha256_hex(&bytes);
        match pod.files.put(bytes, extension).await {
            Ok(stored) => {
                if stored.created {
                    written.created.push(stored.name.clone());
                }
                written.files.push(ProofFile { role, name: stored.name });
                written.digests.push(digest);
            }
            Err(error) => {
                discard(pod, &written).await;
                return Err(error.into());
            }
        }
    }
    Ok(written)
}

fn original_extension(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(b"\x89PNG") {
        "png"
    } else if bytes.get(8..12) == Some(b"WEBP") {
        "webp"
    } else {
        "jpg"
    }
}

/// Takes back files a failed request wrote, unless a stored proof or another request in flight uses
/// one (the same photo sent with another proof), and lets go of all it held.
pub(super) async fn discard(pod: &Pod, written: &Written) {
    for name in &written.created {
        let in_use = pod.store.file_in_use(name).await.unwrap_or(true);
        if !in_use && let Err(error) = pod.files.remove_unless_shared(name) {
            tracing::warn!(%error, name, "removing a proof file of a failed request failed");
        }
    }
    release(pod, written);
}

pub(super) fn release(pod: &Pod, written: &Written) {
    let names: Vec<String> = written.files.iter().map(|file| file.name.clone()).collect();
    pod.files.release(&names);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_original_photo_keeps_the_extension_of_its_format() {
        assert_eq!(original_extension(b"\x89PNG\r\n\x1a\n...."), "png");
        assert_eq!(original_extension(b"RIFF\x24\x00\x00\x00WEBPVP8 "), "webp");
        assert_eq!(original_extension(b"\xFF\xD8\xFF\xE0"), "jpg");
    }
}
