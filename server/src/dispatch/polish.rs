//! A local search after the solver, within the same time budget. Moves: a stop, or a run of up to
//! three, put next to one of its nearest neighbours on its own route or another; two stops swapped
//! between routes; two routes' tails exchanged; a stretch of a route reversed. A move is taken when
//! it makes no more stops late and the day shorter, and never overfills a van or breaks the zone
//! rule. When no single move helps, a few neighbouring stops are taken off and put back where they
//! cost least (ruin and recreate), and the result kept if it is better. Measured against vrp-core
//! alone in docs/BENCHMARKS.md: it closes most of the gap to VROOM in a fraction of the time.

use std::time::Instant;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::plan::{Assignment, PlanningInput, TravelMatrix, schedule};

/// How many nearest neighbours of a stop are tried as its new neighbour.
const NEIGHBOURS: usize = 12;
/// The longest run of consecutive stops moved as one.
const LONGEST_RUN: usize = 3;
/// The most stops taken off and put back at once.
const RUIN: usize = 10;
/// How much longer than the best plan a plan may be and still be searched from.
const DRIFT: f64 = 0.005;

/// What a route costs: its late stops first, then its metres.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Cost {
    late: usize,
    metres: f64,
}

impl Cost {
    fn plus(self, other: Cost) -> Cost {
        Cost { late: self.late + other.late, metres: self.metres + other.metres }
    }

    /// Better by more than rounding noise.
    fn better_than(self, other: Cost) -> bool {
        self.late < other.late || (self.late == other.late && self.metres < other.metres - 0.5)
    }
}

struct Search<'a> {
    input: &'a PlanningInput,
    matrix: &'a TravelMatrix,
    routes: Vec<Vec<usize>>,
    costs: Vec<Cost>,
    /// Where each visit is: route and position (kept by [`Search::reindex`]).
    places: Vec<Option<(usize, usize)>>,
}

