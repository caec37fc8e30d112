//! Who is calling. Accounts, tokens and keys arrive with the authorization work; until then every
//! endpoint is open and writes are recorded as made by `api`. Handlers already take a [`Caller`], so
//! authorization slots in here without touching them.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

#[derive(Debug, Clone)]
pub struct Caller;

impl Caller {
    /// How this caller is named in a shipment's timeline.
    pub fn actor(&self) -> &'static str {
        "api"
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Infallible;

    async fn from_request_parts(_parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        Ok(Caller)
    }
}
