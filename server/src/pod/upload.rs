//! The body of a delivery or a failed attempt: `multipart/form-data` with a `report` JSON part, an
//! optional `signature` (strokes JSON or a PNG) and up to [`MAX_PHOTOS`] `photo` parts. Every part is
//! bounded while it streams in, before anything is decoded.

use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use futures_util::TryStreamExt;
use todoke_shared::pod::{MAX_PHOTO_BYTES, MAX_PHOTOS, MAX_REPORT_BYTES, MAX_SIGNATURE_BYTES, MAX_UPLOAD_BYTES};
use uuid::Uuid;

use super::idempotency;
use crate::http::error::ApiError;
use todoke_shared::ProblemCode;

#[derive(Debug, Default)]
pub struct Upload {
    /// The JSON report, re-serialised when it parses so that a retry that orders keys differently is
    /// still the same request.
    pub report: Vec<u8>,
    pub signature: Option<Vec<u8>>,
    pub photos: Vec<Vec<u8>>,
}

impl Upload {
    pub fn fingerprint(&self, action: &str, stop_id: Uuid) -> String {
        let mut parts: Vec<(&str, &[u8])> = vec![("report", &self.report)];
        if let Some(signature) = &self.signature {
            parts.push(("signature", signature));
        }
        parts.extend(self.photos.iter().map(|photo| ("photo", photo.as_slice())));
        idempotency::fingerprint(action, stop_id, &parts)
    }
}

impl<S: Send + Sync> FromRequest<S> for Upload {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let boundary = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| multer::parse_boundary(v).ok())
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    ProblemCode::UnsupportedMediaType,
                    "Send multipart/form-data: a `report` JSON part, a `signature` part (strokes JSON or PNG) \
                     where needed, and `photo` parts (JPEG, PNG or WebP).",
                )
            })?;
        let limits = multer::SizeLimit::new()
            .whole_stream(MAX_UPLOAD_BYTES)
            .per_field(MAX_PHOTO_BYTES)
            .for_field("report", MAX_REPORT_BYTES)
            .for_field("signature", MAX_SIGNATURE_BYTES);
        let constraints =
            multer::Constraints::new().allowed_fields(vec!["report", "signature", "photo"]).size_limit(limits);
        let stream = req.into_body().into_data_stream().map_err(std::io::Error::other);
        let mut multipart = multer::Multipart::with_constraints(stream, boundary, constraints);
        let mut upload = Upload::default();
        let mut report = None;
        while let Some(field) = multipart.next_field().await.map_err(part_error)? {
            let name = field.name().unwrap_or_default().to_string();
            let bytes = field.bytes().await.map_err(part_error)?.to_vec();
            match name.as_str() {
                "report" if report.is_some() => return Err(repeated("report")),
                "report" => report = Some(bytes),
                "signature" if upload.signature.is_some() => return Err(repeated("signature")),
                "signature" => upload.signature = Some(bytes),
                _ if upload.photos.len() == MAX_PHOTOS => {
                    return Err(ApiError::field(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        ProblemCode::TooManyPhotos,
                        "photo",
                        format!("send at most {MAX_PHOTOS} photos with one action"),
                    ));
                }
                _ => upload.photos.push(bytes),
            }
        }
        let report = report.ok_or_else(|| {
            ApiError::field(
                StatusCode::UNPROCESSABLE_ENTITY,
                ProblemCode::Required,
                "report",
                "send a `report` part with the JSON of what happened at the door",
            )
        })?;
        upload.report = match serde_json::from_slice::<serde_json::Value>(&report) {
            Ok(value) => value.to_string().into_bytes(),
            Err(_) => report,
        };
        Ok(upload)
    }
}

fn repeated(part: &str) -> ApiError {
    ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, ProblemCode::RepeatedPart, part, "send this part once")
}

fn part_error(error: multer::Error) -> ApiError {
    match error {
        multer::Error::UnknownField { field_name } => ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            ProblemCode::UnknownPart,
            field_name.as_deref().unwrap_or("(unnamed)"),
            "the parts are `report`, `signature` and `photo`",
        ),
        multer::Error::FieldSizeExceeded { limit, field_name } => {
            let part = field_name.unwrap_or_default();
            let code = if part == "photo" { ProblemCode::PhotoTooLarge } else { ProblemCode::PartTooLarge };
            ApiError::field(
                StatusCode::PAYLOAD_TOO_LARGE,
                code,
                &part,
                format!("this part is larger than {} KiB; send a smaller one", limit / 1024),
            )
        }
        multer::Error::StreamSizeExceeded { limit } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ProblemCode::PayloadTooLarge,
            format!("The upload is larger than {} MiB in all; send fewer or smaller photos.", limit / (1024 * 1024)),
        ),
        other => ApiError::new(
            StatusCode::BAD_REQUEST,
            ProblemCode::UnreadableBody,
            format!("The multipart body could not be read ({other}). Send it again."),
        ),
    }
}

/// A file's bytes, as one part of the upload.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct FilePart(#[allow(dead_code)] Vec<u8>);

/// The parts of a delivery (`multipart/form-data`), for the API's description. Other parts are refused.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct DeliveryUpload {
    /// What happened at the door, as JSON.
    report: todoke_shared::pod::DeliveryReport,
    /// The recipient's signature where the proof needs one: strokes as JSON (`{"width", "height",
    /// "strokes": [[[x, y], …], …]}`) or a PNG, at most 2 MiB.
    signature: Option<FilePart>,
    /// Photos of the parcel where it was left: JPEG, PNG or WebP, at most 8 of 20 MiB each; send the
    /// part once per photo.
    #[schema(max_items = 8)]
    photo: Option<Vec<FilePart>>,
}

/// The parts of a failed attempt (`multipart/form-data`), for the API's description. Other parts are
/// refused.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct AttemptUpload {
    /// Why the delivery could not be made, as JSON.
    report: todoke_shared::pod::AttemptReport,
    /// Photos proving the attempt (a card left, the door): JPEG, PNG or WebP, at most 8 of 20 MiB each.
    #[schema(max_items = 8)]
    photo: Option<Vec<FilePart>>,
}
