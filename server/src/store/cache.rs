//! A read-through cache in front of the store, so that customers checking their parcels cost no
//! database work. It stays coherent with writes: the store's every write that changes a shipment
//! evicts it before it returns, whoever called it ([`Evictions`]), and on PostgreSQL other servers'
//! writes arrive as notifications (see `connect`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use quick_cache::sync::Cache;
use todoke_shared::preferences::Preferences;
use todoke_shared::{ShipmentStatus, TrackingNumber};
use uuid::Uuid;

use super::{
    Backend, EventRecord, NewNotice, PreferenceChange, ShipmentKey, ShipmentQuery, ShipmentRecord, Store, StoreError,
};

/// How many shipments (with their timelines) are kept in memory.
const CAPACITY: usize = 50_000;

pub struct CachedStore {
    inner: Arc<dyn Store>,
    /// Tracking numbers never change, so this map is never invalidated.
    ids: Cache<TrackingNumber, Uuid>,
    shipments: Cache<Uuid, ShipmentRecord>,
    events: Cache<Uuid, Arc<Vec<EventRecord>>>,
    /// Whether every change reaches this cache. While the PostgreSQL listener is down it does not,
    /// so the cache is neither read nor filled.
    following: AtomicBool,
    /// Bumped by every eviction. A value read from the database is kept only if no eviction happened
    /// while it was being read, so a slow read can never bring back what a write just replaced.
    generation: AtomicU64,
    /// Lives as long as the cache: the lock that keeps other processes off a SQLite file (whose
    /// writes this cache could not see), or the sender whose drop stops the PostgreSQL listener.
    _companion: Box<dyn std::any::Any + Send + Sync>,
}

impl CachedStore {
    /// `following`: whether changes already reach the cache (true for a locked SQLite file; on
    /// PostgreSQL the listener says so once it listens).
    pub fn new(inner: Arc<dyn Store>, following: bool, companion: Box<dyn std::any::Any + Send + Sync>) -> CachedStore {
        CachedStore {
            inner,
            following: AtomicBool::new(following),
            ids: Cache::new(CAPACITY),
            shipments: Cache::new(CAPACITY),
            events: Cache::new(CAPACITY),
            generation: AtomicU64::new(0),
            _companion: companion,
        }
    }

    /// Forgets one shipment, after it changed.
    pub fn evict(&self, id: Uuid) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.shipments.remove(&id);
        self.events.remove(&id);
    }

    /// Starts or stops using the cache. Starting forgets everything, since changes may have been
    /// missed while not following.
    pub fn set_following(&self, following: bool) {
        if following {
            self.clear();
        }
        self.following.store(following, Ordering::SeqCst);
    }

    /// Forgets everything, when changes may have been missed.
    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.shipments.clear();
        self.events.clear();
    }

    fn following(&self) -> bool {
        self.following.load(Ordering::SeqCst)
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Keeps a value read from the database at generation `read_at`, unless an eviction came in
    /// between (also one that races with this insert: the second look catches it).
    fn keep<K: Eq + std::hash::Hash + Clone, V: Clone>(&self, cache: &Cache<K, V>, read_at: u64, key: K, value: V) {
        if !self.following() || self.generation() != read_at {
            return;
        }
        cache.insert(key.clone(), value);
        if self.generation() != read_at {
            cache.remove(&key);
        }
    }
}

#[async_trait]
impl Store for CachedStore {
    fn backend(&self) -> Backend {
        self.inner.backend()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }

    async fn insert_shipment(&self, shipment: &ShipmentRecord, first_event: &EventRecord) -> Result<(), StoreError> {
        self.inner.insert_shipment(shipment, first_event).await
    }

    async fn find_shipment(&self, key: ShipmentKey<'_>) -> Result<Option<ShipmentRecord>, StoreError> {
        // Only customers' lookups by tracking number are answered from memory. Lookups by id serve
        // writes, which must judge the status as stored, not as cached.
        if let ShipmentKey::TrackingNumber(number) = key
            && self.following()
            && let Some(record) = self.ids.get(number).and_then(|id| self.shipments.get(&id))
        {
            return Ok(Some(record));
        }
        let read_at = self.generation();
        let found = self.inner.find_shipment(key).await?;
        if let Some(record) = &found {
            self.ids.insert(record.tracking_number, record.id);
            self.keep(&self.shipments, read_at, record.id, record.clone());
        }
        Ok(found)
    }

    async fn list_shipments(&self, query: &ShipmentQuery) -> Result<Vec<ShipmentRecord>, StoreError> {
        self.inner.list_shipments(query).await
    }

    async fn events(&self, shipment_id: Uuid) -> Result<Vec<EventRecord>, StoreError> {
        if self.following()
            && let Some(events) = self.events.get(&shipment_id)
        {
            return Ok(events.as_ref().clone());
        }
        let read_at = self.generation();
        let events = self.inner.events(shipment_id).await?;
        self.keep(&self.events, read_at, shipment_id, Arc::new(events.clone()));
        Ok(events)
    }

    #[allow(clippy::too_many_arguments)]
    async fn update_preferences(
        &self,
        shipment_id: Uuid,
        status: ShipmentStatus,
        previous: &Preferences,
        preferences: &Preferences,
        changes: &[PreferenceChange],
        notices: &[NewNotice],
        before_arrival: bool,
    ) -> Result<(), StoreError> {
        self.inner
            .update_preferences(shipment_id, status, previous, preferences, changes, notices, before_arrival)
            .await
    }

    async fn arrived_at(&self, shipment_id: Uuid) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.inner.arrived_at(shipment_id).await
    }

    async fn preference_changes(&self, shipment_id: Uuid) -> Result<Vec<PreferenceChange>, StoreError> {
        self.inner.preference_changes(shipment_id).await
    }

    async fn append_transition(
        &self,
        shipment_id: Uuid,
        from: ShipmentStatus,
        event: &EventRecord,
        notices: &[NewNotice],
    ) -> Result<(), StoreError> {
        self.inner.append_transition(shipment_id, from, event, notices).await
    }
}

/// Where the store's writers say which shipments they change, so that the cache forgets them: eviction is
/// part of the write path, and no caller of the store can forget it.
#[derive(Default)]
pub struct Evictions(OnceLock<Weak<CachedStore>>);

impl Evictions {
    /// The cache to evict from, once it exists.
    pub fn follow(&self, cache: &Arc<CachedStore>) {
        let _ = self.0.set(Arc::downgrade(cache));
    }

    /// Evicts `ids` when the guard is dropped: after the write however it ended, on failure (a stale
    /// status means another server changed it) and when the request is dropped midway, perhaps after
    /// the commit.
    pub fn on_drop(&self, ids: Vec<Uuid>) -> EvictOnDrop<'_> {
        EvictOnDrop { evictions: self, ids }
    }
}

pub struct EvictOnDrop<'a> {
    evictions: &'a Evictions,
    ids: Vec<Uuid>,
}

impl Drop for EvictOnDrop<'_> {
    fn drop(&mut self) {
        if let Some(cache) = self.evictions.0.get().and_then(Weak::upgrade) {
            for id in &self.ids {
                cache.evict(*id);
            }
        }
    }
}
