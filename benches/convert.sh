#!/usr/bin/env bash
# `convert` beside `reconcile --threads 1` on the same generated claims file
# (issue 16: convert was 3.7x slower): times both, the fastest of RUNS each,
# and prints the ratio. Give a second binary to time its convert too, e.g.
# one built from main, for the ratio before and after in the same run.
#
# Usage: benches/convert.sh [BENEFICIARIES] [RUNS] [OTHER-BINARY]
#   BENEFICIARIES  about 50 claim lines each (default 50000: about 2.5M lines)
#   RUNS           timed runs of each command; the fastest is kept (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."

beneficiaries=${1:-50000}
runs=${2:-3}
other=${3:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/episode-recon-convert.XXXXXX")
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet --bin episode-recon
bin=${CARGO_TARGET_DIR:-target}/release/episode-recon
"$bin" generate --beneficiaries "$beneficiaries" --seed 1 --out "$work/data" >/dev/null
claims="$work/data/claims/claims.csv"
rows=$(($(wc -l <"$claims") - 1))

# shellcheck source=benches/lib.sh
source benches/lib.sh

reconcile=("$bin" reconcile --claims "$claims" --definitions "$work/data/definitions-claims-only"
  --target-prices "$work/data/target_prices.csv" --out "$work/out" --force --threads 1)
read -r rec_s rec_kib < <(best_of "${reconcile[@]}")
read -r conv_s conv_kib < <(best_of "$bin" convert --claims "$claims" --out "$work/conv/claims.csv" --force)
read -r one_s one_kib < <(best_of "$bin" convert --claims "$claims" --out "$work/conv1/claims.csv" \
  --force --threads 1)
cmp "$work/conv/claims.csv" "$work/conv1/claims.csv"
other_s=0 other_kib=0
if [ -n "$other" ]; then
  read -r other_s other_kib < <(best_of "$other" convert --claims "$claims" \
    --out "$work/other/claims.csv" --force)
  cmp "$work/conv/claims.csv" "$work/other/claims.csv"
  cmp "$work/conv/claims.rejects.csv" "$work/other/claims.rejects.csv"
fi

awk -v rows="$rows" -v r="$rec_s" -v c="$conv_s" -v o="$one_s" -v x="$other_s" \
    -v rm="$rec_kib" -v cm="$conv_kib" -v om="$one_kib" -v xm="$other_kib" \
    -v cores="$(nproc)" -v other="$other" 'BEGIN {
  printf "input: %d claim lines (generated, seed 1)\n", rows
  printf "%-34s %8s %12s %10s %14s\n", "command", "seconds", "rows/s", "peak MiB", "vs reconcile"
  printf "%-34s %8.2f %12.0f %10.1f %13.2fx\n", "reconcile --threads 1", r, rows / r, rm / 1024, 1
  printf "%-34s %8.2f %12.0f %10.1f %13.2fx\n", "convert (" cores " threads)", c, rows / c, cm / 1024, c / r
  printf "%-34s %8.2f %12.0f %10.1f %13.2fx\n", "convert --threads 1", o, rows / o, om / 1024, o / r
  if (other != "")
    printf "%-34s %8.2f %12.0f %10.1f %13.2fx\n", "convert, " other, x, rows / x, xm / 1024, x / r
}'
