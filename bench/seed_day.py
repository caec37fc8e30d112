#!/usr/bin/env python3
"""Delivery day for the tracking benchmark: COUNT shipments, half of them out for delivery on dispatched routes
(DRIVERS drivers, the rest at the depot or announced). Writes the tracking numbers, one a line, to OUT and the
drivers' tokens to OUT.drivers, for bench/positions.py to keep the estimates moving. Stdlib only.

Usage: bench/seed_day.py HOST PORT COUNT OUT [DRIVERS]
"""
import datetime
import http.client
import json
import sys

host, port, count, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
drivers_wanted = int(sys.argv[5]) if len(sys.argv) > 5 else 20
conn = http.client.HTTPConnection(host, port, timeout=600)
day = datetime.date.today().isoformat()


def call(method, path, body=None, token=None):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    conn.request(method, path, json.dumps(body) if body is not None else None, headers)
    response = conn.getresponse()
    answer = response.read()
    if response.status >= 300:
        sys.exit(f"{method} {path}: {response.status} {answer[:300]!r}")
    return json.loads(answer) if answer else None


def order(i):
    return {"external_ref": f"DAY-{i}",
            "recipient": {"name": "山田 花子", "email": f"c{i}@example.jp", "language": ("ja", "en")[i % 2]},
            "address": {"lines": [f"丸の内{i % 9 + 1}-9-1"], "postal_code": "100-0005", "city": "千代田区",
                        "country": "JP", "lat": 35.66 + (i % 70) * 0.0007, "lon": 139.73 + (i // 70 % 70) * 0.0007},
            "promised": {"date": day, "window": {"start": "08:00", "end": "21:00"}},
            "parcels": [{"barcode": f"TD{i:07d}", "weight_g": 800}]}


admin = call("POST", "/api/v1/auth/login", {"email": "bench@example.jp", "password": "bench password long"})[
    "access_token"]
depot = call("POST", "/api/v1/depots", {"name": "Tokyo", "address": "東京都千代田区丸の内1-9-1",
                                        "location": {"lat": 35.6812, "lon": 139.7671}}, admin)
numbers = [call("POST", "/api/v1/shipments", order(i), admin)["tracking_number"] for i in range(count)]
per_route = count // 2 // drivers_wanted
tokens = []
for d in range(drivers_wanted):
    email = f"driver{d}@example.jp"
    user = call("POST", "/api/v1/users", {"email": email, "password": "driver password long", "role": "driver",
                                          "name": f"Driver {d}"}, admin)
    call("PUT", f"/api/v1/drivers/{user['id']}", {"depot_id": depot["id"], "capacity": per_route,
                                                  "shift": {"start": "00:00", "end": "23:59"}}, admin)
    first = d * per_route
    call("POST", f"/api/v1/depots/{depot['id']}/receive",
         {"barcodes": [f"TD{i:07d}" for i in range(first, first + per_route)]}, admin)
    route = call("POST", "/api/v1/routes", {"depot_id": depot["id"], "date": day, "driver_id": user["id"],
                                            "shipments": numbers[first:first + per_route]}, admin)
    call("POST", f"/api/v1/routes/{route['id']}/dispatch", {}, admin)
    tokens.append(call("POST", "/api/v1/auth/login", {"email": email, "password": "driver password long"})[
        "access_token"])
# Of the rest, every other one has reached the depot; the others are announced only.
rest = range(drivers_wanted * per_route, count)
for start in range(rest.start, rest.stop, 2000):
    call("POST", f"/api/v1/depots/{depot['id']}/receive",
         {"barcodes": [f"TD{i:07d}" for i in range(start, min(start + 2000, rest.stop), 2)]}, admin)
with open(out, "w") as f:
    f.write("\n".join(numbers) + "\n")
with open(out + ".drivers", "w") as f:
    f.write("\n".join(tokens) + "\n")
