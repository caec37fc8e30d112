//! The day as the driver sees it: the stops of the kept manifest, numbered in driving order, each with
//! its status as this phone knows it. A delivery queued offline shows as delivered at once, marked as
//! not yet sent; the server's word replaces it once the action is pushed.

use todoke_shared::ShipmentStatus;
use todoke_shared::driver::{Manifest, ManifestStop};
use uuid::Uuid;

use crate::store::{Action, ActionKind, ActionState};

#[derive(Debug, Clone)]
pub struct DayStop {
    /// 1-based over the whole day, in driving order: what the driver types.
    pub number: usize,
    pub route_id: Uuid,
    pub stop: ManifestStop,
    /// The status as this phone knows it.
    pub status: ShipmentStatus,
    pub sync: SyncState,
}

/// Whether this phone holds an action for the stop that the server has not applied yet.
#[derive(Debug, Clone, PartialEq)]
pub enum SyncState {
    /// Nothing of this phone's is pending: the status is the server's.
    InStep,
    /// Arrived, delivered or failed here; not yet sent.
    Queued(ActionKind),
    /// The server refused the last action (with its code): the driver must look.
    Rejected(ActionKind, String),
}

/// Numbers the day's stops and lays this phone's actions over them, newest action last.
pub fn day_stops(manifest: &Manifest, actions: &[Action]) -> Vec<DayStop> {
    let stops = manifest.routes.iter().flat_map(|route| route.stops.iter().map(move |stop| (route.id, stop)));
    stops
        .enumerate()
        .map(|(index, (route_id, stop))| {
            let mut status = stop.status;
            let mut sync = SyncState::InStep;
            for action in actions.iter().filter(|a| a.stop_id == stop.id) {
                match &action.state {
                    ActionState::Queued { .. } => {
                        status = after(action.kind).unwrap_or(status);
                        sync = SyncState::Queued(action.kind);
                    }
                    // A day fetched before the action was applied still says out for delivery; one
                    // fetched since says the same as the receipt, or something newer.
                    ActionState::Done { receipt, .. } if stop.status == ShipmentStatus::OutForDelivery => {
                        status = receipt.status;
                        sync = SyncState::InStep;
                    }
                    ActionState::Done { .. } => sync = SyncState::InStep,
                    ActionState::Rejected { problem, .. } => {
                        sync = SyncState::Rejected(action.kind, problem.code.clone());
                    }
                }
            }
            DayStop { number: index + 1, route_id, stop: stop.clone(), status, sync }
        })
        .collect()
}

/// The status a stop action leads to.
fn after(kind: ActionKind) -> Option<ShipmentStatus> {
    match kind {
        ActionKind::Arrive => None,
        ActionKind::Deliver => Some(ShipmentStatus::Delivered),
        ActionKind::Fail => Some(ShipmentStatus::AttemptFailed),
    }
}

/// A stop by its number on the day, its tracking number, or its id.
pub fn find<'a>(stops: &'a [DayStop], reference: &str) -> Option<&'a DayStop> {
    let reference = reference.trim();
    if let Ok(number) = reference.trim_start_matches('#').parse::<usize>() {
        return stops.iter().find(|s| s.number == number);
    }
    let compact: String = reference.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    stops.iter().find(|s| {
        s.stop.id.to_string() == reference
            || s.stop.tracking_number.to_string().chars().filter(|c| *c != '-').collect::<String>()
                == compact.to_uppercase()
    })
}

impl DayStop {
    /// Whether the driver can still act here: out for delivery, with no delivery or failure of this
    /// phone's waiting.
    pub fn is_open(&self) -> bool {
        self.status == ShipmentStatus::OutForDelivery
    }
}
