//! How the shipments' errors answer: each a problem with its stable code.

use axum::http::StatusCode;
use todoke_shared::ProblemCode;
use todoke_shared::import::ImportReport;

use super::{ImportError, ShipmentError};
use crate::auth::policy::shipment_not_found;
use crate::http::error::ApiError;
use crate::store::StoreError;

impl From<ShipmentError> for ApiError {
    fn from(error: ShipmentError) -> ApiError {
        let detail = error.to_string();
        match error {
            ShipmentError::NotFound => shipment_not_found(),
            ShipmentError::UnknownTrackingNumber => ApiError::not_found(ProblemCode::TrackingNumberUnknown, detail),
            ShipmentError::ExternalRefTaken(_) => {
                ApiError::field(StatusCode::CONFLICT, ProblemCode::ExternalRefTaken, "external_ref", detail)
            }
            ShipmentError::BarcodesTaken(taken) => StoreError::BarcodesTaken(taken).into(),
            ShipmentError::Transition(transition) => {
                ApiError::new(StatusCode::CONFLICT, ProblemCode::InvalidTransition, detail)
                    .with_allowed(transition.allowed())
            }
            ShipmentError::Store(store) => store.into(),
        }
    }
}

impl From<ImportError> for ApiError {
    fn from(error: ImportError) -> ApiError {
        let detail = error.to_string();
        match error {
            ImportError::Empty => ApiError::field(
                StatusCode::UNPROCESSABLE_ENTITY,
                ProblemCode::EmptyFile,
                "header",
                "the file is empty; start it with the header line of the documented columns",
            ),
            ImportError::Header(errors) => ApiError::validation(errors).with_code(ProblemCode::InvalidHeader),
            ImportError::Encoding(_) => {
                ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, ProblemCode::UnsupportedEncoding, detail)
            }
            ImportError::Unreadable { error, report } => {
                if error.kind() == std::io::ErrorKind::FileTooLarge {
                    let limit = crate::http::extract::MAX_CSV_BYTES / (1024 * 1024);
                    let detail = format!("The file is larger than {limit} MiB. {}", lines_taken(&report));
                    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, ProblemCode::FileTooLarge, detail)
                } else {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        ProblemCode::UnreadableBody,
                        format!("{detail}. {}", lines_taken(&report)),
                    )
                }
            }
            ImportError::TooManyLines { report } => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ProblemCode::TooManyLines,
                format!("{detail}. {}", lines_taken(&report)),
            ),
            ImportError::Shipment(error) => error.into(),
        }
    }
}

/// What an import cut short had done, and how to go on.
fn lines_taken(report: &ImportReport) -> String {
    format!(
        "{} lines were taken before that ({} created, {} duplicates, {} failed); lines sent again are reported as \
         duplicates, so the rest can follow in another file.",
        report.lines.len(),
        report.created,
        report.duplicates,
        report.failed
    )
}
