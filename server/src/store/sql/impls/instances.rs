//! [`InstanceStore`] on SQL, for both databases.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Db;
use crate::store::instances::InstanceStore;
use crate::store::{Backend, SqlStore, StoreError};

/// Instances whose lease ran out this long ago are forgotten (their keys count as abandoned either way).
const FORGET_AFTER: chrono::Duration = chrono::Duration::days(1);

#[async_trait]
impl InstanceStore for SqlStore<Db> {
    async fn register(&self, id: Uuid, now: DateTime<Utc>, lease_until: DateTime<Utc>) -> Result<(), StoreError> {
        let forget = match self.backend {
            Backend::Sqlite => sqlx::query("DELETE FROM server_instances WHERE id <> $1").bind(id),
            Backend::Postgres => sqlx::query("DELETE FROM server_instances WHERE id <> $1 AND lease_until < $2")
                .bind(id)
                .bind(now - FORGET_AFTER),
        };
        forget.execute(&self.pool).await?;
        self.renew(id, now, lease_until).await
    }

    async fn renew(&self, id: Uuid, now: DateTime<Utc>, lease_until: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO server_instances (id, started_at, lease_until) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET lease_until = excluded.lease_until",
        )
        .bind(id)
        .bind(now)
        .bind(lease_until)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn retire(&self, id: Uuid) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM server_instances WHERE id = $1").bind(id).execute(&self.pool).await?;
        Ok(())
    }
}
