#!/usr/bin/env python3
"""Keeps the drivers' estimates moving while a benchmark runs: each driver's phone posts a batch of positions
every second, so the server recomputes the routes' arrival times and its cache must let go of them.

Usage: bench/positions.py HOST PORT TOKENS_FILE   (runs until killed)
"""
import datetime
import http.client
import json
import sys
import time

host, port, tokens_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
tokens = [line.strip() for line in open(tokens_file) if line.strip()]
conn = http.client.HTTPConnection(host, port, timeout=60)
n = 0
while True:
    started = time.monotonic()
    now = datetime.datetime.now(datetime.timezone.utc)
    for d, token in enumerate(tokens):
        n += 1
        points = [{"at": (now - datetime.timedelta(milliseconds=100 * k)).isoformat(),
                   "lat": 35.66 + 0.0001 * (n % 300) + 0.001 * d, "lon": 139.74, "accuracy_m": 10.0} for k in range(5)]
        conn.request("POST", "/api/v1/driver/locations", json.dumps({"points": points}),
                     {"content-type": "application/json", "authorization": f"Bearer {token}"})
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            sys.exit(f"positions: {response.status}")
    time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
