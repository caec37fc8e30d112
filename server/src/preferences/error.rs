//! How a refused change of preferences answers.

use axum::http::StatusCode;
use todoke_shared::ProblemCode;

use super::Locked;
use crate::http::error::ApiError;

impl From<Locked> for ApiError {
    fn from(locked: Locked) -> ApiError {
        let changeable = locked.changeable.iter().map(|field| field.to_string()).collect();
        ApiError::new(StatusCode::CONFLICT, ProblemCode::PreferencesLocked, locked.to_string())
            .with_cutoff(locked.cutoff_at, changeable)
    }
}
