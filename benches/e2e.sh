#!/usr/bin/env bash
# End-to-end benchmark: on one generated claims file, time side by side
#   (a) merely parsing the CSV with the `csv` crate and summing the amounts,
#       and, a rung above it, the engine's own reader running every
#       row-level check of the contract on every row and keeping nothing
#       (examples/check_only.rs): what any run must spend before it holds,
#       builds or writes a thing,
#   (b) the full reconciliation on 1 thread and on all cores,
#   (c) the same with enrollment: the shipped TEAM definitions' eligibility
#       and risk, joined with --beneficiaries (every beneficiary's months),
# and print the ratios (with / without enrollment also in CPU time, which
# the load of other work on the machine moves much less than wall time,
# and as the median of 3 x RUNS pairs of runs taken back to back), rows per
# second and peak memory.
#
# Usage: benches/e2e.sh [BENEFICIARIES] [RUNS]
#   BENEFICIARIES  about 50 claim lines each (default 20000: about 1M lines)
#   RUNS           timed runs of each command; the fastest is kept (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."

beneficiaries=${1:-20000}
runs=${2:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/episode-recon-e2e.XXXXXX")
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet --bin episode-recon --example parse_only --example check_only --example to_rif
release=${CARGO_TARGET_DIR:-target}/release
bin=$release/episode-recon
"$bin" generate --beneficiaries "$beneficiaries" --seed 1 --out "$work/data" >/dev/null
claims="$work/data/claims/claims.csv"
rows=$(($(wc -l <"$claims") - 1))
bytes=$(stat -c %s "$claims")

# shellcheck source=benches/lib.sh
source benches/lib.sh

reconcile=("$bin" reconcile --claims "$claims" --definitions "$work/data/definitions-claims-only"
  --target-prices "$work/data/target_prices.csv" --out "$work/out" --force)
enrolled=("$bin" reconcile --claims "$claims" --definitions "$work/data/definitions"
  --beneficiaries "$work/data/beneficiaries" --risk-factors "$work/data/risk_factors.csv"
  --target-prices "$work/data/target_prices.csv" --out "$work/out-enrolled" --force)
benes=$(($(wc -l <"$work/data/beneficiaries/beneficiaries.csv") - 1))

read -r parse_s parse_kib < <(best_of $release/examples/parse_only "$claims")
# The rung must read what the engine reads: every row, to one outcome each.
checked=$($release/examples/check_only "$claims")
if [[ "${checked%% *}" != "$rows" ]]; then
  echo "check_only read ${checked%% *} rows of $rows: $checked" >&2
  exit 1
fi
read -r check_s check_kib < <(best_of $release/examples/check_only "$claims")
read -r one_s one_kib < <(best_of "${reconcile[@]}" --threads 1)
read -r all_s all_kib < <(best_of "${reconcile[@]}")
all_cpu=$(cat "$work/best.cpu")
read -r lim_s lim_kib < <(best_of "${reconcile[@]}" --memory-limit 512MiB)
read -r enr_s enr_kib < <(best_of "${enrolled[@]}")
enr_cpu=$(cat "$work/best.cpu")
# The with / without ratio itself, from runs taken in pairs (see paired).
read -r pair_wall pair_cpu < <(runs=$((runs * 3)) paired reconcile enrolled)
# Price the finished run again (same prices), as an analyst's what-if does.
# The same claims as a RIF file: the RIF reader against the canonical path.
$release/examples/to_rif "$claims" "$work/claims.rif"
read -r rif_parse_s rif_parse_kib < <(best_of $release/examples/parse_only "$work/claims.rif")
read -r rif_s rif_kib < <(best_of "$bin" reconcile --claims-format rif --claims "$work/claims.rif" \
  --definitions "$work/data/definitions-claims-only" --target-prices "$work/data/target_prices.csv" \
  --out "$work/out-rif" --force)
reprice=("$bin" reprice --run "$work/out" --target-prices "$work/data/target_prices.csv"
  --out "$work/repriced" --force)
read -r reprice_s reprice_kib < <(best_of "${reprice[@]}")

cores=$(nproc)
awk -v rows="$rows" -v bytes="$bytes" -v p="$parse_s" -v o="$one_s" -v a="$all_s" \
    -v pm="$parse_kib" -v c="$check_s" -v cm="$check_kib" -v om="$one_kib" -v am="$all_kib" -v cores="$cores" \
    -v r="$reprice_s" -v rm="$reprice_kib" -v l="$lim_s" -v lm="$lim_kib" \
    -v rp="$rif_parse_s" -v rr="$rif_s" -v rrm="$rif_kib" \
    -v en="$enr_s" -v enm="$enr_kib" -v benes="$benes" -v ac="$all_cpu" -v ec="$enr_cpu" \
    -v pw="$pair_wall" -v pc="$pair_cpu" -v pairs="$((runs * 3))" 'BEGIN {
  printf "input: %d claim lines, %.1f MiB (generated, seed 1)\n", rows, bytes / 1048576
  printf "%-34s %8s %12s %10s %12s\n", "command", "seconds", "rows/s", "peak MiB", "vs parse"
  printf "%-34s %8.2f %12.0f %10.1f %12s\n", "parse only (csv crate, sum)", p, rows / p, pm / 1024, "1.00x"
  printf "%-34s %8.2f %12.0f %10.1f %11.2fx\n", "row checks only, 1 thread", c, rows / c, cm / 1024, c / p
  printf "%-34s %8.2f %12.0f %10.1f %11.2fx\n", "reconcile --threads 1", o, rows / o, om / 1024, o / p
  printf "%-34s %8.2f %12.0f %10.1f %11.2fx\n", "reconcile (" cores " threads)", a, rows / a, am / 1024, a / p
  printf "%-34s %8.2f %12.0f %10.1f %11.2fx\n", "reconcile --memory-limit 512MiB", l, rows / l, lm / 1024, l / p
  printf "%-34s %8.2f %12.0f %10.1f %11.2fx\n", "reconcile + enrollment and risk", en, rows / en, enm / 1024, en / p
  printf "%-34s %8.2f %12s %10.1f %11.2fx\n", "reprice the run (no claims read)", r, "-", rm / 1024, r / p
  printf "%-34s %8.2f %12.0f %10.1f %12s\n", "RIF: parse only (csv crate, sum)", rp, rows / rp, 0, "1.00x"
  printf "%-34s %8.2f %12.0f %10.1f %11.2fx\n", "RIF: reconcile --claims-format rif", rr, rows / rr, rrm / 1024, rr / rp
  printf "RIF reconcile / canonical reconcile (%d threads): %.2f\n", cores, rr / a
  printf "reprice / reconcile (%d threads): %.3f\n", cores, r / a
  printf "with / without enrollment (%d beneficiary months; %d threads): %.2f\n", benes, cores, en / a
  printf "  in CPU time (user + system, least of the runs): %.2f s / %.2f s = %.2f\n", ec, ac, ec / ac
  printf "  median of %d runs in pairs, back to back: wall %.2f, CPU %.2f\n", pairs, pw, pc
  printf "reconcile --threads 1 beyond the row checks: %.2fx parse only (%.0f%% of its time)\n", (o - c) / p, 100 * (o - c) / o
  printf "speed-up %d threads vs 1: %.2fx; peak memory / input size: %.2f\n", cores, o / a, am * 1024 / bytes
}'
