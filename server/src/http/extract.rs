//! Extractors that turn every kind of bad input into a problem with a field and a stable code.

use std::io;
use std::pin::Pin;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use todoke_shared::ValidationErrors;
use tokio::io::AsyncBufRead;
use tokio_util::io::StreamReader;

use super::error::ApiError;
use todoke_shared::ProblemCode;

/// A JSON body: `Content-Type: application/json`, well-formed, and of the expected shape.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(req.headers().get(header::CONTENT_TYPE)) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ProblemCode::UnsupportedMediaType,
                "Send the body as JSON with the header Content-Type: application/json.",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(body_error)?;
        parse_json(&bytes).map(ApiJson).map_err(ApiError::from)
    }
}

/// The largest CSV file taken in one request: some 40,000 lines, which import within
/// [`super::LONG_REQUEST`] (docs/BENCHMARKS.md).
pub const MAX_CSV_BYTES: usize = 8 * 1024 * 1024;

/// A CSV body (`Content-Type: text/csv`), read as it arrives rather than held in memory, and the
/// `charset` the Content-Type declares, if any. Past [`MAX_CSV_BYTES`] the reader fails with
/// [`io::ErrorKind::FileTooLarge`].
pub struct CsvBody {
    pub file: Pin<Box<dyn AsyncBufRead + Send>>,
    pub charset: Option<String>,
}

impl<S: Send + Sync> FromRequest<S> for CsvBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        if !has_essence(req.headers().get(header::CONTENT_TYPE), |essence| essence == "text/csv") {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ProblemCode::UnsupportedMediaType,
                "Send the file as CSV with the header Content-Type: text/csv (UTF-8, with or without a byte order mark, or Shift_JIS).",
            ));
        }
        let charset = charset(req.headers().get(header::CONTENT_TYPE));
        let mut seen = 0;
        let chunks = req.into_body().into_data_stream().map(move |chunk| {
            let chunk = chunk.map_err(io::Error::other)?;
            seen += chunk.len();
            if seen > MAX_CSV_BYTES {
                return Err(io::Error::new(io::ErrorKind::FileTooLarge, "the file is larger than the limit"));
            }
            Ok(chunk)
        });
        Ok(CsvBody { file: Box::pin(StreamReader::new(chunks)), charset })
    }
}

/// The `charset` parameter of a media type, as written (a label such as `utf-8` or `Shift_JIS`).
fn charset(content_type: Option<&header::HeaderValue>) -> Option<String> {
    let value = content_type?.to_str().ok()?;
    value.split(';').skip(1).find_map(|parameter| {
        let (name, value) = parameter.split_once('=')?;
        name.trim().eq_ignore_ascii_case("charset").then(|| value.trim().trim_matches('"').to_string())
    })
}

fn is_json(content_type: Option<&header::HeaderValue>) -> bool {
    has_essence(content_type, |essence| {
        essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
    })
}

/// Whether the media type, without parameters and case, passes `accepts`.
fn has_essence(content_type: Option<&header::HeaderValue>, accepts: impl Fn(&str) -> bool) -> bool {
    let Some(essence) = content_type.and_then(|v| v.to_str().ok()).and_then(|v| v.split(';').next()) else {
        return false;
    };
    accepts(&essence.trim().to_ascii_lowercase())
}

fn body_error(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ProblemCode::PayloadTooLarge,
            "The body is too large for this endpoint.",
        )
    } else {
        ApiError::new(StatusCode::BAD_REQUEST, ProblemCode::UnreadableBody, "The request body could not be read.")
    }
}

/// Why a JSON body could not be read: the HTTP layer's own error, which a feature may carry (a stop
/// action parses its report in the service) and which becomes a problem like any other.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// Not JSON at all: serde's complaint, for people.
    #[error("the body is not valid JSON ({0})")]
    Malformed(String),
    /// Well-formed, but a value of the wrong type, missing or unknown: each field with its message.
    #[error("a field has the wrong type, is missing or is unknown")]
    Fields(Vec<(String, String)>),
}

impl From<JsonError> for ApiError {
    fn from(error: JsonError) -> ApiError {
        match error {
            JsonError::Malformed(inner) => ApiError::new(
                StatusCode::BAD_REQUEST,
                ProblemCode::MalformedJson,
                format!("The body is not valid JSON ({inner}). Check quotes, commas and brackets."),
            ),
            JsonError::Fields(mut named) => {
                if let [(field, message)] = named.as_mut_slice() {
                    return ApiError::field(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        ProblemCode::InvalidField,
                        field,
                        std::mem::take(message),
                    );
                }
                let mut fields = ValidationErrors::new();
                for (field, message) in named {
                    fields.add(field, ProblemCode::InvalidField.as_str(), message);
                }
                ApiError::fields(StatusCode::UNPROCESSABLE_ENTITY, ProblemCode::InvalidField, fields)
            }
        }
    }
}

/// Parses JSON, naming the field at fault when the shape is wrong. A body with several values of the
/// wrong type has them all reported (see [`super::wrong_types`]), not only the first.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, JsonError> {
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if !inner.is_data() {
            return JsonError::Malformed(inner.to_string());
        }
        // Well-formed up to the first wrong value; if the whole body is, walk it again for the others.
        let others = serde_json::from_slice(bytes).map(super::wrong_types::find::<T>).unwrap_or_default();
        let errors = if others.len() > 1 { others } else { vec![(path, strip_position(&inner.to_string()))] };
        JsonError::Fields(
            errors
                .iter()
                .map(|(path, message)| name_the_field(path, message, "body", |_| "add it to the body".to_string()))
                .collect(),
        )
    })
}

/// serde_json appends "at line L column C", which means nothing once the path is known.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message.to_string(),
    }
}

/// The field a deserialisation error is about, and what to do. serde reports a missing field at the
/// object that lacks it (`.` for the top), as "missing field `name`": the field named is the missing
/// one itself, and `hint` says how to give it.
pub(super) fn name_the_field(path: &str, message: &str, top: &str, hint: impl Fn(&str) -> String) -> (String, String) {
    let top_level = path == "." || path.is_empty();
    let missing = message.strip_prefix("missing field `").and_then(|rest| rest.strip_suffix('`'));
    match missing {
        Some(name) if top_level => (name.to_string(), format!("{name} is required: {}", hint(name))),
        Some(name) => (format!("{path}.{name}"), format!("{name} is required: {}", hint(name))),
        None if top_level => (top.to_string(), message.to_string()),
        None => (path.to_string(), message.to_string()),
    }
}

/// Query parameters of the expected shape, with the parameter at fault named.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer).map(ApiQuery).map_err(|error| {
            let path = error.path().to_string();
            let message = error.into_inner().to_string();
            let (field, message) =
                name_the_field(&path, &message, "query", |name| format!("add {name}=… to the query string"));
            ApiError::field(StatusCode::BAD_REQUEST, ProblemCode::InvalidQuery, &field, message)
        })
    }
}

/// Path parameters, with a problem (not axum's plain text) when they cannot be read, such as a
/// percent-encoded byte that is not UTF-8.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state).await.map(|Path(value)| ApiPath(value)).map_err(|rejection| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                ProblemCode::InvalidPath,
                format!("The address is not valid: {}", rejection.body_text()),
            )
        })
    }
}
