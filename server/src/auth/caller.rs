//! Who is calling, from the request: a bearer access token (staff or driver), a bearer API key
//! (`tdk_…`, a merchant's system), a customer link (`?k=…`), or nobody. Handlers receive a [`Caller`]
//! and never parse headers; bad credentials of every kind end here as 401.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use uuid::Uuid;

use super::policy::{Action, authorize, forbidden};
use super::tokens::Keys;
use super::tokens::{TokenError, digest};
use crate::clock::Clock;
use crate::http::error::ApiError;
use crate::store::AccountStore;
use todoke_shared::ProblemCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Dispatcher,
    Support,
    Driver,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Dispatcher, Role::Support, Role::Driver];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Dispatcher => "dispatcher",
            Role::Support => "support",
            Role::Driver => "driver",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Anonymous,
    /// A staff member or a driver, from an access token.
    User {
        id: Uuid,
        email: String,
        role: Role,
    },
    /// A merchant's system, from an API key.
    Merchant {
        key_id: Uuid,
        merchant: String,
    },
    /// A customer, from the link to one shipment.
    Customer {
        shipment_id: Uuid,
    },
}

impl Caller {
    /// How this caller is named in a shipment's timeline.
    pub fn actor(&self) -> String {
        match self {
            Caller::Anonymous => "anonymous".to_string(),
            Caller::User { email, role, .. } => format!("{}:{email}", role.as_str()),
            Caller::Merchant { merchant, key_id } => format!("merchant:{merchant} (key {key_id})"),
            Caller::Customer { .. } => "customer".to_string(),
        }
    }
}

/// What telling callers apart needs: the signing keys, the API keys, and the time. Every feature's
/// state offers it (`FromRef`), so that its handlers can take a [`Caller`].
#[derive(Clone)]
pub struct Authenticator {
    pub keys: Arc<Keys>,
    pub accounts: Arc<dyn AccountStore>,
    pub clock: Arc<dyn Clock>,
}

impl<S: Send + Sync> FromRequestParts<S> for Caller
where
    Authenticator: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Caller, ApiError> {
        let state = Authenticator::from_ref(state);
        // A link that is not valid is refused even beside a token: no credential sent is ignored.
        let link = parts.uri.query().and_then(|query| {
            form_urlencoded::parse(query.as_bytes()).find(|(key, _)| key == "k").map(|(_, value)| value.into_owned())
        });
        let customer = match link {
            Some(link) => Some(state.keys.verify_customer_link(&link).ok_or_else(|| {
                unauthorized(ProblemCode::InvalidLink, "This tracking link is not valid. Use the link from your email.")
            })?),
            None => None,
        };
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.split_once(' '))
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, token)| token.trim())
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    unauthorized(
                        ProblemCode::MalformedAuthorization,
                        "Send the header as: Authorization: Bearer <token>.",
                    )
                })?;
            return if token.starts_with(super::API_KEY_PREFIX) {
                let key = state.accounts.active_api_key(&digest(token)).await?;
                let key =
                    key.ok_or_else(|| unauthorized(ProblemCode::InvalidApiKey, "This API key is unknown or revoked."))?;
                Ok(Caller::Merchant { key_id: key.id, merchant: key.merchant })
            } else {
                let claims = state.keys.verify(token, state.clock.now()).map_err(|error| match error {
                    TokenError::Expired => unauthorized(ProblemCode::TokenExpired, &error.to_string()),
                    TokenError::Invalid => unauthorized(ProblemCode::InvalidToken, &error.to_string()),
                })?;
                let role = Role::parse(&claims.role)
                    .ok_or_else(|| unauthorized(ProblemCode::InvalidToken, "Unknown role."))?;
                Ok(Caller::User { id: claims.sub, email: claims.email, role })
            };
        }
        Ok(customer.map_or(Caller::Anonymous, |shipment_id| Caller::Customer { shipment_id }))
    }
}

pub fn unauthorized(code: ProblemCode, detail: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, code, detail.to_string()).with_header(header::WWW_AUTHENTICATE, "Bearer")
}

/// A driver on their own day ([`Action::DriveRoutes`]): anyone else is refused before anything else,
/// such as the body or the query, is read.
pub struct Driver {
    pub id: Uuid,
    pub actor: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Driver
where
    Authenticator: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Driver, ApiError> {
        let Authenticated(caller) = Authenticated::from_request_parts(parts, state).await?;
        authorize(&caller, Action::DriveRoutes)?;
        let actor = caller.actor();
        match caller {
            Caller::User { id, role: Role::Driver, .. } => Ok(Driver { id, actor }),
            _ => Err(forbidden()),
        }
    }
}

/// A caller who is somebody: anonymous requests are refused with 401 before anything else, such as
/// the body, is read.
pub struct Authenticated(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for Authenticated
where
    Authenticator: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Authenticated, ApiError> {
        match Caller::from_request_parts(parts, state).await? {
            Caller::Anonymous => Err(unauthorized(
                ProblemCode::AuthenticationRequired,
                "Log in, or send an API key, to use this endpoint.",
            )),
            caller => Ok(Authenticated(caller)),
        }
    }
}
