//! The one error type of the HTTP layer and its single mapping to `application/problem+json`
//! (RFC 9457). Every failure, from a malformed body to a database outage, leaves through here.

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use todoke_shared::import::ImportReport;
use todoke_shared::preferences::Proof;
use todoke_shared::{FieldError, ShipmentStatus, TrackingNumberError, ValidationErrors};

use crate::auth::AccountError;
use crate::dispatch::DispatchError;
use crate::http::rate_limit::too_many_requests;
use crate::pod::PodError;
use crate::pod::photo::PhotoError;
use crate::preferences::Locked;
use crate::shipments::{ImportError, ShipmentError, barcode_taken};
use crate::store::{BarcodeTaken, StoreError};

/// An error as the client will see it. Boxed: it travels through every handler's `Result`.
#[derive(Debug)]
pub struct ApiError(Box<Details>);

#[derive(Debug)]
struct Details {
    headers: Vec<(HeaderName, HeaderValue)>,
    status: StatusCode,
    code: &'static str,
    detail: String,
    errors: Vec<FieldError>,
    allowed: Option<&'static [ShipmentStatus]>,
    locked: Option<Locked>,
}

/// The problem document (RFC 9457), sent as `application/problem+json`. `code` is stable; `title` and
/// `detail` are for people.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:todoke:problem:{code}`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code, such as `validation_failed` or `invalid_transition`.
    pub code: String,
    /// For validation problems: every failing field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// For `invalid_transition`: the statuses the shipment may move to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<ShipmentStatus>>,
    /// For `preferences_locked`: when the cut-off passed, and what may still change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cutoff_at: Option<chrono::DateTime<chrono::Utc>>,
    /// For `preferences_locked`: the fields that may still change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changeable: Option<Vec<&'static str>>,
    /// The same as the `x-request-id` response header: give it to support, it finds the log line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError(Box::new(Details {
            headers: Vec::new(),
            status,
            code,
            detail: detail.into(),
            errors: Vec::new(),
            allowed: None,
            locked: None,
        }))
    }

    /// Adds a response header, such as `Retry-After` or `WWW-Authenticate`.
    pub fn with_header(mut self, name: HeaderName, value: &str) -> ApiError {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.0.headers.push((name, value));
        }
        self
    }

    pub fn validation(errors: ValidationErrors) -> ApiError {
        let mut error = ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            format!("Some fields need fixing: {errors}"),
        );
        error.0.errors = errors.into_errors();
        error
    }

    pub fn field(status: StatusCode, code: &'static str, field: &str, message: impl Into<String>) -> ApiError {
        let message = message.into();
        let mut error = ApiError::new(status, code, format!("{field}: {message}"));
        error.0.errors = ValidationErrors::single(field, code, message).into_errors();
        error
    }

    /// Several fields at fault, under one code, such as every value of the wrong type in a body.
    pub fn fields(status: StatusCode, code: &'static str, errors: ValidationErrors) -> ApiError {
        let mut error = ApiError::validation(errors);
        error.0.status = status;
        error.0.code = code;
        error
    }

    pub fn not_found(code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, code, detail)
    }

    pub fn internal() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Something went wrong on our side. Please try again; if it persists, contact support with the request id.",
        )
    }

    pub fn detail(&self) -> &str {
        &self.0.detail
    }

    /// The status, and each failing field's message, for a page to show.
    pub fn summary(&self) -> (StatusCode, Vec<String>) {
        (self.0.status, self.0.errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect())
    }

    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    /// The stable code, by which a page finds the problem's words in its catalogue.
    pub fn code(&self) -> &'static str {
        self.0.code
    }

    /// Each failing field, for a page to say in its language.
    pub fn field_errors(&self) -> &[FieldError] {
        &self.0.errors
    }

    fn problem(&self) -> Problem {
        Problem {
            kind: format!("urn:todoke:problem:{}", self.0.code),
            title: self.0.status.canonical_reason().unwrap_or("Error").to_string(),
            status: self.0.status.as_u16(),
            detail: self.0.detail.clone(),
            code: self.0.code.to_string(),
            errors: self.0.errors.clone(),
            allowed: self.0.allowed.map(<[ShipmentStatus]>::to_vec),
            cutoff_at: self.0.locked.as_ref().and_then(|l| l.cutoff_at),
            changeable: self.0.locked.as_ref().map(|l| l.changeable.clone()),
            // Filled in on the way out, for every problem alike (`http::request_id_in_problems`).
            request_id: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut response = (self.0.status, body).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        for (name, value) in self.0.headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::Duplicate(_) => {
                ApiError::new(StatusCode::CONFLICT, "conflict", "That value is already in use.")
            }
            StoreError::BarcodesTaken(taken) => barcodes_taken(taken),
            StoreError::Stale => ApiError::new(
                StatusCode::CONFLICT,
                "concurrent_change",
                "The record changed while this request was handled. Read it again and retry.",
            ),
            StoreError::Busy(_) => {
                // Load, not a fault: the client may simply come back.
                tracing::warn!(error = %error, "the database stayed busy");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "service_busy",
                    "The service is busy right now. Please try again in a moment.",
                )
                .with_header(header::RETRY_AFTER, "1")
            }
            StoreError::Corrupt(_) | StoreError::Database(_) => {
                // Details go to the log, never to the client.
                tracing::error!(error = %error, "storage failed");
                ApiError::internal()
            }
        }
    }
}

