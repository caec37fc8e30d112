//! The tamper-evident seal of a proof: one SHA-256 over its metadata and the hash of every stored
//! file. Taken when the proof is accepted and kept with it; recomputed from the files on disk when
//! staff look, so a file or field changed since no longer matches.

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::store::pod::ProofRecord;

/// The seal of `proof` (its `sha256` field aside) given the SHA-256 of each of its files' bytes, in
/// the order of `proof.files`.
pub fn seal(proof: &ProofRecord, file_digests: &[String]) -> String {
    let files: Vec<_> = proof
        .files
        .iter()
        .zip(file_digests)
        .map(|(file, digest)| json!({"role": file.role.as_str(), "name": file.name, "sha256": digest}))
        .collect();
    // Field order is fixed by this literal, and timestamps by RFC 3339 in UTC to the millisecond, so
    // the same proof always serialises to the same bytes.
    let document = json!({
        "id": proof.id,
        "shipment_id": proof.shipment_id,
        "stop_id": proof.stop_id,
        "driver_id": proof.driver_id,
        "outcome": proof.outcome,
        "captured_at": proof.captured_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "recorded_at": proof.recorded_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "location": proof.location,
        "distance_m": proof.distance_m,
        "flagged": proof.flagged,
        "details": proof.details,
        "files": files,
    });
    format!("{:x}", Sha256::digest(document.to_string().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::pod::{FileRole, ProofFile};
    use todoke_shared::pod::{CaptureLocation, ProofOutcome};
    use uuid::Uuid;

    fn proof() -> ProofRecord {
        let at = "2026-11-24T01:02:03.456Z".parse().unwrap();
        ProofRecord {
            id: Uuid::now_v7(),
            shipment_id: Uuid::now_v7(),
            stop_id: Uuid::now_v7(),
            driver_id: Uuid::now_v7(),
            outcome: ProofOutcome::Delivered,
            captured_at: at,
            recorded_at: at,
            location: CaptureLocation { lat: 35.0, lon: 139.0, accuracy_m: Some(5.0) },
            distance_m: 12.0,
            flagged: false,
            details: r#"{"recipient_name":"Sato"}"#.into(),
            files: vec![ProofFile { role: FileRole::Signature, name: "a.png".into() }],
            sha256: String::new(),
        }
    }

    #[test]
    fn any_change_to_a_file_or_a_field_breaks_the_seal() {
        let proof = proof();
        let sealed = seal(&proof, &["1".repeat(64)]);
        assert_eq!(seal(&proof, &["1".repeat(64)]), sealed);
        assert_ne!(seal(&proof, &["2".repeat(64)]), sealed);
        let mut renamed = proof.clone();
        renamed.details = r#"{"recipient_name":"Suzuki"}"#.into();
        assert_ne!(seal(&renamed, &["1".repeat(64)]), sealed);
    }
}
