//! The storage interface for expected arrivals: what the ETA work reads of a route's progress, the
//! estimates it keeps, and the delay windows customers were told.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use todoke_shared::pod::ProofOutcome;
use uuid::Uuid;

use super::{NewNotice, StoreError};
use crate::eta::delay::Told;
use crate::eta::model::{Pace, StopEta};

/// A route stop's progress: whether it is still to be visited, the driver's arrival, the proof's capture.
#[derive(Debug, Clone, PartialEq)]
pub struct StopProgress {
    pub stop_id: Uuid,
    pub shipment_id: Uuid,
    /// Out for delivery, without a proof, and not taken over by a later day's route.
    pub open: bool,
    pub arrived_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// The latest estimate of a route's open stops.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteEtaRecord {
    pub route_id: Uuid,
    /// The moment of the newest sign of the driver it starts from; `None`: the plan, before any.
    pub as_of: Option<DateTime<Utc>>,
    pub computed_at: DateTime<Utc>,
    pub pace: Pace,
    /// The open stops, in driving order.
    pub stops: Vec<StopEta>,
}

/// The delay window a customer was last told for a stop, and how many notices said so.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Announced {
    pub stop_id: Uuid,
    pub told: Told,
    pub notices: u32,
}

/// A delay notice to send with an estimate: the window it names, and the notices sent before it for
/// this stop (the compare-and-set that keeps two servers from both sending it).
#[derive(Debug, Clone)]
pub struct Announcement {
    pub stop_id: Uuid,
    pub shipment_id: Uuid,
    pub told: Told,
    pub previous: u32,
    pub notices: Vec<NewNotice>,
}

/// Where a shipment out for delivery is: its stop on its latest dispatched route, and whose route it is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    pub stop_id: Uuid,
    pub route_id: Uuid,
    pub driver_id: Uuid,
}
/// A proof captured on one of a depot's routes of a day, for staff.
#[derive(Debug, Clone, PartialEq)]
pub struct DayProof {
    pub proof_id: Uuid,
    pub route_id: Uuid,
    pub stop_id: Uuid,
    pub shipment_id: Uuid,
    pub outcome: ProofOutcome,
    pub captured_at: DateTime<Utc>,
    pub distance_m: f64,
    pub flagged: bool,
    /// JSON, as stored with the proof.
    pub details: String,
}

#[async_trait]
pub trait EtaStore: Send + Sync + 'static {
    /// A driver's dispatched routes dated `since` or later that still have a stop out for delivery.
    async fn open_routes(&self, driver_id: Uuid, since: NaiveDate) -> Result<Vec<Uuid>, StoreError>;

    /// The progress of each stop of a route, in driving order.
    async fn stop_progress(&self, route_id: Uuid) -> Result<Vec<StopProgress>, StoreError>;

    /// The delay windows told on these routes' stops.
    async fn announced(&self, route_ids: &[Uuid]) -> Result<Vec<Announced>, StoreError>;

    /// Keeps a route's estimate and sends its delay notices, in one transaction; an announcement for a
    /// shipment no longer out for delivery is dropped. [`StoreError::Stale`] (and nothing written) when a
    /// newer estimate is stored or another server announced meanwhile.
    async fn save_eta(
        &self,
        eta: &RouteEtaRecord,
        announcements: &[Announcement],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    async fn route_etas(&self, route_ids: &[Uuid]) -> Result<Vec<RouteEtaRecord>, StoreError>;

    /// The proofs captured on a depot's routes of a day.
    async fn day_proofs(&self, depot_id: Uuid, date: NaiveDate) -> Result<Vec<DayProof>, StoreError>;
}

/// The tracking views' reads of the estimates: where a shipment is on its route, and the route's latest
/// estimate. Served from the read cache ([`super::CachedStore`]): a change of the route evicts its
/// shipments' places, a new estimate only the route's, so each estimate is read once however many of its
/// customers look.
#[async_trait]
pub trait ArrivalStore: Send + Sync + 'static {
    /// The shipment's stop on its latest dispatched route, if it is on one.
    async fn placement(&self, shipment_id: Uuid) -> Result<Option<Placement>, StoreError>;

    /// The route's latest estimate, once it has one.
    async fn route_eta(&self, route_id: Uuid) -> Result<Option<Arc<RouteEtaRecord>>, StoreError>;
}
