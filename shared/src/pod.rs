//! Proof of delivery as the driver's phone reports it: what happened at the door, and the rules that
//! decide whether the proof is complete. The driver app checks these before queuing an action, and
//! the server checks them again on arrival.

use std::collections::BTreeSet;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::preferences::{DeliveryMethod, Proof, ShipmentFlags, pod_requirements};
use crate::shipment::{GeoPoint, coordinate};
use crate::status::{ReasonCode, ShipmentStatus};
use crate::validation::{ValidationErrors, optional_text, text};

pub const MAX_NAME: usize = 100;
pub const MAX_NOTE: usize = 500;
pub const MAX_SCANS: usize = 50;
pub const MAX_BARCODE: usize = 64;
/// Photos with one action; more is rarely proof and always upload time.
pub const MAX_PHOTOS: usize = 8;
pub const MAX_STROKES: usize = 200;
pub const MAX_SIGNATURE_POINTS: usize = 20_000;
pub const MAX_PAD_SIDE: u32 = 4096;
/// Upload limits the server enforces while a part streams in; the app checks them before queuing.
pub const MAX_REPORT_BYTES: u64 = 64 * 1024;
pub const MAX_SIGNATURE_BYTES: u64 = 2 * 1024 * 1024;
pub const MAX_PHOTO_BYTES: u64 = 20 * 1024 * 1024;
/// Eight phone photos of a few megabytes each fit easily; a request holds at most this in memory.
pub const MAX_UPLOAD_BYTES: u64 = 64 * 1024 * 1024;

/// Where the phone was when the driver acted.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CaptureLocation {
    pub lat: f64,
    pub lon: f64,
    /// The phone's own estimate, in metres.
    #[serde(default)]
    pub accuracy_m: Option<f64>,
}

impl CaptureLocation {
    pub fn point(&self) -> GeoPoint {
        GeoPoint { lat: self.lat, lon: self.lon }
    }

    fn validate(&self, errors: &mut ValidationErrors) {
        errors.check("location.lat", coordinate(self.lat, 90.0));
        errors.check("location.lon", coordinate(self.lon, 180.0));
        if self.accuracy_m.is_some_and(|a| !(0.0..=100_000.0).contains(&a)) {
            errors.add("location.accuracy_m", "out_of_range", "give metres from 0 to 100000, or leave it out");
        }
    }
}

/// The driver reached the stop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ArrivalReport {
    pub captured_at: DateTime<FixedOffset>,
    pub location: CaptureLocation,
}

/// The JSON part of a delivery: how the parcel changed hands. The signature and photos travel as
/// their own parts beside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeliveryReport {
    /// When the driver captured the proof (the phone's clock; it may be hours before the upload).
    pub captured_at: DateTime<FixedOffset>,
    pub location: CaptureLocation,
    /// The method actually used: the safe place's spot, the neighbour's name and door, live here.
    pub method: DeliveryMethod,
    /// Who took the parcel, when it was handed over.
    #[serde(default)]
    pub recipient_name: Option<String>,
    /// The recipient's age was checked against an ID.
    #[serde(default)]
    pub age_checked: bool,
    /// The parcel barcodes scanned at the door.
    #[serde(default)]
    pub scanned: Vec<String>,
}

/// The JSON part of a failed attempt; photos of the door may travel beside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AttemptReport {
    pub captured_at: DateTime<FixedOffset>,
    pub location: CaptureLocation,
    /// One of [`ATTEMPT_REASONS`].
    pub reason: ReasonCode,
    #[serde(default)]
    pub note: Option<String>,
}

/// Why a driver may fail an attempt at the door; the rest are for staff (lost, sender request).
pub const ATTEMPT_REASONS: [ReasonCode; 9] = [
    ReasonCode::RecipientNotHome,
    ReasonCode::Refused,
    ReasonCode::AddressNotFound,
    ReasonCode::AccessRestricted,
    ReasonCode::SafePlaceUnavailable,
    ReasonCode::BusinessClosed,
    ReasonCode::Damaged,
    ReasonCode::Weather,
    ReasonCode::Other,
];

/// A signature as a pad draws it: strokes of points in the pad's own pixels, origin top left.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignatureStrokes {
    pub width: u32,
    pub height: u32,
    /// Each stroke is the points of one touch, `[x, y]`, in order.
    pub strokes: Vec<Vec<[f32; 2]>>,
}

