//! Route planning as pure functions: the places a route visits, the travel between them, and the
//! schedule that visiting them in a given order gives. The solver chooses orders; this judges them.

use geo::{Distance, Haversine, Point};
use todoke_shared::shipment::GeoPoint;
use uuid::Uuid;

/// Seconds since midnight of the route's date, on the depot's clock.
pub type DaySeconds = i64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: DaySeconds,
    pub end: DaySeconds,
}

impl Window {
    pub fn contains(&self, at: DaySeconds) -> bool {
        self.start <= at && at <= self.end
    }
}

/// One place a route must visit.
#[derive(Debug, Clone)]
pub struct Visit {
    pub location: GeoPoint,
    pub parcels: u32,
    /// Time at the door (see [`SpeedModel::service`]).
    pub service: DaySeconds,
    /// When the customer expects us.
    pub window: Window,
    /// The delivery zone it lies in; `None` outside every zone (any driver may take it).
    pub zone: Option<Uuid>,
}

/// A driver and vehicle for the day.
#[derive(Debug, Clone)]
pub struct Vehicle {
    /// How many parcels it carries.
    pub capacity: u32,
    pub shift: Window,
    /// The zones this driver covers; empty means any.
    pub zones: Vec<Uuid>,
}

/// The documented model of how fast a route goes: streets are longer than the straight line by
/// `detour`, driven at `speed_kmh` on average, and each stop takes a fixed time plus a little per
/// extra parcel.
#[derive(Debug, Clone, Copy)]
pub struct SpeedModel {
    pub speed_kmh: f64,
    pub detour: f64,
    pub service_seconds: i64,
    pub seconds_per_extra_parcel: i64,
}

impl Default for SpeedModel {
    /// Tokyo-like city delivery: 1.3 times the straight line at 20 km/h (parking and one-way streets
    /// included), 3 minutes at each door and 30 s for each further parcel.
    fn default() -> SpeedModel {
        SpeedModel { speed_kmh: 20.0, detour: 1.3, service_seconds: 180, seconds_per_extra_parcel: 30 }
    }
}

impl SpeedModel {
    pub fn service(&self, parcels: u32) -> DaySeconds {
        self.service_seconds + self.seconds_per_extra_parcel * i64::from(parcels.saturating_sub(1))
    }

    /// The street distance between two places: the great circle stretched by the detour.
    pub fn metres(&self, from: GeoPoint, to: GeoPoint) -> f64 {
        Haversine.distance(Point::new(from.lon, from.lat), Point::new(to.lon, to.lat)) * self.detour
    }

    /// The time to drive `metres` of streets.
    pub fn driving_seconds(&self, metres: f64) -> f64 {
        metres / (self.speed_kmh / 3.6)
    }
}

/// Distances and travel times between every pair of places.
#[derive(Debug, Clone)]
pub struct TravelMatrix {
    size: usize,
    metres: Vec<f64>,
    seconds: Vec<f64>,
}

impl TravelMatrix {
    pub fn new(size: usize, metres: Vec<f64>, seconds: Vec<f64>) -> TravelMatrix {
        assert_eq!(metres.len(), size * size, "a square matrix of distances");
        assert_eq!(seconds.len(), size * size, "a square matrix of times");
        TravelMatrix { size, metres, seconds }
    }

    pub fn size(&self) -> usize {
        self.size
    }

    pub fn metres(&self, from: usize, to: usize) -> f64 {
        self.metres[from * self.size + to]
    }

    pub fn seconds(&self, from: usize, to: usize) -> f64 {
        self.seconds[from * self.size + to]
    }

    /// Row-major, as solvers take them.
    pub fn into_parts(self) -> (Vec<f64>, Vec<f64>) {
        (self.seconds, self.metres)
    }
}

/// How travel between places is measured. A road-network matrix (OSRM, Valhalla) can replace the
/// default without the planner noticing.
pub trait TravelModel: Send + Sync {
    fn matrix(&self, places: &[GeoPoint]) -> TravelMatrix;
}

/// The default: the geodesic (great-circle) distance on the sphere, stretched by the speed model's
/// detour factor. Haversine is within 0.5% of the ellipsoid's geodesic at city scale and far cheaper,
/// which counts when a depot's day has thousands of stops.
#[derive(Debug, Clone, Copy, Default)]
pub struct GreatCircle {
    pub speed: SpeedModel,
}

impl TravelModel for GreatCircle {
    fn matrix(&self, places: &[GeoPoint]) -> TravelMatrix {
        let size = places.len();
        let mut metres = Vec::with_capacity(size * size);
        for from in places {
            metres.extend(places.iter().map(|to| self.speed.metres(*from, *to)));
        }
        let seconds = metres.iter().map(|m| self.speed.driving_seconds(*m)).collect();
        TravelMatrix::new(size, metres, seconds)
    }
}

/// A day's planning input at one depot. In the travel matrix, place 0 is the depot and visit `i`
/// is place `i + 1`.
#[derive(Debug, Clone)]
pub struct PlanningInput {
    pub depot: GeoPoint,
    pub visits: Vec<Visit>,
    pub vehicles: Vec<Vehicle>,
}

