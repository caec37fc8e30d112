//! The storage interface for warehouse dispatch: depots, zones, drivers, receiving, routes.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use todoke_shared::dispatch::RouteStatus;
use todoke_shared::shipment::GeoPoint;
use todoke_shared::{ShipmentStatus, StatusChange, TransitionError};
use uuid::Uuid;

use super::{EventRecord, NewNotice, ShipmentRecord, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct DepotRecord {
    pub id: Uuid,
    pub name: String,
    pub address: String,
    pub location: GeoPoint,
    pub timezone: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ZoneRecord {
    pub id: Uuid,
    pub depot_id: Uuid,
    pub name: String,
    /// GeoJSON, as validated when it was drawn.
    pub area: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DriverRecord {
    pub user_id: Uuid,
    pub name: String,
    pub email: String,
    pub depot_id: Uuid,
    pub capacity: u32,
    pub shift_start: NaiveTime,
    pub shift_end: NaiveTime,
    pub zones: Vec<Uuid>,
    pub updated_at: DateTime<Utc>,
}

/// A shipment at a depot, with the zone it was found in there.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedShipment {
    pub shipment: ShipmentRecord,
    pub depot_id: Option<Uuid>,
    pub zone_id: Option<Uuid>,
}

/// Where a driver was at a moment, as the phone measured it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LocationRecord {
    pub recorded_at: DateTime<Utc>,
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: Option<f64>,
    pub speed_mps: Option<f64>,
    pub heading_deg: Option<f64>,
}

/// One batch of a driver's points, as the phone sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct DriverPoints {
    pub driver_id: Uuid,
    pub points: Vec<LocationRecord>,
    pub received_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RouteRecord {
    pub id: Uuid,
    pub depot_id: Uuid,
    pub driver_id: Uuid,
    pub date: NaiveDate,
    pub status: RouteStatus,
    pub version: i64,
    pub metres: f64,
    pub created_at: DateTime<Utc>,
    pub dispatched_at: Option<DateTime<Utc>>,
    /// In driving order.
    pub stops: Vec<StopRecord>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StopRecord {
    pub id: Uuid,
    pub shipment_id: Uuid,
    pub planned_arrival: DateTime<Utc>,
    pub planned_departure: DateTime<Utc>,
    pub late: bool,
    pub metres_from_previous: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RouteChangeRecord {
    pub changed_at: DateTime<Utc>,
    pub actor: String,
    pub change: String,
}

/// One shipment's status change with what it causes, ready to be stored as one compare-and-set on its
/// current status. Built only by [`Transition::judged`].
#[derive(Debug, Clone)]
pub struct Transition {
    pub shipment_id: Uuid,
    pub from: ShipmentStatus,
    pub event: EventRecord,
    pub notices: Vec<NewNotice>,
}

/// What happened, as the timeline records it beside the new status.
#[derive(Debug, Clone)]
pub struct Happening {
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub actor: String,
    pub location: Option<GeoPoint>,
    pub note: Option<String>,
}

impl Transition {
    /// A shipment's move by `change`, judged by the lifecycle's rules, with the notices the new status
    /// sends: the one way every writer (staff's events, receiving and dispatch, a driver's proof) gets a
    /// move to store. An illegal move is an error, never dropped silently.
    pub fn judged(
        shipment: &ShipmentRecord,
        change: StatusChange,
        happening: Happening,
        notices: impl FnOnce(ShipmentStatus) -> Vec<NewNotice>,
    ) -> Result<Transition, TransitionError> {
        let next = shipment.status.apply(change)?;
        let Happening { occurred_at, recorded_at, actor, location, note } = happening;
        Ok(Transition {
            shipment_id: shipment.id,
            from: shipment.status,
            event: EventRecord {
                status: next,
                occurred_at,
                recorded_at,
                actor,
                location,
                reason: change.reason(),
                note,
            },
            notices: notices(next),
        })
    }
}

/// Depots, their zones and drivers.
#[async_trait]
pub trait DepotStore: Send + Sync + 'static {
    /// [`StoreError::Duplicate`] when the name is taken.
    async fn insert_depot(&self, depot: &DepotRecord) -> Result<(), StoreError>;
    async fn depots(&self) -> Result<Vec<DepotRecord>, StoreError>;
    async fn depot(&self, id: Uuid) -> Result<Option<DepotRecord>, StoreError>;

    /// [`StoreError::Duplicate`] when the depot has a zone of that name.
    async fn insert_zone(&self, zone: &ZoneRecord) -> Result<(), StoreError>;
    async fn zones(&self, depot_id: Uuid) -> Result<Vec<ZoneRecord>, StoreError>;

    /// Creates or replaces a driver's profile (the name and email are the account's, not written).
    async fn save_driver(&self, driver: &DriverRecord) -> Result<(), StoreError>;
    async fn drivers(&self, depot_id: Uuid) -> Result<Vec<DriverRecord>, StoreError>;
    async fn driver(&self, user_id: Uuid) -> Result<Option<DriverRecord>, StoreError>;
}

/// Receiving, the shipments waiting for a route, routes and their changes.
#[async_trait]
pub trait RouteStore: Send + Sync + 'static {
    /// Shipments by the barcode of one of their parcels, with where they were received.
    async fn shipments_by_barcode(&self, barcodes: &[String]) -> Result<Vec<(String, PlacedShipment)>, StoreError>;

    /// Records that a shipment arrived at a depot and lies in `zone_id` there: the status change,
    /// its event and notices, and the placement, atomically ([`StoreError::Stale`] if its status moved).
    async fn receive(&self, transition: &Transition, depot_id: Uuid, zone_id: Option<Uuid>) -> Result<(), StoreError>;

    /// Shipments waiting at a depot that no route of `date` holds yet.
    async fn unrouted_at_depot(&self, depot_id: Uuid, date: NaiveDate) -> Result<Vec<PlacedShipment>, StoreError>;

    /// Shipments with their placement, by id, in no particular order.
    async fn placed_shipments(&self, ids: &[Uuid]) -> Result<Vec<PlacedShipment>, StoreError>;

    /// The shipments of a route's stops, in no particular order.
    async fn route_shipments(&self, route_id: Uuid) -> Result<Vec<PlacedShipment>, StoreError>;

    /// Stores new routes with their stops, atomically. [`StoreError::Duplicate`] when a shipment is
    /// already on a route that day.
    async fn insert_routes(&self, routes: &[RouteRecord]) -> Result<(), StoreError>;

    async fn routes(&self, depot_id: Uuid, date: NaiveDate) -> Result<Vec<RouteRecord>, StoreError>;
    async fn route(&self, id: Uuid) -> Result<Option<RouteRecord>, StoreError>;
    async fn route_changes(&self, route_id: Uuid) -> Result<Vec<RouteChangeRecord>, StoreError>;

    /// Replaces a route (status, distance, stops) if it is still at `route.version - 1`, with the
    /// change recorded and the shipments' transitions applied, all in one transaction.
    /// [`StoreError::Stale`] when the route or any shipment changed meanwhile: then nothing is written.
    async fn update_route(
        &self,
        route: &RouteRecord,
        change: Option<&RouteChangeRecord>,
        transitions: &[Transition],
    ) -> Result<(), StoreError>;
}

/// The points drivers' phones send.
#[async_trait]
pub trait LocationStore: Send + Sync + 'static {
    /// Stores batches, of one driver or several, in one transaction (a point already stored is skipped),
    /// and moves each driver's latest position on when one of their points is newer.
    async fn record_locations(&self, batches: &[DriverPoints]) -> Result<(), StoreError>;

    /// Drops every driver's points recorded before `before`; answers how many.
    async fn prune_locations(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;

    /// The newest point a driver sent, for ETAs.
    async fn driver_position(&self, driver_id: Uuid) -> Result<Option<LocationRecord>, StoreError>;
}
