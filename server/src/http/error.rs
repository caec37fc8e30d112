//! The one error type of the HTTP layer and its single mapping to `application/problem+json`
//! (RFC 9457). Every failure, from a malformed body to a database outage, leaves through here.

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use todoke_shared::problem::Problem;
use todoke_shared::{FieldError, ProblemCode, ShipmentStatus, TrackingNumberError, ValidationErrors};

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
    /// For `preferences_locked`: when the cut-off passed, and the fields that may still change.
    locked: Option<(Option<DateTime<Utc>>, Vec<String>)>,
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

    /// Says this instead of the detail it was made with.
    pub fn with_detail(mut self, detail: impl Into<String>) -> ApiError {
        self.0.detail = detail.into();
        self
    }

    /// For a refused move of a shipment: the statuses it may move to.
    pub fn with_allowed(mut self, allowed: &'static [ShipmentStatus]) -> ApiError {
        self.0.allowed = Some(allowed);
        self
    }

    /// For preferences past their cut-off: when it passed, and the fields that may still change.
    pub fn with_cutoff(mut self, cutoff_at: Option<DateTime<Utc>>, changeable: Vec<String>) -> ApiError {
        self.0.locked = Some((cutoff_at, changeable));
        self
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
    pub fn code(&self) -> ProblemCode {
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
            code: self.0.code.into(),
            errors: self.0.errors.iter().cloned().map(Into::into).collect(),
            allowed: self.0.allowed.map(<[ShipmentStatus]>::to_vec),
            cutoff_at: self.0.locked.as_ref().and_then(|(cutoff_at, _)| *cutoff_at),
            changeable: self.0.locked.as_ref().map(|(_, changeable)| changeable.clone()),
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
            StoreError::BarcodesTaken(taken) => barcodes_taken(&taken),
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

/// 409 `barcode_in_use`, each taken barcode named at its parcel with the order that has it.
fn barcodes_taken(taken: &[BarcodeTaken]) -> ApiError {
    let mut errors = ValidationErrors::new();
    for parcel in taken {
        errors.add(format!("parcels[{}].barcode", parcel.position), "barcode_in_use", parcel.to_string());
    }
    let detail = format!(
        "A parcel barcode is already in use: {}",
        errors.errors().iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; ")
    );
    ApiError::fields(StatusCode::CONFLICT, ProblemCode::BarcodeInUse, errors).with_detail(detail)
}

impl From<TrackingNumberError> for ApiError {
    fn from(error: TrackingNumberError) -> ApiError {
        ApiError::field(StatusCode::BAD_REQUEST, error.code(), "tracking_number", error.to_string())
    }
}
