//! Storage for who may call: accounts, refresh tokens, API keys and token-signing keys.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreError;

#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub id: Uuid,
    /// Lower case.
    pub email: String,
    pub name: String,
    pub role: String,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RefreshTokenRecord {
    pub token_hash: String,
    pub user_id: Uuid,
    pub family_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// What presenting a refresh token found.
#[derive(Debug, Clone, PartialEq)]
pub enum RefreshUse {
    /// Valid and now spent: issue the next one in `family_id`.
    Fresh { user_id: Uuid, family_id: Uuid },
    /// Already spent: someone replays it, so the whole family is revoked.
    Replayed { family_id: Uuid },
    /// Unknown, expired or revoked.
    Invalid,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiKeyRecord {
    pub id: Uuid,
    pub merchant: String,
    pub name: String,
    pub key_hash: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[async_trait]
pub trait AccountStore: Send + Sync + 'static {
    async fn count_users(&self) -> Result<i64, StoreError>;
    /// [`StoreError::Duplicate`] when the email is taken.
    async fn insert_user(&self, user: &UserRecord) -> Result<(), StoreError>;
    async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>, StoreError>;
    async fn user_by_id(&self, id: Uuid) -> Result<Option<UserRecord>, StoreError>;
    /// Until when logins with this email are refused, if they are. Counted per email, whether or not
    /// an account has it, so that locking tells nobody which emails exist.
    async fn login_lock(&self, email: &str) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// Counts a failed login; the `lock_after`-th in a row locks the email until `until`.
    async fn record_failed_login(&self, email: &str, lock_after: i64, until: DateTime<Utc>) -> Result<(), StoreError>;
    async fn clear_failed_logins(&self, email: &str) -> Result<(), StoreError>;

    async fn insert_refresh_token(&self, token: &RefreshTokenRecord) -> Result<(), StoreError>;
    /// Spends a refresh token, exactly once even when presented twice at the same moment.
    async fn use_refresh_token(&self, token_hash: &str, now: DateTime<Utc>) -> Result<RefreshUse, StoreError>;
    async fn revoke_refresh_family(&self, family_id: Uuid, now: DateTime<Utc>) -> Result<(), StoreError>;
    /// The family of a token that may still be used, for logout.
    async fn refresh_family(&self, token_hash: &str) -> Result<Option<Uuid>, StoreError>;

    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError>;
    /// An API key that is not revoked.
    async fn active_api_key(&self, key_hash: &str) -> Result<Option<ApiKeyRecord>, StoreError>;
    async fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError>;
    /// `false` when no such key exists or it was revoked already.
    async fn revoke_api_key(&self, id: Uuid, now: DateTime<Utc>) -> Result<bool, StoreError>;

    /// Stores a signing key unless one with that `kid` exists, then returns the stored secret: every
    /// server that starts at once ends up with the same key.
    async fn ensure_signing_key(&self, kid: &str, secret: &str, now: DateTime<Utc>) -> Result<String, StoreError>;
    async fn signing_keys(&self) -> Result<Vec<(String, String)>, StoreError>;
}
