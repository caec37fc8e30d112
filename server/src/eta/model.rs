//! Expected arrivals as pure functions: where the driver was last seen, the stops still to visit in
//! their order, and a pace learned from the day so far.
//!
//! The model: from the newest thing known about the driver (a location point, an arrival at a stop or a
//! proof captured there), each remaining stop is reached after the planned street distance driven at
//! the planned speed, and served in the planned service time, both scaled by the pace learned from the
//! day so far; nobody is served before their window opens, as the plan itself assumes.

use chrono::{DateTime, Duration, Utc};
use todoke_shared::shipment::GeoPoint;
use uuid::Uuid;

use crate::dispatch::plan::SpeedModel;

/// Samples needed before the day's own pace replaces the planned one.
const MIN_SAMPLES: usize = 3;
/// Only the latest legs count: a driver's pace changes over a day (traffic, a helper).
const RECENT_SAMPLES: usize = 10;
/// A learned pace stays within these bounds of the plan, whatever a few odd legs say.
const PACE_BOUNDS: (f64, f64) = (0.5, 3.0);
/// A leg shorter than this is timed as this: a next-door stop says nothing about speed.
const MIN_LEG_SECONDS: f64 = 60.0;

/// One stop of a route in driving order, with what happened there so far.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteStop {
    pub stop_id: Uuid,
    pub shipment_id: Uuid,
    pub location: GeoPoint,
    /// Planned time at the door.
    pub service: Duration,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    pub planned_arrival: DateTime<Utc>,
    /// Still to be visited: out for delivery, no proof yet.
    pub open: bool,
    /// When the driver said they were at the door.
    pub arrived_at: Option<DateTime<Utc>>,
    /// When the proof (delivered or attempt failed) was captured.
    pub completed_at: Option<DateTime<Utc>>,
}

/// Where the driver was at a moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fix {
    pub at: DateTime<Utc>,
    pub location: GeoPoint,
}

/// How the day goes against the plan: 1.0 is as planned, 1.5 takes half as long again.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pace {
    pub travel: f64,
    pub service: f64,
}

impl Pace {
    pub const PLANNED: Pace = Pace { travel: 1.0, service: 1.0 };
}

/// A remaining stop's expected arrival.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StopEta {
    pub stop_id: Uuid,
    pub shipment_id: Uuid,
    pub expected_arrival: DateTime<Utc>,
    /// Remaining stops the driver visits first.
    pub stops_before: u32,
}

/// The pace of the day so far, from the legs between completed stops: the driving part timed from
/// leaving one stop (its proof) to arriving at the next, the service part from arriving to the proof.
/// Where a stop has no recorded arrival, its whole leg counts towards the driving pace. Medians of the
/// recent legs, so that one jam or one long conversation at a door does not bend every estimate.
pub fn learn_pace(stops: &[RouteStop], speed: &SpeedModel) -> Pace {
    let mut done: Vec<&RouteStop> = stops.iter().filter(|s| s.completed_at.is_some()).collect();
    done.sort_by_key(|s| s.completed_at);
    let mut travel = Vec::new();
    let mut service = Vec::new();
    for pair in done.windows(2) {
        let (previous, stop) = (pair[0], pair[1]);
        let (Some(left), Some(completed)) = (previous.completed_at, stop.completed_at) else { continue };
        let driving = speed.driving_seconds(speed.metres(previous.location, stop.location)).max(MIN_LEG_SECONDS);
        let planned_service = (stop.service.num_seconds() as f64).max(1.0);
        match stop.arrived_at.filter(|at| *at >= left && *at <= completed) {
            Some(arrived) => {
                // Waiting for the window to open is not slowness.
                let waited = (stop.window_start - left).num_seconds().max(0) as f64;
                let drove = ((arrived - left).num_seconds() as f64 - waited).max(0.0);
                travel.push(drove.max(MIN_LEG_SECONDS) / driving);
                service.push((completed - arrived).num_seconds() as f64 / planned_service);
            }
            None => {
                let waited = (stop.window_start - left).num_seconds().max(0) as f64;
                let took = ((completed - left).num_seconds() as f64 - waited).max(0.0);
                travel.push(((took - planned_service).max(MIN_LEG_SECONDS)) / driving);
            }
        }
    }
    Pace { travel: recent_median(&travel).unwrap_or(1.0), service: recent_median(&service).unwrap_or(1.0) }
}

