#!/usr/bin/env bash
# Two revisions of the engine side by side on the same generated claims:
# reconcile in the canonical CSV, as RIF, and from a FIFO, each timed in
# alternation (best of RUNS), with the ratio new/old. For "no slowdown
# beyond noise" checks of a refactoring.
#
# Usage: benches/revisions.sh OLD_REV [NEW_REV] [BENEFICIARIES] [RUNS]
#   OLD_REV        a commit, tag or branch (built in a temporary worktree)
#   NEW_REV        default: the working tree as it is
#   BENEFICIARIES  about 50 claim lines each (default 20000: about 1M lines)
#   RUNS           timed runs of each command; the fastest is kept (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."

old_rev=${1:?usage: benches/revisions.sh OLD_REV [NEW_REV] [BENEFICIARIES] [RUNS]}
new_rev=${2:-}
beneficiaries=${3:-20000}
runs=${4:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/episode-recon-revisions.XXXXXX")
cleanup() {
  git worktree remove --force "$work/old" 2>/dev/null || true
  [ -n "$new_rev" ] && git worktree remove --force "$work/new" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=benches/lib.sh
source benches/lib.sh

build() { # REV DIR -> path of the binary
  git worktree add --quiet --detach "$2" "$1"
  (cd "$2" && CARGO_TARGET_DIR="$work/target-$(basename "$2")" cargo build --release --quiet \
    --bin episode-recon --example to_rif)
  echo "$work/target-$(basename "$2")/release"
}
old=$(build "$old_rev" "$work/old")
if [ -n "$new_rev" ]; then
  new=$(build "$new_rev" "$work/new")
else
  cargo build --release --quiet --bin episode-recon --example to_rif
  new=${CARGO_TARGET_DIR:-target}/release
fi

"$new/episode-recon" generate --beneficiaries "$beneficiaries" --seed 1 --out "$work/data" >/dev/null
claims="$work/data/claims/claims.csv"
"$new/examples/to_rif" "$claims" "$work/claims.rif"
rows=$(($(wc -l <"$claims") - 1))
common=(--definitions "$work/data/definitions-claims-only" --target-prices "$work/data/target_prices.csv" --force)

printf 'input: %d claim lines (generated, seed 1); best of %d runs\n' "$rows" "$runs"
printf '%-28s %10s %10s %8s\n' "command" "old s" "new s" "new/old"
compare() { # LABEL ARGS...
  local label=$1
  shift
  read -r old_s _ < <(best_of "$old/episode-recon" reconcile "$@" "${common[@]}" --out "$work/out-old")
  read -r new_s _ < <(best_of "$new/episode-recon" reconcile "$@" "${common[@]}" --out "$work/out-new")
  for file in episodes.csv providers.csv ledger.csv; do
    cmp -s "$work/out-old/$file" "$work/out-new/$file" || echo "  ($label: $file differs)"
  done
  awk -v l="$label" -v o="$old_s" -v n="$new_s" 'BEGIN { printf "%-28s %10.2f %10.2f %8.2f\n", l, o, n, n / o }'
}
compare "canonical, 1 thread" --claims "$claims" --threads 1
compare "canonical, all cores" --claims "$claims"
compare "RIF, all cores" --claims-format rif --claims "$work/claims.rif"
