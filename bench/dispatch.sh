#!/usr/bin/env bash
# A big depot's day through the API on SQLite: import, receive, build routes (docs/BENCHMARKS.md).
# Usage: bench/dispatch.sh [STOPS] [VEHICLES]   (default 5000 and 40)
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT

cargo build --release -q -p todoke-server
TODOKE_ADDR=127.0.0.1:18083 TODOKE_DATA_DIR="$work/data" TODOKE_LOG=warn \
  TODOKE_BOOTSTRAP_ADMIN_EMAIL=bench@example.jp TODOKE_BOOTSTRAP_ADMIN_PASSWORD='bench password long' \
  target/release/todoke-server &
until curl -sf localhost:18083/readyz >/dev/null; do sleep 0.2; done
python3 bench/dispatch_day.py 127.0.0.1 18083 "${1:-5000}" "${2:-40}"
