#!/usr/bin/env bash
# Does the engine's time grow with its input, and no faster? On two
# generated inputs (the second TIMES the beneficiaries of the first, with
# enrollment), time side by side, on 1 thread and on all cores:
#   - merely parsing the claims (examples/parse_only.rs),
#   - the full reconciliation with --beneficiaries,
#   - the same within --memory-limit 256MiB (peak memory printed),
# and print the large/small ratios (issue #13's "linear" target is
# large/small <= 1.05 x TIMES), each run against parse-only, and peak
# memory against the input size.
#
# Usage: benches/scaling.sh [BENEFICIARIES] [TIMES] [RUNS]
#   BENEFICIARIES  of the small input, about 50 claim lines each
#                  (default 80000: about 4M lines, 470 MiB)
#   TIMES          how many times larger the second input is (default 10)
#   RUNS           timed runs of each command; the fastest is kept (default 1)
set -euo pipefail
cd "$(dirname "$0")/.."

small=${1:-80000}
times=${2:-10}
runs=${3:-1}
work=$(mktemp -d "${TMPDIR:-/tmp}/episode-recon-scaling.XXXXXX")
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet --bin episode-recon --example parse_only
release=${CARGO_TARGET_DIR:-target}/release
bin=$release/episode-recon
# shellcheck source=benches/lib.sh
source benches/lib.sh

# One size: "rows bytes parse_s one_s all_s all_kib lim_s lim_kib".
measure() {
  local data="$work/data-$1"
  "$bin" generate --beneficiaries "$1" --seed 1 --out "$data" >/dev/null
  local claims="$data/claims/claims.csv"
  local reconcile=("$bin" reconcile --claims "$claims" --definitions "$data/definitions"
    --beneficiaries "$data/beneficiaries" --risk-factors "$data/risk_factors.csv"
    --target-prices "$data/target_prices.csv" --out "$work/out" --force)
  local parse one all lim
  parse=$(best_of $release/examples/parse_only "$claims")
  one=$(best_of "${reconcile[@]}" --threads 1)
  all=$(best_of "${reconcile[@]}")
  lim=$(best_of "${reconcile[@]}" --memory-limit 256MiB)
  echo "$(($(wc -l <"$claims") - 1)) $(stat -c %s "$claims") ${parse% *} ${one% *} $all $lim"
  rm -rf "$data" "$work/out"
}

read -r s_rows s_bytes s_parse s_one s_all s_all_kib s_lim s_lim_kib < <(measure "$small")
read -r l_rows l_bytes l_parse l_one l_all l_all_kib l_lim l_lim_kib < <(measure $((small * times)))

awk -v sr="$s_rows" -v sb="$s_bytes" -v sp="$s_parse" -v so="$s_one" -v sa="$s_all" \
    -v sak="$s_all_kib" -v sl="$s_lim" -v slk="$s_lim_kib" \
    -v lr="$l_rows" -v lb="$l_bytes" -v lp="$l_parse" -v lo="$l_one" -v la="$l_all" \
    -v lak="$l_all_kib" -v ll="$l_lim" -v llk="$l_lim_kib" -v cores="$(nproc)" 'BEGIN {
  printf "%-10s %12s %10s %10s %10s %10s %10s %10s %10s\n", "input", "lines", "MiB", "parse s",
    "1 thread", "vs parse", cores " thr", "mem/input", "256MiB lim"
  printf "%-10s %12d %10.0f %10.2f %10.2f %9.2fx %10.2f %10.2f %7.0f MiB\n", "small", sr, sb / 1048576,
    sp, so, so / sp, sa, sak * 1024 / sb, slk / 1024
  printf "%-10s %12d %10.0f %10.2f %10.2f %9.2fx %10.2f %10.2f %7.0f MiB\n", "large", lr, lb / 1048576,
    lp, lo, lo / lp, la, lak * 1024 / lb, llk / 1024
  printf "large/small: lines %.2fx, 1 thread %.2fx, %d threads %.2fx, within 256MiB %.2fx\n",
    lr / sr, lo / so, cores, la / sa, ll / sl
  printf "speed-up %d threads vs 1: small %.2fx, large %.2fx\n", cores, so / sa, lo / la
}'
