"""Gives the contract run something real to work on: a driver account with a profile at a depot, and a
shipment received at the depot and put on the driver's route, dispatched. Prints the ids as shell assignments for
.ci/contract, which hands them to schemathesis (.ci/schemathesis-data.toml) so that the operations on one
object reach past "not found".

Usage: contract_seed.py BASE_URL ADMIN_TOKEN PASSWORD
"""

import json
import sys
import urllib.request

base, admin, password = sys.argv[1:4]
DATE = "2026-11-24"


def call(method, path, body=None, token=admin):
    request = urllib.request.Request(base + path, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, data) as response:
        return json.load(response)


driver = call("POST", "/api/v1/users", {
    "email": "contract-driver@example.jp", "password": password, "role": "driver", "name": "Contract Driver",
})
driver_token = call("POST", "/api/v1/auth/login", {"email": driver["email"], "password": password}, token=None)
depot = call("POST", "/api/v1/depots", {
    "name": "Marunouchi", "address": "丸の内1-1-1", "location": {"lat": 35.681, "lon": 139.767},
})
call("PUT", f"/api/v1/drivers/{driver['id']}", {
    "depot_id": depot["id"], "capacity": 100, "shift": {"start": "08:00", "end": "18:00"},
})
shipment = call("POST", "/api/v1/shipments", {
    "external_ref": "CONTRACT-1",
    "recipient": {"name": "山田 花子", "email": "hanako@example.jp", "phone": "+81 90-1234-5678", "language": "ja"},
    "address": {"lines": ["丸の内1-9-1"], "postal_code": "100-0005", "city": "千代田区", "region": "東京都",
                "country": "JP", "lat": 35.6812, "lon": 139.7671},
    "promised": {"date": DATE, "window": {"start": "14:00", "end": "16:00"}},
    "parcels": [{"barcode": "4901234567894", "weight_g": 1200}],
})
call("POST", f"/api/v1/depots/{depot['id']}/receive", {"barcodes": ["4901234567894"]})
route = call("POST", "/api/v1/routes", {
    "depot_id": depot["id"], "date": DATE, "driver_id": driver["id"], "shipments": [shipment["tracking_number"]],
})
call("POST", f"/api/v1/routes/{route['id']}/dispatch")

for name, value in {
    "DRIVER_TOKEN": driver_token["access_token"],
    "CONTRACT_DEPOT": depot["id"],
    "CONTRACT_DATE": DATE,
    "CONTRACT_DRIVER": driver["id"],
    "CONTRACT_SHIPMENT": shipment["id"],
    "CONTRACT_TRACKING_NUMBER": shipment["tracking_number"],
    "CONTRACT_ROUTE": route["id"],
    "CONTRACT_STOP": route["stops"][0]["id"],
}.items():
    print(f"{name}={value}")
