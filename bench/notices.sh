#!/usr/bin/env bash
# Benchmark: drain 10,000 queued notices to a local SMTP server (aiosmtpd, discarding), and the server's peak
# memory meanwhile. Needs python3-aiosmtpd. Usage: bench/notices.sh [notices]
set -euo pipefail
cd "$(dirname "$0")/.."
NOTICES=${1:-10000}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
cargo build --release -q -p todoke-server

/usr/bin/python3 -m aiosmtpd -n -l 127.0.0.1:18025 -c aiosmtpd.handlers.Sink &
common=(TODOKE_DATA_DIR="$work/data" TODOKE_LOG=warn TODOKE_SMTP_URL=smtp://127.0.0.1:18025
        TODOKE_BOOTSTRAP_ADMIN_EMAIL=bench@example.jp TODOKE_BOOTSTRAP_ADMIN_PASSWORD='bench password long')

# Queue the notices with the worker off: each shipment dispatched is one notice.
env "${common[@]}" TODOKE_ADDR=127.0.0.1:18081 TODOKE_NOTICE_WORKER=false target/release/todoke-server &
server=$!
until curl -sf localhost:18081/readyz >/dev/null; do sleep 0.2; done
echo "queueing $NOTICES notices..." >&2
python3 bench/seed.py 127.0.0.1 18081 "$NOTICES" "$work/numbers.txt" dispatch
kill "$server"; wait "$server" 2>/dev/null || true

count_left() {
  python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute(\"select count(*) from notices where status in ('pending','sending')\").fetchone()[0])" "$work/data/todoke.db"
}
echo "queued: $(count_left)" >&2

# Now a server that sends: time until the outbox is empty.
start=$(date +%s.%N)
env "${common[@]}" TODOKE_ADDR=127.0.0.1:18082 target/release/todoke-server &
server=$!
while [ "$(count_left)" -gt 0 ]; do sleep 0.2; done
end=$(date +%s.%N)
peak_kib=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")
awk -v n="$NOTICES" -v s="$start" -v e="$end" -v m="$peak_kib" \
  'BEGIN { printf "%d notices in %.1f s: %.0f messages/s; server peak memory %.0f MiB\n", n, e - s, n / (e - s), m / 1024 }'