impl SignatureStrokes {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        for (name, side) in [("signature.width", self.width), ("signature.height", self.height)] {
            if !(16..=MAX_PAD_SIDE).contains(&side) {
                errors.add(name, "out_of_range", format!("give the pad's size in pixels, 16 to {MAX_PAD_SIDE}"));
            }
        }
        let points: usize = self.strokes.iter().map(Vec::len).sum();
        if self.strokes.is_empty() || points < 2 {
            errors.add("signature.strokes", "required", "the signature is empty; ask the recipient to sign");
        } else if self.strokes.len() > MAX_STROKES || points > MAX_SIGNATURE_POINTS {
            errors.add(
                "signature.strokes",
                "too_long",
                format!("at most {MAX_STROKES} strokes and {MAX_SIGNATURE_POINTS} points; simplify the strokes"),
            );
        }
        let (w, h) = (self.width as f32, self.height as f32);
        let outside = self.strokes.iter().flatten().any(|[x, y]| !(0.0..=w).contains(x) || !(0.0..=h).contains(y));
        if outside {
            errors.add("signature.strokes", "out_of_range", "every point must lie on the pad (0..width, 0..height)");
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}

/// What travelled beside the JSON part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Attachments {
    pub signature: bool,
    pub photos: usize,
}

/// Why a delivery's proof was refused: exactly what is missing or wrong, so the driver can fix it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProofFaults {
    /// Required proof not captured.
    pub missing: Vec<Proof>,
    /// Scanned barcodes that belong to no parcel of this shipment: the wrong parcel.
    pub wrong_parcels: Vec<String>,
    /// This shipment's parcels not scanned, when scanning is required.
    pub unscanned_parcels: Vec<String>,
}

impl ProofFaults {
    pub fn is_empty(&self) -> bool {
        self.missing.is_empty() && self.wrong_parcels.is_empty() && self.unscanned_parcels.is_empty()
    }
}

impl DeliveryReport {
    /// Checks the fields themselves (ranges and lengths).
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        self.location.validate(&mut errors);
        self.method.clone().tidy(&mut errors, "", None);
        errors.check("recipient_name", optional_text(self.recipient_name.as_deref(), MAX_NAME));
        if self.scanned.len() > MAX_SCANS {
            errors.add("scanned", "too_long", format!("at most {MAX_SCANS} barcodes"));
        }
        for (i, code) in self.scanned.iter().enumerate() {
            errors.check(&format!("scanned[{i}]"), text(code, MAX_BARCODE));
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }

    /// The proof this delivery needs, everything missing from it, and scans of the wrong parcel.
    /// `parcels` are the shipment's barcodes.
    pub fn faults(&self, flags: &ShipmentFlags, parcels: &[String], attached: Attachments) -> ProofFaults {
        let required = pod_requirements(&self.method, flags).unwrap_or_default();
        let filled = |value: &str| !value.trim().is_empty();
        let missing = required
            .into_iter()
            .filter(|proof| match proof {
                Proof::Signature => !attached.signature,
                Proof::RecipientName => !self.recipient_name.as_deref().is_some_and(filled),
                Proof::Photo => attached.photos == 0,
                Proof::NeighbourName => !matches!(&self.method, DeliveryMethod::Neighbour { name, .. } if filled(name)),
                Proof::NeighbourDoor => !matches!(&self.method, DeliveryMethod::Neighbour { door, .. } if filled(door)),
                Proof::PickupPointId => {
                    !matches!(&self.method, DeliveryMethod::PickupPoint { point_id } if filled(point_id))
                }
                Proof::Scan => self.scanned.is_empty(),
                Proof::AgeCheck => !self.age_checked,
            })
            .collect::<Vec<_>>();
        let known: BTreeSet<&str> = parcels.iter().map(|p| p.trim()).collect();
        let scanned: BTreeSet<&str> = self.scanned.iter().map(|s| s.trim()).collect();
        let wrong_parcels = scanned.difference(&known).map(|s| s.to_string()).collect();
        let scan_required = pod_requirements(&self.method, flags).is_ok_and(|r| r.contains(&Proof::Scan));
        let unscanned_parcels = if scan_required && !self.scanned.is_empty() {
            known.difference(&scanned).map(|s| s.to_string()).collect()
        } else {
            Vec::new()
        };
        ProofFaults { missing, wrong_parcels, unscanned_parcels }
    }
}

