#!/usr/bin/env python3
"""A busy morning against one server: DRIVERS drivers arrive and deliver with a real phone photo and a
signature, one after another, while each phone posts 10 positions every half second; two shop clients
create orders as fast as they are answered, each followed by two preference changes on the customer's
link. Prints requests/s, median and p99 per kind of request, and every answer that was not a success
(5xx counted apart). Stdlib only; bench/busy_morning.sh starts the server.

Usage: bench/busy_morning.py HOST PORT SECONDS PHOTO [DRIVERS]
"""
import datetime
import http.client
import json
import statistics
import sys
import threading
import time
import uuid
from collections import defaultdict

host, port, seconds, photo_path = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
drivers_wanted = int(sys.argv[5]) if len(sys.argv) > 5 else 8
photo = open(photo_path, "rb").read()
STOPS = 60  # more than a driver can deliver in the run
signature = json.dumps({"width": 600, "height": 200,
                        "strokes": [[[20.0, 150.0], [120.0, 40.0], [220.0, 160.0], [320.0, 50.0]]]})


class Client:
    """One keep-alive connection, as one phone or one shop system holds."""

    def __init__(self):
        self.conn = http.client.HTTPConnection(host, port, timeout=600)

    def call(self, method, path, body=None, token=None, content_type="application/json", headers=None):
        all_headers = {"content-type": content_type, **(headers or {})}
        if token:
            all_headers["authorization"] = f"Bearer {token}"
        data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
        started = time.perf_counter()
        try:
            self.conn.request(method, path, data, all_headers)
            response = self.conn.getresponse()
            text = response.read()
        except (ConnectionError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection(host, port, timeout=600)
            raise
        return response.status, text, time.perf_counter() - started


def setup_call(client, method, path, body=None, token=None):
    status, text, _ = client.call(method, path, body, token)
    if status >= 300:
        sys.exit(f"{method} {path}: {status} {text[:500]!r}")
    return json.loads(text) if text else None


latencies = defaultdict(list)
failures = defaultdict(list)
lock = threading.Lock()
deadline = [0.0]


def timed(kind, client, expected, *args, **kwargs):
    status, text, elapsed = client.call(*args, **kwargs)
    with lock:
        latencies[kind].append(elapsed)
        if status != expected:
            failures[kind].append((status, text[:300]))
    return status, text


setup = Client()
admin = setup_call(setup, "POST", "/api/v1/auth/login",
                   {"email": "bench@example.jp", "password": "bench password long"})["access_token"]
key = setup_call(setup, "POST", "/api/v1/api-keys", {"merchant": "bench-shop", "name": "bench"}, admin)["key"]
depot = setup_call(setup, "POST", "/api/v1/depots", {"name": "Tokyo", "address": "東京都千代田区丸の内1-9-1",
                                                     "location": {"lat": 35.6812, "lon": 139.7671}}, admin)
day = datetime.date.today().isoformat()


def order(ref, i, barcode):
    return {"external_ref": ref,
            "recipient": {"name": "山田 花子", "email": f"c{i}@example.jp", "phone": "+81 90-1234-5678", "language": "ja"},
            "address": {"lines": ["丸の内1-9-1"], "postal_code": "100-0005", "city": "千代田区", "country": "JP",
                        "lat": 35.66 + (i % 50) * 0.001, "lon": 139.74 + (i // 50) * 0.001},
            "promised": {"date": day, "window": {"start": "00:00", "end": "23:59"}},
            "parcels": [{"barcode": barcode, "weight_g": 500}]}


drivers = []
for d in range(drivers_wanted):
    email = f"driver{d}@example.jp"
    user = setup_call(setup, "POST", "/api/v1/users", {"email": email, "password": "driver password long",
                                                      "role": "driver", "name": f"Driver {d}"}, admin)
    setup_call(setup, "PUT", f"/api/v1/drivers/{user['id']}", {"depot_id": depot["id"], "capacity": STOPS,
                                                               "shift": {"start": "00:00", "end": "23:59"}}, admin)
    numbers = []
    for s in range(STOPS):
        i = d * STOPS + s
        shipment = setup_call(setup, "POST", "/api/v1/shipments", order(f"R-{i}", i, f"BM{i:06d}"), admin)
        numbers.append(shipment["tracking_number"])
    setup_call(setup, "POST", f"/api/v1/depots/{depot['id']}/receive",
               {"barcodes": [f"BM{d * STOPS + s:06d}" for s in range(STOPS)]}, admin)
    route = setup_call(setup, "POST", "/api/v1/routes", {"depot_id": depot["id"], "date": day,
                                                         "driver_id": user["id"], "shipments": numbers}, admin)
    setup_call(setup, "POST", f"/api/v1/routes/{route['id']}/dispatch", {}, admin)
    token = setup_call(setup, "POST", "/api/v1/auth/login",
                       {"email": email, "password": "driver password long"})["access_token"]
    stops = setup_call(setup, "GET", f"/api/v1/driver/manifest?date={day}", token=token)["routes"][0]["stops"]
    drivers.append((token, stops))


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


def deliver_route(token, stops):
    client = Client()
    boundary = uuid.uuid4().hex
    for stop in stops:
        if time.perf_counter() > deadline[0]:
            return
        at_door = {"lat": stop["location"]["lat"], "lon": stop["location"]["lon"], "accuracy_m": 8.0}
        timed("arrive", client, 200, "POST", f"/api/v1/driver/stops/{stop['id']}/arrive",
              {"captured_at": now(), "location": at_door}, token, headers={"idempotency-key": str(uuid.uuid4())})
        report = json.dumps({"captured_at": now(), "location": at_door, "method": {"kind": "hand_to_recipient"},
                             "recipient_name": "山田 花子"})
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"report\"\r\n"
                f"Content-Type: application/json\r\n\r\n{report}\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"signature\"; filename=\"s.json\"\r\n"
                f"Content-Type: application/json\r\n\r\n{signature}\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"p.jpg\"\r\n"
                f"Content-Type: image/jpeg\r\n\r\n").encode() + photo + f"\r\n--{boundary}--\r\n".encode()
        timed("deliver", client, 201, "POST", f"/api/v1/driver/stops/{stop['id']}/deliver", body, token,
              f"multipart/form-data; boundary={boundary}", {"idempotency-key": str(uuid.uuid4())})


def post_positions(token):
    client = Client()
    n = 0
    first = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    while time.perf_counter() < deadline[0]:
        points = []
        for _ in range(10):
            n += 1
            at = (first + datetime.timedelta(milliseconds=10 * n)).isoformat()
            points.append({"at": at, "lat": 35.67 + 0.00005 * n, "lon": 139.76, "accuracy_m": 10.0})
        timed("locations", client, 200, "POST", "/api/v1/driver/locations", {"points": points}, token)
        time.sleep(0.5)


def shop(worker):
    client = Client()
    n = 0
    while time.perf_counter() < deadline[0]:
        n += 1
        ref = f"S{worker}-{n}-{uuid.uuid4().hex[:6]}"
        status, text = timed("create", client, 201, "POST", "/api/v1/shipments", order(ref, n, ref), key)
        if status != 201:
            continue
        created = json.loads(text)
        k = created["tracking_url"].split("?k=")[1]
        path = f"/api/v1/track/{created['tracking_number']}/preferences?k={k}"
        for note in ("置き配不可", "インターホンを押してください"):
            timed("preferences", client, 200, "PUT", path,
                  {"method": {"kind": "hand_to_recipient"}, "instructions": note})


threads = [threading.Thread(target=deliver_route, args=d) for d in drivers]
threads += [threading.Thread(target=post_positions, args=(token,)) for token, _ in drivers]
threads += [threading.Thread(target=shop, args=(w,)) for w in range(2)]
started = time.perf_counter()
deadline[0] = started + seconds
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
elapsed = time.perf_counter() - started

print(f"{drivers_wanted} drivers, {len(photo) / 1e6:.1f} MB photo ({photo_path.rsplit('/', 1)[-1]}), {elapsed:.1f} s")
print(f"{'kind':<12} {'requests':>9} {'req/s':>8} {'median':>9} {'p99':>9} {'5xx':>5} {'other':>6}")
for kind in ("deliver", "arrive", "locations", "create", "preferences"):
    times = sorted(latencies[kind])
    if not times:
        continue
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    server_errors = sum(1 for status, _ in failures[kind] if status >= 500)
    other = len(failures[kind]) - server_errors
    print(f"{kind:<12} {len(times):>9} {len(times) / elapsed:>8.1f} {statistics.median(times) * 1000:>7.1f}ms "
          f"{p99 * 1000:>7.1f}ms {server_errors:>5} {other:>6}")
for kind, failed in failures.items():
    for status, text in failed[:3]:
        print(f"  {kind}: {status} {text!r}")
