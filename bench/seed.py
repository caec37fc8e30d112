#!/usr/bin/env python3
"""Creates N shipments through the API and writes their tracking numbers, one a line."""
import http.client
import json
import random
import sys

host, port, count, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
# "dispatch": every shipment goes out for delivery (one notice each); otherwise a mix of statuses.
dispatch_all = len(sys.argv) > 5 and sys.argv[5] == "dispatch"
conn = http.client.HTTPConnection(host, port)
conn.request("POST", "/api/v1/auth/login", json.dumps({"email": "bench@example.jp", "password": "bench password long"}),
             {"content-type": "application/json"})
token = json.loads(conn.getresponse().read())["access_token"]
headers = {"content-type": "application/json", "authorization": f"Bearer {token}"}
cities = ["千代田区", "中央区", "港区", "新宿区", "渋谷区", "品川区", "目黒区", "世田谷区"]
numbers = []
for i in range(count):
    body = {
        "external_ref": f"BENCH-{i}",
        "recipient": {"name": "山田 花子", "email": f"user{i}@example.jp", "language": random.choice(["ja", "en"])},
        "address": {"lines": [f"丸の内{i % 9 + 1}-9-1"], "postal_code": "100-0005", "city": random.choice(cities),
                    "country": "JP", "lat": 35.68 + random.random() / 10, "lon": 139.76 + random.random() / 10},
        "promised": {"date": "2026-11-24", "window": {"start": "14:00", "end": "16:00"}},
        "parcels": [{"barcode": f"49{i:011d}", "weight_g": 1200}],
    }
    conn.request("POST", "/api/v1/shipments", json.dumps(body), headers)
    response = conn.getresponse()
    shipment = json.loads(response.read())
    if response.status not in (200, 201):
        sys.exit(f"create failed: {shipment}")
    numbers.append(shipment["tracking_number"])
    # Most parcels have moved on by the time customers look.
    for status in ["at_depot", "out_for_delivery"][: 2 if dispatch_all else i % 3]:
        conn.request("POST", f"/api/v1/shipments/{shipment['id']}/events", json.dumps({"status": status}), headers)
        conn.getresponse().read()
with open(out, "w") as f:
    f.write("\n".join(numbers) + "\n")
