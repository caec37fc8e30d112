//! From stored shipments and drivers to planning inputs and back: a shipment's day, window and place
//! on the depot's clock, routes built from a solved plan, and planned times kept true after changes.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use todoke_shared::dispatch::{RouteChangeView, RouteDriver, RouteStatus, RouteView, StopView};
use todoke_shared::preferences::PickupPoint;
use todoke_shared::shipment::GeoPoint;
use todoke_shared::{StatusChange, TransitionError};
use uuid::Uuid;

use super::plan::{DaySeconds, GreatCircle, PlanningInput, SpeedModel, TravelModel, Vehicle, Visit, Window, schedule};
use super::solver::Effort;
use crate::notify::Mail;
use crate::schedule::{DepotDay, destination, due};
use crate::store::ShipmentRecord;
use crate::store::dispatch::{
    DepotRecord, DriverRecord, Happening, PlacedShipment, RouteChangeRecord, RouteRecord, StopRecord, Transition,
};

/// How routes are planned: the speed model and how long the solver may look.
#[derive(Debug, Clone, Copy)]
pub struct Planner {
    pub speed: SpeedModel,
    pub effort: Effort,
}

impl Planner {
    pub fn travel(&self) -> impl TravelModel + use<> {
        GreatCircle { speed: self.speed }
    }
}

/// A shipment's move by staff work (receiving, dispatch), judged by the lifecycle's rules, with the
/// notices it sends: ready to be stored as one compare-and-set on its current status. An illegal move is
/// an error, never a silent no-op.
pub fn transition(
    mail: &Mail,
    actor: String,
    shipment: &ShipmentRecord,
    change: StatusChange,
    location: Option<GeoPoint>,
    note: String,
    at: DateTime<Utc>,
) -> Result<Transition, TransitionError> {
    let happening = Happening { occurred_at: at, recorded_at: at, actor, location, note: Some(note) };
    Transition::judged(shipment, change, happening, |next| mail.for_transition(shipment, next, None))
}

pub fn visit(placed: &PlacedShipment, day: &DepotDay, speed: &SpeedModel, pickup_points: &[PickupPoint]) -> Visit {
    let shipment = &placed.shipment;
    let (_, start, end) = due(shipment);
    let parcels = shipment.content.parcels.len() as u32;
    Visit {
        location: destination(shipment, pickup_points),
        parcels,
        service: speed.service(parcels),
        window: Window { start: day.seconds(start), end: day.seconds(end) },
        zone: placed.zone_id,
    }
}

pub fn vehicle(driver: &DriverRecord, day: &DepotDay) -> Vehicle {
    Vehicle {
        capacity: driver.capacity,
        shift: Window { start: day.time_of_day(driver.shift_start), end: day.time_of_day(driver.shift_end) },
        zones: driver.zones.clone(),
    }
}

/// Sets a route's planned times and distances for its stops in their current order, the driver
/// leaving the depot at the start of the shift. `input` holds the route's stops as visits, in order.
pub fn replan(
    route: &mut RouteRecord,
    input: &PlanningInput,
    day: &DepotDay,
    shift_start: DaySeconds,
    planner: &Planner,
) {
    let matrix = planner.travel().matrix(&input.places());
    let order: Vec<usize> = (0..input.visits.len()).collect();
    let plan = schedule(input, &matrix, shift_start, &order);
    for (stop, planned) in route.stops.iter_mut().zip(&plan.visits) {
        stop.planned_arrival = day.at(planned.arrival);
        stop.planned_departure = day.at(planned.departure);
        stop.late = planned.late;
        stop.metres_from_previous = planned.metres_from_previous;
    }
    route.metres = plan.metres;
}

/// A new route for `driver`, with stops for `shipments` (planned times to be set by [`replan`]).
pub fn new_route(depot: Uuid, date: NaiveDate, driver: Uuid, shipments: &[Uuid], now: DateTime<Utc>) -> RouteRecord {
    RouteRecord {
        id: Uuid::now_v7(),
        depot_id: depot,
        driver_id: driver,
        date,
        status: RouteStatus::Planned,
        version: 1,
        metres: 0.0,
        created_at: now,
        dispatched_at: None,
        stops: shipments
            .iter()
            .map(|&shipment_id| StopRecord {
                id: Uuid::now_v7(),
                shipment_id,
                planned_arrival: now,
                planned_departure: now,
                late: false,
                metres_from_previous: 0.0,
            })
            .collect(),
    }
}

/// The planning input of one route's stops, in their order.
pub fn route_input(
    route: &RouteRecord,
    depot: &DepotRecord,
    driver: &DriverRecord,
    shipments: &HashMap<Uuid, PlacedShipment>,
    pickup_points: &[PickupPoint],
    planner: &Planner,
) -> PlanningInput {
    let day = DepotDay::new(depot, route.date);
    PlanningInput {
        depot: depot.location,
        visits: route
            .stops
            .iter()
            .filter_map(|stop| shipments.get(&stop.shipment_id))
            .map(|placed| visit(placed, &day, &planner.speed, pickup_points))
            .collect(),
        vehicles: vec![vehicle(driver, &day)],
    }
}

