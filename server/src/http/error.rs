//! The one error type of the HTTP layer and its single mapping to `application/problem+json`
//! (RFC 9457). Every failure, from a malformed body to a database outage, leaves through here.

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use todoke_shared::import::ImportReport;
use todoke_shared::preferences::Proof;
use todoke_shared::problem::Problem;
use todoke_shared::{FieldError, ProblemCode, ShipmentStatus, TrackingNumberError, ValidationErrors};

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
    code: ProblemCode,
    detail: String,
    errors: Vec<FieldError>,
    allowed: Option<&'static [ShipmentStatus]>,
    locked: Option<Locked>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: ProblemCode, detail: impl Into<String>) -> ApiError {
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
            ProblemCode::ValidationFailed,
            format!("Some fields need fixing: {errors}"),
        );
        error.0.errors = errors.into_errors();
        error
    }

    pub fn field(status: StatusCode, code: ProblemCode, field: &str, message: impl Into<String>) -> ApiError {
        let message = message.into();
        let mut error = ApiError::new(status, code, format!("{field}: {message}"));
        error.0.errors = ValidationErrors::single(field, code.as_str(), message).into_errors();
        error
    }

    /// Several fields at fault, under one code, such as every value of the wrong type in a body.
    pub fn fields(status: StatusCode, code: ProblemCode, errors: ValidationErrors) -> ApiError {
        let mut error = ApiError::validation(errors);
        error.0.status = status;
        error.0.code = code;
        error
    }

    pub fn not_found(code: ProblemCode, detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, code, detail)
    }

    pub fn internal() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ProblemCode::InternalError,
            "Something went wrong on our side. Please try again; if it persists, contact support with the request id.",
        )
    }

    /// Answers with this code instead, keeping the rest.
    pub fn with_code(mut self, code: ProblemCode) -> ApiError {
        self.0.code = code;
        self
    }

    pub fn detail(&self) -> &str {
        &self.0.detail
    }

    /// The status, and each failing field's message, for a page to show.
    pub fn summary(&self) -> (StatusCode, Vec<String>) {
        (self.0.status, self.0.errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect())
    }

    fn problem(&self) -> Problem {
        Problem {
            kind: format!("urn:todoke:problem:{}", self.0.code),
            title: self.0.status.canonical_reason().unwrap_or("Error").to_string(),
            status: self.0.status.as_u16(),
            detail: self.0.detail.clone(),
            code: self.0.code.into(),
            errors: self.0.errors.iter().cloned().map(Into::into).collect(),
            allowed: self.0.allowed.map(<[ShipmentStatus]>::to_vec),
            cutoff_at: self.0.locked.as_ref().and_then(|l| l.cutoff_at),
            changeable: self.0.locked.as_ref().map(|l| l.changeable.iter().map(|c| c.to_string()).collect()),
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
                ApiError::new(StatusCode::CONFLICT, ProblemCode::Conflict, "That value is already in use.")
            }
            StoreError::BarcodesTaken(taken) => barcodes_taken(taken),
            StoreError::Stale => ApiError::new(
                StatusCode::CONFLICT,
                ProblemCode::ConcurrentChange,
                "The record changed while this request was handled. Read it again and retry.",
            ),
            StoreError::Busy(_) => {
                // Load, not a fault: the client may simply come back.
                tracing::warn!(error = %error, "the database stayed busy");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ProblemCode::ServiceBusy,
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
            ShipmentError::NotFound => ApiError::not_found(ProblemCode::ShipmentNotFound, detail),
            ShipmentError::UnknownTrackingNumber => ApiError::not_found(ProblemCode::TrackingNumberUnknown, detail),
            ShipmentError::ExternalRefTaken(_) => {
                ApiError::field(StatusCode::CONFLICT, ProblemCode::ExternalRefTaken, "external_ref", detail)
            }
            ShipmentError::BarcodesTaken(taken) => barcodes_taken(taken),
            ShipmentError::Transition(transition) => {
                let mut api = ApiError::new(StatusCode::CONFLICT, ProblemCode::InvalidTransition, detail);
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
        ProblemCode::BarcodeInUse,
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
                ProblemCode::EmptyFile,
                "header",
                "the file is empty; start it with the header line of the documented columns",
            ),
            ImportError::Header(errors) => {
                let mut api = ApiError::validation(errors);
                api.0.code = ProblemCode::InvalidHeader;
                api
            }
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

impl From<DispatchError> for ApiError {
    fn from(error: DispatchError) -> ApiError {
        let detail = error.to_string();
        match error {
            DispatchError::DepotNotFound => ApiError::not_found(ProblemCode::DepotNotFound, detail),
            DispatchError::RouteNotFound => ApiError::not_found(ProblemCode::RouteUnknown, detail),
            DispatchError::StopNotFound => ApiError::not_found(ProblemCode::StopNotFound, detail),
            DispatchError::NotADriver => ApiError::not_found(ProblemCode::DriverNotFound, detail),
            DispatchError::Invalid(field, message) => {
                ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, ProblemCode::InvalidValue, field, message)
            }
            DispatchError::AlreadyDispatched => {
                ApiError::new(StatusCode::CONFLICT, ProblemCode::RouteAlreadyDispatched, detail)
            }
            DispatchError::NotAtDepot(..) => {
                ApiError::new(StatusCode::CONFLICT, ProblemCode::ShipmentNotAtDepot, detail)
            }
            DispatchError::AlreadyRouted(_) => ApiError::new(StatusCode::CONFLICT, ProblemCode::AlreadyRouted, detail),
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
            PodError::StopClosed(status) => {
                let mut api = conflict(ProblemCode::StopClosed);
                api.0.allowed = Some(status.allowed_next());
                api
            }
            PodError::Invalid(errors) => ApiError::validation(errors),
            PodError::Unreadable(api) => api,
            PodError::MethodNotAllowed => {
                ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, ProblemCode::MethodNotAllowed, "method", detail)
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
                api.0.code = ProblemCode::ProofIncomplete;
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
            AccountError::InvalidCredentials => unauthorized(ProblemCode::InvalidCredentials, &detail),
            AccountError::Locked { until } => {
                let wait = (until - crate::app::now()).num_seconds().max(1) as u64;
                let mut api = too_many_requests(wait, &detail);
                api.0.code = ProblemCode::AccountLocked;
                api
            }
            AccountError::InvalidRefreshToken => unauthorized(ProblemCode::InvalidRefreshToken, &detail),
            AccountError::RefreshTokenReplayed => unauthorized(ProblemCode::RefreshTokenReused, &detail),
            AccountError::EmailTaken => ApiError::field(StatusCode::CONFLICT, ProblemCode::EmailTaken, "email", detail),
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
        let mut api = ApiError::new(StatusCode::CONFLICT, ProblemCode::PreferencesLocked, locked.to_string());
        api.0.locked = Some(locked);
        api
    }
}
