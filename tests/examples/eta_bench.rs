//! How fast arrival times are recomputed, and how close they come.
//!
//! `cargo run --release -p todoke-e2e --example eta_bench`
//!
//! 1. The model over 50,000 open stops on 400 routes (125 each, half of each day done): the pace
//!    learned from the done half, every open stop estimated, every delay rule applied. Median of 9 runs.
//! 2. The simulated Tokyo day of the end-to-end test (30 stops, a 45-minute jam; and the 5-minute
//!    wobble), replayed minute by minute through the same model: the mean absolute error of every
//!    estimate made for a stop not yet reached, against when the driver really got there, next to the
//!    plan's own error.

use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use todoke_e2e::simulation::{SimDay, replay_date, tokyo_day};
use todoke_server::dispatch::plan::SpeedModel;
use todoke_server::eta::delay::{DelayPolicy, window_to_announce};
use todoke_server::eta::model::{Fix, Pace, RouteStop, estimate, latest_fix, learn_pace};
use todoke_shared::shipment::GeoPoint;
use uuid::Uuid;

const ROUTES: usize = 400;
const STOPS_PER_ROUTE: usize = 125;

fn main() {
    let speed = SpeedModel::default();
    let policy = DelayPolicy::default();

    let routes: Vec<(Vec<RouteStop>, Fix)> = (0..ROUTES).map(|r| busy_route(r, &speed)).collect();
    let mut times = Vec::new();
    let mut notices = 0;
    for _ in 0..9 {
        let started = Instant::now();
        notices = 0;
        for (stops, position) in &routes {
            let fix = latest_fix(stops, Some(*position));
            let pace = learn_pace(stops, &speed);
            for eta in estimate(stops, fix, pace, &speed) {
                let stop = stops.iter().find(|s| s.stop_id == eta.stop_id).unwrap();
                notices +=
                    usize::from(window_to_announce(eta.expected_arrival, stop.window_end, None, &policy).is_some());
            }
        }
        times.push(started.elapsed());
    }
    times.sort();
    let open: usize = routes.iter().map(|(stops, _)| stops.iter().filter(|s| s.open).count()).sum();
    let all: usize = routes.iter().map(|(stops, _)| stops.len()).sum();
    println!(
        "recompute: {ROUTES} routes, {all} stops ({open} open): median {:.1} ms (min {:.1}, max {:.1}); {notices} would be told",
        times[4].as_secs_f64() * 1000.0,
        times[0].as_secs_f64() * 1000.0,
        times[8].as_secs_f64() * 1000.0
    );

    for (name, jam) in [("45-minute jam", 45), ("5-minute wobble", 5)] {
        let day = tokyo_day(replay_date(), jam);
        let (model, plan) = replayed_errors(&day, &speed);
        println!("replay, {name}: MAE {model:.1} min (the plan alone: {plan:.1} min)");
    }
}

/// A route of [`STOPS_PER_ROUTE`] stops across central Tokyo, its first half done.
fn busy_route(r: usize, speed: &SpeedModel) -> (Vec<RouteStop>, Fix) {
    let start = DateTime::parse_from_rfc3339("2026-11-24T23:00:00Z").unwrap().with_timezone(&Utc);
    let mut clock = start;
    let mut previous = GeoPoint { lat: 35.6717, lon: 139.8333 };
    let mut stops = Vec::with_capacity(STOPS_PER_ROUTE);
    for i in 0..STOPS_PER_ROUTE {
        let location = GeoPoint {
            lat: 35.62 + 0.1 * ((r * 31 + i * 17) % 97) as f64 / 97.0,
            lon: 139.68 + 0.14 * ((r * 13 + i * 29) % 89) as f64 / 89.0,
        };
        let arrival = clock + Duration::seconds(speed.driving_seconds(speed.metres(previous, location)) as i64);
        let done = i < STOPS_PER_ROUTE / 2;
        stops.push(RouteStop {
            stop_id: Uuid::from_u128((r * STOPS_PER_ROUTE + i) as u128),
            shipment_id: Uuid::from_u128(((r * STOPS_PER_ROUTE + i) as u128) << 64),
            location,
            service: Duration::seconds(180),
            window_start: arrival - Duration::hours(1),
            window_end: arrival + Duration::minutes(30),
            planned_arrival: arrival,
            open: !done,
            arrived_at: done.then_some(arrival + Duration::minutes((i % 5) as i64)),
            completed_at: done.then_some(arrival + Duration::minutes((i % 5) as i64 + 3)),
        });
        clock = arrival + Duration::seconds(180);
        previous = location;
    }
    let half = &stops[STOPS_PER_ROUTE / 2 - 1];
    let position = Fix { at: half.completed_at.unwrap() + Duration::minutes(2), location: half.location };
    (stops, position)
}

/// The mean absolute error, in minutes, of the model's and of the plan's estimates for every stop not
/// yet reached, made each minute of the day.
fn replayed_errors(day: &SimDay, speed: &SpeedModel) -> (f64, f64) {
    let (mut model, mut plan, mut count) = (0.0, 0.0, 0usize);
    let end = day.stops.last().unwrap().departure;
    let mut now = day.shift_start + Duration::minutes(1);
    while now < end {
        let stops: Vec<RouteStop> = day
            .stops
            .iter()
            .enumerate()
            .map(|(i, s)| RouteStop {
                stop_id: Uuid::from_u128(i as u128),
                shipment_id: Uuid::from_u128(i as u128),
                location: s.location,
                service: Duration::seconds(speed.service(1)),
                window_start: s.window_start,
                window_end: s.window_end,
                planned_arrival: s.planned_arrival,
                open: s.departure > now,
                arrived_at: (s.arrival <= now).then_some(s.arrival),
                completed_at: (s.departure <= now).then_some(s.departure),
            })
            .collect();
        let position = day.points.iter().rev().find(|p| p.at <= now).map(|p| Fix { at: p.at, location: p.location });
        let fix = latest_fix(&stops, position);
        let pace = if fix.is_some() { learn_pace(&stops, speed) } else { Pace::PLANNED };
        for eta in estimate(&stops, fix, pace, speed) {
            let truth = &day.stops[eta.stop_id.as_u128() as usize];
            if truth.arrival <= now {
                continue;
            }
            model += minutes(eta.expected_arrival - truth.arrival);
            plan += minutes(truth.planned_arrival - truth.arrival);
            count += 1;
        }
        now += Duration::minutes(1);
    }
    (model / count as f64, plan / count as f64)
}

fn minutes(difference: Duration) -> f64 {
    difference.num_seconds().abs() as f64 / 60.0
}