impl Search<'_> {
    fn reindex(&mut self, route: usize) {
        for (position, &visit) in self.routes[route].iter().enumerate() {
            self.places[visit] = Some((route, position));
        }
    }

    fn cost(&self, vehicle: usize, route: &[usize]) -> Cost {
        if route.is_empty() {
            return Cost { late: 0, metres: 0.0 };
        }
        let plan = schedule(self.input, self.matrix, self.input.vehicles[vehicle].shift.start, route);
        Cost { late: plan.visits.iter().filter(|v| v.late).count(), metres: plan.metres }
    }

    fn may_carry(&self, vehicle: usize, visit: usize) -> bool {
        self.input.may_carry(&self.input.vehicles[vehicle], &self.input.visits[visit])
    }

    fn load(&self, route: &[usize]) -> u32 {
        route.iter().map(|&v| self.input.visits[v].parcels).sum()
    }

    /// Moves `run` consecutive stops starting at `from` on `source` to just before or after `anchor`
    /// (a stop on `target`), if that is better; says whether it moved them.
    fn try_move(&mut self, source: usize, from: usize, run: usize, target: usize, anchor: usize) -> bool {
        let moved: Vec<usize> = self.routes[source][from..from + run].to_vec();
        if moved.contains(&anchor) {
            return false;
        }
        let mut shortened = self.routes[source].clone();
        shortened.drain(from..from + run);
        let base = if source == target { shortened.clone() } else { self.routes[target].clone() };
        if source != target
            && (self.load(&base) + self.load(&moved) > self.input.vehicles[target].capacity
                || moved.iter().any(|&v| !self.may_carry(target, v)))
        {
            return false;
        }
        let Some(at) = base.iter().position(|&v| v == anchor) else { return false };
        let before = if source == target { self.costs[source] } else { self.costs[source].plus(self.costs[target]) };
        for (position, reversed) in [(at, false), (at + 1, false), (at, true), (at + 1, true)] {
            let mut run_order = moved.clone();
            if reversed {
                if run == 1 {
                    continue;
                }
                run_order.reverse();
            }
            let mut candidate = base.clone();
            candidate.splice(position..position, run_order);
            let after = if source == target {
                self.cost(target, &candidate)
            } else {
                let source_cost = self.cost(source, &shortened);
                source_cost.plus(self.cost(target, &candidate))
            };
            if after.better_than(before) {
                if source == target {
                    self.costs[target] = after;
                } else {
                    self.costs[source] = self.cost(source, &shortened);
                    self.routes[source] = shortened;
                    self.reindex(source);
                    self.costs[target] = self.cost(target, &candidate);
                }
                self.routes[target] = candidate;
                self.reindex(target);
                return true;
            }
        }
        false
    }

    /// Applies a change of two routes if it is better: a swap of stops or of route tails.
    fn try_pair(&mut self, a: usize, b: usize, route_a: Vec<usize>, route_b: Vec<usize>) -> bool {
        if self.load(&route_a) > self.input.vehicles[a].capacity
            || self.load(&route_b) > self.input.vehicles[b].capacity
            || route_a.iter().any(|&v| !self.may_carry(a, v))
            || route_b.iter().any(|&v| !self.may_carry(b, v))
        {
            return false;
        }
        let (cost_a, cost_b) = (self.cost(a, &route_a), self.cost(b, &route_b));
        if cost_a.plus(cost_b).better_than(self.costs[a].plus(self.costs[b])) {
            (self.routes[a], self.routes[b]) = (route_a, route_b);
            self.reindex(a);
            self.reindex(b);
            (self.costs[a], self.costs[b]) = (cost_a, cost_b);
            true
        } else {
            false
        }
    }

    /// Exchanges the stop at `i` of route `a` with the stop at `j` of route `b`.
    fn try_swap(&mut self, a: usize, i: usize, b: usize, j: usize) -> bool {
        let (mut route_a, mut route_b) = (self.routes[a].clone(), self.routes[b].clone());
        std::mem::swap(&mut route_a[i], &mut route_b[j]);
        self.try_pair(a, b, route_a, route_b)
    }

    /// Route `a` continues after its stop `i` with route `b`'s stops after `j`, and the other way round.
    fn try_tails(&mut self, a: usize, i: usize, b: usize, j: usize) -> bool {
        let (head_a, tail_a) = self.routes[a].split_at(i + 1);
        let (head_b, tail_b) = self.routes[b].split_at(j + 1);
        let route_a = [head_a, tail_b].concat();
        let route_b = [head_b, tail_a].concat();
        self.try_pair(a, b, route_a, route_b)
    }

    /// Gives the stops of route `a` from `i` on to an idle van `b`.
    fn try_split(&mut self, a: usize, i: usize, b: usize) -> bool {
        let (head, tail) = self.routes[a].split_at(i);
        let (route_a, route_b) = (head.to_vec(), tail.to_vec());
        self.try_pair(a, b, route_a, route_b)
    }

    /// Reverses the stretch between two stops of one route, if that is better.
    fn try_reverse(&mut self, vehicle: usize, from: usize, to: usize) -> bool {
        let mut candidate = self.routes[vehicle].clone();
        candidate[from..=to].reverse();
        let after = self.cost(vehicle, &candidate);
        if after.better_than(self.costs[vehicle]) {
            self.routes[vehicle] = candidate;
            self.reindex(vehicle);
            self.costs[vehicle] = after;
            true
        } else {
            false
        }
    }
}

