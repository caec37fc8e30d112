#!/usr/bin/env python3
"""A big depot's day through the API, timed: import STOPS shipments from one CSV file, scan them in,
and build and sequence the routes for VEHICLES drivers (docs/BENCHMARKS.md).

Usage: bench/dispatch_day.py HOST PORT [STOPS] [VEHICLES]   (bench/dispatch.sh starts the server)

Stops are uniform within 4 km of Tokyo station (a city depot's area; 125 stops a driver is a full
day), each with one parcel and a window drawn from the standard slots or the whole day. Stdlib only.
"""
import datetime
import http.client
import json
import math
import random
import sys
import time

host, port = sys.argv[1], int(sys.argv[2])
stops = int(sys.argv[3]) if len(sys.argv) > 3 else 5000
vehicles = int(sys.argv[4]) if len(sys.argv) > 4 else 40
DEPOT = (35.6812, 139.7671)
WINDOWS = [("08:00", "12:00"), ("14:00", "16:00"), ("16:00", "18:00"), ("18:00", "20:00"), ("19:00", "21:00"),
           ("08:00", "21:00")]
conn = http.client.HTTPConnection(host, port, timeout=600)


def call(method, path, body=None, token=None, content_type="application/json"):
    headers = {"content-type": content_type}
    if token:
        headers["authorization"] = f"Bearer {token}"
    data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
    conn.request(method, path, data, headers)
    response = conn.getresponse()
    text = response.read()
    if response.status >= 300:
        sys.exit(f"{method} {path}: {response.status} {text[:500]!r}")
    return json.loads(text) if text else None


def timed(label, action):
    started = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - started
    print(f"| {label} | {elapsed:.2f} s |", flush=True)
    return result, elapsed


token = call("POST", "/api/v1/auth/login", {"email": "bench@example.jp", "password": "bench password long"})[
    "access_token"]
depot = call("POST", "/api/v1/depots", {"name": "Tokyo", "address": "東京都千代田区丸の内1-9-1",
                                        "location": {"lat": DEPOT[0], "lon": DEPOT[1]}}, token)
capacity = math.ceil(stops / vehicles) + 15
for i in range(vehicles):
    user = call("POST", "/api/v1/users", {"email": f"driver{i}@example.jp", "password": "driver password long",
                                          "role": "driver", "name": f"Driver {i}"}, token)
    call("PUT", f"/api/v1/drivers/{user['id']}", {"depot_id": depot["id"], "capacity": capacity,
                                                  "shift": {"start": "08:00", "end": "21:00"}}, token)

rng = random.Random(5000)
day = (datetime.date.today() + datetime.timedelta(days=1)).isoformat()
lines = ["external_ref,recipient_name,recipient_email,postal_code,city,address_line1,country,lat,lon,"
         "promised_date,window_start,window_end,parcels"]
barcodes = []
for i in range(stops):
    r, theta = 4000 * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
    lat = DEPOT[0] + math.degrees(r * math.cos(theta) / 6_371_000)
    lon = DEPOT[1] + math.degrees(r * math.sin(theta) / (6_371_000 * math.cos(math.radians(DEPOT[0]))))
    start, end = rng.choice(WINDOWS)
    barcodes.append(f"DAY{i:07d}")
    lines.append(f"DAY-{i},山田 花子,user{i}@example.jp,100-0005,千代田区,丸の内{i % 9 + 1}-9-1,JP,{lat:.6f},{lon:.6f},"
                 f"{day},{start},{end},{barcodes[-1]}:1200")
csv = ("\ufeff" + "\r\n".join(lines) + "\r\n").encode()

print(f"{stops} shipments, {vehicles} drivers (capacity {capacity}), {len(csv) / 1e6:.1f} MB of CSV\n")
print("| step | time |\n|---|---|")
report, import_s = timed(f"import {stops} lines (CSV)",
                         lambda: call("POST", "/api/v1/shipments/import", csv, token, "text/csv"))
assert report["created"] == stops, {k: report[k] for k in ("created", "duplicates", "failed")}


def receive_all():
    for at in range(0, stops, 1000):
        call("POST", f"/api/v1/depots/{depot['id']}/receive", {"barcodes": barcodes[at:at + 1000]}, token)


timed(f"receive {stops} barcodes", receive_all)
plan, build_s = timed(f"build and sequence routes for {vehicles} drivers",
                      lambda: call("POST", "/api/v1/routes/build", {"depot_id": depot["id"], "date": day}, token))
routes = plan["routes"]
km = sum(r["distance_km"] for r in routes)
print(f"\nimport: {stops / import_s:.0f} lines/s; build: {len(routes)} routes, {km:.0f} km, "
      f"{len(plan['unplaced'])} unplaced, {len(plan['late'])} late of {stops}")
