//! Who may do what: logging in, tokens, accounts and API keys over HTTP; the [`Caller`] extractor;
//! and the one authorization [`policy`].

mod accounts;
mod caller;
mod error;
pub mod passwords;
pub mod policy;
pub mod tokens;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, FromRef, State};
use axum::http::StatusCode;
use todoke_shared::ValidationErrors;
use todoke_shared::auth::{
    ApiKeyView, LoginRequest, NewApiKey, NewApiKeyRequest, NewUserRequest, RefreshRequest, TokenResponse, UserView,
};
use todoke_shared::validation::text;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub use accounts::{AccountError, Lifetimes, NewUser, Session, create_user, ensure_admin};
pub use caller::{Authenticated, Authenticator, Caller, Driver, Role, unauthorized};
use policy::{Action, authorize};

use crate::clock::Clock;
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::openapi::FORBIDDEN;
use crate::http::rate_limit::RateLimit;
use crate::store::AccountStore;
use todoke_shared::ProblemCode;
use tokens::Keys;

/// API keys start with this, so they can be told from access tokens (and found by secret scanners).
pub const API_KEY_PREFIX: &str = "tdk_";
pub const REFRESH_TOKEN_PREFIX: &str = "tdr_";

/// What the endpoints for logging in, accounts and API keys need.
#[derive(Clone)]
pub struct AccountService {
    pub accounts: Arc<dyn AccountStore>,
    pub keys: Arc<Keys>,
    pub lifetimes: Lifetimes,
    /// Logins per address.
    pub login_limit: Arc<RateLimit>,
    pub clock: Arc<dyn Clock>,
}

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    AccountService: FromRef<S>,
    Authenticator: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(create_user_account))
        .routes(routes!(create_api_key, list_api_keys))
        .routes(routes!(revoke_api_key))
}

fn token_response(session: Session) -> Json<TokenResponse> {
    Json(TokenResponse {
        access_token: session.access_token,
        token_type: "Bearer".to_string(),
        expires_in: session.expires_in,
        refresh_token: session.refresh_token,
        role: session.role.as_str().to_string(),
    })
}

/// Log in with email and password. Limited per address, and an account locks for a while after
/// repeated failures.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", security(()),
    request_body(content = LoginRequest,
        example = json!({"email": "dispatcher@example.jp", "password": "correct horse battery"})),
    responses(
        (status = 200, description = "Logged in: an access token and a refresh token", body = TokenResponse,
         example = json!({"access_token": "eyJhbGciOiJIUzI1NiIsImtpZCI6Ii4uLiIsInR5cCI6ImF0K2p3dCJ9.e30.c2ln",
                          "token_type": "Bearer", "expires_in": 900,
                          "refresh_token": "tdr_4bXk0mYQ2vJ9cW1pZs8hN5tR7uE3aL6o", "role": "dispatcher"})),
        (status = 401, description = "- `invalid_credentials`: no account has this email and password"),
        (status = 429, description = "- `rate_limited`: too many logins from this address\n\
                                      - `account_locked`: too many failures for this email; wait",
         headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
async fn login(
    State(service): State<AccountService>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    service.login_limit.check(peer)?;
    let session = accounts::login(
        &*service.accounts,
        &service.keys,
        service.lifetimes,
        &request.email,
        request.password,
        service.clock.now(),
    )
    .await?;
    Ok(token_response(session))
}

/// Swap a refresh token (single use) for a new access and refresh token.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", security(()), request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new access token and refresh token", body = TokenResponse),
        (status = 401, description = "- `invalid_refresh_token`: unknown, expired or revoked\n\
                                      - `refresh_token_reused`: spent before; every token of this login is revoked"),
    ))]
async fn refresh(
    State(service): State<AccountService>,
    ApiJson(request): ApiJson<RefreshRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let session = accounts::refresh(
        &*service.accounts,
        &service.keys,
        service.lifetimes,
        &request.refresh_token,
        service.clock.now(),
    )
    .await?;
    Ok(token_response(session))
}

/// Log out: revoke the refresh token and every refresh token of the same login. (Access tokens run out
/// by themselves within minutes.)
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(()), request_body = RefreshRequest,
    responses((status = 204, description = "Logged out (also when the token was unknown)")))]
