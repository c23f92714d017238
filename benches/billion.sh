#!/usr/bin/env bash
# The billion-line run of issue 13: generates claims and enrollment
# compressed with zstd (`generate --compress zstd`, about 7.5 bytes a
# claim line), reconciles them within --memory-limit (default 4GiB) with
# --beneficiaries, and prints the run's wall time, the time per line, its
# peak memory and the disk it took (the compressed input, and at most the
# spill and outputs beside it, sampled every 5 seconds), against the
# targets: 30 minutes and 4 GiB.
#
# Usage: benches/billion.sh [BENEFICIARIES] [LIMIT] [DIR]
#   BENEFICIARIES  about 50 claim lines each (default 20000000: about
#                  1.01 billion lines; generating them takes about half an
#                  hour on 2 cores)
#   LIMIT          --memory-limit (default 4GiB)
#   DIR            a folder on a disk with room (default: a new temporary
#                  folder, removed at the end); DIR/data is generated once
#                  and kept, so a second run reuses it. The run needs about
#                  7.5 GB of input, 17 GB of spill and 8 GB of outputs per
#                  billion lines.
set -euo pipefail
cd "$(dirname "$0")/.."

beneficiaries=${1:-20000000}
limit=${2:-4GiB}
if [ -n "${3:-}" ]; then
  dir=$3
  mkdir -p "$dir"
else
  dir=$(mktemp -d "${TMPDIR:-/tmp}/episode-recon-billion.XXXXXX")
  trap 'rm -rf "$dir"' EXIT
fi

cargo build --release --quiet --bin episode-recon
bin=${CARGO_TARGET_DIR:-target}/release/episode-recon
data=$dir/data

if [ ! -f "$data/claims/claims.csv.zst" ]; then
  /usr/bin/time -f '%e' -o "$dir/generate.time" \
    "$bin" generate --beneficiaries "$beneficiaries" --seed 1 --compress zstd --out "$data" >/dev/null
  echo "generated $beneficiaries beneficiaries in $(cat "$dir/generate.time") s"
fi
input_bytes=$(du -sb "$data" | cut -f1)

used() { df --output=used -B1 "$dir" | tail -1; }
before=$(used)
/usr/bin/time -f '%e %M %U %S' -o "$dir/run.time" \
  "$bin" reconcile --claims "$data/claims" --beneficiaries "$data/beneficiaries" \
  --definitions "$data/definitions" --risk-factors "$data/risk_factors.csv" \
  --target-prices "$data/target_prices.csv" --memory-limit "$limit" \
  --out "$dir/out" --force >/dev/null 2>"$dir/run.log" &
run=$!
most=$before
while kill -0 "$run" 2>/dev/null; do
  now=$(used)
  [ "$now" -gt "$most" ] && most=$now
  sleep 5
done
wait "$run" || {
  cat "$dir/run.log" >&2
  exit 1
}

lines=$(grep -m1 '"read"' "$dir/out/summary.json" | tr -dc '0-9')
read -r secs kib user sys <"$dir/run.time"
awk -v lines="$lines" -v secs="$secs" -v kib="$kib" -v cpu="$(awk "BEGIN{print $user + $sys}")" \
  -v input="$input_bytes" -v extra="$((most - before))" -v limit="$limit" -v cores="$(nproc)" 'BEGIN {
  printf "input: %d claim lines with enrollment, %.1f GB compressed; --memory-limit %s; %d cores\n",
    lines, input / 1e9, limit, cores
  printf "wall time            %10.1f s  (%.1f min; target 30 min)\n", secs, secs / 60
  printf "CPU time             %10.0f s\n", cpu
  printf "time per line        %10.0f ns  (%.2f min per billion lines)\n", secs * 1e9 / lines,
    secs * 1e9 / lines / 60
  printf "peak memory          %10.0f MiB (target 4096 MiB)\n", kib / 1024
  printf "disk beside input    %10.1f GB  (spill and outputs, at most)\n", extra / 1e9
}'
