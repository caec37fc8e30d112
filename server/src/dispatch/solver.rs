//! Chooses which vehicle visits what, in which order, with the `vrp-core` solver: capacities, shifts,
//! zones (as skills) and time windows, minimising distance. A visit that fits no window is still
//! placed (where it costs least) and reported late; only what no vehicle has room for is left out.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use vrp_core::construction::features::{JobSkills, JobSkillsDimension, VehicleSkillsDimension, create_skills_feature};
use vrp_core::models::common::TimeWindow;
use vrp_core::models::problem::{JobIdDimension, VehicleIdDimension};
use vrp_core::prelude::*;
use vrp_core::rosomaxa::evolution::TelemetryMode;
use vrp_core::rosomaxa::utils::{Parallelism, TimeQuota};

use super::partition::{Part, partition};
use super::plan::{Assignment, PlanningInput, TravelMatrix, TravelModel, schedule};
use super::polish::polish;

/// A day with more visits than this is planned in parts (see [`partition`]): the solver's first
/// construction alone grows with the cube of the visits, and one matrix of the day with the square.
const WHOLE_DAY_VISITS: usize = 500;
/// About one driver's day: parts this small are solved well in a fraction of a second each.
const PART_VISITS: usize = 150;
/// The share of the time vrp-core searches; [`polish`] improves its plan for the rest, and does so
/// faster (docs/BENCHMARKS.md: at 300 stops, 1 s of vrp-core then 11 s of polish is 1.8% above VROOM's
/// distance, where vrp-core alone for 20–60 s is 5–15% above it).
const VRP_CORE_SHARE: f64 = 0.25;

/// How hard to look for a better plan.
#[derive(Debug, Clone, Copy)]
pub struct Effort {
    /// Wall-clock limit for one solve.
    pub time: Duration,
    /// Generations of the search, at most.
    pub generations: usize,
    /// A fixed seed gives the same plan for the same input (tests, benchmarks).
    pub repeatable: bool,
}