/// Whether the driver may deliver by `used` when the customer chose `chosen`. Handing over in person
/// is always fine at the door; otherwise the customer's choice stands (a safe place may differ in
/// spot, a neighbour in who), and a pickup point must be the one chosen.
pub fn method_allowed(chosen: &DeliveryMethod, used: &DeliveryMethod, flags: &ShipmentFlags) -> bool {
    if pod_requirements(used, flags).is_err() {
        return false;
    }
    match (chosen, used) {
        (DeliveryMethod::PickupPoint { point_id: a }, DeliveryMethod::PickupPoint { point_id: b }) => a == b,
        (DeliveryMethod::PickupPoint { .. }, _) => false,
        (_, DeliveryMethod::HandToRecipient) => true,
        (chosen, used) => std::mem::discriminant(chosen) == std::mem::discriminant(used),
    }
}

impl AttemptReport {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        self.location.validate(&mut errors);
        if !ATTEMPT_REASONS.contains(&self.reason) {
            let codes: Vec<String> =
                ATTEMPT_REASONS.iter().map(|r| serde_json::to_string(r).unwrap_or_default()).collect();
            errors.add("reason", "not_allowed", format!("a driver fails an attempt with one of {}", codes.join(", ")));
        }
        errors.check("note", optional_text(self.note.as_deref(), MAX_NOTE));
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}

impl ArrivalReport {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        self.location.validate(&mut errors);
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}

/// The server's answer to a stop action; a retry with the same `Idempotency-Key` gets these bytes again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StopReceipt {
    pub stop_id: Uuid,
    pub shipment_id: Uuid,
    /// The shipment's status after the action.
    pub status: ShipmentStatus,
    /// The proof stored (deliver and fail).
    pub proof_id: Option<Uuid>,
    /// Metres from the capture location to the address.
    pub distance_m: Option<f64>,
    /// Captured too far from the address: accepted, and shown to staff for review.
    pub flagged: bool,
}

/// The outcome a proof records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProofOutcome {
    Delivered,
    AttemptFailed,
}

/// One stored photo: a display size and a thumbnail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhotoLinks {
    pub display_url: String,
    pub thumbnail_url: String,
}

/// Whether the stored files and metadata still match the hash taken when the proof was accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Integrity {
    /// SHA-256 over the stored files and the metadata, hex.
    pub sha256: String,
    /// False when a file or the record changed since.
    pub intact: bool,
}

/// A proof as staff, the merchant and the customer's link see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProofView {
    pub id: Uuid,
    pub outcome: ProofOutcome,
    pub captured_at: DateTime<FixedOffset>,
    pub recorded_at: DateTime<FixedOffset>,
    /// How it was delivered (deliveries).
    pub method: Option<DeliveryMethod>,
    pub recipient_name: Option<String>,
    /// Why the attempt failed (attempts).
    pub reason: Option<ReasonCode>,
    pub note: Option<String>,
    /// Metres from the capture location to the address.
    pub distance_m: f64,
    /// Captured farther from the address than the configured threshold: for staff review.
    pub far_from_address: bool,
    pub photos: Vec<PhotoLinks>,
    pub signature_url: Option<String>,
    pub scanned: Vec<String>,
    /// Staff only: the tamper-evident hash and whether it still holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integrity: Option<Integrity>,
}

/// A shipment's proofs, newest first: the delivery, and every failed attempt before it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PodView {
    pub shipment_id: Uuid,
    pub status: ShipmentStatus,
    pub proofs: Vec<ProofView>,
    /// What the customer said about the delivery, from the link in the delivery slip.
    pub feedback: Option<Feedback>,
}

pub const MAX_FEEDBACK_COMMENT: usize = 1000;

/// The customer's word on a delivery: one to five stars and, if they like, a comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Feedback {
    pub rating: u8,
    pub comment: Option<String>,
}

