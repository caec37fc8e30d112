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
                        sync = SyncState::Rejected(action.kind, problem.code.to_string());
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

#[cfg(test)]
mod tests {
    use todoke_shared::pod::StopReceipt;

    use super::*;
    use crate::store::ActionKind;

    fn manifest() -> Manifest {
        let stop = |n: usize, number: &str| {
            serde_json::from_value::<ManifestStop>(serde_json::json!({
                "id": Uuid::now_v7(), "position": n, "planned_arrival": "2026-11-24T10:00:00+09:00",
                "planned_departure": "2026-11-24T10:03:00+09:00", "window_start": "2026-11-24T08:00:00+09:00",
                "window_end": "2026-11-24T12:00:00+09:00", "location": {"lat": 35.68, "lon": 139.76},
                "shipment_id": Uuid::now_v7(), "tracking_number": number, "status": "out_for_delivery",
                "recipient_name": "山田", "recipient_phone": null,
                "address": {"lines": ["丸の内1-9-1"], "postal_code": "100-0005", "city": "千代田区", "region": null,
                            "country": "JP", "lat": 35.68, "lon": 139.76, "timezone": "Asia/Tokyo"},
                "preferences": {"method": {"kind": "hand_to_recipient"}}, "flags": {},
                "pod_requirements": ["signature", "recipient_name"], "parcels": ["P1"]
            }))
            .unwrap()
        };
        serde_json::from_value(serde_json::json!({
            "date": "2026-11-24",
            "routes": [{"id": Uuid::now_v7(), "depot_id": Uuid::now_v7(), "status": "dispatched", "version": 1,
                        "distance_km": 3.0, "planned_start": "2026-11-24T09:00:00+09:00",
                        "planned_end": "2026-11-24T12:00:00+09:00",
                        "stops": [stop(1, "FYAQ-FPZX-HAH6-JT76"), stop(2, "30HP-CCSE-A8M2-Y5R2")]}]
        }))
        .unwrap()
    }

    fn action(stop: &ManifestStop, kind: ActionKind, state: ActionState) -> Action {
        Action {
            seq: 1,
            idempotency_key: "k".into(),
            kind,
            stop_id: stop.id,
            shipment_id: stop.shipment_id,
            tracking_number: stop.tracking_number.to_string(),
            report: "{}".into(),
            queued_at: chrono::Utc::now(),
            state,
            files: Vec::new(),
        }
    }

    #[test]
    fn a_queued_delivery_shows_as_delivered_and_closes_the_stop_until_the_server_answers() {
        let day = manifest();
        let first = &day.routes[0].stops[0];
        let queued = action(first, ActionKind::Deliver, ActionState::Queued { attempts: 0, last_error: None });
        let stops = day_stops(&day, &[queued]);
        assert_eq!(stops[0].status, ShipmentStatus::Delivered);
        assert_eq!(stops[0].sync, SyncState::Queued(ActionKind::Deliver));
        assert!(!stops[0].is_open() && stops[1].is_open());

        let receipt = StopReceipt {
            stop_id: first.id,
            shipment_id: first.shipment_id,
            status: ShipmentStatus::Delivered,
            proof_id: None,
            distance_m: Some(3.0),
            flagged: false,
        };
        let done = action(first, ActionKind::Deliver, ActionState::Done { receipt, settled_at: chrono::Utc::now() });
        let stops = day_stops(&day, &[done]);
        assert_eq!((stops[0].status, &stops[0].sync), (ShipmentStatus::Delivered, &SyncState::InStep));
    }

    #[test]
    fn a_stop_is_found_by_number_tracking_number_or_id() {
        let day = manifest();
        let stops = day_stops(&day, &[]);
        assert_eq!(find(&stops, "2").unwrap().number, 2);
        assert_eq!(find(&stops, "#1").unwrap().number, 1);
        assert_eq!(find(&stops, "30hp ccse a8m2 y5r2").unwrap().number, 2);
        assert_eq!(find(&stops, &stops[0].stop.id.to_string()).unwrap().number, 1);
        assert!(find(&stops, "9").is_none());
    }
}
