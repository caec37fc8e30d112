#!/usr/bin/env bash
# A busy morning's mixed writes on one release server: deliveries with photos, positions, orders and
# preference changes (docs/BENCHMARKS.md). On SQLite by default; give a PostgreSQL server's URL to run
# on a fresh database there (created and dropped by this script).
# Usage: bench/busy_morning.sh [SECONDS] [postgres://user@host:port] [PHOTO]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
postgres=${2:-}
photo=${3:-../shared/fixtures/photos/iphone_hdr_NO.jpg}
work=$(mktemp -d)
database="sqlite://$work/data/todoke.db"
if [ -n "$postgres" ]; then
    name="todoke_bench_$$"
    psql "$postgres/postgres" -qc "CREATE DATABASE $name"
    database="$postgres/$name"
fi
cleanup() {
    kill $(jobs -p) 2>/dev/null || true
    wait 2>/dev/null || true
    [ -z "$postgres" ] || psql "$postgres/postgres" -qc "DROP DATABASE IF EXISTS $name WITH (FORCE)"
    rm -rf "$work"
}
trap cleanup EXIT

cargo build --release -q -p todoke-server
TODOKE_ADDR=127.0.0.1:18085 TODOKE_DATA_DIR="$work/data" TODOKE_DATABASE_URL="$database" TODOKE_LOG=warn \
  TODOKE_LOGIN_RATE_PER_MINUTE=1000 TODOKE_TRACK_RATE_PER_MINUTE=1000000 \
  TODOKE_BOOTSTRAP_ADMIN_EMAIL=bench@example.jp TODOKE_BOOTSTRAP_ADMIN_PASSWORD='bench password long' \
  target/release/todoke-server > "$work/server.log" 2>&1 &
until curl -sf localhost:18085/readyz >/dev/null; do sleep 0.2; done
python3 bench/busy_morning.py 127.0.0.1 18085 "$seconds" "$photo" 8
echo "server warnings and errors: $(grep -c -E 'WARN|ERROR' "$work/server.log" || true)"
