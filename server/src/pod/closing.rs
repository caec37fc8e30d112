//! What closes a stop, a delivery or a failed attempt: each report's own checks and what its proof
//! records. The way both go is `service::close`.

use chrono::{DateTime, FixedOffset};
use todoke_shared::ValidationErrors;
use todoke_shared::pod::{Attachments, AttemptReport, CaptureLocation, DeliveryReport, ProofOutcome, method_allowed};

use super::error::PodError;
use super::upload::Upload;
use crate::store::ShipmentRecord;
use crate::store::pod::ProofDetails;

/// A report that closes a stop. Both kinds go the same way (the report read
/// and checked, the stop found open, the files stored, then the proof and the shipment's change in one
/// transaction); each says what it checks and what its proof records.
pub trait Closing: serde::de::DeserializeOwned + Send + Sync + 'static {
    /// The action's name in the key's fingerprint.
    const ACTION: &'static str;
    const OUTCOME: ProofOutcome;
    fn validate(&self) -> Result<(), ValidationErrors>;
    fn captured_at(&self) -> DateTime<FixedOffset>;
    fn location(&self) -> CaptureLocation;
    /// What the upload may not carry, checked before the stop is looked at.
    fn check_upload(&self, _upload: &Upload) -> Result<(), PodError> {
        Ok(())
    }
    /// What the proof records, once the report has been held to what the stop's shipment asks.
    fn details(&self, shipment: &ShipmentRecord, upload: &Upload) -> Result<ProofDetails, PodError>;
}

impl Closing for DeliveryReport {
    const ACTION: &'static str = "deliver";
    const OUTCOME: ProofOutcome = ProofOutcome::Delivered;

    fn validate(&self) -> Result<(), ValidationErrors> {
        DeliveryReport::validate(self)
    }

    fn captured_at(&self) -> DateTime<FixedOffset> {
        self.captured_at
    }

    fn location(&self) -> CaptureLocation {
        self.location
    }

    fn details(&self, shipment: &ShipmentRecord, upload: &Upload) -> Result<ProofDetails, PodError> {
        let content = &shipment.content;
        if !method_allowed(&content.preferences.method, &self.method, &content.flags) {
            return Err(PodError::MethodNotAllowed);
        }
        let parcels: Vec<String> = content.parcels.iter().map(|p| p.barcode.clone()).collect();
        let attached = Attachments { signature: upload.signature.is_some(), photos: upload.photos.len() };
        let faults = self.faults(&content.flags, &parcels, attached);
        if !faults.is_empty() {
            return Err(PodError::Incomplete(faults));
        }
        Ok(ProofDetails {
            method: Some(self.method.clone()),
            recipient_name: self.recipient_name.as_deref().map(str::trim).map(str::to_string),
            age_checked: self.age_checked,
            scanned: self.scanned.iter().map(|s| s.trim().to_string()).collect(),
            ..ProofDetails::default()
        })
    }
}

impl Closing for AttemptReport {
    const ACTION: &'static str = "fail";
    const OUTCOME: ProofOutcome = ProofOutcome::AttemptFailed;

    fn validate(&self) -> Result<(), ValidationErrors> {
        AttemptReport::validate(self)
    }

    fn captured_at(&self) -> DateTime<FixedOffset> {
        self.captured_at
    }

    fn location(&self) -> CaptureLocation {
        self.location
    }

    fn check_upload(&self, upload: &Upload) -> Result<(), PodError> {
        if upload.signature.is_some() {
            return Err(PodError::Invalid(ValidationErrors::single(
                "signature",
                "not_allowed",
                "a failed attempt has no signature; send the reason and photos of the door",
            )));
        }
        Ok(())
    }

    fn details(&self, _shipment: &ShipmentRecord, _upload: &Upload) -> Result<ProofDetails, PodError> {
        Ok(ProofDetails {
            reason: Some(self.reason),
            note: self.note.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_string),
            ..ProofDetails::default()
        })
    }
}
