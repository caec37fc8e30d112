#!/usr/bin/env bash
# Route quality next to VROOM on the same instances (docs/BENCHMARKS.md). Usage: bench/routes.sh [SECONDS]
# SECONDS: how long Todoke's solver may search on each instance (default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
out="${TMPDIR:-/tmp}/todoke-routes"
mkdir -p "$out"
[ -x /tmp/vroom-venv/bin/python ] || { python3 -m venv /tmp/vroom-venv && /tmp/vroom-venv/bin/pip install -q pyvroom; }
cargo build --release -q -p todoke-server --example solve_instance
python3 bench/routes/synthetic.py "$out/tokyo-100.json" --stops 100 --vehicles 4 --capacity 30 --seed 1 --name tokyo-100
python3 bench/routes/synthetic.py "$out/tokyo-300.json" --stops 300 --vehicles 10 --capacity 35 --seed 2 --name tokyo-300
for n in 100 300; do
    ./target/release/examples/solve_instance "$out/tokyo-$n.json" "$out/ours-$n.json" "$seconds"
done
/tmp/vroom-venv/bin/python bench/routes/compare.py --vroom-cost distance \
    "$out/tokyo-100.json" "$out/ours-100.json" "$out/tokyo-300.json" "$out/ours-300.json"
