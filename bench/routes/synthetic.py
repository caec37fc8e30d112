#!/usr/bin/env python3
"""Writes a synthetic instance around Tokyo station, and a trivial round-robin "ours".

Usage:
    python3 bench/routes/synthetic.py INSTANCE.json [--ours OURS.json] [--stops 100]
        [--vehicles 4] [--capacity 30] [--radius-km 8] [--seed 1] [--name tokyo-100]

Stops are uniform within the radius of the depot (Tokyo station); road metres are the
haversine distance x 1.3, travel seconds are those metres at 25 km/h. Shifts run 08:00-21:00,
service is 180 s, one parcel a stop, and each window is drawn from 08-12, 14-16, 16-18,
18-20, 19-21 or the whole shift. The round-robin solution gives stop i (in id order) to
vehicle i mod V: a baseline for testing the script, not a plan anyone would drive.
Stdlib only.
"""
import argparse
import json
import math
import random

DEPOT = (35.6812, 139.7671)
EARTH_M = 6_371_000
H = 3600
SHIFT = [8 * H, 21 * H]
WINDOWS = [[8 * H, 12 * H], [14 * H, 16 * H], [16 * H, 18 * H], [18 * H, 20 * H],
           [19 * H, 21 * H], SHIFT]


def haversine_m(a, b):
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_M * math.asin(math.sqrt(h))


def random_point(rng, centre, radius_m):
    """Uniform in a disc (sqrt for the radius), on a local flat approximation."""
    r = radius_m * math.sqrt(rng.random())
    theta = rng.uniform(0, 2 * math.pi)
    dlat = r * math.cos(theta) / EARTH_M
    dlon = r * math.sin(theta) / (EARTH_M * math.cos(math.radians(centre[0])))
    return [round(centre[0] + math.degrees(dlat), 6), round(centre[1] + math.degrees(dlon), 6)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--ours", help="also write a round-robin solution here")
    parser.add_argument("--stops", type=int, default=100)
    parser.add_argument("--vehicles", type=int, default=4)
    parser.add_argument("--capacity", type=int, default=30)
    parser.add_argument("--radius-km", type=float, default=8.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--name")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    locations = [list(DEPOT)] + [random_point(rng, DEPOT, args.radius_km * 1000)
                                 for _ in range(args.stops)]
    distances = [[round(haversine_m(a, b) * 1.3) for b in locations] for a in locations]
    speed = 25 / 3.6  # m/s
    durations = [[round(d / speed) for d in row] for row in distances]
    vehicles = [{"id": f"v{i}", "capacity": args.capacity, "start": 0, "end": 0, "shift": SHIFT}
                for i in range(1, args.vehicles + 1)]
    stops = [{"id": f"s{i}", "location": i, "parcels": 1, "service": 180,
              "window": rng.choice(WINDOWS)} for i in range(1, args.stops + 1)]
    instance = {"name": args.name or f"tokyo-{args.stops}", "locations": locations,
                "durations": durations, "distances": distances, "vehicles": vehicles,
                "stops": stops}
    with open(args.out, "w") as handle:
        json.dump(instance, handle)

    if args.ours:
        routes = [{"vehicle": v["id"], "stops": []} for v in vehicles]
        for i, stop in enumerate(stops):
            routes[i % len(routes)]["stops"].append(stop["id"])
        with open(args.ours, "w") as handle:
            json.dump({"solver": "round-robin", "seconds": 0.0, "routes": routes,
                       "unassigned": []}, handle, indent=1)


if __name__ == "__main__":
    main()
