//! Chooses which vehicle visits what, in which order, with the `vrp-core` solver: capacities, shifts,
//! zones (as skills) and time windows, minimising distance. A visit that fits no window is still
//! placed (where it costs least) and reported late; only what no vehicle has room for is left out.

use std::sync::Arc;
use std::time::Duration;

use vrp_core::construction::features::{JobSkills, JobSkillsDimension, VehicleSkillsDimension, create_skills_feature};
use vrp_core::models::common::TimeWindow;
use vrp_core::models::problem::{JobIdDimension, VehicleIdDimension};
use vrp_core::prelude::*;
use vrp_core::rosomaxa::evolution::TelemetryMode;
use vrp_core::rosomaxa::utils::{Parallelism, TimeQuota};

use super::plan::{Problem, TravelMatrix, schedule};

/// How hard to look for a better plan.
#[derive(Debug, Clone, Copy)]
pub struct Effort {
    /// Wall-clock limit for one solve.
    pub time: Duration,
    /// Generations of the search, at most.
    pub generations: usize,
    /// A fixed seed gives the same plan for the same problem (tests, benchmarks).
    pub repeatable: bool,
}

impl Default for Effort {
    fn default() -> Effort {
        Effort { time: Duration::from_secs(2), generations: 3000, repeatable: false }
    }
}

/// Which visits each vehicle makes, in order, and what could not be placed at all.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Assignment {
    pub routes: Vec<Vec<usize>>,
    /// Visits no vehicle has room for (capacity), or that no vehicle's zones cover.
    pub unplaced: Vec<usize>,
}

#[derive(Debug, thiserror::Error)]
#[error("the route solver failed: {0}")]
pub struct SolverError(pub String);

impl From<GenericError> for SolverError {
    fn from(error: GenericError) -> SolverError {
        SolverError(error.to_string())
    }
}

/// Plans `problem` on `matrix` (place 0 the depot, visit `i` place `i + 1`).
pub fn solve(problem: &Problem, matrix: &TravelMatrix, effort: Effort) -> Result<Assignment, SolverError> {
    let mut assignment = if problem.visits.is_empty() || problem.vehicles.is_empty() {
        Assignment { routes: vec![Vec::new(); problem.vehicles.len()], unplaced: (0..problem.visits.len()).collect() }
    } else {
        run_vrp_core(problem, matrix, effort)?
    };
    place_late(problem, matrix, &mut assignment);
    Ok(assignment)
}

