//! Stop actions carry an `Idempotency-Key`, so the driver app may retry blindly after a lost answer.
//! The key's first answer is kept with it, in the transaction of the action's change; a retry with
//! the same key and the same request gets those bytes again. A failed request lets its key go, so a
//! corrected retry may use it.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};

use crate::http::error::ApiError;
use todoke_shared::ProblemCode;

pub const HEADER: &str = "idempotency-key";
const MAX_KEY: usize = 255;

/// A key taken but never answered for this long belonged to a request that died with its server: an
/// action runs to its end even when its caller is gone, and none takes this long.
pub const ABANDONED_AFTER: chrono::Duration = chrono::Duration::minutes(3);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(pub String);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get(HEADER) else {
            return Err(ApiError::field(
                StatusCode::BAD_REQUEST,
                ProblemCode::IdempotencyKeyRequired,
                "Idempotency-Key",
                "send an Idempotency-Key header (a UUID made when the action was taken), the same on every retry",
            ));
        };
        match value.to_str().map(str::trim) {
            Ok(key) if !key.is_empty() && key.len() <= MAX_KEY && key.bytes().all(|b| b.is_ascii_graphic()) => {
                Ok(IdempotencyKey(key.to_string()))
            }
            _ => Err(ApiError::field(
                StatusCode::BAD_REQUEST,
                ProblemCode::InvalidIdempotencyKey,
                "Idempotency-Key",
                format!("use 1 to {MAX_KEY} visible ASCII characters, such as a UUID"),
            )),
        }
    }
}

/// What identifies a request beyond its key: the action, the stop and each part's bytes. Parts, not
/// the raw body: a retried multipart upload has a new boundary but is the same request.
pub fn fingerprint(action: &str, stop_id: uuid::Uuid, parts: &[(&str, &[u8])]) -> String {
    let mut hash = Sha256::new();
    hash.update(action.as_bytes());
    hash.update(stop_id.as_bytes());
    for (name, bytes) in parts {
        hash.update((name.len() as u64).to_be_bytes());
        hash.update(name.as_bytes());
        hash.update((bytes.len() as u64).to_be_bytes());
        hash.update(bytes);
    }
    format!("{:x}", hash.finalize())
}
