#!/usr/bin/env python3
"""Compare our route solver with VROOM (pyvroom) on the same instances.

Usage:
    python3 bench/routes/compare.py [options] INSTANCE.json OURS.json [INSTANCE2.json OURS2.json ...]

For each pair the instance is solved with pyvroom on the instance's own duration and
distance matrices, then both solutions (VROOM's and ours from OURS.json) go through one
evaluator and a Markdown table is printed. See README.md beside this file for the formats.

Exit status: 0 when all is well, 1 when a solution breaks a rule (a stop served twice, a
route over capacity, an unknown stop or vehicle, ...), 2 on bad usage or bad input.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

try:
    import vroom  # pyvroom
    from importlib.metadata import version as _dist_version

    PYVROOM_VERSION = _dist_version("pyvroom")
except ImportError as error:  # pragma: no cover - depends on the environment
    sys.exit(
        f"cannot import pyvroom ({error}); install it with:\n"
        "  python3 -m venv /tmp/vroom-venv && /tmp/vroom-venv/bin/pip install pyvroom\n"
        "and run this script with /tmp/vroom-venv/bin/python"
    )
if not hasattr(vroom, "Input"):  # pragma: no cover
    sys.exit(f"`import vroom` found {getattr(vroom, '__file__', '?')}, which is not pyvroom")

PROFILE = "car"


def fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def load_json(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError) as error:
        fail(f"{path}: {error}")


def check_instance(inst: dict, path: str) -> None:
    """Shape checks, so that a broken instance fails with a message, not a traceback."""
    for key in ("locations", "durations", "distances", "vehicles", "stops"):
        if key not in inst:
            fail(f"{path}: missing key {key!r}")
    n = len(inst["locations"])
    for key in ("durations", "distances"):
        matrix = inst[key]
        if len(matrix) != n or any(len(row) != n for row in matrix):
            fail(f"{path}: {key} is not {n} x {n}")
        if any(not isinstance(v, int) or v < 0 or v >= 2**32 for row in matrix for v in row):
            fail(f"{path}: {key} must hold non-negative integers below 2^32")
    for vehicle in inst["vehicles"]:
        for key in ("start", "end"):
            if vehicle.get(key) is not None and not 0 <= vehicle[key] < n:
                fail(f"{path}: vehicle {vehicle['id']} {key} {vehicle[key]} out of range")
    for stop in inst["stops"]:
        if not 0 <= stop["location"] < n:
            fail(f"{path}: stop {stop['id']} location {stop['location']} out of range")
    for kind, items in (("vehicle", inst["vehicles"]), ("stop", inst["stops"])):
        ids = [item["id"] for item in items]
        if len(set(ids)) != len(ids):
            fail(f"{path}: duplicate {kind} ids")


# ---------------------------------------------------------------------------------------
# The one evaluator, used for both solvers.


def evaluate(inst: dict, routes: list[dict], solver: str) -> tuple[dict, list[str]]:
    """Figures for a solution given as [{"vehicle": id, "stops": [stop id, ...]}, ...].

    Returns (figures, violations). Violations are rule breaks that make the comparison
    meaningless: unknown ids, a vehicle used twice, a stop served twice, over capacity.
    """
    vehicles = {v["id"]: v for v in inst["vehicles"]}
    stops = {s["id"]: s for s in inst["stops"]}
    durations, distances = inst["durations"], inst["distances"]
    violations: list[str] = []
    seen_stops: dict[str, str] = {}
    seen_vehicles: set[str] = set()
    total_distance = late = used = over_shift = 0

    for route in routes:
        vid = route.get("vehicle")
        if vid not in vehicles:
            violations.append(f"{solver}: route for unknown vehicle {vid!r}")
            continue
        if vid in seen_vehicles:
            violations.append(f"{solver}: vehicle {vid} has more than one route")
        seen_vehicles.add(vid)
        vehicle = vehicles[vid]
        route_stops = route.get("stops", [])
        if not route_stops:
            continue  # an empty route costs nothing
        used += 1
        shift = vehicle.get("shift")
        t = shift[0] if shift else 0
        loc = vehicle.get("start")
        load = 0
        for sid in route_stops:
            if sid not in stops:
                violations.append(f"{solver}: vehicle {vid} visits unknown stop {sid!r}")
                continue
            if sid in seen_stops:
                violations.append(f"{solver}: stop {sid} served twice (by {seen_stops[sid]} and {vid})")
            seen_stops[sid] = vid
            stop = stops[sid]
            load += stop.get("parcels", 0)
            if loc is not None:  # no start location: the route begins at its first stop
                total_distance += distances[loc][stop["location"]]
                t += durations[loc][stop["location"]]
            window = stop.get("window")
            if window:
                if t < window[0]:
                    t = window[0]  # wait
                if t > window[1]:
                    late += 1
            t += stop.get("service", 0)
            loc = stop["location"]
        if vehicle.get("end") is not None and loc is not None:
            total_distance += distances[loc][vehicle["end"]]
            t += durations[loc][vehicle["end"]]
        if load > vehicle["capacity"]:
            violations.append(f"{solver}: vehicle {vid} carries {load} parcels, capacity {vehicle['capacity']}")
        if shift and t > shift[1]:
            over_shift += 1  # not a violation: reported in the JSON and on stderr

    unassigned = [sid for sid in stops if sid not in seen_stops]
    figures = {
        "routes": used,
        "distance_m": total_distance,
        "distance_km": round(total_distance / 1000, 1),
        "late": late,
        "unassigned": len(unassigned),
        "unassigned_ids": unassigned,
        "routes_ending_after_shift": over_shift,
    }
    return figures, violations


# ---------------------------------------------------------------------------------------
# VROOM


def solve_with_vroom(inst: dict, exploration: int, threads: int, cost: str, timeout: float | None):
    """Solve with pyvroom; returns (routes in our form, seconds, VROOM's own summary)."""
    problem = vroom.Input()
    problem.set_durations_matrix(PROFILE, inst["durations"])
    problem.set_distances_matrix(PROFILE, inst["distances"])
    if cost == "distance":
        problem.set_costs_matrix(PROFILE, inst["distances"])
    # pyvroom ids are integers: number vehicles and stops from 1 and map back afterwards.
    vehicle_ids = {}
    for number, v in enumerate(inst["vehicles"], start=1):
        vehicle_ids[number] = v["id"]
        problem.add_vehicle(
            vroom.Vehicle(
                number,
                start=v.get("start"),
                end=v.get("end"),
                profile=PROFILE,
                capacity=[v["capacity"]],
                time_window=vroom.TimeWindow(*v["shift"]) if v.get("shift") else None,
                description=str(v["id"]),
            )
        )
    stop_ids = {}
    jobs = []
    for number, s in enumerate(inst["stops"], start=1):
        stop_ids[number] = s["id"]
        jobs.append(
            vroom.Job(
                number,
                location=s["location"],
                default_service=s.get("service", 0),
                delivery=[s.get("parcels", 0)],
                time_windows=[vroom.TimeWindow(*s["window"])] if s.get("window") else (),
                description=str(s["id"]),
            )
        )
    problem.add_job(jobs)

    started = time.perf_counter()
    solution = problem.solve(
        exploration_level=exploration,
        nb_threads=threads,
        timeout=None if timeout is None else timedelta(seconds=timeout),
    )
    seconds = time.perf_counter() - started

    raw = solution.to_dict()
    routes = [
        {
            "vehicle": vehicle_ids[route["vehicle"]],
            "stops": [stop_ids[step["id"]] for step in route["steps"] if step["type"] == "job"],
        }
        for route in raw.get("routes", [])
    ]
    summary = dict(raw.get("summary", {}))
    summary["unassigned_ids"] = [stop_ids[u["id"]] for u in raw.get("unassigned", [])]
    return routes, seconds, summary


# ---------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(
        description="Compare our route solver with VROOM (pyvroom) through one evaluator."
    )
    parser.add_argument("files", nargs="+", metavar="INSTANCE.json OURS.json",
                        help="pairs of instance file and our solution for it")
    parser.add_argument("--json", metavar="OUT", help="also write the figures as JSON to OUT")
    parser.add_argument("--exploration", type=int, default=5, choices=range(0, 6),
                        help="VROOM exploration level (default 5, VROOM's highest)")
    parser.add_argument("--threads", type=int, default=1, help="VROOM threads (default 1)")
    parser.add_argument("--vroom-cost", choices=("duration", "distance"), default="duration",
                        help="what VROOM minimises: travel time (VROOM's default) or the distance "
                             "matrix (set as its cost matrix); default duration")
    parser.add_argument("--timeout", type=float, metavar="SECONDS",
                        help="stop VROOM's search after this long (default: none)")
    args = parser.parse_args()
    if len(args.files) % 2:
        parser.error("files must come in pairs: INSTANCE.json OURS.json")

    vroom_settings = {
        "pyvroom": PYVROOM_VERSION,
        "exploration_level": args.exploration,
        "threads": args.threads,
        "cost": args.vroom_cost,
        "timeout_seconds": args.timeout,
    }
    rows: list[dict] = []
    all_violations: list[str] = []
    for inst_path, ours_path in zip(args.files[0::2], args.files[1::2]):
        inst = load_json(inst_path)
        check_instance(inst, inst_path)
        ours = load_json(ours_path)
        name = inst.get("name") or Path(inst_path).stem
        print(f"[{name}] solving with VROOM ({len(inst['stops'])} stops, "
              f"{len(inst['vehicles'])} vehicles)...", file=sys.stderr)

        v_routes, v_seconds, v_summary = solve_with_vroom(
            inst, args.exploration, args.threads, args.vroom_cost, args.timeout)
        v_fig, v_viol = evaluate(inst, v_routes, f"{name}/vroom")
        # Sanity check against VROOM's own figures (stderr only; the table uses ours).
        print(f"[{name}] VROOM's own summary: cost {v_summary.get('cost')}, distance "
              f"{v_summary.get('distance')} m, routes {v_summary.get('routes')}, unassigned "
              f"{v_summary.get('unassigned')}, violations {v_summary.get('violations')}",
              file=sys.stderr)
        if v_summary.get("distance") is not None and v_summary["distance"] != v_fig["distance_m"]:
            print(f"[{name}] WARNING: evaluator distance {v_fig['distance_m']} m differs from "
                  f"VROOM's {v_summary['distance']} m", file=sys.stderr)
        if set(v_summary["unassigned_ids"]) != set(v_fig["unassigned_ids"]):
            v_viol.append(f"{name}/vroom: VROOM's unassigned list differs from the stops it left out")

        o_routes = ours.get("routes")
        if not isinstance(o_routes, list):
            fail(f"{ours_path}: missing 'routes' list")
        o_fig, o_viol = evaluate(inst, o_routes, f"{name}/ours")
        declared = ours.get("unassigned", [])
        routed_but_declared = sorted(set(declared) - set(o_fig["unassigned_ids"]))
        if routed_but_declared:
            o_viol.append(f"{name}/ours: stops both routed and listed unassigned: {routed_but_declared}")
        undeclared = sorted(set(o_fig["unassigned_ids"]) - set(declared))
        if undeclared:
            print(f"[{name}] WARNING: ours leaves out stops it does not list as unassigned: "
                  f"{undeclared}", file=sys.stderr)

        for solver, fig in (("vroom", v_fig), ("ours", o_fig)):
            if fig["routes_ending_after_shift"]:
                print(f"[{name}] WARNING: {solver}: {fig['routes_ending_after_shift']} route(s) "
                      "end after the vehicle's shift", file=sys.stderr)
        ratio = o_fig["distance_m"] / v_fig["distance_m"] if v_fig["distance_m"] else None
        ours_seconds = ours.get("seconds")
        rows.append({"instance": name, "solver": "vroom", **v_fig, "seconds": v_seconds,
                     "ratio_ours_vroom": ratio, "vroom_summary": v_summary})
        rows.append({"instance": name, "solver": ours.get("solver", "ours"), **o_fig,
                     "seconds": ours_seconds, "ratio_ours_vroom": ratio})
        all_violations += v_viol + o_viol

    print(render_table(rows, vroom_settings))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"vroom": vroom_settings, "rows": rows, "violations": all_violations},
                      handle, indent=2, ensure_ascii=False)
            handle.write("\n")
    if all_violations:
        print(f"\n!!! {len(all_violations)} VIOLATION(S) — figures above are not comparable:",
              file=sys.stderr)
        for line in all_violations:
            print(f"!!!   {line}", file=sys.stderr)
        return 1
    return 0


def render_table(rows: list[dict], settings: dict) -> str:
    header = ["instance", "solver", "routes", "distance km", "late", "unassigned", "seconds",
              "distance ours/vroom"]
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(["---"] * 2 + ["---:"] * (len(header) - 2)) + "|"]
    for row in rows:
        seconds = "n/a" if row["seconds"] is None else f"{row['seconds']:.2f}"
        ratio = "" if row["solver"] == "vroom" else (
            "n/a" if row["ratio_ours_vroom"] is None else f"{row['ratio_ours_vroom']:.3f}")
        cells = [row["instance"], row["solver"], str(row["routes"]), f"{row['distance_km']:.1f}",
                 str(row["late"]), str(row["unassigned"]), seconds, ratio]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"VROOM: pyvroom {settings['pyvroom']}, exploration level "
                 f"{settings['exploration_level']}, {settings['threads']} thread(s), minimising "
                 f"{settings['cost']}" + (f", timeout {settings['timeout_seconds']} s"
                                          if settings["timeout_seconds"] else "") + ".")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
