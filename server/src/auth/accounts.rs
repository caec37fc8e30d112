//! Accounts and credentials, independent of HTTP: log in, refresh, log out, create accounts and API
//! keys, and make sure an administrator exists.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::caller::Role;
use super::tokens::{Keys, claims, digest, random_secret};
use super::{API_KEY_PREFIX, REFRESH_TOKEN_PREFIX, passwords};
use crate::store::accounts::{ApiKeyRecord, RefreshTokenRecord, RefreshUse, UserRecord};
use crate::store::{AccountStore, StoreError};

/// After this many failed logins in a row an account is locked for [`LOCK_DURATION`].
pub const LOCK_AFTER_FAILURES: i64 = 5;
pub const LOCK_DURATION: Duration = Duration::minutes(15);

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("the email or password is not right")]
    InvalidCredentials,
    #[error("too many failed logins with this email; try again later")]
    Locked { retry_after: Duration },
    #[error("this refresh token is unknown, expired or revoked; log in again")]
    InvalidRefreshToken,
    #[error("this refresh token was used before, so every token of this login is now revoked; log in again")]
    RefreshTokenReplayed,
    #[error("an account with this email exists already")]
    EmailTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// How long tokens live.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub access: Duration,
    pub refresh: Duration,
    pub customer_link: Duration,
}

pub struct Session {
    pub access_token: String,
    pub expires_in: i64,
    pub refresh_token: String,
    pub role: Role,
}

pub async fn login(
    accounts: &dyn AccountStore,
    keys: &Keys,
    lifetimes: Lifetimes,
    email: &str,
    password: String,
    now: DateTime<Utc>,
) -> Result<Session, AccountError> {
    let email = email.trim().to_lowercase();
    if let Some(until) = accounts.login_lock(&email).await?.filter(|until| *until > now) {
        // As slow as a real check: a locked email must not answer faster than an open one.
        passwords::verify(password, passwords::DUMMY_HASH.to_string()).await;
        return Err(AccountError::Locked { retry_after: until - now });
    }
    let user = accounts.user_by_email(&email).await?;
    // Unknown emails get the same slow check and the same count, so that neither the time taken nor
    // a lock tells which emails have accounts.
    let hash = user.as_ref().map_or(passwords::DUMMY_HASH.to_string(), |u| u.password_hash.clone());
    let matches = passwords::verify(password, hash).await;
    let Some(user) = user.filter(|_| matches) else {
        accounts.record_failed_login(&email, LOCK_AFTER_FAILURES, now + LOCK_DURATION).await?;
        return Err(AccountError::InvalidCredentials);
    };
    accounts.clear_failed_logins(&email).await?;
    start_session(accounts, keys, lifetimes, &user, Uuid::now_v7(), now).await
}

/// Swaps a refresh token for a new pair. Each token works once; presenting a spent one again means it
/// was stolen or copied, and ends the whole login.
pub async fn refresh(
    accounts: &dyn AccountStore,
    keys: &Keys,
    lifetimes: Lifetimes,
    refresh_token: &str,
    now: DateTime<Utc>,
) -> Result<Session, AccountError> {
    match accounts.use_refresh_token(&digest(refresh_token), now).await? {
        RefreshUse::Fresh { user_id, family_id } => {
            let user = accounts.user_by_id(user_id).await?.ok_or(AccountError::InvalidRefreshToken)?;
            start_session(accounts, keys, lifetimes, &user, family_id, now).await
        }
        RefreshUse::Replayed { family_id } => {
            accounts.revoke_refresh_family(family_id, now).await?;
            Err(AccountError::RefreshTokenReplayed)
        }
        RefreshUse::Invalid => Err(AccountError::InvalidRefreshToken),
    }
}

/// Revokes every refresh token of the login that `refresh_token` belongs to.
pub async fn logout(accounts: &dyn AccountStore, refresh_token: &str, now: DateTime<Utc>) -> Result<(), AccountError> {
    if let Some(family_id) = accounts.refresh_family(&digest(refresh_token)).await? {
        accounts.revoke_refresh_family(family_id, now).await?;
    }
    Ok(())
}

async fn start_session(
    accounts: &dyn AccountStore,
    keys: &Keys,
    lifetimes: Lifetimes,
    user: &UserRecord,
    family_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Session, AccountError> {
    let role = Role::parse(&user.role).ok_or_else(|| anyhow::anyhow!("account {} has unknown role", user.id))?;
    let access_token = keys.issue(&claims(user.id, &user.email, &user.role, now, lifetimes.access));
    let refresh_token = random_secret(REFRESH_TOKEN_PREFIX);
    accounts
        .insert_refresh_token(&RefreshTokenRecord {
            token_hash: digest(&refresh_token),
            user_id: user.id,
            family_id,
            expires_at: now + lifetimes.refresh,
            created_at: now,
        })
        .await?;
    Ok(Session { access_token, expires_in: lifetimes.access.num_seconds(), refresh_token, role })
}

pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password: String,
}

pub async fn create_user(
    accounts: &dyn AccountStore,
    user: NewUser,
    now: DateTime<Utc>,
) -> Result<UserRecord, AccountError> {
    let record = UserRecord {
        id: Uuid::now_v7(),
        email: user.email.trim().to_lowercase(),
        name: user.name,
        role: user.role.as_str().to_string(),
        password_hash: passwords::hash(user.password).await?,
        created_at: now,
    };
    match accounts.insert_user(&record).await {
        Ok(()) => Ok(record),
        Err(StoreError::Duplicate(_)) => Err(AccountError::EmailTaken),
        Err(error) => Err(error.into()),
    }
}

/// On a fresh database, creates the first administrator: from the settings, or with a generated
/// password that is returned so it can be shown once.
pub async fn ensure_admin(
    accounts: &dyn AccountStore,
    email: Option<&str>,
    password: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<(String, Option<String>)>, AccountError> {
    if accounts.count_users().await? > 0 {
        return Ok(None);
    }
    let email = email.unwrap_or("admin@todoke.local").to_string();
    let (password, generated) = match password {
        Some(password) => {
            if let Some(weakness) = passwords::weakness(password) {
                return Err(anyhow::anyhow!("TODOKE_BOOTSTRAP_ADMIN_PASSWORD is too weak: {weakness}").into());
            }
            (password.to_string(), None)
        }
        None => {
            let generated = random_secret("")[..20].to_string();
            (generated.clone(), Some(generated))
        }
    };
    let user = NewUser { email: email.clone(), name: "Administrator".into(), role: Role::Admin, password };
    match create_user(accounts, user, now).await {
        // Another server created it at the same moment.
        Err(AccountError::EmailTaken) => Ok(None),
        result => result.map(|_| Some((email, generated))),
    }
}

pub async fn create_api_key(
    accounts: &dyn AccountStore,
    merchant: String,
    name: String,
    now: DateTime<Utc>,
) -> Result<(ApiKeyRecord, String), AccountError> {
    let key = random_secret(API_KEY_PREFIX);
    let record =
        ApiKeyRecord { id: Uuid::now_v7(), merchant, name, key_hash: digest(&key), created_at: now, revoked_at: None };
    accounts.insert_api_key(&record).await?;
    Ok((record, key))
}