fn recent_median(samples: &[f64]) -> Option<f64> {
    if samples.len() < MIN_SAMPLES {
        return None;
    }
    let mut recent = samples[samples.len().saturating_sub(RECENT_SAMPLES)..].to_vec();
    recent.sort_by(f64::total_cmp);
    let middle = recent.len() / 2;
    let median =
        if recent.len().is_multiple_of(2) { (recent[middle - 1] + recent[middle]) / 2.0 } else { recent[middle] };
    Some(median.clamp(PACE_BOUNDS.0, PACE_BOUNDS.1))
}

/// The newest thing known about where the driver is: the latest location point, or a stop's arrival
/// or proof if later. `None` before the driver has shown any sign on this route.
pub fn latest_fix(stops: &[RouteStop], position: Option<Fix>) -> Option<Fix> {
    let at_stops = stops.iter().flat_map(|stop| {
        [stop.arrived_at, stop.completed_at].into_iter().flatten().map(|at| Fix { at, location: stop.location })
    });
    position.into_iter().chain(at_stops).max_by_key(|fix| fix.at)
}

/// Expected arrivals at the open stops, in driving order. With no fix the plan stands.
pub fn estimate(stops: &[RouteStop], fix: Option<Fix>, pace: Pace, speed: &SpeedModel) -> Vec<StopEta> {
    let open = stops.iter().filter(|s| s.open).enumerate();
    let Some(fix) = fix else {
        return open
            .map(|(before, stop)| StopEta {
                stop_id: stop.stop_id,
                shipment_id: stop.shipment_id,
                expected_arrival: stop.planned_arrival,
                stops_before: before as u32,
            })
            .collect();
    };
    let seconds = |s: f64| Duration::milliseconds((s * 1000.0).round() as i64);
    let (mut clock, mut place) = (fix.at, fix.location);
    open.map(|(before, stop)| {
        let service = seconds(stop.service.num_seconds() as f64 * pace.service);
        let arrival = match stop.arrived_at {
            // At the door already: served from then, and still there as of the fix.
            Some(arrived) => {
                clock = (arrived + service).max(fix.at);
                arrived
            }
            None => {
                let driving = speed.driving_seconds(speed.metres(place, stop.location)) * pace.travel;
                let arrival = (clock + seconds(driving)).max(stop.window_start);
                clock = arrival + service;
                arrival
            }
        };
        place = stop.location;
        StopEta {
            stop_id: stop.stop_id,
            shipment_id: stop.shipment_id,
            expected_arrival: arrival,
            stops_before: before as u32,
        }
    })
    .collect()
}

