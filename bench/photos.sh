#!/usr/bin/env bash
# Benchmark: a 12 MP phone photo to a 1600 px display JPEG and a 320 px thumbnail, upright and without metadata, by
# Todoke's pipeline, libvips' vipsthumbnail and ImageMagick's convert, all pinned to one core; and the time and memory
# Todoke takes to refuse a decompression bomb. Installs libvips-tools, imagemagick and time if missing.
# Usage: bench/photos.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-15}
PHOTOS=${TODOKE_FIXTURES:-../shared/fixtures}/photos
PHOTO=$PHOTOS/olympus_12mp.jpg
BOMB=$PHOTOS/bomb_20000x20000.png
CONVERT=/usr/bin/convert # not the PATH's: a stand-in may sit in /usr/local/bin

missing=()
command -v vipsthumbnail >/dev/null || missing+=(libvips-tools)
[ -x "$CONVERT" ] || missing+=(imagemagick)
[ -x /usr/bin/time ] || missing+=(time)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
cargo build --release -q -p todoke-server --example photo_bench
bench=${CARGO_TARGET_DIR:-target}/release/examples/photo_bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "$(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'); vips $(vips --version | cut -d- -f2)," \
  "ImageMagick $("$CONVERT" -version | sed -n 's/^Version: ImageMagick \([^ ]*\).*/\1/p'); $RUNS runs each, on one core"

# Everything from here on, this shell and what it starts, runs on core 0 only.
taskset -cp 0 $$ >/dev/null

run_todoke() { "$bench" "$PHOTO" 1 "$work" >/dev/null; }
# One vipsthumbnail per size: it makes one output from each load (shrinking on load).
run_vips() {
  vipsthumbnail "$PHOTO" -s 1600 -o "$work/vips_1600.jpg[Q=82,strip]"
  vipsthumbnail "$PHOTO" -s 320 -o "$work/vips_320.jpg[Q=75,strip]"
}
# One convert for both, the thumbnail made from the display image as Todoke does.
run_magick() {
  "$CONVERT" "$PHOTO" -auto-orient -strip -resize 1600x1600 -quality 82 -write "$work/im_1600.jpg" \
    -resize 320x320 -quality 75 "$work/im_320.jpg"
}

run_bomb() { "$bench" --bomb "$BOMB" 1 >/dev/null; }

# Median wall time of RUNS runs of a command, in ms.
median_ms() {
  for _ in $(seq "$RUNS"); do
    start=$(date +%s%N)
    "$@"
    echo $(($(date +%s%N) - start))
  done | sort -n | awk '{ t[NR] = $1 } END { printf "%.1f", t[int((NR + 1) / 2)] / 1e6 }'
}
kib() { echo $(($(stat -c %s "$1") / 1024)); }

in_process=$("$bench" "$PHOTO" "$RUNS" | sed 's/.*median \([0-9.]*\) ms.*/\1/')
todoke_ms=$(median_ms run_todoke)
vips_ms=$(median_ms run_vips)
magick_ms=$(median_ms run_magick)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo
echo "| tool | median per photo | display, thumbnail | ImageMagick / tool | tool speed / libvips' |"
echo "|---|---|---|---|---|"
echo "| Todoke, in process | $in_process ms | | $(ratio "$magick_ms" "$in_process") | $(ratio "$vips_ms" "$in_process") |"
echo "| Todoke, whole process | $todoke_ms ms | $(kib "$work/display.jpg") KB, $(kib "$work/thumbnail.jpg") KB" \
  "| $(ratio "$magick_ms" "$todoke_ms") | $(ratio "$vips_ms" "$todoke_ms") |"
echo "| libvips vipsthumbnail ×2 | $vips_ms ms | $(kib "$work/vips_1600.jpg") KB, $(kib "$work/vips_320.jpg") KB" \
  "| $(ratio "$magick_ms" "$vips_ms") | 1.00 |"
echo "| ImageMagick convert | $magick_ms ms | $(kib "$work/im_1600.jpg") KB, $(kib "$work/im_320.jpg") KB | 1.00" \
  "| $(ratio "$vips_ms" "$magick_ms") |"

echo
"$bench" --bomb "$BOMB" "$RUNS"
max_rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
echo "a whole process that only refuses the bomb: median $(median_ms run_bomb) ms," \
  "max RSS $(max_rss "$bench" --bomb "$BOMB" 1) KiB"
echo "max RSS of a process that processes the photo once: $(max_rss "$bench" "$PHOTO" 1) KiB"