impl PlanningInput {
    pub fn places(&self) -> Vec<GeoPoint> {
        std::iter::once(self.depot).chain(self.visits.iter().map(|v| v.location)).collect()
    }

    /// Whether some vehicle covers `zone`.
    pub fn is_covered(&self, zone: Uuid) -> bool {
        self.vehicles.iter().any(|vehicle| vehicle.zones.contains(&zone))
    }

    /// The zone rule: a visit in a zone that some vehicle covers goes to those vehicles only; a zone
    /// nobody covers, or no zone, is left to anyone.
    pub fn may_carry(&self, vehicle: &Vehicle, visit: &Visit) -> bool {
        match visit.zone {
            Some(zone) if self.is_covered(zone) => vehicle.zones.contains(&zone),
            _ => true,
        }
    }
}

/// A visit as planned: when the driver gets there and leaves, and whether that misses the window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlannedVisit {
    pub visit: usize,
    pub arrival: DaySeconds,
    pub departure: DaySeconds,
    pub late: bool,
    pub metres_from_previous: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub visits: Vec<PlannedVisit>,
    /// Including the way back to the depot.
    pub metres: f64,
    pub back_at_depot: DaySeconds,
}

/// Drives `order` from the depot at `start`: arriving early means waiting for the window to open;
/// arriving after it closed is late.
pub fn schedule(input: &PlanningInput, matrix: &TravelMatrix, start: DaySeconds, order: &[usize]) -> Schedule {
    let mut clock = start;
    let mut place = 0;
    let mut metres = 0.0;
    let mut visits = Vec::with_capacity(order.len());
    for &visit in order {
        let target = &input.visits[visit];
        let leg = matrix.metres(place, visit + 1);
        metres += leg;
        let arrival = (clock + matrix.seconds(place, visit + 1).round() as i64).max(target.window.start);
        let departure = arrival + target.service;
        visits.push(PlannedVisit {
            visit,
            arrival,
            departure,
            late: arrival > target.window.end,
            metres_from_previous: leg,
        });
        clock = departure;
        place = visit + 1;
    }
    metres += matrix.metres(place, 0);
    Schedule { visits, metres, back_at_depot: clock + matrix.seconds(place, 0).round() as i64 }
}

/// Which visits each vehicle makes, in order, and what could not be placed at all.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Assignment {
    pub routes: Vec<Vec<usize>>,
    /// Visits no vehicle has room for (capacity), or that no vehicle's zones cover.
    pub unplaced: Vec<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(lat: f64, lon: f64) -> GeoPoint {
        GeoPoint { lat, lon }
    }

    fn visit(location: GeoPoint, start_hour: i64, end_hour: i64) -> Visit {
        Visit {
            location,
            parcels: 1,
            service: 180,
            window: Window { start: start_hour * 3600, end: end_hour * 3600 },
            zone: None,
        }
    }

    #[test]
    fn great_circle_distances_are_stretched_by_the_detour_and_timed_by_the_speed() {
        // Tokyo Station to Shinjuku Station: about 6.2 km in a straight line.
        let model = GreatCircle::default();
        let matrix = model.matrix(&[at(35.6812, 139.7671), at(35.6896, 139.7006)]);
        let straight = matrix.metres(0, 1) / model.speed.detour;
        assert!((straight - 6_100.0).abs() < 150.0, "{straight}");
        assert_eq!(matrix.metres(0, 1), matrix.metres(1, 0));
        assert!((matrix.seconds(0, 1) - matrix.metres(0, 1) / (20.0 / 3.6)).abs() < 1e-6);
    }

    #[test]
    fn a_schedule_waits_for_windows_and_flags_what_it_misses() {
        let depot = at(35.6812, 139.7671);
        let input = PlanningInput {
            depot,
            visits: vec![visit(at(35.6896, 139.7006), 14, 16), visit(at(35.6812, 139.7680), 8, 9)],
            vehicles: Vec::new(),
        };
        let matrix = GreatCircle::default().matrix(&input.places());
        let plan = schedule(&input, &matrix, 9 * 3600, &[0, 1]);
        // The first stop is reached long before its window: the driver waits until 14:00.
        assert_eq!(plan.visits[0].arrival, 14 * 3600);
        assert!(!plan.visits[0].late);
        assert_eq!(plan.visits[0].departure, 14 * 3600 + 180);
        // The second one closed at 09:00.
        assert!(plan.visits[1].late);
        let legs: f64 = plan.visits.iter().map(|v| v.metres_from_previous).sum();
        assert!((plan.metres - legs - matrix.metres(2, 0)).abs() < 1e-6);
        assert!(plan.back_at_depot > plan.visits[1].departure);
    }

    #[test]
    fn service_time_grows_with_parcels() {
        let speed = SpeedModel::default();
        assert_eq!(speed.service(1), 180);
        assert_eq!(speed.service(3), 240);
        assert_eq!(speed.service(0), 180);
    }
}
