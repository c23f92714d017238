#!/usr/bin/env bash
# Peak memory of every phase under --memory-limit (issue 13): generates
# claims and enrollment, runs `reconcile -v --memory-limit 256MiB` with
# --beneficiaries and prints, from the run's log, each phase's peak
# resident memory (the kernel's high-water mark, reset at the phase's
# start: src/runtime/memory.rs) against the 384 MiB target, the run's
# peak (the largest phase's: the resets also lower what /usr/bin/time's
# %M reports, so it is not used) and the spill on disk. Linux only (the
# phases' peaks come from /proc). Exits 1 when a phase passes the target.
#
# Usage: benches/memory_phases.sh [BENEFICIARIES] [LIMIT] [TARGET_MIB]
#   BENEFICIARIES  about 50 claim lines each (default 100000: about 5M lines)
#   LIMIT          --memory-limit (default 256MiB)
#   TARGET_MIB     the peak no phase may pass (default 384, 1.5 x 256 MiB)
set -euo pipefail
cd "$(dirname "$0")/.."

beneficiaries=${1:-100000}
limit=${2:-256MiB}
target=${3:-384}
# Outputs and spill files go beside --out, so in $work: put TMPDIR on a
# disk with room (the spill takes about 16 bytes a claim line).
work=$(mktemp -d "${TMPDIR:-/tmp}/episode-recon-memory.XXXXXX")
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet --bin episode-recon
bin=${CARGO_TARGET_DIR:-target}/release/episode-recon

"$bin" generate --beneficiaries "$beneficiaries" --seed 1 --out "$work/data" >/dev/null
rows=$(($(wc -l <"$work/data/claims/claims.csv") - 1))

/usr/bin/time -f '%e %U %S' -o "$work/time" \
  "$bin" -v reconcile --claims "$work/data/claims" \
  --definitions "$work/data/definitions" \
  --target-prices "$work/data/target_prices.csv" \
  --beneficiaries "$work/data/beneficiaries" \
  --risk-factors "$work/data/risk_factors.csv" \
  --memory-limit "$limit" --out "$work/out" >/dev/null 2>"$work/log" || {
  cat "$work/log" >&2
  exit 1
}

printf 'input: %d claim lines and %d beneficiaries (generated, seed 1); --memory-limit %s; %d cores\n' \
  "$rows" "$beneficiaries" "$limit" "$(nproc)"
# The log's lines: `... peak resident memory phase="NAME" peak_mib=X
# seconds=Y` per phase, `... spilled bytes=ON_DISK encoded=RECORDS`.
awk -v target="$target" -v time="$(cat "$work/time")" '
/peak resident memory/ {
  match($0, /phase="[^"]*"/); phase = substr($0, RSTART + 7, RLENGTH - 8)
  match($0, /peak_mib=[0-9.]+/); mib = substr($0, RSTART + 9, RLENGTH - 9)
  match($0, /seconds=[0-9.]+/); secs = substr($0, RSTART + 8, RLENGTH - 8)
  n++; name[n] = phase; peak[n] = mib; took[n] = secs
  if (mib + 0 > most) most = mib + 0
}
/ spilled bytes=/ {
  match($0, /bytes=[0-9]+/); disk = substr($0, RSTART + 6, RLENGTH - 6)
  match($0, /encoded=[0-9]+/); encoded = substr($0, RSTART + 8, RLENGTH - 8)
}
END {
  if (n == 0) { print "no phase was measured (not Linux?)"; exit 1 }
  printf "%-20s %10s %10s %8s\n", "phase", "peak MiB", "target", "seconds"
  over = 0
  for (i = 1; i <= n; i++) {
    verdict = peak[i] <= target ? "ok" : "OVER"
    if (peak[i] > target) over = 1
    printf "%-20s %10.1f %10s %8.2f  %s\n", name[i], peak[i], "<= " target, took[i], verdict
  }
  split(time, t, " ")
  printf "%-20s %10.1f %10s %8.2f  (CPU %.2f s)\n", "whole run", most, "", t[1], t[2] + t[3]
  if (disk == "") print "spill: none (the claims fit under the limit)"
  else printf "spill: %.1f MiB on disk for %.1f MiB of records (%.1f%%), %.1f bytes a line\n", disk / 1048576, encoded / 1048576, 100 * disk / encoded, disk / rows
  exit over
}' rows="$rows" "$work/log"
