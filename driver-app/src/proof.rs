//! What the driver captured at the door, checked with the shared rules before it is queued: the driver
//! learns at the door, not at sync time, that a photo or a name is missing.

use std::path::Path;

use todoke_shared::driver::ManifestStop;
use todoke_shared::pod::{
    Attachments, AttemptReport, DeliveryReport, MAX_PHOTO_BYTES, MAX_PHOTOS, MAX_SIGNATURE_BYTES, MAX_UPLOAD_BYTES,
    ProofFaults, SignatureStrokes, method_allowed,
};
use todoke_shared::{Catalogue, Language, ValidationErrors};

/// Why an action cannot be queued as it is.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("{0}")]
    Invalid(ValidationErrors),
    #[error("the customer chose another way to receive this parcel")]
    MethodNotAllowed,
    #[error("the proof is incomplete")]
    Incomplete(ProofFaults),
    #[error("{}: {fault}", .path)]
    File { path: String, fault: FileFault },
    #[error("at most {MAX_PHOTOS} photos with one action")]
    TooManyPhotos,
    #[error("the photos and signature are larger than one upload may be")]
    TooLarge,
}

#[derive(Debug, thiserror::Error)]
pub enum FileFault {
    #[error("cannot be read: {0}")]
    Unreadable(std::io::Error),
    #[error("is larger than {} MB", .0 / 1024 / 1024)]
    TooLarge(u64),
    #[error("is not a photo (JPEG, PNG or WebP)")]
    NotAPhoto,
    #[error("is neither signature strokes (JSON) nor a PNG")]
    NotASignature,
    #[error("{0}")]
    BadStrokes(ValidationErrors),
}

impl Refusal {
    /// What the driver should do, line by line, in the driver's language.
    pub fn explain(&self, lang: Language) -> Vec<String> {
        let text = |key: &str, name: &str, value: String| Catalogue::format(lang, key, &[(name, value.into())]);
        match self {
            Refusal::Invalid(errors) => errors.errors().iter().map(|e| format!("{}: {}", e.field, e.message)).collect(),
            Refusal::MethodNotAllowed => vec![Catalogue::text(lang, "driver-refusal-method").to_string()],
            Refusal::Incomplete(faults) => {
                let mut lines: Vec<String> = faults
                    .missing
                    .iter()
                    .map(|proof| text("driver-missing", "proof", proof.label(lang).to_string()))
                    .collect();
                lines.extend(faults.wrong_parcels.iter().map(|code| text("driver-wrong-parcel", "code", code.clone())));
                lines
                    .extend(faults.unscanned_parcels.iter().map(|code| text("driver-unscanned", "code", code.clone())));
                lines
            }
            Refusal::File { path, fault } => vec![format!("{path}: {}", file_fault(fault, lang))],
            Refusal::TooManyPhotos => vec![text("driver-too-many-photos", "max", MAX_PHOTOS.to_string())],
            Refusal::TooLarge => vec![Catalogue::text(lang, "driver-photos-too-large").to_string()],
        }
    }
}

fn file_fault(fault: &FileFault, lang: Language) -> String {
    match fault {
        FileFault::Unreadable(error) => {
            Catalogue::format(lang, "driver-file-unreadable", &[("error", error.to_string().into())])
        }
        FileFault::TooLarge(limit) => {
            Catalogue::format(lang, "driver-file-too-large", &[("mb", (limit / 1024 / 1024).to_string().into())])
        }
        FileFault::NotAPhoto => Catalogue::text(lang, "driver-file-not-photo").into(),
        FileFault::NotASignature => Catalogue::text(lang, "driver-file-not-signature").into(),
        FileFault::BadStrokes(errors) => {
            errors.errors().iter().map(|e| e.message.clone()).collect::<Vec<_>>().join("; ")
        }
    }
}

