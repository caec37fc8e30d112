//! Solves a route-planning instance file with Todoke's solver and writes the plan, for comparing
//! with VROOM on identical input (`bench/routes/README.md`).
//!
//! `cargo run --release -p todoke-server --example solve_instance -- INSTANCE.json OURS.json [SECONDS]`

use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Deserialize;
use todoke_server::dispatch::plan::{PlanningInput, TravelMatrix, Vehicle, Visit, Window};
use todoke_server::dispatch::solver::{Effort, solve};
use todoke_shared::shipment::GeoPoint;

#[derive(Deserialize)]
struct Instance {
    locations: Vec<(f64, f64)>,
    durations: Vec<Vec<f64>>,
    distances: Vec<Vec<f64>>,
    vehicles: Vec<InstanceVehicle>,
    stops: Vec<InstanceStop>,
}

#[derive(Deserialize)]
struct InstanceVehicle {
    id: String,
    capacity: u32,
    shift: (i64, i64),
}

#[derive(Deserialize)]
struct InstanceStop {
    id: String,
    location: usize,
    parcels: u32,
    service: i64,
    window: (i64, i64),
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [instance_path, out_path, rest @ ..] = args.as_slice() else {
        anyhow::bail!("usage: solve_instance INSTANCE.json OURS.json [SECONDS]");
    };
    let seconds: f64 = rest.first().map(|s| s.parse()).transpose().context("SECONDS")?.unwrap_or(2.0);
    let text = std::fs::read_to_string(instance_path).with_context(|| format!("reading {instance_path}"))?;
    let instance: Instance = serde_json::from_str(&text).context("parsing the instance")?;

    // The solver's place i + 1 is stop i; the instance's matrices are indexed by location.
    let places: Vec<usize> = std::iter::once(0).chain(instance.stops.iter().map(|s| s.location)).collect();
    let size = places.len();
    let pick = |m: &Vec<Vec<f64>>| places.iter().flat_map(|&a| places.iter().map(move |&b| m[a][b])).collect();
    let matrix = TravelMatrix::new(size, pick(&instance.distances), pick(&instance.durations));
    let point = |i: usize| GeoPoint { lat: instance.locations[i].0, lon: instance.locations[i].1 };
    let input = PlanningInput {
        depot: point(0),
        visits: instance
            .stops
            .iter()
            .map(|s| Visit {
                location: point(s.location),
                parcels: s.parcels,
                service: s.service,
                window: Window { start: s.window.0, end: s.window.1 },
                zone: None,
            })
            .collect(),
        vehicles: instance
            .vehicles
            .iter()
            .map(|v| Vehicle {
                capacity: v.capacity,
                shift: Window { start: v.shift.0, end: v.shift.1 },
                zones: Vec::new(),
            })
            .collect(),
    };

    let started = Instant::now();
    let effort = Effort {
        time: Duration::from_secs_f64(seconds),
        generations: usize::MAX,
        repeatable: std::env::var_os("RANDOM_SEED").is_none(),
    };
    let assignment = solve(&input, &matrix, effort)?;
    let elapsed = started.elapsed().as_secs_f64();

    let routes: Vec<_> = instance
        .vehicles
        .iter()
        .zip(&assignment.routes)
        .map(|(vehicle, route)| {
            serde_json::json!({
                "vehicle": vehicle.id,
                "stops": route.iter().map(|&v| instance.stops[v].id.as_str()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let unassigned: Vec<_> = assignment.unplaced.iter().map(|&v| instance.stops[v].id.as_str()).collect();
    let out = serde_json::json!({"solver": "todoke", "seconds": elapsed, "routes": routes, "unassigned": unassigned});
    std::fs::write(out_path, serde_json::to_vec_pretty(&out)?).with_context(|| format!("writing {out_path}"))?;
    Ok(())
}
