//! Changing a route once made: sending it out, adding, taking off and reordering stops, sequencing it
//! with the solver. Planned times are kept true, every change is recorded, and shipments joining or
//! leaving a route out for delivery change status, all at once.

use todoke_shared::dispatch::{AddStopRequest, RouteStatus, RouteView};
use todoke_shared::{ShipmentStatus, StatusChange};
use uuid::Uuid;

use super::DispatchError;
use super::mapping::{new_route, route_input, transition};
use super::planning::{Context, DispatchService, ready, solve_off_runtime};
use crate::store::StoreError;
use crate::store::dispatch::{PlacedShipment, RouteChangeRecord, RouteRecord, StopRecord, Transition};

impl DispatchService {
    /// Sends a route out: every shipment on it goes out for delivery and its customer is told.
    #[tracing::instrument(skip_all, fields(route_id = %id))]
    pub async fn dispatch(&self, actor: &str, id: &str) -> Result<RouteView, DispatchError> {
        self.change(actor, id, |route, context| {
            if route.status == RouteStatus::Dispatched {
                return Err(DispatchError::AlreadyDispatched);
            }
            let mut transitions = Vec::with_capacity(route.stops.len());
            for stop in &route.stops {
                let placed = &context.shipments[&stop.shipment_id];
                ready(placed, &context.depot)?;
                transitions.push(self.transition(actor, placed, StatusChange::OutForDelivery, "dispatched")?);
            }
            route.status = RouteStatus::Dispatched;
            route.dispatched_at = Some(self.clock.now());
            Ok((format!("dispatched with {} stops", route.stops.len()), transitions))
        })
        .await
    }

    /// Adds a shipment waiting at the depot to a route, at a position (1-based) or last. On a route out
    /// for delivery it goes out too.
    #[tracing::instrument(skip_all, fields(route_id = %id))]
    pub async fn add_stop(&self, actor: &str, id: &str, request: &AddStopRequest) -> Result<RouteView, DispatchError> {
        self.find_route(id).await?;
        let found = self.waiting_shipments(std::slice::from_ref(&request.tracking_number), "tracking_number").await?;
        let placed = found.into_iter().next().ok_or(DispatchError::RouteNotFound)?;
        self.change(actor, id, |route, context| {
            ready(&placed, &context.depot)?;
            if route.stops.iter().any(|s| s.shipment_id == placed.shipment.id) {
                return Err(DispatchError::AlreadyRouted(placed.shipment.tracking_number));
            }
            let position = stop_position(request.position, route.stops.len());
            let stop = new_route(route.depot_id, route.date, route.driver_id, &[placed.shipment.id], self.clock.now())
                .stops
                .remove(0);
            route.stops.insert(position, stop);
            let transitions = if route.status == RouteStatus::Dispatched {
                vec![self.transition(actor, &placed, StatusChange::OutForDelivery, "added to a dispatched route")?]
            } else {
                Vec::new()
            };
            let change = format!("added {} at stop {}", placed.shipment.tracking_number, position + 1);
            context.shipments.insert(placed.shipment.id, placed.clone());
            Ok((change, transitions))
        })
        .await
    }

    /// Takes a stop off a route. On a route out for delivery its shipment goes back to the depot.
    #[tracing::instrument(skip_all, fields(route_id = %id, stop_id = %stop_id))]
    pub async fn remove_stop(&self, actor: &str, id: &str, stop_id: &str) -> Result<RouteView, DispatchError> {
        self.change(actor, id, |route, context| {
            let index =
                route.stops.iter().position(|s| s.id.to_string() == stop_id).ok_or(DispatchError::StopNotFound)?;
            let stop = route.stops.remove(index);
            let placed = &context.shipments[&stop.shipment_id];
            let shipment = &placed.shipment;
            let leaves = leaving(route.status, shipment.status)
                .map_err(|status| DispatchError::NotAtDepot(shipment.tracking_number, status))?;
            let transitions = match leaves {
                Some(change) => vec![self.transition(actor, placed, change, "taken off a dispatched route")?],
                None => Vec::new(),
            };
            Ok((format!("removed {} (was stop {})", placed.shipment.tracking_number, index + 1), transitions))
        })
        .await
    }

    /// Puts a route's stops in an order given by hand: every stop id, once.
    #[tracing::instrument(skip_all, fields(route_id = %id))]
    pub async fn reorder(&self, actor: &str, id: &str, order: &[Uuid]) -> Result<RouteView, DispatchError> {
        self.change(actor, id, |route, _| {
            route.stops = reordered(std::mem::take(&mut route.stops), order)
                .ok_or_else(|| DispatchError::Invalid("stops", "give every stop of the route once".to_string()))?;
            Ok(("resequenced by hand".to_string(), Vec::new()))
        })
        .await
    }

    /// Sequences a route's stops with the solver, keeping its customers' windows where it can.
    #[tracing::instrument(skip_all, fields(route_id = %id))]
    pub async fn sequence(&self, actor: &str, id: &str) -> Result<RouteView, DispatchError> {
        let route = self.find_route(id).await?;
        let context = self.context(&route).await?;
        let mut input = route_input(
            &route,
            &context.depot,
            &context.driver,
            &context.shipments,
            &context.pickup_points,
            &self.planner,
        );
        // One vehicle with room for all: only the order is in question.
        input.vehicles[0].capacity = u32::MAX / 2;
        input.vehicles[0].zones.clear();
        let order = solve_off_runtime(input, self.planner).await?.routes.remove(0);
        let planned: Vec<Uuid> = order.iter().map(|&i| route.stops[i].id).collect();
        self.change(actor, id, |route, _| {
            // The stops changed while the solver ran: its order is no longer one of this route's.
            route.stops = reordered(std::mem::take(&mut route.stops), &planned).ok_or(StoreError::Stale)?;
            Ok(("sequenced by the planner".to_string(), Vec::new()))
        })
        .await
    }

