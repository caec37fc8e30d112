//! The storage interface for the running servers and their leases.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreError;

#[async_trait]
pub trait InstanceStore: Send + Sync + 'static {
    /// Records a server that just started, and forgets those whose lease ran out long ago. On SQLite,
    /// where one process at a time serves a database file, every other instance is known gone: it is
    /// forgotten at once, and what it held is free for the taking.
    async fn register(&self, id: Uuid, now: DateTime<Utc>, lease_until: DateTime<Utc>) -> Result<(), StoreError>;

    /// Extends the lease (recording the instance again if it was forgotten).
    async fn renew(&self, id: Uuid, now: DateTime<Utc>, lease_until: DateTime<Utc>) -> Result<(), StoreError>;

    /// Forgets a server that stops: what it held is free at once.
    async fn retire(&self, id: Uuid) -> Result<(), StoreError>;
}