impl From<ShipmentError> for ApiError {
    fn from(error: ShipmentError) -> ApiError {
        let detail = error.to_string();
        match error {
            ShipmentError::NotFound => ApiError::not_found("shipment_not_found", detail),
            ShipmentError::UnknownTrackingNumber => ApiError::not_found("tracking_number_unknown", detail),
            ShipmentError::ExternalRefTaken(_) => {
                ApiError::field(StatusCode::CONFLICT, "external_ref_taken", "external_ref", detail)
            }
            ShipmentError::BarcodesTaken(taken) => barcodes_taken(taken),
            ShipmentError::Transition(transition) => {
                let mut api = ApiError::new(StatusCode::CONFLICT, "invalid_transition", detail);
                api.0.allowed = Some(transition.allowed());
                api
            }
            ShipmentError::Store(store) => store.into(),
        }
    }
}

/// 409 `barcode_in_use`, each taken barcode named at its parcel with the order that has it.
fn barcodes_taken(taken: Vec<BarcodeTaken>) -> ApiError {
    let mut errors = ValidationErrors::new();
    for parcel in &taken {
        errors.add(format!("parcels[{}].barcode", parcel.position), "barcode_in_use", barcode_taken(parcel));
    }
    let mut api = ApiError::new(
        StatusCode::CONFLICT,
        "barcode_in_use",
        format!(
            "A parcel barcode is already in use: {}",
            errors.errors().iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; ")
        ),
    );
    api.0.errors = errors.into_errors();
    api
}

