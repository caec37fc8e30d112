//! Planning a depot's day: its routes built by the solver or made by hand, and a route read with its
//! stops' planned times. Changing a route once made is in `changes`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::NaiveDate;
use todoke_shared::dispatch::{BuildRoutesRequest, NewRouteRequest, RoutePlanReport, RouteView};
use todoke_shared::preferences::PickupPoint;
use todoke_shared::{ShipmentStatus, TrackingNumber};
use uuid::Uuid;

use super::DispatchError;
use super::depots::find_depot;
use super::mapping::{Planner, new_route, replan, route_input, route_view, vehicle, visit};
use super::plan::{Assignment, PlanningInput};
use super::solver::{SolverError, plan};
use crate::clock::Clock;
use crate::eta::Eta;
use crate::notify::Mail;
use crate::schedule::{DepotDay, due};
use crate::store::dispatch::{DepotRecord, DriverRecord, PlacedShipment, RouteChangeRecord, RouteRecord};
use crate::store::{DepotStore, PlaceStore, RouteStore, ShipmentKey, Store, StoreError};

/// Most shipments one route is made of by hand.
const MAX_SHIPMENTS: usize = 1000;

/// What receiving and the routes need: the depots' routes and the shipments on them, the planner, the
/// mail a shipment's move sends, the arrival times a change to a route out for delivery touches, and
/// the time.
#[derive(Clone)]
pub struct DispatchService {
    /// The delivery slots and pickup points customers choose from.
    pub places: Arc<dyn PlaceStore>,
    pub depots: Arc<dyn DepotStore>,
    pub routes: Arc<dyn RouteStore>,
    /// The shipments named by tracking number, and the pickup points they may be bound for.
    pub shipments: Arc<dyn Store>,
    pub planner: Planner,
    pub mail: Arc<Mail>,
    pub eta: Arc<Eta>,
    pub clock: Arc<dyn Clock>,
}

/// What a route's views and changes need besides the route.
pub(super) struct Context {
    pub depot: DepotRecord,
    pub driver: DriverRecord,
    pub shipments: HashMap<Uuid, PlacedShipment>,
    pub pickup_points: Vec<PickupPoint>,
}

impl Context {
    /// The route with planned times and distances for its stops in their current order.
    pub fn with_times(&self, mut route: RouteRecord, planner: &Planner) -> RouteRecord {
        let input = route_input(&route, &self.depot, &self.driver, &self.shipments, &self.pickup_points, planner);
        let day = DepotDay::new(&self.depot, route.date);
        replan(&mut route, &input, &day, day.time_of_day(self.driver.shift_start), planner);
        route
    }

    fn view(&self, route: &RouteRecord, planner: &Planner, changes: &[RouteChangeRecord]) -> RouteView {
        route_view(route, &self.driver.name, &self.shipments, changes, &self.depot, &self.pickup_points, planner)
    }
}

impl DispatchService {
    /// The routes of a depot's day, stops in order with planned times.
    pub async fn day(&self, depot_id: Uuid, date: NaiveDate) -> Result<Vec<RouteView>, DispatchError> {
        let depot = find_depot(&*self.depots, depot_id).await?;
        let mut views = Vec::new();
        for route in self.routes.routes(depot.id, date).await? {
            views.push(self.view(&route).await?);
        }
        Ok(views)
    }

    /// One route, with the changes made to it.
    pub async fn route(&self, id: &str) -> Result<RouteView, DispatchError> {
        let route = self.find_route(id).await?;
        self.view(&route).await
    }

    /// Builds the day's routes: every shipment waiting at the depot for that day, split across the
    /// drivers free that day (those chosen, if any) by zone and capacity, each route sequenced.
    #[tracing::instrument(skip_all, fields(depot_id = %request.depot_id, date = %request.date))]
    pub async fn build(&self, request: &BuildRoutesRequest) -> Result<RoutePlanReport, DispatchError> {
        let depot = find_depot(&*self.depots, request.depot_id).await?;
        let date = request.date;
        let busy: HashSet<Uuid> = self.routes.routes(depot.id, date).await?.iter().map(|r| r.driver_id).collect();
        let drivers = free_drivers(self.depots.drivers(depot.id).await?, &busy, request.drivers.as_deref())?;
        let waiting = due_on(self.routes.unrouted_at_depot(depot.id, date).await?, date);
        let pickup_points = self.places.pickup_points().await?;
        let day = DepotDay::new(&depot, date);
        let input = PlanningInput {
            depot: depot.location,
            visits: waiting.iter().map(|p| visit(p, &day, &self.planner.speed, &pickup_points)).collect(),
            vehicles: drivers.iter().map(|d| vehicle(d, &day)).collect(),
        };
        let assignment = solve_off_runtime(input, self.planner).await?;

        let at = self.clock.now();
        let mut routes = Vec::new();
        for (driver, order) in drivers.iter().zip(&assignment.routes).filter(|(_, order)| !order.is_empty()) {
            let ids: Vec<Uuid> = order.iter().map(|&i| waiting[i].shipment.id).collect();
            let context = Context {
                depot: depot.clone(),
                driver: driver.clone(),
                shipments: order.iter().map(|&i| (waiting[i].shipment.id, waiting[i].clone())).collect(),
                pickup_points: pickup_points.clone(),
            };
            let route = context.with_times(new_route(depot.id, date, driver.user_id, &ids, at), &self.planner);
            routes.push((route, context));
        }
        let records: Vec<RouteRecord> = routes.iter().map(|(r, _)| r.clone()).collect();
        match self.routes.insert_routes(&records).await {
            Err(StoreError::Duplicate(_)) => return Err(DispatchError::RoutedMeanwhile),
            result => result?,
        }
        let late = routes
            .iter()
            .flat_map(|(route, context)| {
                route
                    .stops
                    .iter()
                    .filter(|s| s.late)
                    .map(|s| context.shipments[&s.shipment_id].shipment.tracking_number)
            })
            .collect();
        Ok(RoutePlanReport {
            routes: routes.iter().map(|(route, context)| context.view(route, &self.planner, &[])).collect(),
            unplaced: assignment.unplaced.iter().map(|&i| waiting[i].shipment.tracking_number).collect(),
            late,
            outside_zones: waiting.iter().filter(|p| p.zone_id.is_none()).map(|p| p.shipment.tracking_number).collect(),
        })
    }