pub fn route_view(
    route: &RouteRecord,
    driver_name: &str,
    shipments: &HashMap<Uuid, PlacedShipment>,
    changes: &[RouteChangeRecord],
    depot: &DepotRecord,
    pickup_points: &[PickupPoint],
    planner: &Planner,
) -> RouteView {
    let day = DepotDay::new(depot, route.date);
    let local = |at: DateTime<Utc>| at.with_timezone(&day.tz).fixed_offset();
    let stops: Vec<StopView> = route
        .stops
        .iter()
        .enumerate()
        .filter_map(|(index, stop)| {
            let placed = shipments.get(&stop.shipment_id)?;
            let shipment = &placed.shipment;
            let (_, window_start, window_end) = due(shipment);
            Some(StopView {
                id: stop.id,
                position: index + 1,
                shipment_id: shipment.id,
                tracking_number: shipment.tracking_number,
                status: shipment.status,
                location: destination(shipment, pickup_points),
                parcels: shipment.content.parcels.len() as u32,
                window_start: local(window_start),
                window_end: local(window_end),
                planned_arrival: local(stop.planned_arrival),
                planned_departure: local(stop.planned_departure),
                late: stop.late,
                outside_zones: placed.zone_id.is_none(),
            })
        })
        .collect();
    // Leaving the depot and coming back: the legs at either end, driven at the planned speed.
    let driving = |metres: f64| chrono::Duration::seconds(planner.speed.driving_seconds(metres).round() as i64);
    let last_leg = route.metres - route.stops.iter().map(|s| s.metres_from_previous).sum::<f64>();
    let start = route.stops.first().map_or(day.midnight, |s| s.planned_arrival - driving(s.metres_from_previous));
    let end = route.stops.last().map_or(start, |s| s.planned_departure + driving(last_leg));
    RouteView {
        id: route.id,
        depot_id: route.depot_id,
        driver: RouteDriver { id: route.driver_id, name: driver_name.to_string() },
        date: route.date,
        status: route.status,
        version: route.version,
        distance_km: (route.metres / 10.0).round() / 100.0,
        planned_start: local(start),
        planned_end: local(end),
        late_stops: route.stops.iter().filter(|s| s.late).count(),
        stops,
        changes: changes
            .iter()
            .map(|c| RouteChangeView {
                changed_at: local(c.changed_at),
                actor: c.actor.clone(),
                change: c.change.clone(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveTime, TimeZone};

    use super::*;

    fn koto() -> DepotRecord {
        DepotRecord {
            id: Uuid::now_v7(),
            name: "Koto".into(),
            address: "東京都江東区新砂3-4-31".into(),
            location: GeoPoint { lat: 35.6717, lon: 139.8333 },
            timezone: "Asia/Tokyo".into(),
            created_at: Utc::now(),
        }
    }

    fn tokyo(hour: u32, minute: u32) -> DateTime<Utc> {
        chrono_tz::Asia::Tokyo.with_ymd_and_hms(2026, 11, 24, hour, minute, 0).unwrap().with_timezone(&Utc)
    }

    fn planner() -> Planner {
        Planner { speed: SpeedModel::default(), effort: Effort::default() }
    }

    fn visit_at(lat: f64, lon: f64, window: (DaySeconds, DaySeconds)) -> Visit {
        Visit {
            location: GeoPoint { lat, lon },
            parcels: 1,
            service: 180,
            window: Window { start: window.0, end: window.1 },
            zone: None,
        }
    }

    #[test]
    fn a_drivers_shift_is_read_on_the_depots_clock() {
        let depot = koto();
        let day = DepotDay::new(&depot, NaiveDate::from_ymd_opt(2026, 11, 24).unwrap());
        let driver = DriverRecord {
            user_id: Uuid::now_v7(),
            name: "Sato".into(),
            email: "sato@example.jp".into(),
            depot_id: depot.id,
            capacity: 60,
            shift_start: NaiveTime::from_hms_opt(8, 30, 0).unwrap(),
            shift_end: NaiveTime::from_hms_opt(17, 0, 0).unwrap(),
            zones: vec![Uuid::now_v7()],
            updated_at: Utc::now(),
        };
        let van = vehicle(&driver, &day);
        assert_eq!(van.shift, Window { start: 8 * 3600 + 1800, end: 17 * 3600 });
        assert_eq!((van.capacity, van.zones), (60, driver.zones));
    }

    #[test]
    fn a_route_keeps_its_order_and_its_times_follow_it_from_the_start_of_the_shift() {
        let depot = koto();
        let date = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let day = DepotDay::new(&depot, date);
        let planner = planner();
        // Two stops in Chiyoda: the first due in the afternoon, the second closed at nine.
        let input = PlanningInput {
            depot: depot.location,
            visits: vec![
                visit_at(35.6812, 139.7671, (14 * 3600, 16 * 3600)),
                visit_at(35.6852, 139.7528, (8 * 3600, 9 * 3600)),
            ],
            vehicles: Vec::new(),
        };
        let shipments = [Uuid::now_v7(), Uuid::now_v7()];
        let mut route = new_route(depot.id, date, Uuid::now_v7(), &shipments, Utc::now());
        replan(&mut route, &input, &day, 8 * 3600, &planner);

        // The order is the dispatcher's: the van waits for the afternoon window, then is late for the other.
        assert_eq!(route.stops.iter().map(|s| s.shipment_id).collect::<Vec<_>>(), shipments);
        assert_eq!(route.stops[0].planned_arrival, tokyo(14, 0));
        assert_eq!(route.stops[0].planned_departure, tokyo(14, 3));
        assert!(!route.stops[0].late);
        assert!(route.stops[1].late);
        assert!(route.stops[1].planned_arrival > route.stops[0].planned_departure);
        // The distance includes the way back to the depot.
        let legs: f64 = route.stops.iter().map(|s| s.metres_from_previous).sum();
        assert!(route.metres > legs);
    }
}
