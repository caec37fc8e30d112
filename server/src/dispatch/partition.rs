//! Splits a large day into parts the solver handles quickly: drivers who cover the same zones form a
//! team; each team takes the visits only it may make (and a fair share of the rest); a big team's
//! visits are cut into sectors around the depot, a few drivers to a sector. Routes in a city are
//! sectors anyway, so little distance is lost; and no part needs a matrix of the whole day.

use std::collections::BTreeMap;

use uuid::Uuid;

use super::plan::{PlanningInput, Visit};

/// Some visits and the vehicles that make them, by index into the whole input.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Part {
    pub visits: Vec<usize>,
    pub vehicles: Vec<usize>,
}

/// Parts of at most about `max_visits` visits each (a part never has fewer than one vehicle, so a
/// single driver with more visits than that stays whole). Every visit and vehicle is in exactly one.
pub fn partition(input: &PlanningInput, max_visits: usize) -> Vec<Part> {
    let teams = teams(input);
    if teams.is_empty() {
        return vec![Part { visits: (0..input.visits.len()).collect(), vehicles: Vec::new() }];
    }
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); teams.len()];
    let mut load = vec![0u64; teams.len()];
    let capacity: Vec<u64> =
        teams.iter().map(|team| team.iter().map(|&v| u64::from(input.vehicles[v].capacity)).sum()).collect();
    // Visits only few teams may make are given out first, so that the free ones cannot fill the room a
    // zone's team needs for its own.
    let eligible = |visit: &Visit| -> Vec<usize> {
        (0..teams.len()).filter(|&t| input.may_carry(&input.vehicles[teams[t][0]], visit)).collect()
    };
    let mut order: Vec<usize> = (0..input.visits.len()).collect();
    order.sort_by_key(|&v| eligible(&input.visits[v]).len());
    for index in order {
        let visit = &input.visits[index];
        // The eligible team with the most room left, relative to its size.
        let chosen = eligible(visit)
            .into_iter()
            .min_by(|&a, &b| {
                let share = |t: usize| load[t] as f64 / capacity[t].max(1) as f64;
                share(a).total_cmp(&share(b))
            })
            .unwrap_or(0);
        members[chosen].push(index);
        load[chosen] += u64::from(visit.parcels);
    }
    teams.into_iter().zip(members).flat_map(|(team, visits)| sectors(input, team, visits, max_visits)).collect()
}

/// Vehicles grouped by the zones they cover, in a stable order.
fn teams(input: &PlanningInput) -> Vec<Vec<usize>> {
    let mut teams: BTreeMap<Vec<Uuid>, Vec<usize>> = BTreeMap::new();
    for (index, vehicle) in input.vehicles.iter().enumerate() {
        let mut zones = vehicle.zones.clone();
        zones.sort();
        teams.entry(zones).or_default().push(index);
    }
    teams.into_values().collect()
}

/// Cuts one team's visits into sectors by bearing from the depot, starting at the widest empty gap
/// so no dense neighbourhood is cut in two; each sector's parcels match its vehicles' share of room.
fn sectors(input: &PlanningInput, team: Vec<usize>, mut visits: Vec<usize>, max_visits: usize) -> Vec<Part> {
    let groups = visits.len().div_ceil(max_visits.max(1)).clamp(1, team.len());
    if groups == 1 {
        return vec![Part { visits, vehicles: team }];
    }
    let depot = input.depot;
    let bearing = |v: usize| {
        let place = input.visits[v].location;
        let east = (place.lon - depot.lon) * depot.lat.to_radians().cos();
        (place.lat - depot.lat).atan2(east)
    };
    visits.sort_by(|&a, &b| bearing(a).total_cmp(&bearing(b)));
    let widest_gap = (0..visits.len())
        .max_by(|&i, &j| {
            let gap = |i: usize| {
                let next = if i + 1 == visits.len() {
                    bearing(visits[0]) + std::f64::consts::TAU
                } else {
                    bearing(visits[i + 1])
                };
                next - bearing(visits[i])
            };
            gap(i).total_cmp(&gap(j))
        })
        .unwrap_or(0);
    let start = (widest_gap + 1) % visits.len();
    visits.rotate_left(start);

    let crews: Vec<Vec<usize>> =
        (0..groups).map(|g| team[g * team.len() / groups..(g + 1) * team.len() / groups].to_vec()).collect();
    let room = |crew: &[usize]| crew.iter().map(|&v| u64::from(input.vehicles[v].capacity)).sum::<u64>() as f64;
    let total_room: f64 = crews.iter().map(|c| room(c)).sum::<f64>().max(1.0);
    let total_parcels: f64 = visits.iter().map(|&v| f64::from(input.visits[v].parcels)).sum();

    let mut parts = Vec::with_capacity(groups);
    let mut rest = visits.into_iter().peekable();
    let mut cumulative_share = 0.0;
    let mut taken = 0.0;
    for (index, crew) in crews.into_iter().enumerate() {
        cumulative_share += room(&crew) / total_room;
        let target = total_parcels * cumulative_share;
        let mut part = Part { visits: Vec::new(), vehicles: crew };
        while let Some(&next) = rest.peek() {
            let parcels = f64::from(input.visits[next].parcels);
            let last = index + 1 == groups;
            if !last && taken + parcels / 2.0 > target {
                break;
            }
            taken += parcels;
            part.visits.push(next);
            rest.next();
        }
        parts.push(part);
    }
    parts
}