/// Reads a photo, checking what the server would refuse: its size and that it is an image at all.
pub fn read_photo(path: &Path) -> Result<Vec<u8>, Refusal> {
    let bytes = read_bounded(path, MAX_PHOTO_BYTES)?;
    let is_image = bytes.starts_with(&[0xFF, 0xD8, 0xFF])
        || bytes.starts_with(b"\x89PNG\r\n\x1a\n")
        || (bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP");
    if !is_image {
        return Err(file_refusal(path, FileFault::NotAPhoto));
    }
    Ok(bytes)
}

/// Reads a signature: the strokes JSON a signature pad produces (checked with the shared rules) or a PNG.
pub fn read_signature(path: &Path) -> Result<Vec<u8>, Refusal> {
    let bytes = read_bounded(path, MAX_SIGNATURE_BYTES)?;
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(bytes);
    }
    let strokes: SignatureStrokes =
        serde_json::from_slice(&bytes).map_err(|_| file_refusal(path, FileFault::NotASignature))?;
    strokes.validate().map_err(|errors| file_refusal(path, FileFault::BadStrokes(errors)))?;
    Ok(bytes)
}

/// Reads at most one byte over `limit`: a device file or a file still growing cannot make the read
/// endless, and what is too large is refused.
fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, Refusal> {
    use std::io::Read;
    let unreadable = |e| file_refusal(path, FileFault::Unreadable(e));
    let mut bytes = Vec::new();
    std::fs::File::open(path).and_then(|file| file.take(limit + 1).read_to_end(&mut bytes)).map_err(unreadable)?;
    if bytes.len() as u64 > limit {
        return Err(file_refusal(path, FileFault::TooLarge(limit)));
    }
    Ok(bytes)
}

fn file_refusal(path: &Path, fault: FileFault) -> Refusal {
    Refusal::File { path: path.display().to_string(), fault }
}

/// The rules the server applies to a delivery, applied here first: the report's fields, the method
/// against the customer's choice, and every proof the stop needs.
pub fn check_delivery(
    stop: &ManifestStop,
    report: &DeliveryReport,
    signature: Option<&[u8]>,
    photos: &[Vec<u8>],
) -> Result<(), Refusal> {
    report.validate().map_err(Refusal::Invalid)?;
    if !method_allowed(&stop.preferences.method, &report.method, &stop.flags) {
        return Err(Refusal::MethodNotAllowed);
    }
    check_files(signature, photos)?;
    let attached = Attachments { signature: signature.is_some(), photos: photos.len() };
    let faults = report.faults(&stop.flags, &stop.parcels, attached);
    if !faults.is_empty() {
        return Err(Refusal::Incomplete(faults));
    }
    Ok(())
}

pub fn check_attempt(report: &AttemptReport, photos: &[Vec<u8>]) -> Result<(), Refusal> {
    report.validate().map_err(Refusal::Invalid)?;
    check_files(None, photos)
}

fn check_files(signature: Option<&[u8]>, photos: &[Vec<u8>]) -> Result<(), Refusal> {
    if photos.len() > MAX_PHOTOS {
        return Err(Refusal::TooManyPhotos);
    }
    let total: u64 = photos.iter().map(|p| p.len() as u64).sum::<u64>() + signature.map_or(0, |s| s.len() as u64);
    // Room for the report and the multipart framing.
    if total > MAX_UPLOAD_BYTES - 256 * 1024 {
        return Err(Refusal::TooLarge);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_pad_file_is_checked_and_a_text_file_is_not_a_photo() {
        let dir = tempfile::tempdir().unwrap();
        let strokes = dir.path().join("sig.json");
        std::fs::write(&strokes, r#"{"width": 300, "height": 100, "strokes": [[[10, 50], [290, 60]]]}"#).unwrap();
        assert!(read_signature(&strokes).is_ok());
        let empty = dir.path().join("empty.json");
        std::fs::write(&empty, r#"{"width": 300, "height": 100, "strokes": []}"#).unwrap();
        assert!(matches!(read_signature(&empty), Err(Refusal::File { fault: FileFault::BadStrokes(_), .. })));
        let text = dir.path().join("note.txt");
        std::fs::write(&text, "hello").unwrap();
        assert!(matches!(read_photo(&text), Err(Refusal::File { fault: FileFault::NotAPhoto, .. })));
        #[cfg(unix)]
        assert!(matches!(read_photo(Path::new("/dev/zero")), Err(Refusal::File { fault: FileFault::TooLarge(_), .. })));
        let missing = dir.path().join("gone.jpg");
        assert!(matches!(read_photo(&missing), Err(Refusal::File { fault: FileFault::Unreadable(_), .. })));
    }
}