    /// Makes a route by hand: these shipments, in this order, for this driver of the depot.
    #[tracing::instrument(skip_all, fields(depot_id = %request.depot_id, driver_id = %request.driver_id))]
    pub async fn create(&self, request: &NewRouteRequest) -> Result<RouteView, DispatchError> {
        let depot = find_depot(&*self.depots, request.depot_id).await?;
        let driver = self
            .depots
            .driver(request.driver_id)
            .await?
            .filter(|d| d.depot_id == depot.id)
            .ok_or(DispatchError::NotADriver)?;
        if request.shipments.is_empty() || request.shipments.len() > MAX_SHIPMENTS {
            return Err(DispatchError::Invalid("shipments", format!("give 1 to {MAX_SHIPMENTS} tracking numbers")));
        }
        let shipments = self.waiting_shipments(&request.shipments, "shipments").await?;
        for placed in &shipments {
            ready(placed, &depot)?;
        }
        let ids: Vec<Uuid> = shipments.iter().map(|p| p.shipment.id).collect();
        if ids.iter().collect::<HashSet<_>>().len() != ids.len() {
            return Err(DispatchError::Invalid("shipments", "name each shipment once".to_string()));
        }
        let context = Context {
            depot,
            driver,
            shipments: shipments.into_iter().map(|p| (p.shipment.id, p)).collect(),
            pickup_points: self.places.pickup_points().await?,
        };
        let route = new_route(context.depot.id, request.date, request.driver_id, &ids, self.clock.now());
        let route = context.with_times(route, &self.planner);
        match self.routes.insert_routes(std::slice::from_ref(&route)).await {
            Err(StoreError::Duplicate(_)) => {
                let taken = context.shipments.values().next().map(|p| p.shipment.tracking_number);
                return Err(match taken {
                    Some(number) if ids.len() == 1 => DispatchError::AlreadyRouted(number),
                    _ => DispatchError::SomeAlreadyRouted,
                });
            }
            result => result?,
        }
        self.view(&route).await
    }

    pub(super) async fn context(&self, route: &RouteRecord) -> Result<Context, DispatchError> {
        let depot = self.depots.depot(route.depot_id).await?.ok_or(DispatchError::DepotNotFound)?;
        let driver = self.depots.driver(route.driver_id).await?.ok_or(DispatchError::NotADriver)?;
        let ids: Vec<Uuid> = route.stops.iter().map(|s| s.shipment_id).collect();
        let shipments = self.routes.placed_shipments(&ids).await?.into_iter().map(|p| (p.shipment.id, p)).collect();
        Ok(Context { depot, driver, shipments, pickup_points: self.places.pickup_points().await? })
    }

    pub(super) async fn view(&self, route: &RouteRecord) -> Result<RouteView, DispatchError> {
        let context = self.context(route).await?;
        let changes = self.routes.route_changes(route.id).await?;
        Ok(context.view(route, &self.planner, &changes))
    }

    pub(super) async fn find_route(&self, id: &str) -> Result<RouteRecord, DispatchError> {
        let id = Uuid::try_parse(id).map_err(|_| DispatchError::RouteNotFound)?;
        self.routes.route(id).await?.ok_or(DispatchError::RouteNotFound)
    }

