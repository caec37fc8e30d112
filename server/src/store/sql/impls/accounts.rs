//! [`AccountStore`] on SQL, for both databases. (On SQLite, times are RFC 3339 text in UTC, which
//! sorts in time order, so `expires_at > $2` compares correctly there too.)

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::FromRow;
use uuid::Uuid;

use super::Db;
use crate::store::accounts::{AccountStore, ApiKeyRecord, RefreshTokenRecord, RefreshUse, UserRecord};
use crate::store::{SqlStore, StoreError};

#[derive(FromRow)]
pub(super) struct UserRow {
    id: Uuid,
    email: String,
    name: String,
    role: String,
    password_hash: String,
    created_at: DateTime<Utc>,
}

#[derive(FromRow)]
pub(super) struct ApiKeyRow {
    id: Uuid,
    merchant: String,
    name: String,
    key_hash: String,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<UserRow> for UserRecord {
    fn from(row: UserRow) -> UserRecord {
        let UserRow { id, email, name, role, password_hash, created_at } = row;
        UserRecord { id, email, name, role, password_hash, created_at }
    }
}

impl From<ApiKeyRow> for ApiKeyRecord {
    fn from(row: ApiKeyRow) -> ApiKeyRecord {
        let ApiKeyRow { id, merchant, name, key_hash, created_at, revoked_at } = row;
        ApiKeyRecord { id, merchant, name, key_hash, created_at, revoked_at }
    }
}

#[async_trait]
impl AccountStore for SqlStore<Db> {
    async fn count_users(&self) -> Result<i64, StoreError> {
        let (count,) = sqlx::query_as::<Db, (i64,)>("SELECT COUNT(*) FROM users").fetch_one(&self.pool).await?;
        Ok(count)
    }

    async fn insert_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO users (id, email, name, role, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(user.id)
        .bind(user.email.as_str())
        .bind(user.name.as_str())
        .bind(user.role.as_str())
        .bind(user.password_hash.as_str())
        .bind(user.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>, StoreError> {
        let row = sqlx::query_as::<Db, UserRow>(
            "SELECT id, email, name, role, password_hash, created_at FROM users WHERE email = $1",
        )
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(UserRecord::from))
    }

    async fn user_by_id(&self, id: Uuid) -> Result<Option<UserRecord>, StoreError> {
        let row = sqlx::query_as::<Db, UserRow>(
            "SELECT id, email, name, role, password_hash, created_at FROM users WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(UserRecord::from))
    }

    async fn login_lock(&self, email: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let lock =
            sqlx::query_as::<Db, (Option<DateTime<Utc>>,)>("SELECT locked_until FROM login_failures WHERE email = $1")
                .bind(email)
                .fetch_optional(&self.pool)
                .await?;
        Ok(lock.and_then(|(until,)| until))
    }

    async fn record_failed_login(&self, email: &str, lock_after: i64, until: DateTime<Utc>) -> Result<(), StoreError> {
        // Reaching the limit locks the email and starts the count afresh for after the lock.
        sqlx::query(
            "INSERT INTO login_failures (email, failures, locked_until) VALUES ($1, 1, NULL) \
             ON CONFLICT (email) DO UPDATE SET \
             locked_until = CASE WHEN login_failures.failures + 1 >= $2 THEN $3 ELSE login_failures.locked_until END, \
             failures = CASE WHEN login_failures.failures + 1 >= $2 THEN 0 ELSE login_failures.failures + 1 END",
        )
        .bind(email)
        .bind(lock_after)
        .bind(until)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn clear_failed_logins(&self, email: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM login_failures WHERE email = $1").bind(email).execute(&self.pool).await?;
        Ok(())
    }

    async fn insert_refresh_token(&self, token: &RefreshTokenRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, user_id, family_id, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token.token_hash.as_str())
        .bind(token.user_id)
        .bind(token.family_id)
        .bind(token.expires_at)
        .bind(token.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn use_refresh_token(&self, token_hash: &str, now: DateTime<Utc>) -> Result<RefreshUse, StoreError> {
        // Spending is one conditional update, so of two simultaneous uses exactly one wins. A login with
        // any revoked token is over: that also stops a token issued by a refresh racing the revocation.
        let spent = sqlx::query_as::<Db, (Uuid, Uuid)>(
            "UPDATE refresh_tokens SET used_at = $2 \
             WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2 \
             AND NOT EXISTS (SELECT 1 FROM refresh_tokens AS revoked \
                             WHERE revoked.family_id = refresh_tokens.family_id AND revoked.revoked_at IS NOT NULL) \
             RETURNING user_id, family_id",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        if let Some((user_id, family_id)) = spent {
            return Ok(RefreshUse::Fresh { user_id, family_id });
        }
        let replayed = sqlx::query_as::<Db, (Uuid,)>(
            "SELECT family_id FROM refresh_tokens WHERE token_hash = $1 AND used_at IS NOT NULL AND revoked_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(replayed.map_or(RefreshUse::Invalid, |(family_id,)| RefreshUse::Replayed { family_id }))
    }

    async fn revoke_refresh_family(&self, family_id: Uuid, now: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL")
            .bind(family_id)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn refresh_family(&self, token_hash: &str) -> Result<Option<Uuid>, StoreError> {
        let family = sqlx::query_as::<Db, (Uuid,)>("SELECT family_id FROM refresh_tokens WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(family.map(|(id,)| id))
    }

    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO api_keys (id, merchant, name, key_hash, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(key.id)
            .bind(key.merchant.as_str())
            .bind(key.name.as_str())
            .bind(key.key_hash.as_str())
            .bind(key.created_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn active_api_key(&self, key_hash: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        let row = sqlx::query_as::<Db, ApiKeyRow>(
            "SELECT id, merchant, name, key_hash, created_at, revoked_at FROM api_keys \
             WHERE key_hash = $1 AND revoked_at IS NULL",
        )
        .bind(key_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(ApiKeyRecord::from))
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let rows = sqlx::query_as::<Db, ApiKeyRow>(
            "SELECT id, merchant, name, key_hash, created_at, revoked_at FROM api_keys ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(ApiKeyRecord::from).collect())
    }

    async fn revoke_api_key(&self, id: Uuid, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let revoked = sqlx::query_as::<Db, (Uuid,)>(
            "UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING id",
        )
        .bind(id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(revoked.is_some())
    }

    async fn ensure_signing_key(&self, kid: &str, secret: &str, now: DateTime<Utc>) -> Result<String, StoreError> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, secret, created_at) VALUES ($1, $2, $3) ON CONFLICT (kid) DO NOTHING",
        )
        .bind(kid)
        .bind(secret)
        .bind(now)
        .execute(&self.pool)
        .await?;
        let (stored,) = sqlx::query_as::<Db, (String,)>("SELECT secret FROM signing_keys WHERE kid = $1")
            .bind(kid)
            .fetch_one(&self.pool)
            .await?;
        Ok(stored)
    }

    async fn signing_keys(&self) -> Result<Vec<(String, String)>, StoreError> {
        Ok(sqlx::query_as::<Db, (String, String)>("SELECT kid, secret FROM signing_keys ORDER BY created_at")
            .fetch_all(&self.pool)
            .await?)
    }
}
