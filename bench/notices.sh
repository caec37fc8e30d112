#!/usr/bin/env bash
# Benchmark: drain queued notices to a local SMTP server (aiosmtpd, discarding) against that server's own rate in
# the same run (bench/smtp_peer.py: smtplib sending as many similar messages over 4 connections), and the
# server's peak memory meanwhile. The notices are queued once; each run
# drains a copy of that database. Needs python3-aiosmtpd.
# Usage: bench/notices.sh [notices] [runs]; TODOKE_BENCH_SERVER=<binary> measures another build of the server.
set -euo pipefail
cd "$(dirname "$0")/.."
NOTICES=${1:-10000}
RUNS=${2:-3}
PEER_CONNECTIONS=4
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
if [ -z "${TODOKE_BENCH_SERVER:-}" ]; then
  cargo build --release -q -p todoke-server
fi
bin=${TODOKE_BENCH_SERVER:-${CARGO_TARGET_DIR:-target}/release/todoke-server}

/usr/bin/python3 -m aiosmtpd -n -l 127.0.0.1:18025 -c aiosmtpd.handlers.Sink &
common=(TODOKE_DATA_DIR="$work/data" TODOKE_LOG=warn TODOKE_SMTP_URL=smtp://127.0.0.1:18025
        ${TODOKE_SMTP_CONNECTIONS:+TODOKE_SMTP_CONNECTIONS=$TODOKE_SMTP_CONNECTIONS})

# Queue the notices with the worker off: each shipment dispatched is one notice.
env "${common[@]}" TODOKE_ADDR=127.0.0.1:18081 TODOKE_NOTICE_WORKER=false \
  TODOKE_BOOTSTRAP_ADMIN_EMAIL=bench@example.jp TODOKE_BOOTSTRAP_ADMIN_PASSWORD='bench password long' "$bin" &
server=$!
until curl -sf localhost:18081/readyz >/dev/null; do sleep 0.2; done
echo "queueing $NOTICES notices..." >&2
python3 bench/seed.py 127.0.0.1 18081 "$NOTICES" "$work/numbers.txt" dispatch
kill "$server"; wait "$server" 2>/dev/null || true
cp -a "$work/data" "$work/queued"

# Returns once no notice is pending or being sent.
wait_empty() {
  python3 - "$work/data/todoke.db" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
while db.execute("select count(*) from notices where status in ('pending','sending')").fetchone()[0]:
    time.sleep(0.05)
PY
}

for run in $(seq "$RUNS"); do
  sink=$(python3 bench/smtp_peer.py 127.0.0.1 18025 "$NOTICES" "$PEER_CONNECTIONS")
  rm -rf "$work/data"; cp -a "$work/queued" "$work/data"
  # Timed from the server's start, which is the worker's.
  start=$(date +%s.%N)
  env "${common[@]}" TODOKE_ADDR=127.0.0.1:18082 "$bin" &
  server=$!
  wait_empty
  end=$(date +%s.%N)
  peak_kib=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")
  kill "$server"; wait "$server" 2>/dev/null || true
  awk -v r="$run" -v n="$NOTICES" -v s="$start" -v e="$end" -v m="$peak_kib" -v k="$sink" 'BEGIN {
    t = n / (e - s)
    printf "run %d: %d notices in %.1f s: %.0f messages/s; the sink alone %d messages/s; todoke/sink %.2f; server peak memory %.0f MiB\n", r, n, e - s, t, k, t / k, m / 1024
    printf "%f %f\n", t, t / k > "/dev/stderr"
  }' 2>>"$work/rates"
done
sort -n -k2 "$work/rates" | awk '{ r[NR] = $2; t[NR] = $1 } END {
  printf "median of %d runs: todoke/sink %.2f (todoke %.0f messages/s in that run)\n", NR, r[int((NR + 1) / 2)], t[int((NR + 1) / 2)] }'