/// A position as a customer may see it: the centre of the `grid_m` square it falls in, so that the
/// driver's exact whereabouts (and the doors before theirs) stay private.
pub fn coarsen(point: GeoPoint, grid_m: f64) -> GeoPoint {
    const METRES_PER_DEGREE: f64 = 111_320.0;
    let snap = |value: f64, step: f64| ((value / step).floor() + 0.5) * step;
    let lat_step = grid_m / METRES_PER_DEGREE;
    let lat = snap(point.lat, lat_step);
    let lon_step = grid_m / (METRES_PER_DEGREE * lat.to_radians().cos().max(0.01));
    GeoPoint { lat, lon: snap(point.lon, lon_step) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-24T00:00:00Z").unwrap().with_timezone(&Utc) + Duration::minutes(minutes)
    }

    /// Stops 1 km apart going east from Tokyo Station: 1.3 km of streets, 3.9 minutes at 20 km/h.
    fn route(count: usize) -> Vec<RouteStop> {
        (0..count)
            .map(|i| RouteStop {
                stop_id: Uuid::from_u128(i as u128 + 1),
                shipment_id: Uuid::from_u128(i as u128 + 1000),
                location: GeoPoint { lat: 35.6812, lon: 139.7671 + 0.011 * (i as f64 + 1.0) },
                service: Duration::minutes(3),
                window_start: at(0),
                window_end: at(600),
                planned_arrival: at(10 * i as i64),
                open: true,
                arrived_at: None,
                completed_at: None,
            })
            .collect()
    }

    fn complete(stop: &mut RouteStop, arrived: Option<i64>, completed: i64) {
        stop.open = false;
        stop.arrived_at = arrived.map(at);
        stop.completed_at = Some(at(completed));
    }

    #[test]
    fn without_a_sign_of_the_driver_the_plan_stands() {
        let stops = route(3);
        let etas = estimate(&stops, latest_fix(&stops, None), Pace::PLANNED, &SpeedModel::default());
        assert_eq!(etas.iter().map(|e| e.expected_arrival).collect::<Vec<_>>(), vec![at(0), at(10), at(20)]);
        assert_eq!(etas.iter().map(|e| e.stops_before).collect::<Vec<_>>(), vec![0, 1, 2]);
    }

    #[test]
    fn arrivals_follow_the_driver_and_count_only_open_stops() {
        let mut stops = route(4);
        complete(&mut stops[0], None, 30);
        let speed = SpeedModel::default();
        // Seen at the first stop's door at 00:40, ten minutes after its proof.
        let position = Fix { at: at(40), location: stops[0].location };
        let etas = estimate(&stops, latest_fix(&stops, Some(position)), Pace::PLANNED, &speed);
        assert_eq!(etas.len(), 3);
        assert_eq!(etas[0].stop_id, stops[1].stop_id);
        assert_eq!(etas[0].stops_before, 0);
        let leg = speed.driving_seconds(speed.metres(stops[0].location, stops[1].location));
        let expected = at(40) + Duration::seconds(leg.round() as i64);
        assert!((etas[0].expected_arrival - expected).num_seconds().abs() <= 1, "{:?}", etas[0]);
        // The next one: after three minutes at the door and another leg.
        let gap = (etas[1].expected_arrival - etas[0].expected_arrival).num_seconds();
        assert!((gap - 180 - leg.round() as i64).abs() <= 1, "{gap}");
    }

    #[test]
    fn a_driver_at_the_door_is_expected_there_from_their_arrival() {
        let mut stops = route(2);
        stops[0].arrived_at = Some(at(12));
        let position = Fix { at: at(20), location: stops[0].location };
        let etas = estimate(&stops, latest_fix(&stops, Some(position)), Pace::PLANNED, &SpeedModel::default());
        assert_eq!(etas[0].expected_arrival, at(12));
        // Still at the door at 00:20, past the planned three minutes: the next leg starts from now.
        assert!(etas[1].expected_arrival > at(20));
    }

    #[test]
    fn nobody_is_visited_before_their_window_opens() {
        let mut stops = route(1);
        stops[0].window_start = at(120);
        let fix = Fix { at: at(0), location: stops[0].location };
        assert_eq!(estimate(&stops, Some(fix), Pace::PLANNED, &SpeedModel::default())[0].expected_arrival, at(120));
    }

    #[test]
    fn the_pace_is_the_median_of_recent_legs_and_ignores_one_jam() {
        let speed = SpeedModel::default();
        let mut stops = route(6);
        let leg = speed.driving_seconds(speed.metres(stops[0].location, stops[1].location)) / 60.0;
        // Every leg driven at half the planned speed and served in 6 minutes, but one took an hour.
        let mut clock = 0.0;
        for (i, stop) in stops.iter_mut().enumerate().take(5) {
            let drive = if i == 3 { 60.0 } else { 2.0 * leg };
            let arrived = clock + drive;
            clock = arrived + 6.0;
            complete(stop, Some(arrived.round() as i64), clock.round() as i64);
        }
        let pace = learn_pace(&stops, &speed);
        assert!((pace.travel - 2.0).abs() < 0.3, "{pace:?}");
        assert!((pace.service - 2.0).abs() < 0.1, "{pace:?}");
    }

    #[test]
    fn a_coarsened_position_is_the_centre_of_its_square() {
        let speed = SpeedModel { detour: 1.0, ..SpeedModel::default() };
        let door = GeoPoint { lat: 35.6812, lon: 139.7671 };
        let shown = coarsen(door, 500.0);
        assert!(speed.metres(door, shown) <= 500.0 * std::f64::consts::FRAC_1_SQRT_2 + 1.0);
        // Everything in the square shows as the same place.
        let next_door = GeoPoint { lat: shown.lat + 0.0001, lon: shown.lon - 0.0001 };
        assert_eq!(coarsen(next_door, 500.0), shown);
    }

    #[test]
    fn too_few_legs_keep_the_planned_pace() {
        let speed = SpeedModel::default();
        let mut stops = route(3);
        complete(&mut stops[0], Some(5), 10);
        complete(&mut stops[1], Some(50), 55);
        assert_eq!(learn_pace(&stops, &speed), Pace::PLANNED);
    }
}