impl Search<'_> {
    fn total(&self) -> Cost {
        self.costs.iter().fold(Cost { late: 0, metres: 0.0 }, |sum, cost| sum.plus(*cost))
    }

    fn locate(&self, visit: usize) -> Option<(usize, usize)> {
        self.places[visit]
    }

    /// Applies single moves until none helps or the deadline passes.
    fn descend(&mut self, nearest: &[Vec<usize>], around: &[usize], deadline: Instant) {
        let mut improved = true;
        while improved && Instant::now() < deadline {
            improved = false;
            for &visit in around {
                let neighbours = &nearest[visit];
                for run in 1..=LONGEST_RUN {
                    let Some((source, from)) = self.locate(visit) else { continue };
                    if from + run > self.routes[source].len() {
                        continue;
                    }
                    if run == 1
                        && from > 0
                        && let Some(idle) = self.routes.iter().position(Vec::is_empty)
                        && self.try_split(source, from, idle)
                    {
                        improved = true;
                        continue;
                    }
                    for &anchor in neighbours {
                        let Some((target, at)) = self.locate(anchor) else { continue };
                        if self.try_move(source, from, run, target, anchor) {
                            improved = true;
                            break;
                        }
                        let changed = if source == target {
                            let (low, high) = if at < from { (at + 1, from) } else { (from, at.saturating_sub(1)) };
                            low < high && self.try_reverse(source, low, high)
                        } else {
                            run == 1
                                && (self.try_swap(source, from, target, at)
                                    || self.try_tails(source, from, target, at)
                                    || (from > 0 && at > 0 && self.try_tails(source, from - 1, target, at - 1)))
                        };
                        if changed {
                            improved = true;
                            break;
                        }
                    }
                }
            }
        }
    }

    /// Takes `visits` off their routes and puts each back where it costs least; false when one no
    /// longer fits anywhere (the caller goes back to the plan before).
    fn ruin_and_recreate(&mut self, visits: &[usize]) -> bool {
        for route in &mut self.routes {
            route.retain(|v| !visits.contains(v));
        }
        for &visit in visits {
            self.places[visit] = None;
        }
        for vehicle in 0..self.routes.len() {
            self.costs[vehicle] = self.cost(vehicle, &self.routes[vehicle]);
            self.reindex(vehicle);
        }
        for &visit in visits {
            let parcels = self.input.visits[visit].parcels;
            let mut best: Option<(Cost, usize, usize)> = None;
            for vehicle in 0..self.routes.len() {
                if self.load(&self.routes[vehicle]) + parcels > self.input.vehicles[vehicle].capacity
                    || !self.may_carry(vehicle, visit)
                {
                    continue;
                }
                let mut candidate = self.routes[vehicle].clone();
                for position in 0..=candidate.len() {
                    candidate.insert(position, visit);
                    let cost = self.cost(vehicle, &candidate);
                    candidate.remove(position);
                    let added = Cost {
                        late: cost.late.saturating_sub(self.costs[vehicle].late),
                        metres: cost.metres - self.costs[vehicle].metres,
                    };
                    if best.is_none_or(|(b, _, _)| added.better_than(b)) {
                        best = Some((added, vehicle, position));
                    }
                }
            }
            let Some((_, vehicle, position)) = best else { return false };
            self.routes[vehicle].insert(position, visit);
            self.costs[vehicle] = self.cost(vehicle, &self.routes[vehicle]);
            self.reindex(vehicle);
        }
        true
    }
}

