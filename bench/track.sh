#!/usr/bin/env bash
# Benchmark: GET /api/v1/track/{n} over 10,000 shipments on SQLite on delivery day, next to nginx serving a
# static JSON file of the same size, in the same run. Half the parcels are out for delivery on 20 dispatched
# routes whose drivers post positions every second (bench/positions.py), so their estimates keep changing;
# the rest are at the depot or announced. Then the first reads: a restarted server, each parcel read once.
# Needs wrk and nginx (apt-get install wrk nginx-light).
# Usage: bench/track.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${1:-20}
CONNECTIONS=${2:-64}
SHIPMENTS=${SHIPMENTS:-10000}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null; rm -rf "$work"' EXIT

cargo build --release -q -p todoke-server
start_server() {
  # The per-address tracking limit stays on (its check is part of the measured path), set above wrk's rate.
  TODOKE_ADDR=127.0.0.1:18081 TODOKE_DATA_DIR="$work/data" TODOKE_LOG=warn TODOKE_TRACK_RATE_PER_MINUTE=100000000 TODOKE_LOGIN_RATE_PER_MINUTE=1000 \
    TODOKE_BOOTSTRAP_ADMIN_EMAIL=bench@example.jp TODOKE_BOOTSTRAP_ADMIN_PASSWORD='bench password long' \
    target/release/todoke-server &
  server=$!
  until curl -sf localhost:18081/readyz >/dev/null; do sleep 0.2; done
}
start_server
echo "seeding $SHIPMENTS shipments, half of them out for delivery..." >&2
python3 bench/seed_day.py 127.0.0.1 18081 "$SHIPMENTS" "$work/numbers.txt"
python3 bench/positions.py 127.0.0.1 18081 "$work/numbers.txt.drivers" &
positions=$!

mkdir -p "$work/www"
curl -sf "localhost:18081/api/v1/track/$(head -1 "$work/numbers.txt")" > "$work/www/track.json"
cat > "$work/nginx.conf" <<CONF
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  types { application/json json; }
  client_body_temp_path $work; proxy_temp_path $work; fastcgi_temp_path $work; uwsgi_temp_path $work; scgi_temp_path $work;
  server { listen 127.0.0.1:18082; root $work/www; }
}
CONF
nginx -c "$work/nginx.conf"

run() { # name url [lua] [seconds]
  local out
  out=$(TRACKING_NUMBERS="$work/numbers.txt" wrk -t2 -c"$CONNECTIONS" -d"${4:-$SECONDS_PER_RUN}s" --latency ${3:+-s "$3"} "$2")
  local rps p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  if grep -q "Non-2xx" <<<"$out"; then echo "$1 answered errors:" >&2; echo "$out" >&2; exit 1; fi
  printf '| %s | %s | %s |\n' "$1" "$rps" "$p99"
  echo "$rps" > "$work/$1.rps"
}
echo "| target | requests/s | p99 |"
echo "|---|---|---|"
run nginx "http://127.0.0.1:18082/track.json"
run todoke "http://127.0.0.1:18081" bench/track.lua
kill "$positions"
# First reads: nothing in memory; each request is for a parcel not read yet (fewer than SHIPMENTS in 1 s).
kill "$server"; wait "$server" 2>/dev/null || true
start_server
run todoke-first-reads "http://127.0.0.1:18081" bench/track_cold.lua 1
awk -v t="$(cat "$work/todoke.rps")" -v c="$(cat "$work/todoke-first-reads.rps")" -v n="$(cat "$work/nginx.rps")" \
  'BEGIN { printf "\ntodoke / nginx = %.2f (target: at least 0.80)\nfirst reads / nginx = %.2f (target: at least 0.30)\n", t / n, c / n }' 
wc -c < "$work/www/track.json" | xargs printf 'response body: %s bytes\n'
