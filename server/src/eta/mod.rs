//! Expected arrivals for routes in progress, and the delay notices they cause: the model and the notice
//! rule as pure functions, the recompute that reads and keeps them, the worker that coalesces the news,
//! and the exceptions staff watch.

pub mod delay;
pub mod exceptions;
pub mod model;
pub mod service;
pub mod worker;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;
use uuid::Uuid;

use crate::store::EtaStore;
use delay::DelayPolicy;

/// The ETA work's settings and the drivers with news waiting to be taken into account.
pub struct Eta {
    pub store: Arc<dyn EtaStore>,
    pub policy: DelayPolicy,
    /// How long news gathers before a recompute: many points from a phone make one recompute.
    pub coalesce: std::time::Duration,
    /// The grid the driver's position is rounded to when shown to a customer; 0 shows it never.
    pub position_grid_m: f64,
    pending: Mutex<HashSet<Uuid>>,
    wake: Notify,
}

impl Eta {
    pub fn new(
        store: Arc<dyn EtaStore>,
        policy: DelayPolicy,
        coalesce: std::time::Duration,
        position_grid_m: f64,
    ) -> Eta {
        Eta { store, policy, coalesce, position_grid_m, pending: Mutex::default(), wake: Notify::new() }
    }

    /// Something happened on this driver's day (a location, an arrival, a proof, a route change): their
    /// routes' estimates are recomputed soon, once however much more news arrives meanwhile.
    pub fn touch(&self, driver_id: Uuid) {
        self.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(driver_id);
        self.wake.notify_one();
    }

    /// The drivers touched since the last call.
    fn take(&self) -> Vec<Uuid> {
        self.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).drain().collect()
    }
}