impl Feedback {
    pub fn parse(rating: Option<&str>, comment: Option<&str>) -> Result<Feedback, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let rating = match rating.map(str::trim).and_then(|r| r.parse::<u8>().ok()) {
            Some(stars @ 1..=5) => stars,
            _ => {
                errors.add("rating", "out_of_range", "choose from one to five stars");
                0
            }
        };
        let comment = errors.check("comment", optional_text(comment, MAX_FEEDBACK_COMMENT)).flatten();
        if errors.is_empty() { Ok(Feedback { rating, comment }) } else { Err(errors) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preferences::SafePlace;

    fn report(method: DeliveryMethod) -> DeliveryReport {
        DeliveryReport {
            captured_at: "2026-11-24T10:00:00+09:00".parse().unwrap(),
            location: CaptureLocation { lat: 35.68, lon: 139.76, accuracy_m: Some(8.0) },
            method,
            recipient_name: None,
            age_checked: false,
            scanned: Vec::new(),
        }
    }

    #[test]
    fn a_hand_over_lists_what_is_missing() {
        let parcels = vec!["TDK1".to_string()];
        let faults = report(DeliveryMethod::HandToRecipient).faults(
            &ShipmentFlags { age_check: true, ..Default::default() },
            &parcels,
            Attachments::default(),
        );
        assert_eq!(faults.missing, vec![Proof::Signature, Proof::RecipientName, Proof::AgeCheck]);

        let mut done = report(DeliveryMethod::HandToRecipient);
        done.recipient_name = Some("Sato".into());
        done.age_checked = true;
        let attached = Attachments { signature: true, photos: 0 };
        assert!(done.faults(&ShipmentFlags { age_check: true, ..Default::default() }, &parcels, attached).is_empty());
    }

    #[test]
    fn a_wrong_parcel_is_named() {
        let mut safe = report(DeliveryMethod::SafePlace { place: SafePlace::DeliveryBox, description: None });
        safe.scanned = vec!["TDK1".into(), "OTHER".into()];
        let faults =
            safe.faults(&ShipmentFlags::default(), &["TDK1".into()], Attachments { signature: false, photos: 1 });
        assert_eq!(faults.missing, Vec::<Proof>::new());
        assert_eq!(faults.wrong_parcels, vec!["OTHER".to_string()]);
    }

    #[test]
    fn a_pickup_point_needs_every_parcel_scanned() {
        let mut pickup = report(DeliveryMethod::PickupPoint { point_id: "lawson-1".into() });
        pickup.scanned = vec!["A".into()];
        let faults = pickup.faults(&ShipmentFlags::default(), &["A".into(), "B".into()], Attachments::default());
        assert_eq!(faults.unscanned_parcels, vec!["B".to_string()]);
    }

    #[test]
    fn the_customers_choice_bounds_the_method() {
        let flags = ShipmentFlags::default();
        let safe = DeliveryMethod::SafePlace { place: SafePlace::DeliveryBox, description: None };
        let door = DeliveryMethod::SafePlace { place: SafePlace::FrontDoor, description: None };
        let neighbour = DeliveryMethod::Neighbour { name: "Ito".into(), door: "102".into() };
        assert!(method_allowed(&safe, &DeliveryMethod::HandToRecipient, &flags));
        assert!(method_allowed(&safe, &door, &flags));
        assert!(!method_allowed(&DeliveryMethod::HandToRecipient, &safe, &flags));
        assert!(!method_allowed(&safe, &neighbour, &flags));
        let valuable = ShipmentFlags { declared_value_jpy: Some(50_000), ..Default::default() };
        assert!(!method_allowed(&safe, &door, &valuable));
    }

    #[test]
    fn a_signature_must_have_ink_on_the_pad() {
        let empty = SignatureStrokes { width: 300, height: 100, strokes: vec![] };
        assert!(empty.validate().is_err());
        let off_pad = SignatureStrokes { width: 300, height: 100, strokes: vec![vec![[0.0, 0.0], [400.0, 50.0]]] };
        assert!(off_pad.validate().is_err());
        let good = SignatureStrokes { width: 300, height: 100, strokes: vec![vec![[10.0, 50.0], [290.0, 60.0]]] };
        assert!(good.validate().is_ok());
    }

    #[test]
    fn the_methods_own_text_is_checked() {
        let long = "x".repeat(500);
        let report = report(DeliveryMethod::Neighbour { name: long, door: "\u{7}".into() });
        let fields: Vec<String> = report.validate().unwrap_err().into_errors().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["method.name", "method.door"]);
    }

    #[test]
    fn feedback_is_one_to_five_stars() {
        assert_eq!(Feedback::parse(Some("4"), Some("  ")).unwrap(), Feedback { rating: 4, comment: None });
        assert!(Feedback::parse(Some("6"), None).is_err());
        assert!(Feedback::parse(None, Some("great")).is_err());
    }

    #[test]
    fn only_door_reasons_fail_an_attempt() {
        let mut attempt = AttemptReport {
            captured_at: "2026-11-24T10:00:00+09:00".parse().unwrap(),
            location: CaptureLocation { lat: 35.68, lon: 139.76, accuracy_m: None },
            reason: ReasonCode::RecipientNotHome,
            note: None,
        };
        assert!(attempt.validate().is_ok());
        attempt.reason = ReasonCode::Lost;
        assert!(attempt.validate().is_err());
    }
}
