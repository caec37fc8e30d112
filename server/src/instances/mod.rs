//! This server among those on the database: an id and a lease it renews while it runs. What it holds
//! in the database (a stop action's idempotency key while the action runs) names it, so that a retry
//! reaching another server, or this one started again after a crash, knows soon whether the holder is
//! gone: on SQLite at once (one process serves the file), on PostgreSQL when its lease runs out.

pub mod worker;

use std::sync::Arc;

use uuid::Uuid;

use crate::clock::Clock;
use crate::store::{InstanceStore, StoreError};

/// How long a lease lasts without renewal: a server that crashed (or cannot reach the database) loses
/// what it held this long after it last renewed.
pub const LEASE: chrono::Duration = chrono::Duration::seconds(10);

/// How often the lease is renewed: several times within [`LEASE`], so that a slow renewal or two do not
/// let it run out while the server runs.
pub const RENEW_EVERY: std::time::Duration = std::time::Duration::from_secs(3);

pub struct Instance {
    pub id: Uuid,
    store: Arc<dyn InstanceStore>,
    clock: Arc<dyn Clock>,
}

impl Instance {
    /// Records this server as running, with a new id.
    pub async fn register(store: Arc<dyn InstanceStore>, clock: Arc<dyn Clock>) -> Result<Instance, StoreError> {
        let id = Uuid::now_v7();
        let now = clock.now();
        store.register(id, now, now + LEASE).await?;
        Ok(Instance { id, store, clock })
    }

    async fn renew(&self) -> Result<(), StoreError> {
        let now = self.clock.now();
        self.store.renew(self.id, now, now + LEASE).await
    }

    async fn retire(&self) -> Result<(), StoreError> {
        self.store.retire(self.id).await
    }
}
