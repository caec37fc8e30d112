//! Plans a synthetic large day with the server's planner, as `POST /api/v1/routes/build` does, and
//! prints how long it took and what came out (docs/BENCHMARKS.md).
//!
//! `cargo run --release -p todoke-server --example plan_day -- [STOPS] [VEHICLES] [SECONDS] [RADIUS_KM]`

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use todoke_server::dispatch::plan::{GreatCircle, PlanningInput, TravelModel, Vehicle, Visit, Window, schedule};
use todoke_server::dispatch::solver::{Effort, plan};
use todoke_shared::shipment::GeoPoint;

const HOUR: i64 = 3600;
/// The slots customers choose from, and the whole shift for those who did not choose.
const WINDOWS: [(i64, i64); 6] = [(8, 12), (14, 16), (16, 18), (18, 20), (19, 21), (8, 21)];

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: f64| args.get(i).and_then(|a| a.parse::<f64>().ok()).unwrap_or(default);
    let (stops, vehicles, seconds) = (number(0, 5000.0) as usize, number(1, 40.0) as usize, number(2, 2.0));
    let radius = number(3, 8.0) * 1000.0;

    let depot = GeoPoint { lat: 35.6812, lon: 139.7671 };
    let mut rng = StdRng::seed_from_u64(5000);
    // Uniform in a disc around the depot (8 km: a city depot's area, as in bench/routes).
    let visits = (0..stops)
        .map(|_| {
            let (r, theta) = (radius * rng.random::<f64>().sqrt(), rng.random_range(0.0..std::f64::consts::TAU));
            let lat = depot.lat + (r * theta.cos() / 6_371_000.0).to_degrees();
            let lon = depot.lon + (r * theta.sin() / (6_371_000.0 * depot.lat.to_radians().cos())).to_degrees();
            let (start, end) = WINDOWS[rng.random_range(0..WINDOWS.len())];
            Visit {
                location: GeoPoint { lat, lon },
                parcels: 1,
                service: 180,
                window: Window { start: start * HOUR, end: end * HOUR },
                zone: None,
            }
        })
        .collect();
    let capacity = (stops as u32).div_ceil(vehicles as u32) + 15;
    let fleet =
        vec![Vehicle { capacity, shift: Window { start: 8 * HOUR, end: 21 * HOUR }, zones: Vec::new() }; vehicles];
    let input = PlanningInput { depot, visits, vehicles: fleet };

    let travel = GreatCircle::default();
    let effort = Effort { time: Duration::from_secs_f64(seconds), generations: 3000, repeatable: true };
    let started = Instant::now();
    let assignment = plan(&input, &travel, effort)?;
    let elapsed = started.elapsed();

    let (mut metres, mut late, mut longest) = (0.0, 0, 0);
    for (vehicle, route) in input.vehicles.iter().zip(&assignment.routes) {
        let part = PlanningInput {
            depot,
            visits: route.iter().map(|&v| input.visits[v].clone()).collect(),
            vehicles: Vec::new(),
        };
        let order: Vec<usize> = (0..route.len()).collect();
        let driven = schedule(&part, &travel.matrix(&part.places()), vehicle.shift.start, &order);
        metres += driven.metres;
        late += driven.visits.iter().filter(|v| v.late).count();
        longest = longest.max(route.len());
    }
    println!(
        "{stops} stops, {vehicles} vehicles (capacity {capacity}), budget {seconds} s: planned in {:.2} s; \
         {} unplaced, {late} late, {:.1} km in all, longest route {longest} stops",
        elapsed.as_secs_f64(),
        assignment.unplaced.len(),
        metres / 1000.0
    );
    Ok(())
}
