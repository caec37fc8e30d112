//! The SQL store, for SQLite and PostgreSQL alike: both take `$n` placeholders and `RETURNING`, so every
//! statement is written once.
//!
//! The statements live in `impls/`, written against `Db`, a plain alias for the database, and compiled
//! once per database (`sqlite.rs`, `postgres.rs`). Generic impls would need every type a query binds or
//! reads spelled out as a higher-ranked bound on `DB`, and Rust cannot gather such bounds in one alias.
//! What is the same for both databases without naming one stays here, generic.

mod postgres;
mod sqlite;

use std::sync::Arc;

use sqlx::{Database, Pool};

use super::{Backend, Evictions, StoreError};

/// The PostgreSQL notification channel that carries the ids of changed shipments.
pub const CHANGES_CHANNEL: &str = "todoke_shipment_changed";

pub struct SqlStore<DB: Database> {
    pub(super) pool: Pool<DB>,
    pub(super) backend: Backend,
    /// The cache in front, told of every shipment a write changes.
    pub(super) evictions: Arc<Evictions>,
}

/// How often a transaction that met contention is tried in all.
const WRITE_ATTEMPTS: u32 = 5;

impl<DB: Database> SqlStore<DB> {
    pub fn new(pool: Pool<DB>, backend: Backend) -> SqlStore<DB> {
        SqlStore { pool, backend, evictions: Arc::default() }
    }

    /// Starts a transaction that will write. On SQLite it takes the write lock at its start (`BEGIN
    /// IMMEDIATE`): a deferred one that reads and then writes cannot wait for the lock once another
    /// writer has committed since its read (SQLITE_BUSY_SNAPSHOT), so it would fail at once instead of
    /// queueing on the busy timeout.
    pub(super) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, DB>, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// Runs a whole transaction (`attempt` begins and commits it) again from the start when the database
    /// reports contention ([`StoreError::Busy`]: a deadlock or serialization failure on PostgreSQL, a lock
    /// held past the busy timeout on SQLite), a few times, after a short random pause.
    pub(super) async fn retrying<T, F>(&self, mut attempt: impl FnMut() -> F) -> Result<T, StoreError>
    where
        F: Future<Output = Result<T, StoreError>>,
    {
        let mut tries = 1;
        loop {
            match attempt().await {
                Err(StoreError::Busy(error)) if tries < WRITE_ATTEMPTS => {
                    tracing::debug!(%error, tries, "the database was busy; trying the transaction again");
                    let pause = rand::random_range(5..20u64) << tries;
                    tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
                    tries += 1;
                }
                result => return result,
            }
        }
    }
}

pub(super) fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}
