//! Warehouse dispatch: depots and their delivery zones, drivers, receiving parcels by scan, and
//! turning a day's parcels into sequenced routes that go out for delivery.

mod changes;
mod depots;
mod error;
pub mod mapping;
pub mod partition;
pub mod plan;
mod planning;
mod polish;
mod receiving;
mod routes;
pub mod solver;
pub mod zones;

use axum::extract::FromRef;
use todoke_shared::{ShipmentStatus, TrackingNumber, TrackingNumberError, TransitionError};
use utoipa_axum::router::OpenApiRouter;

use crate::auth::Authenticator;
use crate::store::StoreError;
pub use depots::DepotService;
pub use planning::DispatchService;

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    DepotService: FromRef<S>,
    DispatchService: FromRef<S>,
    Authenticator: FromRef<S>,
{
    depots::router().merge(receiving::router()).merge(routes::router())
}

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error("There is no such depot.")]
    DepotNotFound,
    #[error("There is no such route.")]
    RouteNotFound,
    #[error("That route has no such stop.")]
    StopNotFound,
    #[error("{0}: {1}")]
    Invalid(&'static str, String),
    /// A tracking number given at `field` (`shipments[2]`) that is not one.
    #[error("{1}")]
    BadTrackingNumber(String, TrackingNumberError),
    /// A tracking number given at `field` that no shipment has.
    #[error("no shipment has it")]
    UnknownTrackingNumber(String),
    #[error("That account is not a driver with a profile at this depot; give the driver a profile first.")]
    NotADriver,
    #[error("The route is already out for delivery.")]
    AlreadyDispatched,
    #[error("Shipment {0} is {status}, not waiting at the depot.", status = .1.as_str())]
    NotAtDepot(TrackingNumber, ShipmentStatus),
    #[error("Shipment {0} is already on a route that day.")]
    AlreadyRouted(TrackingNumber),
    /// A new route's shipments, some of them routed meanwhile.
    #[error("Some of these shipments are on a route that day.")]
    SomeAlreadyRouted,
    /// A stop added to a route, its shipment routed elsewhere meanwhile.
    #[error("That shipment is on a route that day.")]
    StopAlreadyRouted,
    /// The day's routes were being built by someone else at the same time.
    #[error("Some of these shipments were routed by someone else meanwhile. Build again.")]
    RoutedMeanwhile,
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error("The route planner failed.")]
    Solver(#[from] solver::SolverError),
    #[error(transparent)]
    Store(#[from] StoreError),
}