async fn logout(
    State(service): State<AccountService>,
    ApiJson(request): ApiJson<RefreshRequest>,
) -> Result<StatusCode, ApiError> {
    accounts::logout(&*service.accounts, &request.refresh_token, service.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Create a staff or driver account (admin).
#[utoipa::path(post, path = "/api/v1/users", tag = "accounts",
    security(("accessToken" = [])),
    request_body = NewUserRequest,
    responses(
        (status = 201, description = "The account", body = UserView),
        (status = 403, description = FORBIDDEN),
        (status = 409, description = "- `email_taken`: an account has this email"),
        (status = 422, description = "- `validation_failed`: email, role, name or password (named in `errors`)"),
    ))]
async fn create_user_account(
    State(service): State<AccountService>,
    Authenticated(caller): Authenticated,
    ApiJson(request): ApiJson<NewUserRequest>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    authorize(&caller, Action::ManageAccounts)?;
    let user = validate_new_user(request).map_err(ApiError::validation)?;
    let record = create_user(&*service.accounts, user, service.clock.now()).await?;
    Ok((
        StatusCode::CREATED,
        Json(UserView { id: record.id, email: record.email, name: record.name, role: record.role }),
    ))
}

/// Checks a new account: an email, a known role, a name, and a password strong enough.
pub fn validate_new_user(request: NewUserRequest) -> Result<NewUser, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let email = request.email.trim().to_lowercase();
    if !(email.contains('@') && email.len() <= 254 && !email.contains(char::is_whitespace)) {
        errors.add("email", "invalid_email", "give an email address like dispatcher@example.jp");
    }
    let role = Role::parse(&request.role);
    if role.is_none() {
        errors.add("role", "invalid_role", "give one of admin, dispatcher, support, driver");
    }
    let name = errors.check("name", text(&request.name, 200));
    if let Some(weakness) = passwords::weakness(&request.password) {
        errors.add("password", "weak_password", weakness);
    }
    match (role, name) {
        (Some(role), Some(name)) if errors.is_empty() => Ok(NewUser { email, name, role, password: request.password }),
        _ => Err(errors),
    }
}

/// Create an API key for a merchant's system (admin). The key is shown once.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "accounts",
    security(("accessToken" = [])),
    request_body = NewApiKeyRequest,
    responses(
        (status = 201, description = "The key, shown this once", body = NewApiKey),
        (status = 403, description = FORBIDDEN),
        (status = 422, description = "- `validation_failed`: merchant or name (named in `errors`)"),
    ))]
async fn create_api_key(
    State(service): State<AccountService>,
    Authenticated(caller): Authenticated,
    ApiJson(request): ApiJson<NewApiKeyRequest>,
) -> Result<(StatusCode, Json<NewApiKey>), ApiError> {
    authorize(&caller, Action::ManageAccounts)?;
    let mut errors = ValidationErrors::new();
    let merchant = errors.check("merchant", text(&request.merchant, 100));
    let name = errors.check("name", text(&request.name, 100));
    let (Some(merchant), Some(name)) = (merchant, name) else { return Err(ApiError::validation(errors)) };
    let (record, key) = accounts::create_api_key(&*service.accounts, merchant, name, service.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(NewApiKey { id: record.id, key })))
}

/// List API keys, without the keys themselves (admin).
#[utoipa::path(get, path = "/api/v1/api-keys", tag = "accounts", security(("accessToken" = [])),
    responses(
        (status = 200, description = "Every API key, revoked ones too", body = Vec<ApiKeyView>),
        (status = 403, description = FORBIDDEN),
    ))]
async fn list_api_keys(
    State(service): State<AccountService>,
    Authenticated(caller): Authenticated,
) -> Result<Json<Vec<ApiKeyView>>, ApiError> {
    authorize(&caller, Action::ManageAccounts)?;
    let keys = service.accounts.list_api_keys().await?;
    Ok(Json(
        keys.into_iter()
            .map(|k| ApiKeyView {
                id: k.id,
                merchant: k.merchant,
                name: k.name,
                created_at: k.created_at,
                revoked_at: k.revoked_at,
            })
            .collect(),
    ))
}

/// Revoke an API key (admin). It stops working at once.
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "accounts", security(("accessToken" = [])),
    params(("id" = Uuid, Path, description = "API key id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 403, description = FORBIDDEN),
        (status = 404, description = "- `api_key_not_found`: no active API key has this id"),
    ))]
async fn revoke_api_key(
    State(service): State<AccountService>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    authorize(&caller, Action::ManageAccounts)?;
    let not_found = || ApiError::not_found(ProblemCode::ApiKeyNotFound, "No active API key has this id.");
    let id = Uuid::try_parse(&id).map_err(|_| not_found())?;
    if service.accounts.revoke_api_key(id, service.clock.now()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found())
    }
}
