//! How account errors answer: each a problem with its stable code.

use axum::http::StatusCode;
use todoke_shared::ProblemCode;

use super::AccountError;
use super::caller::unauthorized;
use crate::http::error::ApiError;
use crate::http::rate_limit::too_many_requests;

impl From<AccountError> for ApiError {
    fn from(error: AccountError) -> ApiError {
        let detail = error.to_string();
        match error {
            AccountError::InvalidCredentials => unauthorized(ProblemCode::InvalidCredentials, &detail),
            AccountError::Locked { retry_after } => {
                let wait = retry_after.num_seconds().max(1) as u64;
                too_many_requests(wait, &detail).with_code(ProblemCode::AccountLocked)
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
