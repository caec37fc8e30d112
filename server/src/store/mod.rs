//! Storage behind one narrow interface. [`SqlStore`] implements it once for both SQLite and
//! PostgreSQL; [`CachedStore`] keeps what customers read most in memory; [`connect`] picks the backend
//! from the database URL at run time and puts the cache in front.

pub mod accounts;
mod cache;
mod connect;
pub mod dispatch;
pub mod eta;
pub mod instances;
pub mod notices;
pub mod pod;
mod rows;
mod sql;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use todoke_shared::preferences::{PickupPoint, Preferences, Slot};
use todoke_shared::shipment::{GeoPoint, NewShipment};
use todoke_shared::{ReasonCode, ShipmentStatus, TrackingNumber};
use uuid::Uuid;

pub use accounts::AccountStore;
pub use cache::{CachedStore, Evictions};
pub use connect::{Backend, Stores, connect};
pub use dispatch::{DepotStore, LocationStore, RouteStore};
pub use eta::EtaStore;
pub use instances::InstanceStore;
pub use notices::{Delay, NewNotice, Notice, NoticeError, NoticeOutcome, NoticeRecord, NoticeStore, Outcome};
pub use pod::PodStore;
pub use sql::SqlStore;

/// A stored shipment: its validated content plus what the server assigned.
#[derive(Debug, Clone, PartialEq)]
pub struct ShipmentRecord {
    pub id: Uuid,
    pub tracking_number: TrackingNumber,
    /// The merchant whose API key created it; `None` when staff did.
    pub merchant: Option<String>,
    /// Digest of the create request as first received: a retry of the same order must match it, however
    /// the shipment changed since (its preferences, say).
    pub request_digest: String,
    pub status: ShipmentStatus,
    pub content: NewShipment,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One entry of a shipment's timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub status: ShipmentStatus,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub actor: String,
    pub location: Option<GeoPoint>,
    pub reason: Option<ReasonCode>,
    pub note: Option<String>,
}

/// One field of a shipment's preferences changed: by whom, when, from what to what (as shown to staff;
/// access codes masked).
#[derive(Debug, Clone, PartialEq)]
pub struct PreferenceChange {
    pub changed_at: DateTime<Utc>,
    pub actor: String,
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

/// How to find one shipment.
#[derive(Debug, Clone, Copy)]
pub enum ShipmentKey<'a> {
    Id(Uuid),
    /// A merchant's order id, unique per merchant (`None`: created by staff).
    ExternalRef {
        merchant: Option<&'a str>,
        external_ref: &'a str,
    },
    TrackingNumber(&'a TrackingNumber),
}

/// A page of shipments in creation order, after `after` when given.
#[derive(Debug, Clone, Default)]
pub struct ShipmentQuery {
    /// Only this merchant's shipments.
    pub merchant: Option<String>,
    pub status: Option<ShipmentStatus>,
    pub promised_date: Option<NaiveDate>,
    pub after: Option<Uuid>,
    pub limit: u32,
}

/// A parcel barcode that another shipment of the same merchant already carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BarcodeTaken {
    /// The parcel's index in the new shipment.
    pub position: usize,
    pub barcode: String,
    /// The order (`external_ref`) of the shipment that has it.
    pub external_ref: String,
}

/// What a refused barcode is told: which one, and the order that already has it.
impl std::fmt::Display for BarcodeTaken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "barcode {} is already on the parcel of order '{}'; each parcel needs a barcode of its own",
            self.barcode, self.external_ref
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write; the constraint's name when the database gives one.
    #[error("a unique value is already taken ({0:?})")]
    Duplicate(Option<String>),
    /// Parcel barcodes are unique per merchant; these are taken (nothing was written).
    #[error("parcel barcodes already in use: {0:?}")]
    BarcodesTaken(Vec<BarcodeTaken>),
    /// The row changed since it was read (optimistic concurrency); read again and retry.
    #[error("the record changed concurrently")]
    Stale,
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    /// The database could not take the work now (locked, a deadlock, no connection free in time): the
    /// whole transaction may be tried again, and nothing of it was kept.
    #[error("the database is busy: {0}")]
    Busy(sqlx::Error),
    #[error(transparent)]
    Database(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> StoreError {
        match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Duplicate(db.constraint().map(str::to_string))
            }
            sqlx::Error::Database(db) if is_contention(db.as_ref()) => StoreError::Busy(error),
            sqlx::Error::PoolTimedOut => StoreError::Busy(error),
            _ => StoreError::Database(error),
        }
    }
}

/// SQLite's busy and locked results (with their extended codes, such as 517 for a write on a stale
/// snapshot); PostgreSQL's serialization failure, deadlock and lock timeout.
fn is_contention(error: &dyn sqlx::error::DatabaseError) -> bool {
    let code = error.code();
    if error.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        return code.and_then(|c| c.parse::<i32>().ok()).is_some_and(|c| matches!(c & 0xff, 5 | 6));
    }
    matches!(code.as_deref(), Some("40001" | "40P01" | "55P03"))
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Which database this is, for logs and readiness.
    fn backend(&self) -> Backend;

    async fn ping(&self) -> Result<(), StoreError>;

    /// Stores a new shipment, its parcels and its first timeline event in one transaction.
    /// [`StoreError::BarcodesTaken`] when another shipment of the same merchant has one of the barcodes;
    /// [`StoreError::Duplicate`] when the order or the tracking number is taken.
    async fn insert_shipment(&self, shipment: &ShipmentRecord, first_event: &EventRecord) -> Result<(), StoreError>;

    async fn find_shipment(&self, key: ShipmentKey<'_>) -> Result<Option<ShipmentRecord>, StoreError>;

    async fn list_shipments(&self, query: &ShipmentQuery) -> Result<Vec<ShipmentRecord>, StoreError>;

    /// The timeline, oldest first.
    async fn events(&self, shipment_id: Uuid) -> Result<Vec<EventRecord>, StoreError>;

    /// Replaces a shipment's preferences and records each change, atomically, provided the shipment
    /// is still in `status` with the `previous` preferences and, when `before_arrival`, the driver has
    /// not arrived at its open stop (else [`StoreError::Stale`]).
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
    ) -> Result<(), StoreError>;

    /// When the driver arrived at the shipment's open stop (one without a proof, on its latest
    /// route), if they have.
    async fn arrived_at(&self, shipment_id: Uuid) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// The record of preference changes, oldest first.
    async fn preference_changes(&self, shipment_id: Uuid) -> Result<Vec<PreferenceChange>, StoreError>;

    /// Moves a shipment from `from` to `event.status` and appends the event and the notices it causes,
    /// atomically.
    /// [`StoreError::Stale`] when the shipment is no longer in `from`.
    async fn append_transition(
        &self,
        shipment_id: Uuid,
        from: ShipmentStatus,
        event: &EventRecord,
        notices: &[NewNotice],
    ) -> Result<(), StoreError>;
}

/// Where and when customers may receive: the delivery slots and the pickup points.
#[async_trait]
pub trait PlaceStore: Send + Sync + 'static {
    /// The delivery slots customers may choose, in time order.
    async fn delivery_slots(&self) -> Result<Vec<Slot>, StoreError>;

    /// Replaces the delivery slots customers may choose.
    async fn replace_delivery_slots(&self, slots: &[Slot]) -> Result<(), StoreError>;

    /// The pickup points that take parcels.
    async fn pickup_points(&self) -> Result<Vec<PickupPoint>, StoreError>;

    /// Adds a pickup point; [`StoreError::Duplicate`] when the id is taken.
    async fn insert_pickup_point(&self, point: &PickupPoint) -> Result<(), StoreError>;
}
