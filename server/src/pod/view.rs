//! A stored proof as people see it: local times, the details, and links to its files.

use todoke_shared::pod::{Integrity, PhotoLinks, ProofView};
use uuid::Uuid;

use super::files::{ProofFiles, sha256_hex};
use super::integrity::seal;
use crate::auth::Caller;
use crate::auth::tokens::Keys;
use crate::http::error::ApiError;
use crate::links::Links;
use crate::store::pod::ProofDetails;
use crate::store::pod::{FileRole, ProofRecord};
use crate::store::{ShipmentRecord, StoreError};

/// Where a caller fetches a shipment's proof files: a customer's links carry their token.
pub struct FileLinks {
    base: String,
    token: Option<String>,
}

impl FileLinks {
    pub fn new(links: &Links, keys: &Keys, caller: &Caller, shipment_id: Uuid) -> FileLinks {
        let token = matches!(caller, Caller::Customer { .. }).then(|| keys.customer_link(shipment_id));
        FileLinks { base: format!("{}/api/v1/shipments/{shipment_id}/pod/files/", links.public_url()), token }
    }

    fn url(&self, name: &str) -> String {
        match &self.token {
            Some(token) => format!("{}{name}?k={token}", self.base),
            None => format!("{}{name}", self.base),
        }
    }
}

pub fn proof_view(
    shipment: &ShipmentRecord,
    proof: &ProofRecord,
    links: &FileLinks,
    integrity: Option<Integrity>,
) -> Result<ProofView, ApiError> {
    let details: ProofDetails =
        serde_json::from_str(&proof.details).map_err(|e| StoreError::Corrupt(format!("proof details: {e}")))?;
    let address = &shipment.content.address;
    let mut photos = Vec::new();
    let mut signature_url = None;
    let mut display = None;
    for file in &proof.files {
        match file.role {
            FileRole::Signature => signature_url = Some(links.url(&file.name)),
            FileRole::Display => display = Some(links.url(&file.name)),
            FileRole::Thumbnail => {
                if let Some(display_url) = display.take() {
                    photos.push(PhotoLinks { display_url, thumbnail_url: links.url(&file.name) });
                }
            }
            // Originals keep the phone's metadata; staff fetch them by name, nobody is linked to them.
            FileRole::Original => {}
        }
    }
    Ok(ProofView {
        id: proof.id,
        outcome: proof.outcome,
        captured_at: address.local_time(proof.captured_at),
        recorded_at: address.local_time(proof.recorded_at),
        method: details.method,
        recipient_name: details.recipient_name,
        reason: details.reason,
        note: details.note,
        distance_m: proof.distance_m,
        far_from_address: proof.flagged,
        photos,
        signature_url,
        scanned: details.scanned,
        integrity,
    })
}

/// Hashes the files as they are on disk now and seals again: a missing or changed file, or a changed
/// record, no longer matches the seal taken when the proof was accepted.
pub async fn integrity(files: &ProofFiles, proof: &ProofRecord) -> Integrity {
    let mut digests = Vec::with_capacity(proof.files.len());
    for file in &proof.files {
        let digest = match files.read(&file.name).await {
            Ok(bytes) => sha256_hex(&bytes),
            Err(_) => "missing".to_string(),
        };
        digests.push(digest);
    }
    Integrity { sha256: proof.sha256.clone(), intact: seal(proof, &digests) == proof.sha256 }
}