impl Default for Effort {
    fn default() -> Effort {
        Effort { time: Duration::from_secs(2), generations: 3000, repeatable: false }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the route solver failed: {0}")]
pub struct SolverError(pub String);

impl From<GenericError> for SolverError {
    fn from(error: GenericError) -> SolverError {
        SolverError(error.to_string())
    }
}

/// Plans a day: whole when it is small, else part by part, as many parts at once as there are cores,
/// each part given its share of the time by its size.
pub fn plan(input: &PlanningInput, travel: &dyn TravelModel, effort: Effort) -> Result<Assignment, SolverError> {
    if input.visits.len() <= WHOLE_DAY_VISITS {
        return solve(input, &travel.matrix(&input.places()), effort);
    }
    let parts = partition(input, PART_VISITS);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(parts.len());
    let total = input.visits.len().max(1) as f64;
    let next = AtomicUsize::new(0);
    let solve_part = |part: &Part| {
        let sub = PlanningInput {
            depot: input.depot,
            visits: part.visits.iter().map(|&v| input.visits[v].clone()).collect(),
            vehicles: part.vehicles.iter().map(|&v| input.vehicles[v].clone()).collect(),
        };
        let share = part.visits.len() as f64 / total * workers as f64;
        solve_on(&sub, &travel.matrix(&sub.places()), Effort { time: effort.time.mul_f64(share), ..effort }, 1)
    };
    // One part per core at a time, each solve on one thread: small solves scale better so than alone on all.
    let solved: Vec<Result<(usize, Assignment), SolverError>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(part) = parts.get(index) else { return done };
                        done.push(solve_part(part).map(|plan| (index, plan)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| {
                worker.join().unwrap_or_else(|_| vec![Err(SolverError("a part of the plan failed".into()))])
            })
            .collect()
    });
    let mut assignment = Assignment { routes: vec![Vec::new(); input.vehicles.len()], unplaced: Vec::new() };
    for result in solved {
        let (index, part_plan) = result?;
        let part = &parts[index];
        for (vehicle, route) in part.vehicles.iter().zip(part_plan.routes) {
            assignment.routes[*vehicle] = route.into_iter().map(|v| part.visits[v]).collect();
        }
        assignment.unplaced.extend(part_plan.unplaced.into_iter().map(|v| part.visits[v]));
    }
    Ok(assignment)
}

/// Plans `input` on `matrix` (place 0 the depot, visit `i` place `i + 1`).
pub fn solve(input: &PlanningInput, matrix: &TravelMatrix, effort: Effort) -> Result<Assignment, SolverError> {
    solve_on(input, matrix, effort, std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// [`solve`] with at most `cores` threads.
fn solve_on(
    input: &PlanningInput,
    matrix: &TravelMatrix,
    effort: Effort,
    cores: usize,
) -> Result<Assignment, SolverError> {
    let deadline = Instant::now() + effort.time;
    let mut assignment = if input.visits.is_empty() || input.vehicles.is_empty() {
        Assignment { routes: vec![Vec::new(); input.vehicles.len()], unplaced: (0..input.visits.len()).collect() }
    } else {
        let search = Effort { time: effort.time.mul_f64(VRP_CORE_SHARE), ..effort };
        run_vrp_core(input, matrix, search, cores)?
    };
    place_late(input, matrix, &mut assignment);
    polish(input, matrix, &mut assignment, deadline);
    Ok(assignment)
}

fn run_vrp_core(
    input: &PlanningInput,
    matrix: &TravelMatrix,
    effort: Effort,
    cores: usize,
) -> Result<Assignment, SolverError> {
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

    let jobs = input
        .visits
        .iter()
        .enumerate()
        .map(|(index, visit)| {
            let parcels = i32::try_from(visit.parcels).unwrap_or(i32::MAX);
            SingleBuilder::default()
                .id(&index.to_string())
                .demand(Demand::delivery(parcels))
                .dimension(|d| {
                    if let Some(zone) = visit.zone.filter(|zone| input.is_covered(*zone)) {
                        d.set_job_skills(JobSkills::new(None, Some(vec![zone.to_string()]), None));
                    }
                })
                .location(index + 1)?
                .duration(visit.service as Float)?
                .times(vec![TimeWindow::new(visit.window.start as Float, visit.window.end as Float)])?
                .build_as_job()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let vehicles = input
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
            .with_logger(solver_log())
            .build()?,
    );

    let random: Arc<dyn Random> =
        Arc::new(if effort.repeatable { DefaultRandom::new_repeatable() } else { DefaultRandom::default() });
    let environment = Arc::new(Environment::new(
        random,
        Some(Arc::new(TimeQuota::new(effort.time.as_secs_f64()))),
        Parallelism::new_with_cpus(cores),
        solver_log(),
        false,
    ));
    let config = VrpConfigBuilder::new(vrp.clone())
        .set_environment(environment)
        .set_telemetry_mode(TelemetryMode::None)
        .prebuild()?
        .with_max_generations(Some(effort.generations))
        .build()?;
    let solution = Solver::new(vrp, config).solve()?;

    let mut routes = vec![Vec::new(); input.vehicles.len()];
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

/// The solver's progress notes go to the debug log, not to standard output.
fn solver_log() -> InfoLogger {
    Arc::new(|message: &str| tracing::debug!(target: "todoke_server::dispatch::solver", "{message}"))
}

/// Puts each unplaced visit on a vehicle that has room (and covers its zone), where it makes the
/// fewest stops late and then adds the least distance: late at the end of a route rather than making
/// every later stop late. A late parcel beats a parcel left at the depot.
fn place_late(input: &PlanningInput, matrix: &TravelMatrix, assignment: &mut Assignment) {
    let late = |vehicle: usize, order: &[usize]| {
        let plan = schedule(input, matrix, input.vehicles[vehicle].shift.start, order);
        (plan.visits.iter().filter(|v| v.late).count() as i64, plan.metres)
    };
    let mut still_unplaced = Vec::new();
    for visit in std::mem::take(&mut assignment.unplaced) {
        let target = &input.visits[visit];
        let mut best: Option<((i64, f64), usize, usize)> = None;
        for (index, vehicle) in input.vehicles.iter().enumerate() {
            let route = &assignment.routes[index];
            let load: u32 = route.iter().map(|&v| input.visits[v].parcels).sum();
            if load + target.parcels > vehicle.capacity || !input.may_carry(vehicle, target) {
                continue;
            }
            let (late_before, metres_before) = late(index, route);
            let mut order = route.clone();
            for position in 0..=route.len() {
                order.insert(position, visit);
                let (late_after, metres_after) = late(index, &order);
                order.remove(position);
                let cost = (late_after - late_before, metres_after - metres_before);
                if best.is_none_or(|(best_cost, _, _)| {
                    cost.0 < best_cost.0 || (cost.0 == best_cost.0 && cost.1 < best_cost.1)
                }) {
                    best = Some((cost, index, position));
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
pub fn judge(input: &PlanningInput, matrix: &TravelMatrix, assignment: &Assignment) -> (usize, f64) {
    let mut late = 0;
    let mut metres = 0.0;
    for (vehicle, route) in input.vehicles.iter().zip(&assignment.routes) {
        if route.is_empty() {
            continue;
        }
        let plan = schedule(input, matrix, vehicle.shift.start, route);
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

    fn input(visits: Vec<Visit>, vehicles: Vec<Vehicle>) -> PlanningInput {
        PlanningInput { depot: GeoPoint { lat: 35.6812, lon: 139.7671 }, visits, vehicles }
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

    fn solved(input: &PlanningInput) -> Assignment {
        let matrix = GreatCircle::default().matrix(&input.places());
        solve(input, &matrix, quick()).unwrap()
    }

    #[test]
    fn visits_are_ordered_by_their_windows() {
        // Evening first in the list, morning last: the route must start with the morning.
        let input = input(
            vec![visit(35.69, 139.70, (18, 20)), visit(35.70, 139.77, (14, 16)), visit(35.66, 139.73, (8, 12))],
            vec![vehicle(10)],
        );
        let plan = solved(&input);
        assert_eq!(plan.routes, vec![vec![2, 1, 0]]);
        assert!(plan.unplaced.is_empty());
    }

    #[test]
    fn capacity_splits_the_work_and_what_fits_nowhere_is_reported() {
        let visits = (0..5).map(|i| visit(35.68 + 0.005 * i as f64, 139.76, (8, 21))).collect();
        let plan = solved(&input(visits, vec![vehicle(2), vehicle(2)]));
        assert!(plan.routes.iter().all(|route| route.len() == 2), "{plan:?}");
        assert_eq!(plan.unplaced.len(), 1);
    }

    #[test]
    fn a_visit_that_fits_no_window_is_still_placed_and_judged_late() {
        // Two visits in the same 10-minute window, 15 km apart: one of them cannot make it.
        let mut visits = vec![visit(35.68, 139.76, (9, 9)), visit(35.80, 139.76, (9, 9))];
        visits[0].window.end += 600;
        visits[1].window.end += 600;
        let input = input(visits, vec![vehicle(10)]);
        let matrix = GreatCircle::default().matrix(&input.places());
        let plan = solve(&input, &matrix, quick()).unwrap();
        assert_eq!(plan.routes[0].len(), 2);
        assert_eq!(judge(&input, &matrix, &plan).0, 1);
    }

    #[test]
    fn a_visit_that_fits_nowhere_goes_where_it_makes_no_other_stop_late() {
        // Three stops in windows without slack, one after another, and a fourth beside the first whose
        // window closed before the shift began. Right after the first it adds the least distance, but
        // it would make the next stops late; before or after them only it is late.
        let mut visits = vec![
            visit(35.690, 139.76, (9, 9)),
            visit(35.700, 139.76, (9, 9)),
            visit(35.710, 139.76, (9, 9)),
            visit(35.6905, 139.76, (7, 7)),
        ];
        for (i, v) in visits.iter_mut().take(3).enumerate() {
            v.window = Window { start: 9 * HOUR + 600 * i as i64, end: 9 * HOUR + 600 * i as i64 };
        }
        let input = input(visits, vec![vehicle(10)]);
        let matrix = GreatCircle::default().matrix(&input.places());
        let mut plan = Assignment { routes: vec![vec![0, 1, 2]], unplaced: vec![3] };
        assert_eq!(judge(&input, &matrix, &plan).0, 0);
        place_late(&input, &matrix, &mut plan);
        assert_eq!(judge(&input, &matrix, &plan).0, 1, "{plan:?}");
        assert_eq!(plan.routes[0].len(), 4);
    }

    #[test]
    fn a_big_day_is_planned_in_parts_without_losing_or_doubling_a_visit() {
        let visits: Vec<Visit> = (0..520)
            .map(|i| {
                let angle = i as f64 * 2.399;
                let r = 0.03 * ((i % 97) as f64 / 97.0).sqrt();
                visit(35.68 + r * angle.sin(), 139.76 + r * angle.cos(), (8, 21))
            })
            .collect();
        let input = input(visits, vec![vehicle(140); 4]);
        let effort = Effort { time: Duration::from_millis(800), generations: 50, repeatable: true };
        let plan = plan(&input, &GreatCircle::default(), effort).unwrap();
        let mut seen: Vec<usize> = plan.routes.concat();
        seen.sort();
        assert_eq!(seen, (0..520).collect::<Vec<_>>());
        assert!(plan.unplaced.is_empty());
        assert!(
            plan.routes.iter().all(|route| (100..=140).contains(&route.len())),
            "{:?}",
            plan.routes.iter().map(Vec::len).collect::<Vec<_>>()
        );
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
        let plan = solved(&input(visits, drivers));
        let mut first = plan.routes[0].clone();
        first.sort();
        assert_eq!(first, vec![0, 2, 4]);
    }
}
