#!/usr/bin/env bash
# Ten drivers' proof photos arriving at once: the server's peak memory (docs/BENCHMARKS.md).
# Usage: bench/uploads.sh [PHOTO] [AT_ONCE]   (default the 12 MP fixture, 10)
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT

cargo build --release -q -p todoke-server
TODOKE_ADDR=127.0.0.1:18084 TODOKE_DATA_DIR="$work/data" TODOKE_LOG=warn TODOKE_NOTICE_WORKER=false TODOKE_LOGIN_RATE_PER_MINUTE=1000 \
  TODOKE_BOOTSTRAP_ADMIN_EMAIL=bench@example.jp TODOKE_BOOTSTRAP_ADMIN_PASSWORD='bench password long' \
  target/release/todoke-server &
server=$!
until curl -sf localhost:18084/readyz >/dev/null; do sleep 0.2; done
python3 bench/uploads.py 127.0.0.1 18084 "$server" "${1:-../shared/fixtures/photos/olympus_12mp.jpg}" "${2:-10}"