fn run_vrp_core(problem: &Problem, matrix: &TravelMatrix, effort: Effort) -> Result<Assignment, SolverError> {
    let (durations, distances) = matrix.clone().into_parts();
    let transport: Arc<dyn TransportCost> = Arc::new(SimpleTransportCost::new(durations, distances)?);
    let goal = GoalContextBuilder::with_features(&[
        MinimizeUnassignedBuilder::new("min-unassigned").build()?,
        create_skills_feature("skills", ViolationCode(1))?,
        CapacityFeatureBuilder::<SingleDimLoad>::new("capacity").set_violation_code(ViolationCode(2)).build()?,
        TransportFeatureBuilder::new("min-distance")
            .set_violation_code(ViolationCode(3))
            .set_transport_cost(transport.clone())
            .set_time_constrained(true)
            .build_minimize_distance()?,
    ])?
    .build()?;

    let jobs = problem
        .visits
        .iter()
        .enumerate()
        .map(|(index, visit)| {
            let parcels = i32::try_from(visit.parcels).unwrap_or(i32::MAX);
            SingleBuilder::default()
                .id(&index.to_string())
                .demand(Demand::delivery(parcels))
                .dimension(|d| {
                    if let Some(zone) = visit.zone.filter(|zone| covered(problem, *zone)) {
                        d.set_job_skills(JobSkills::new(None, Some(vec![zone.to_string()]), None));
                    }
                })
                .location(index + 1)?
                .duration(visit.service as Float)?
                .times(vec![TimeWindow::new(visit.window.start as Float, visit.window.end as Float)])?
                .build_as_job()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let vehicles = problem
        .vehicles
        .iter()
        .enumerate()
        .map(|(index, vehicle)| {
            VehicleBuilder::default()
                .id(&index.to_string())
                .add_detail(
                    VehicleDetailBuilder::default()
                        .set_start_location(0)
                        .set_start_time(vehicle.shift.start as Float)
                        .set_end_location(0)
                        .set_end_time(vehicle.shift.end as Float)
                        .build()?,
                )
                .capacity(SingleDimLoad::new(i32::try_from(vehicle.capacity).unwrap_or(i32::MAX)))
                .dimension(|d| {
                    if !vehicle.zones.is_empty() {
                        d.set_vehicle_skills(vehicle.zones.iter().map(|z| z.to_string()).collect());
                    }
                })
                .build()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let vrp = Arc::new(
        ProblemBuilder::default()
            .add_jobs(jobs.into_iter())
            .add_vehicles(vehicles.into_iter())
            .with_goal(goal)
            .with_transport_cost(transport)
            .build()?,
    );

    let random: Arc<dyn Random> =
        Arc::new(if effort.repeatable { DefaultRandom::new_repeatable() } else { DefaultRandom::default() });
    let environment = Arc::new(Environment::new(
        random,
        Some(Arc::new(TimeQuota::new(effort.time.as_secs_f64()))),
        Parallelism::default(),
        Arc::new(|_: &str| {}),
        false,
    ));
    let config = VrpConfigBuilder::new(vrp.clone())
        .set_environment(environment)
        .set_telemetry_mode(TelemetryMode::None)
        .prebuild()?
        .with_max_generations(Some(effort.generations))
        .build()?;
    let solution = Solver::new(vrp, config).solve()?;

    let mut routes = vec![Vec::new(); problem.vehicles.len()];
    for route in &solution.routes {
        let Some(vehicle) = route.actor.vehicle.dimens.get_vehicle_id().and_then(|id| id.parse::<usize>().ok()) else {
            continue;
        };
        routes[vehicle] =
            route.tour.all_activities().filter_map(|activity| activity.place.location.checked_sub(1)).collect();
    }
    let unplaced = solution
        .unassigned
        .iter()
        .filter_map(|(job, _)| job.dimens().get_job_id().and_then(|id| id.parse::<usize>().ok()))
        .collect();
    Ok(Assignment { routes, unplaced })
}

/// Whether some vehicle covers `zone`; a zone nobody covers is left to anyone.
fn covered(problem: &Problem, zone: uuid::Uuid) -> bool {
    problem.vehicles.iter().any(|vehicle| vehicle.zones.contains(&zone))
}

/// Puts each unplaced visit where it adds the least distance on a vehicle that has room (and covers
/// its zone); the schedule then reports it late. A late parcel beats a parcel left at the depot.
fn place_late(problem: &Problem, matrix: &TravelMatrix, assignment: &mut Assignment) {
    let mut still_unplaced = Vec::new();
    for visit in std::mem::take(&mut assignment.unplaced) {
        let target = &problem.visits[visit];
        let mut best: Option<(f64, usize, usize)> = None;
        for (index, vehicle) in problem.vehicles.iter().enumerate() {
            let route = &assignment.routes[index];
            let load: u32 = route.iter().map(|&v| problem.visits[v].parcels).sum();
            let zone_ok = match target.zone {
                Some(zone) if covered(problem, zone) => vehicle.zones.contains(&zone),
                _ => true,
            };
            if load + target.parcels > vehicle.capacity || !zone_ok {
                continue;
            }
            for position in 0..=route.len() {
                let before = if position == 0 { 0 } else { route[position - 1] + 1 };
                let after = route.get(position).map_or(0, |v| v + 1);
                let added =
                    matrix.metres(before, visit + 1) + matrix.metres(visit + 1, after) - matrix.metres(before, after);
                if best.is_none_or(|(cost, _, _)| added < cost) {
                    best = Some((added, index, position));
                }
            }
        }
        match best {
            Some((_, vehicle, position)) => assignment.routes[vehicle].insert(position, visit),
            None => still_unplaced.push(visit),
        }
    }
    assignment.unplaced = still_unplaced;
}

/// The number of visits an assignment plans late, and its total distance: how plans are compared.
pub fn judge(problem: &Problem, matrix: &TravelMatrix, assignment: &Assignment) -> (usize, f64) {
    let mut late = 0;
    let mut metres = 0.0;
    for (vehicle, route) in problem.vehicles.iter().zip(&assignment.routes) {
        if route.is_empty() {
            continue;
        }
        let plan = schedule(problem, matrix, vehicle.shift.start, route);
        late += plan.visits.iter().filter(|v| v.late).count();
        metres += plan.metres;
    }
    (late, metres)
}

#[cfg(test)]
mod tests {
    use todoke_shared::shipment::GeoPoint;
    use uuid::Uuid;

    use super::*;
    use crate::dispatch::plan::{GreatCircle, TravelModel, Vehicle, Visit, Window};

    const HOUR: i64 = 3600;

    fn problem(visits: Vec<Visit>, vehicles: Vec<Vehicle>) -> Problem {
        Problem { depot: GeoPoint { lat: 35.6812, lon: 139.7671 }, visits, vehicles }
    }

    fn visit(lat: f64, lon: f64, window: (i64, i64)) -> Visit {
        Visit {
            location: GeoPoint { lat, lon },
            parcels: 1,
            service: 180,
            window: Window { start: window.0 * HOUR, end: window.1 * HOUR },
            zone: None,
        }
    }

    fn vehicle(capacity: u32) -> Vehicle {
        Vehicle { capacity, shift: Window { start: 8 * HOUR, end: 21 * HOUR }, zones: Vec::new() }
    }

    fn quick() -> Effort {
        Effort { time: Duration::from_secs(2), generations: 200, repeatable: true }
    }

    fn solved(problem: &Problem) -> Assignment {
        let matrix = GreatCircle::default().matrix(&problem.places());
        solve(problem, &matrix, quick()).unwrap()
    }

    #[test]
    fn visits_are_ordered_by_their_windows() {
        // Evening first in the list, morning last: the route must start with the morning.
        let problem = problem(
            vec![visit(35.69, 139.70, (18, 20)), visit(35.70, 139.77, (14, 16)), visit(35.66, 139.73, (8, 12))],
            vec![vehicle(10)],
        );
        let plan = solved(&problem);
        assert_eq!(plan.routes, vec![vec![2, 1, 0]]);
        assert!(plan.unplaced.is_empty());
    }

    #[test]
    fn capacity_splits_the_work_and_what_fits_nowhere_is_reported() {
        let visits = (0..5).map(|i| visit(35.68 + 0.005 * i as f64, 139.76, (8, 21))).collect();
        let plan = solved(&problem(visits, vec![vehicle(2), vehicle(2)]));
        assert!(plan.routes.iter().all(|route| route.len() == 2), "{plan:?}");
        assert_eq!(plan.unplaced.len(), 1);
    }

    #[test]
    fn a_visit_that_fits_no_window_is_still_placed_and_judged_late() {
        // Two visits in the same 10-minute window, 15 km apart: one of them cannot make it.
        let mut visits = vec![visit(35.68, 139.76, (9, 9)), visit(35.80, 139.76, (9, 9))];
        visits[0].window.end += 600;
        visits[1].window.end += 600;
        let problem = problem(visits, vec![vehicle(10)]);
        let matrix = GreatCircle::default().matrix(&problem.places());
        let plan = solve(&problem, &matrix, quick()).unwrap();
        assert_eq!(plan.routes[0].len(), 2);
        assert_eq!(judge(&problem, &matrix, &plan).0, 1);
    }

    #[test]
    fn zones_go_to_the_drivers_who_cover_them() {
        let north = Uuid::now_v7();
        let south = Uuid::now_v7();
        let mut visits: Vec<Visit> = (0..6).map(|i| visit(35.68 + 0.002 * i as f64, 139.76, (8, 21))).collect();
        for (i, v) in visits.iter_mut().enumerate() {
            v.zone = Some(if i % 2 == 0 { north } else { south });
        }
        let mut drivers = vec![vehicle(10), vehicle(10)];
        drivers[0].zones = vec![north];
        drivers[1].zones = vec![south];
        let plan = solved(&problem(visits, drivers));
        let mut first = plan.routes[0].clone();
        first.sort();
        assert_eq!(first, vec![0, 2, 4]);
    }
}
