#!/usr/bin/env python3
"""AT_ONCE drivers deliver at the same moment, each with one PHOTO: the server's resident memory before,
its peak (VmHWM) after, and how long the uploads took. Stdlib only; bench/uploads.sh starts the server.

Usage: bench/uploads.py HOST PORT SERVER_PID PHOTO [AT_ONCE]
"""
import datetime
import http.client
import json
import sys
import threading
import time
import uuid

host, port, pid, photo_path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
at_once = int(sys.argv[5]) if len(sys.argv) > 5 else 10
photo = open(photo_path, "rb").read()


def call(method, path, body=None, token=None, content_type="application/json", headers=None):
    conn = http.client.HTTPConnection(host, port, timeout=600)
    all_headers = {"content-type": content_type, **(headers or {})}
    if token:
        all_headers["authorization"] = f"Bearer {token}"
    data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
    conn.request(method, path, data, all_headers)
    response = conn.getresponse()
    text = response.read()
    if response.status >= 300:
        sys.exit(f"{method} {path}: {response.status} {text[:500]!r}")
    return json.loads(text) if text else None


def memory(field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 1024


admin = call("POST", "/api/v1/auth/login", {"email": "bench@example.jp", "password": "bench password long"})[
    "access_token"]
depot = call("POST", "/api/v1/depots", {"name": "Tokyo", "address": "東京都千代田区丸の内1-9-1",
                                        "location": {"lat": 35.6812, "lon": 139.7671}}, admin)
day = datetime.date.today().isoformat()
drivers = []
for i in range(at_once):
    email = f"driver{i}@example.jp"
    user = call("POST", "/api/v1/users", {"email": email, "password": "driver password long", "role": "driver",
                                          "name": f"Driver {i}"}, admin)
    call("PUT", f"/api/v1/drivers/{user['id']}", {"depot_id": depot["id"], "capacity": 10,
                                                  "shift": {"start": "00:00", "end": "23:59"}}, admin)
    barcode = f"UP{i:05d}"
    call("POST", "/api/v1/shipments", {
        "external_ref": f"UP-{i}", "recipient": {"name": "山田 花子", "email": f"u{i}@example.jp", "language": "ja"},
        "address": {"lines": ["丸の内1-9-1"], "postal_code": "100-0005", "city": "千代田区", "country": "JP",
                    "lat": 35.6812 + i * 0.001, "lon": 139.7671},
        "promised": {"date": day, "window": {"start": "00:00", "end": "23:59"}},
        "parcels": [{"barcode": barcode, "weight_g": 500}],
        "preferences": {"method": {"kind": "safe_place", "place": "delivery_box"}}}, admin)
    call("POST", f"/api/v1/depots/{depot['id']}/receive", {"barcodes": [barcode]}, admin)
    shipment = call("GET", f"/api/v1/shipments?limit=1&status=at_depot", token=admin)["items"][0]
    route = call("POST", "/api/v1/routes", {"depot_id": depot["id"], "date": day, "driver_id": user["id"],
                                            "shipments": [shipment["tracking_number"]]}, admin)
    call("POST", f"/api/v1/routes/{route['id']}/dispatch", {}, admin)
    token = call("POST", "/api/v1/auth/login", {"email": email, "password": "driver password long"})["access_token"]
    stop = call("GET", f"/api/v1/driver/manifest?date={day}", token=token)["routes"][0]["stops"][0]
    drivers.append((token, stop))

boundary = uuid.uuid4().hex


def form(stop):
    report = json.dumps({"captured_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                         "location": {"lat": stop["location"]["lat"], "lon": stop["location"]["lon"]},
                         "method": {"kind": "safe_place", "place": "delivery_box"}})
    return (f"--{boundary}\r\nContent-Disposition: form-data; name=\"report\"\r\n"
            f"Content-Type: application/json\r\n\r\n{report}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"p.jpg\"\r\n"
            f"Content-Type: image/jpeg\r\n\r\n").encode() + photo + f"\r\n--{boundary}--\r\n".encode()


bodies = [form(stop) for _, stop in drivers]
before = memory("VmRSS")
barrier = threading.Barrier(at_once)
elapsed = [0.0] * at_once


def deliver(i):
    token, stop = drivers[i]
    barrier.wait()
    started = time.perf_counter()
    call("POST", f"/api/v1/driver/stops/{stop['id']}/deliver", bodies[i], token,
         f"multipart/form-data; boundary={boundary}", {"idempotency-key": str(uuid.uuid4())})
    elapsed[i] = time.perf_counter() - started


threads = [threading.Thread(target=deliver, args=(i,)) for i in range(at_once)]
started = time.perf_counter()
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
total = time.perf_counter() - started
print(f"{at_once} uploads of {len(photo) / 1e6:.1f} MB ({photo_path.rsplit('/', 1)[-1]}) at once: all stored in "
      f"{total:.2f} s (slowest answer {max(elapsed):.2f} s)")
print(f"server memory: {before:.0f} MB resident before, peak {memory('VmHWM'):.0f} MB (VmHWM)")