/// Improves `assignment` until `deadline`: single moves until none helps, then again and again from the
/// best plan with a neighbourhood of stops taken off and put back (ruin and recreate), kept when better.
/// Stops early when many tries in a row found nothing better: a small day is done in moments.
pub fn polish(input: &PlanningInput, matrix: &TravelMatrix, assignment: &mut Assignment, deadline: Instant) {
    let visits = input.visits.len();
    let placed: Vec<usize> = assignment.routes.concat();
    let nearest: Vec<Vec<usize>> = (0..visits)
        .map(|v| {
            let mut others: Vec<usize> = placed.iter().copied().filter(|&o| o != v).collect();
            others.sort_by(|&a, &b| matrix.metres(v + 1, a + 1).total_cmp(&matrix.metres(v + 1, b + 1)));
            others.truncate(NEIGHBOURS);
            others
        })
        .collect();
    let routes = std::mem::take(&mut assignment.routes);
    let mut search = Search { input, matrix, routes, costs: Vec::new(), places: vec![None; visits] };
    search.costs = (0..search.routes.len()).map(|v| search.cost(v, &search.routes[v])).collect();
    for route in 0..search.routes.len() {
        search.reindex(route);
    }
    search.descend(&nearest, &placed, deadline);
    let mut best = (search.routes.clone(), search.costs.clone(), search.total());
    let mut rng = StdRng::seed_from_u64(placed.len() as u64);
    let patience = 20 * placed.len().max(10);
    let mut fruitless = 0;
    while Instant::now() < deadline && placed.len() > 3 && fruitless < patience {
        let centre = placed[rng.random_range(0..placed.len())];
        let size = rng.random_range(3..=RUIN.min(placed.len()));
        let mut ruined: Vec<usize> =
            std::iter::once(centre).chain(nearest[centre].iter().copied()).take(size).collect();
        ruined.shuffle(&mut rng);
        let before = (search.routes.clone(), search.costs.clone(), search.places.clone());
        let recreated = search.ruin_and_recreate(&ruined);
        if recreated {
            search.descend(&nearest, &placed, deadline);
        }
        let total = search.total();
        fruitless += 1;
        // Record-to-record travel: a plan a little longer than the best may lead somewhere better.
        if recreated && total.late <= best.2.late && total.metres < best.2.metres * (1.0 + DRIFT) {
            if total.better_than(best.2) {
                best = (search.routes.clone(), search.costs.clone(), total);
                fruitless = 0;
            }
        } else {
            (search.routes, search.costs, search.places) = before;
        }
    }
    assignment.routes = best.0;
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use todoke_shared::shipment::GeoPoint;
    use uuid::Uuid;

    use super::*;
    use crate::dispatch::plan::{GreatCircle, TravelModel, Vehicle, Visit, Window};
    use crate::dispatch::solver::judge;

    fn visit(lat: f64, lon: f64, zone: Option<Uuid>) -> Visit {
        let window = Window { start: 8 * 3600, end: 21 * 3600 };
        Visit { location: GeoPoint { lat, lon }, parcels: 1, service: 180, window, zone }
    }

    fn vehicle(capacity: u32, zones: Vec<Uuid>) -> Vehicle {
        Vehicle { capacity, shift: Window { start: 8 * 3600, end: 21 * 3600 }, zones }
    }

    #[test]
    fn two_vans_crossing_town_are_untangled_without_breaking_a_rule() {
        // Ten stops in the west and ten in the east; each van was sent to both sides, in a zigzag.
        let west = Uuid::now_v7();
        let mut visits: Vec<Visit> = (0..10).map(|i| visit(35.68 + 0.002 * i as f64, 139.70, None)).collect();
        visits.extend((0..10).map(|i| visit(35.68 + 0.002 * i as f64, 139.80, None)));
        // One western stop lies in a zone only the first van covers.
        visits[3].zone = Some(west);
        let input = PlanningInput {
            depot: GeoPoint { lat: 35.68, lon: 139.75 },
            visits,
            vehicles: vec![vehicle(10, vec![west]), vehicle(10, vec![])],
        };
        let matrix = GreatCircle::default().matrix(&input.places());
        let zigzag = vec![vec![0, 11, 3, 13, 4, 15, 6, 17, 8, 19], vec![10, 1, 12, 2, 14, 5, 16, 7, 18, 9]];
        let mut plan = Assignment { routes: zigzag, unplaced: Vec::new() };
        let before = judge(&input, &matrix, &plan);

        polish(&input, &matrix, &mut plan, Instant::now() + Duration::from_millis(300));

        let after = judge(&input, &matrix, &plan);
        assert!(after.1 < before.1 * 0.8, "{before:?} -> {after:?}");
        assert_eq!(after.0, 0);
        assert!(plan.routes.iter().all(|route| route.len() <= 10));
        assert!(plan.routes[0].contains(&3), "the zoned stop stays with the van that covers it");
        let mut all = plan.routes.concat();
        all.sort();
        assert_eq!(all, (0..20).collect::<Vec<_>>());
    }
}