    /// Applies a change to a route: `edit` rearranges the stops and says what it did; planned times are
    /// recomputed, the change recorded, and the shipments' moves stored, all at once.
    async fn change(
        &self,
        actor: &str,
        id: &str,
        edit: impl FnOnce(&mut RouteRecord, &mut Context) -> Result<(String, Vec<Transition>), DispatchError>,
    ) -> Result<RouteView, DispatchError> {
        let mut route = self.find_route(id).await?;
        let mut context = self.context(&route).await?;
        let (change, transitions) = edit(&mut route, &mut context)?;
        route.version += 1;
        let route = context.with_times(route, &self.planner);
        let record = RouteChangeRecord { changed_at: self.clock.now(), actor: actor.to_string(), change };
        match self.routes.update_route(&route, Some(&record), &transitions).await {
            Err(StoreError::Duplicate(_)) => return Err(DispatchError::StopAlreadyRouted),
            result => result?,
        }
        if route.status == RouteStatus::Dispatched {
            self.eta.touch(route.driver_id);
        }
        self.view(&route).await
    }

    /// The status change (and the customer's notices) for a shipment joining or leaving a route that is
    /// out for delivery.
    fn transition(
        &self,
        actor: &str,
        placed: &PlacedShipment,
        change: StatusChange,
        note: &str,
    ) -> Result<Transition, DispatchError> {
        let at = self.clock.now();
        Ok(transition(&self.mail, actor.to_string(), &placed.shipment, change, None, note.to_string(), at)?)
    }
}

/// Where a stop asked for at `position` (1-based) goes among `stops`: there, or last when none is asked
/// for or it lies beyond the end.
fn stop_position(position: Option<u32>, stops: usize) -> usize {
    position.map_or(stops, |p| (p.max(1) as usize - 1).min(stops))
}

/// How a shipment taken off a route moves: back to the depot from a route out for delivery, not at all
/// from a planned one. A shipment of a route out that is no longer out (delivered, failed) cannot be
/// taken off: its status is the refusal.
fn leaving(route: RouteStatus, shipment: ShipmentStatus) -> Result<Option<StatusChange>, ShipmentStatus> {
    match (route, shipment) {
        (RouteStatus::Dispatched, ShipmentStatus::OutForDelivery) => Ok(Some(StatusChange::AtDepot)),
        (RouteStatus::Dispatched, status) => Err(status),
        (RouteStatus::Planned, _) => Ok(None),
    }
}

/// `stops` in the order of `order`, when it names each of them exactly once.
fn reordered(mut stops: Vec<StopRecord>, order: &[Uuid]) -> Option<Vec<StopRecord>> {
    let mut ordered = Vec::with_capacity(stops.len());
    for id in order {
        let index = stops.iter().position(|s| s.id == *id)?;
        ordered.push(stops.remove(index));
    }
    stops.is_empty().then_some(ordered)
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, Utc};

    use super::*;

    fn stops(count: usize) -> Vec<StopRecord> {
        let shipments: Vec<Uuid> = (0..count).map(|_| Uuid::now_v7()).collect();
        let date = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        new_route(Uuid::now_v7(), date, Uuid::now_v7(), &shipments, Utc::now()).stops
    }

    fn ids(stops: &[StopRecord]) -> Vec<Uuid> {
        stops.iter().map(|s| s.id).collect()
    }

    #[test]
    fn a_stop_goes_where_the_dispatcher_asks_or_last() {
        // Positions are counted from 1, as the dispatcher reads the route.
        assert_eq!(stop_position(Some(1), 3), 0);
        assert_eq!(stop_position(Some(3), 3), 2);
        // Nothing asked, or past the end: after the last stop.
        assert_eq!(stop_position(None, 3), 3);
        assert_eq!(stop_position(Some(9), 3), 3);
        // Position 0 is read as the first.
        assert_eq!(stop_position(Some(0), 3), 0);
        assert_eq!(stop_position(None, 0), 0);
    }

    #[test]
    fn a_new_order_must_name_every_stop_once() {
        let route = stops(3);
        let backwards: Vec<Uuid> = ids(&route).into_iter().rev().collect();
        assert_eq!(ids(&reordered(route.clone(), &backwards).unwrap()), backwards);
        // A stop forgotten, one named twice, or one of another route: no order at all.
        let all = ids(&route);
        assert!(reordered(route.clone(), &all[..2]).is_none());
        assert!(reordered(route.clone(), &[all[0], all[0], all[1], all[2]]).is_none());
        assert!(reordered(route.clone(), &[all[0], all[1], Uuid::now_v7()]).is_none());
    }

    #[test]
    fn a_shipment_taken_off_a_route_out_goes_back_to_the_depot() {
        assert_eq!(leaving(RouteStatus::Dispatched, ShipmentStatus::OutForDelivery), Ok(Some(StatusChange::AtDepot)));
        // Delivered already: it cannot be taken back.
        assert_eq!(leaving(RouteStatus::Dispatched, ShipmentStatus::Delivered), Err(ShipmentStatus::Delivered));
        // Before the route goes out, nothing moves: the shipment still waits at the depot.
        assert_eq!(leaving(RouteStatus::Planned, ShipmentStatus::AtDepot), Ok(None));
    }
}