impl From<ImportError> for ApiError {
    fn from(error: ImportError) -> ApiError {
        let detail = error.to_string();
        match error {
            ImportError::Empty => ApiError::field(
                StatusCode::UNPROCESSABLE_ENTITY,
                "empty_file",
                "header",
                "the file is empty; start it with the header line of the documented columns",
            ),
            ImportError::Header(errors) => {
                let mut api = ApiError::validation(errors);
                api.0.code = "invalid_header";
                api
            }
            ImportError::Encoding(_) => {
                ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_encoding", detail)
            }
            ImportError::Unreadable { error, report } => {
                if error.kind() == std::io::ErrorKind::FileTooLarge {
                    let limit = crate::http::extract::MAX_CSV_BYTES / (1024 * 1024);
                    let detail = format!("The file is larger than {limit} MiB. {}", lines_taken(&report));
                    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "file_too_large", detail)
                } else {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "unreadable_body",
                        format!("{detail}. {}", lines_taken(&report)),
                    )
                }
            }
            ImportError::TooManyLines { report } => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_many_lines",
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

impl From<DispatchError> for ApiError {
    fn from(error: DispatchError) -> ApiError {
        let detail = error.to_string();
        match error {
            DispatchError::DepotNotFound => ApiError::not_found("depot_not_found", detail),
            DispatchError::RouteNotFound => ApiError::not_found("route_unknown", detail),
            DispatchError::StopNotFound => ApiError::not_found("stop_not_found", detail),
            DispatchError::NotADriver => ApiError::not_found("driver_not_found", detail),
            DispatchError::Invalid(field, message) => {
                ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value", field, message)
            }
            DispatchError::AlreadyDispatched => ApiError::new(StatusCode::CONFLICT, "route_already_dispatched", detail),
            DispatchError::NotAtDepot(..) => ApiError::new(StatusCode::CONFLICT, "shipment_not_at_depot", detail),
            DispatchError::AlreadyRouted(_) => ApiError::new(StatusCode::CONFLICT, "already_routed", detail),
            DispatchError::Solver(solver) => {
                tracing::error!(error = %solver, "route planning failed");
                ApiError::internal()
            }
            DispatchError::Store(store) => store.into(),
        }
    }
}

impl From<PodError> for ApiError {
    fn from(error: PodError) -> ApiError {
        let detail = error.to_string();
        let conflict = |code| ApiError::new(StatusCode::CONFLICT, code, detail.clone());
        match error {
            PodError::KeyReused => {
                ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused", "Idempotency-Key", detail)
            }
            PodError::InProgress => conflict("request_in_progress").with_header(header::RETRY_AFTER, "2"),
            PodError::StopNotFound => ApiError::not_found("stop_not_found", detail),
            PodError::NotYourStop => conflict("stop_reassigned"),
            PodError::NotDispatched => conflict("route_not_dispatched"),
            PodError::StopClosed(status) => {
                let mut api = conflict("stop_closed");
                api.0.allowed = Some(status.allowed_next());
                api
            }
            PodError::Invalid(errors) => ApiError::validation(errors),
            PodError::Unreadable(api) => api,
            PodError::MethodNotAllowed => {
                ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, "method_not_allowed", "method", detail)
            }
            PodError::Incomplete(problems) => {
                let mut errors = ValidationErrors::new();
                for proof in &problems.missing {
                    let (field, message) = missing_proof(*proof);
                    errors.add(field, "required", message);
                }
                for barcode in &problems.wrong_parcels {
                    errors.add("scanned", "wrong_parcel", format!("{barcode} is not a parcel of this shipment"));
                }
                for barcode in &problems.unscanned_parcels {
                    errors.add("scanned", "not_scanned", format!("scan parcel {barcode} too"));
                }
                let mut api = ApiError::validation(errors);
                api.0.code = "proof_incomplete";
                api.0.detail = format!("The proof is not complete: {}", api.summary().1.join("; "));
                api
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

impl From<TrackingNumberError> for ApiError {
    fn from(error: TrackingNumberError) -> ApiError {
        ApiError::field(StatusCode::BAD_REQUEST, error.code(), "tracking_number", error.to_string())
    }
}

impl From<AccountError> for ApiError {
    fn from(error: AccountError) -> ApiError {
        use crate::auth::unauthorized;
        let detail = error.to_string();
        match error {
            AccountError::InvalidCredentials => unauthorized("invalid_credentials", &detail),
            AccountError::Locked { retry_after } => {
                let wait = retry_after.num_seconds().max(1) as u64;
                let mut api = too_many_requests(wait, &detail);
                api.0.code = "account_locked";
                api
            }
            AccountError::InvalidRefreshToken => unauthorized("invalid_refresh_token", &detail),
            AccountError::RefreshTokenReplayed => unauthorized("refresh_token_reused", &detail),
            AccountError::EmailTaken => ApiError::field(StatusCode::CONFLICT, "email_taken", "email", detail),
            AccountError::Store(store) => store.into(),
            AccountError::Internal(internal) => {
                tracing::error!(error = %internal, "account operation failed");
                ApiError::internal()
            }
        }
    }
}

impl From<Locked> for ApiError {
    fn from(locked: Locked) -> ApiError {
        let mut api = ApiError::new(StatusCode::CONFLICT, "preferences_locked", locked.to_string());
        api.0.locked = Some(locked);
        api
    }
}
