//! Warehouse dispatch: depots and their delivery zones, drivers, receiving parcels by scan, and
//! turning a day's parcels into sequenced routes that go out for delivery.

mod depots;
mod error;
pub mod partition;
pub mod plan;
mod polish;
mod receiving;
mod routes;
pub mod service;
pub mod solver;
pub mod zones;

use todoke_shared::{ShipmentStatus, TrackingNumber};
use utoipa_axum::router::OpenApiRouter;

use crate::app::AppState;
use crate::store::StoreError;

pub fn router() -> OpenApiRouter<AppState> {
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
    #[error("That account is not a driver with a profile at this depot; give the driver a profile first.")]
    NotADriver,
    #[error("The route is already out for delivery.")]
    AlreadyDispatched,
    #[error("Shipment {0} is {status}, not waiting at the depot.", status = .1.as_str())]
    NotAtDepot(TrackingNumber, ShipmentStatus),
    #[error("Shipment {0} is already on a route that day.")]
    AlreadyRouted(TrackingNumber),
    #[error("The route planner failed.")]
    Solver(#[from] solver::SolverError),
    #[error(transparent)]
    Store(#[from] StoreError),
}