#[cfg(test)]
mod tests {
    use todoke_shared::shipment::GeoPoint;

    use super::*;
    use crate::dispatch::plan::{Vehicle, Window};

    fn visit(lat: f64, lon: f64, zone: Option<Uuid>) -> Visit {
        Visit {
            location: GeoPoint { lat, lon },
            parcels: 1,
            service: 180,
            window: Window { start: 8 * 3600, end: 21 * 3600 },
            zone,
        }
    }

    fn vehicle(zones: Vec<Uuid>) -> Vehicle {
        Vehicle { capacity: 100, shift: Window { start: 8 * 3600, end: 21 * 3600 }, zones }
    }

    fn ring(count: usize, zone: Option<Uuid>) -> Vec<Visit> {
        (0..count)
            .map(|i| {
                let angle = i as f64 / count as f64 * std::f64::consts::TAU;
                visit(35.68 + 0.05 * angle.sin(), 139.76 + 0.06 * angle.cos(), zone)
            })
            .collect()
    }

    fn covers_everything_once(input: &PlanningInput, parts: &[Part]) {
        let mut visits: Vec<usize> = parts.iter().flat_map(|p| p.visits.clone()).collect();
        let mut vehicles: Vec<usize> = parts.iter().flat_map(|p| p.vehicles.clone()).collect();
        visits.sort();
        vehicles.sort();
        assert_eq!(visits, (0..input.visits.len()).collect::<Vec<_>>());
        assert_eq!(vehicles, (0..input.vehicles.len()).collect::<Vec<_>>());
    }

    #[test]
    fn a_small_day_stays_whole() {
        let input = PlanningInput {
            depot: GeoPoint { lat: 35.68, lon: 139.76 },
            visits: ring(50, None),
            vehicles: vec![vehicle(vec![]); 3],
        };
        let parts = partition(&input, 300);
        assert_eq!(parts.len(), 1);
        covers_everything_once(&input, &parts);
    }

    #[test]
    fn a_big_day_is_cut_into_sectors_of_neighbours() {
        let input = PlanningInput {
            depot: GeoPoint { lat: 35.68, lon: 139.76 },
            visits: ring(1000, None),
            vehicles: vec![vehicle(vec![]); 8],
        };
        let parts = partition(&input, 250);
        assert_eq!(parts.len(), 4);
        covers_everything_once(&input, &parts);
        for part in &parts {
            assert_eq!(part.vehicles.len(), 2);
            assert!((240..=260).contains(&part.visits.len()), "{}", part.visits.len());
            // A quarter of the ring: consecutive around the circle, with at most one wrap.
            let mut sorted = part.visits.clone();
            sorted.sort();
            let jumps = sorted.windows(2).filter(|w| w[1] - w[0] > 1).count();
            assert!(jumps <= 1, "{sorted:?}");
        }
    }

    #[test]
    fn the_room_a_zones_team_needs_is_kept_for_it() {
        // 300 visits anyone may make come first in the list, then 300 only the zone's team may make;
        // both teams have room for 300.
        let zone = Uuid::now_v7();
        let mut visits = ring(300, None);
        visits.extend(ring(300, Some(zone)));
        let mut vehicles = vec![vehicle(vec![zone]), vehicle(vec![zone]), vehicle(vec![]), vehicle(vec![])];
        for v in &mut vehicles {
            v.capacity = 150;
        }
        let input = PlanningInput { depot: GeoPoint { lat: 35.68, lon: 139.76 }, visits, vehicles };
        let parts = partition(&input, 1000);
        covers_everything_once(&input, &parts);
        for part in &parts {
            let room: u32 = part.vehicles.iter().map(|&v| input.vehicles[v].capacity).sum();
            assert!(part.visits.len() as u32 <= room, "{} visits for room {room}", part.visits.len());
        }
    }

    #[test]
    fn zones_stay_with_the_drivers_who_cover_them() {
        let (north, south) = (Uuid::now_v7(), Uuid::now_v7());
        let mut visits = ring(300, Some(north));
        visits.extend(ring(100, Some(south)));
        visits.extend(ring(100, None));
        let vehicles = vec![vehicle(vec![north]), vehicle(vec![north]), vehicle(vec![south]), vehicle(vec![north])];
        let input = PlanningInput { depot: GeoPoint { lat: 35.68, lon: 139.76 }, visits, vehicles };
        let parts = partition(&input, 1000);
        covers_everything_once(&input, &parts);
        let south_part = parts.iter().find(|p| p.vehicles == vec![2]).unwrap();
        assert!(south_part.visits.iter().all(|&v| input.visits[v].zone != Some(north)));
        assert!(south_part.visits.iter().filter(|&&v| input.visits[v].zone == Some(south)).count() == 100);
    }
}
