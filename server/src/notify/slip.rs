//! The delivery slip's proof, for the delivered notice: when and how the parcel changed hands, who
//! took it, and the photo and signature to show inline.

use chrono::{DateTime, Utc};
use todoke_shared::preferences::DeliveryMethod;
use uuid::Uuid;

use crate::pod::Pod;
use crate::store::pod::FileRole;
use crate::store::pod::ProofDetails;

pub struct Slip {
    pub captured_at: DateTime<Utc>,
    pub method: Option<DeliveryMethod>,
    pub received_by: Option<String>,
    /// The first photo's thumbnail: small enough for any mailbox, the full one is a link away.
    pub photo: Option<Vec<u8>>,
    pub signature: Option<Vec<u8>>,
}

/// The proof a notice names in its payload, with its images; `None` when it names none. A file that
/// cannot be read leaves its image out rather than holding the notice back.
pub async fn load(pod: &Pod, shipment_id: Uuid, proof_id: Option<Uuid>) -> anyhow::Result<Option<Slip>> {
    let Some(proof_id) = proof_id else { return Ok(None) };
    let proofs = pod.store.proofs(shipment_id).await?;
    let Some(proof) = proofs.into_iter().find(|p| p.id == proof_id) else { return Ok(None) };
    let details: ProofDetails = serde_json::from_str(&proof.details)?;
    let image = |role: FileRole| proof.files.iter().find(|f| f.role == role).map(|f| f.name.clone());
    let read = |name: Option<String>| async move {
        let name = name?;
        match pod.files.read(&name).await {
            Ok(bytes) => Some(bytes),
            Err(error) => {
                tracing::warn!(%error, name, "a proof image is missing from the delivery slip");
                None
            }
        }
    };
    Ok(Some(Slip {
        captured_at: proof.captured_at,
        method: details.method,
        received_by: details.recipient_name,
        photo: read(image(FileRole::Thumbnail)).await,
        signature: read(image(FileRole::Signature)).await,
    }))
}
