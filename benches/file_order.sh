#!/usr/bin/env bash
# File order: the same generated claims
#   (a) as `generate` writes them, each beneficiary's lines together,
#   (b) in processing order (sorted by processed_date, as a payer's feed
#       arrives: a beneficiary's lines then come in many runs),
#   (c) shuffled,
# each reconciled on 1 thread and on all cores (the fastest of RUNS runs);
# prints each order's time against (a) and checks that the episodes,
# providers, ledger and summary are the same bytes whatever the order (the
# rejects name their rows, which the order moves).
#
# Usage: benches/file_order.sh [BENEFICIARIES] [RUNS]
#   BENEFICIARIES  about 50 claim lines each (default 80000: about 4M lines)
#   RUNS           timed runs of each command; the fastest is kept (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."

beneficiaries=${1:-80000}
runs=${2:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/episode-recon-order.XXXXXX")
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet --bin episode-recon
bin=${CARGO_TARGET_DIR:-target}/release/episode-recon
# shellcheck source=benches/lib.sh
source benches/lib.sh

"$bin" generate --beneficiaries "$beneficiaries" --seed 1 --out "$work/data" >/dev/null
grouped="$work/data/claims/claims.csv"
column=$(head -1 "$grouped" | tr ',' '\n' | grep -nx processed_date | cut -d: -f1)
# Generated fields hold no comma or quote, so `sort` may cut at commas.
{ head -1 "$grouped"; tail -n +2 "$grouped" | LC_ALL=C sort -s -t, -k"$column,$column"; } >"$work/processing.csv"
{ head -1 "$grouped"; tail -n +2 "$grouped" | shuf --random-source=<(yes); } >"$work/shuffled.csv"
rows=$(($(wc -l <"$grouped") - 1))

declare -A seconds
for order in grouped processing shuffled; do
  case $order in
    grouped) claims=$grouped ;;
    *) claims="$work/$order.csv" ;;
  esac
  reconcile=("$bin" reconcile --claims "$claims" --definitions "$work/data/definitions-claims-only"
    --target-prices "$work/data/target_prices.csv" --force)
  read -r one _ < <(best_of "${reconcile[@]}" --threads 1 --out "$work/out-$order")
  read -r all _ < <(best_of "${reconcile[@]}" --out "$work/out-$order")
  seconds[$order]="$one $all"
done

same=yes
for order in processing shuffled; do
  for file in episodes.csv providers.csv ledger.csv summary.json; do
    cmp -s "$work/out-grouped/$file" "$work/out-$order/$file" || {
      echo "$order: $file differs from the grouped file's" >&2
      same=no
    }
  done
done

read -r g1 ga <<<"${seconds[grouped]}"
read -r p1 pa <<<"${seconds[processing]}"
read -r s1 sa <<<"${seconds[shuffled]}"
awk -v rows="$rows" -v g1="$g1" -v ga="$ga" -v p1="$p1" -v pa="$pa" -v s1="$s1" -v sa="$sa" \
    -v cores="$(nproc)" -v same="$same" 'BEGIN {
  printf "input: %d claim lines (generated, seed 1)\n", rows
  printf "%-40s %10s %10s %12s %12s\n", "claims file order", "1 thread", cores " threads", "1 thr vs (a)", cores " thr vs (a)"
  printf "%-40s %10.2f %10.2f %11.2fx %11.2fx\n", "(a) grouped by beneficiary", g1, ga, 1, 1
  printf "%-40s %10.2f %10.2f %11.2fx %11.2fx\n", "(b) processing order (processed_date)", p1, pa, p1 / g1, pa / ga
  printf "%-40s %10.2f %10.2f %11.2fx %11.2fx\n", "(c) shuffled", s1, sa, s1 / g1, sa / ga
  printf "episodes, providers, ledger and summary identical in every order: %s\n", same
}'
[ "$same" = yes ]
