#!/usr/bin/env bash
# The report of a large run: generates BENEFICIARIES (default 200000, about
# 10 million claim lines), reconciles them once, then times `report` on the
# run folder RUNS times beside the reconcile it reads, with the page's size.
# Usage: benches/report.sh [BENEFICIARIES] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
beneficiaries=${1:-200000}
runs=${2:-3}
cargo build --release --locked --quiet
bin=${CARGO_TARGET_DIR:-target}/release/episode-recon
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin" generate --beneficiaries "$beneficiaries" --seed 1 --out "$work/gen"
start=$(date +%s.%N)
"$bin" reconcile --claims "$work/gen/claims" --beneficiaries "$work/gen/beneficiaries" \
  --definitions "$work/gen/definitions" --target-prices "$work/gen/target_prices.csv" \
  --risk-factors "$work/gen/risk_factors.csv" --out "$work/run" >/dev/null
echo "reconcile: $(echo "$(date +%s.%N) - $start" | bc) s"
echo "run folder: $(du -sh "$work/run" | cut -f1), ledger $(wc -l <"$work/run/ledger.csv") lines"
for _ in $(seq "$runs"); do
  /usr/bin/time -f "report: %e s, %M KiB peak" "$bin" report --run "$work/run" \
    --out "$work/report.html" --force >/dev/null
done
echo "page: $(du -h "$work/report.html" | cut -f1)"