    /// The shipments named by tracking number (at `field`, as the request names it) as they are placed.
    pub(super) async fn waiting_shipments(
        &self,
        numbers: &[String],
        field: &'static str,
    ) -> Result<Vec<PlacedShipment>, DispatchError> {
        let mut found = Vec::with_capacity(numbers.len());
        for (index, text) in numbers.iter().enumerate() {
            let at = || format!("{field}[{index}]");
            let number = TrackingNumber::parse(text).map_err(|e| DispatchError::BadTrackingNumber(at(), e))?;
            let shipment = self
                .shipments
                .find_shipment(ShipmentKey::TrackingNumber(&number))
                .await?
                .ok_or_else(|| DispatchError::UnknownTrackingNumber(at()))?;
            found.extend(self.routes.placed_shipments(&[shipment.id]).await?);
        }
        Ok(found)
    }
}

/// Runs the solver off the async runtime: it is CPU work for seconds.
pub(super) async fn solve_off_runtime(input: PlanningInput, planner: Planner) -> Result<Assignment, DispatchError> {
    let solved = tokio::task::spawn_blocking(move || plan(&input, &planner.travel(), planner.effort))
        .await
        .map_err(|e| SolverError(e.to_string()))?;
    Ok(solved?)
}

/// The drivers a day's routes are built for: the depot's, or those of them `chosen`, less those who
/// have a route that day already. Naming someone who is not the depot's driver is an error.
fn free_drivers(
    mut drivers: Vec<DriverRecord>,
    busy: &HashSet<Uuid>,
    chosen: Option<&[Uuid]>,
) -> Result<Vec<DriverRecord>, DispatchError> {
    if let Some(chosen) = chosen {
        if let Some(stray) = chosen.iter().find(|id| !drivers.iter().any(|d| d.user_id == **id)) {
            return Err(DispatchError::Invalid("drivers", format!("{stray} is not a driver of this depot")));
        }
        drivers.retain(|d| chosen.contains(&d.user_id));
    }
    drivers.retain(|d| !busy.contains(&d.user_id));
    Ok(drivers)
}

/// The waiting shipments due on `date`: the others wait at the depot for their own day.
fn due_on(waiting: Vec<PlacedShipment>, date: NaiveDate) -> Vec<PlacedShipment> {
    waiting.into_iter().filter(|p| due(&p.shipment).0 == date).collect()
}

/// A shipment may join a route when it waits at the route's depot.
pub(super) fn ready(placed: &PlacedShipment, depot: &DepotRecord) -> Result<(), DispatchError> {
    let shipment = &placed.shipment;
    if !waits_at(shipment.status, placed.depot_id, depot.id) {
        return Err(DispatchError::NotAtDepot(shipment.tracking_number, shipment.status));
    }
    Ok(())
}

/// Whether a shipment in `status`, received at `received_at`, waits at `depot`.
pub(super) fn waits_at(status: ShipmentStatus, received_at: Option<Uuid>, depot: Uuid) -> bool {
    status == ShipmentStatus::AtDepot && received_at == Some(depot)
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveTime, Utc};

    use super::*;

    fn driver(name: &str) -> DriverRecord {
        DriverRecord {
            user_id: Uuid::now_v7(),
            name: name.to_string(),
            email: format!("{name}@example.jp"),
            depot_id: Uuid::nil(),
            capacity: 80,
            shift_start: NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
            shift_end: NaiveTime::from_hms_opt(18, 0, 0).unwrap(),
            zones: Vec::new(),
            updated_at: Utc::now(),
        }
    }

    fn names(drivers: &[DriverRecord]) -> Vec<&str> {
        drivers.iter().map(|d| d.name.as_str()).collect()
    }

    #[test]
    fn the_day_is_built_for_the_drivers_who_have_no_route_yet() {
        let (sato, suzuki, tanaka) = (driver("sato"), driver("suzuki"), driver("tanaka"));
        let all = vec![sato.clone(), suzuki.clone(), tanaka.clone()];
        let busy = HashSet::from([suzuki.user_id]);
        assert_eq!(names(&free_drivers(all.clone(), &busy, None).unwrap()), ["sato", "tanaka"]);
        // The dispatcher names who drives; one of them is out already.
        let chosen = [suzuki.user_id, tanaka.user_id];
        assert_eq!(names(&free_drivers(all.clone(), &busy, Some(&chosen)).unwrap()), ["tanaka"]);
    }

    #[test]
    fn a_driver_of_another_depot_cannot_be_chosen() {
        let stranger = Uuid::now_v7();
        let refused = free_drivers(vec![driver("sato")], &HashSet::new(), Some(&[stranger]));
        assert!(
            matches!(refused, Err(DispatchError::Invalid("drivers", message)) if message.contains(&stranger.to_string()))
        );
    }

    #[test]
    fn only_a_shipment_waiting_at_this_depot_may_join_its_routes() {
        let (koto, shinagawa) = (Uuid::now_v7(), Uuid::now_v7());
        assert!(waits_at(ShipmentStatus::AtDepot, Some(koto), koto));
        // Received at another depot, or not yet received, or out on a route already.
        assert!(!waits_at(ShipmentStatus::AtDepot, Some(shinagawa), koto));
        assert!(!waits_at(ShipmentStatus::InfoReceived, None, koto));
        assert!(!waits_at(ShipmentStatus::OutForDelivery, Some(koto), koto));
    }
}
