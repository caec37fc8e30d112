//! What can go wrong in proof of delivery, and how each answers: each a problem with its stable code, a missing proof named at
//! its field with what the driver should do.

use std::io;

use axum::http::{StatusCode, header};
use todoke_shared::pod::ProofFaults;
use todoke_shared::preferences::Proof;
use todoke_shared::{ProblemCode, ShipmentStatus, ValidationErrors};

use super::photo::PhotoError;
use super::signature::SignatureError;
use crate::http::error::ApiError;
use crate::http::extract::JsonError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum PodError {
    #[error("this Idempotency-Key was used for a different request; make a new key for a new action")]
    KeyReused,
    #[error("a request with this Idempotency-Key is still being handled; retry in a few seconds")]
    InProgress,
    #[error("no stop has this id; fetch the manifest again")]
    StopNotFound,
    #[error("this stop is now on another driver's route; fetch the manifest again")]
    NotYourStop,
    #[error("this stop's route has not been dispatched yet")]
    NotDispatched,
    #[error("the shipment is '{}' now, so this stop is closed; fetch the manifest again", .0.as_str())]
    StopClosed(ShipmentStatus),
    #[error("{0}")]
    Invalid(ValidationErrors),
    /// The report's JSON does not parse: which fields, or why it is not JSON.
    #[error("the report could not be read")]
    Unreadable(JsonError),
    #[error(
        "the customer chose another way to receive this parcel, or it must be handed over in person; \
         deliver it as chosen or hand it over"
    )]
    MethodNotAllowed,
    #[error("the proof is incomplete")]
    Incomplete(ProofFaults),
    #[error("photo {}: {error}", index + 1)]
    Photo { index: usize, error: PhotoError },
    #[error("signature: {0}")]
    Signature(SignatureError),
    #[error("storing the proof's files failed: {0}")]
    Files(#[from] io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<PodError> for ApiError {
    fn from(error: PodError) -> ApiError {
        let detail = error.to_string();
        let conflict = |code| ApiError::new(StatusCode::CONFLICT, code, detail.clone());
        match error {
            PodError::KeyReused => ApiError::field(
                StatusCode::UNPROCESSABLE_ENTITY,
                ProblemCode::IdempotencyKeyReused,
                "Idempotency-Key",
                detail,
            ),
            PodError::InProgress => conflict(ProblemCode::RequestInProgress).with_header(header::RETRY_AFTER, "2"),
            PodError::StopNotFound => ApiError::not_found(ProblemCode::StopNotFound, detail),
            PodError::NotYourStop => conflict(ProblemCode::StopReassigned),
            PodError::NotDispatched => conflict(ProblemCode::RouteNotDispatched),
            PodError::StopClosed(status) => conflict(ProblemCode::StopClosed).with_allowed(status.allowed_next()),
            PodError::Invalid(errors) => ApiError::validation(errors),
            PodError::Unreadable(json) => json.into(),
            PodError::MethodNotAllowed => {
                ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, ProblemCode::MethodNotAllowed, "method", detail)
            }
            PodError::Incomplete(faults) => {
                let mut errors = ValidationErrors::new();
                for proof in &faults.missing {
                    let (field, message) = missing_proof(*proof);
                    errors.add(field, "required", message);
                }
                for barcode in &faults.wrong_parcels {
                    errors.add("scanned", "wrong_parcel", format!("{barcode} is not a parcel of this shipment"));
                }
                for barcode in &faults.unscanned_parcels {
                    errors.add("scanned", "not_scanned", format!("scan parcel {barcode} too"));
                }
                let api = ApiError::validation(errors).with_code(ProblemCode::ProofIncomplete);
                let detail = format!("The proof is not complete: {}", api.summary().1.join("; "));
                api.with_detail(detail)
            }
            PodError::Photo { index, error } => {
                let status = match error {
                    PhotoError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                    _ => StatusCode::UNPROCESSABLE_ENTITY,
                };
                ApiError::field(status, error.code(), &format!("photo[{index}]"), error.to_string())
            }
            PodError::Signature(error) => {
                ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, error.code(), "signature", error.to_string())
            }
            PodError::Files(io) => {
                tracing::error!(error = %io, "writing proof files failed");
                ApiError::internal()
            }
            PodError::Store(store) => store.into(),
        }
    }
}

/// Where a missing proof goes in the request, and what the driver should do.
fn missing_proof(proof: Proof) -> (&'static str, &'static str) {
    match proof {
        Proof::Signature => ("signature", "the recipient's signature is required"),
        Proof::RecipientName => ("recipient_name", "write down who took the parcel"),
        Proof::Photo => ("photo", "take a photo of the parcel where it was left"),
        Proof::NeighbourName => ("method.name", "write down the neighbour's name"),
        Proof::NeighbourDoor => ("method.door", "write down the neighbour's door or room number"),
        Proof::PickupPointId => ("method.point_id", "name the pickup point"),
        Proof::Scan => ("scanned", "scan the parcels at the pickup point"),
        Proof::AgeCheck => ("age_checked", "check the recipient's age against an ID"),
    }
}
