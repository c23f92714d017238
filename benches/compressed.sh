#!/usr/bin/env bash
# Compressed inputs: on one generated claims file, time side by side the
# full reconciliation of the plain CSV, of the same text as zstd and as
# gzip (written by `generate --compress`, blocks compressed in parallel),
# with peak memory, and the ratios. Decompression runs on a thread of its
# own while the previous blocks are parsed: the "overlap" line compares a
# compressed run with the plain run plus decompressing alone through the
# engine's decoder (examples/decompress_only.rs), which is what the run
# would take if the two did not overlap at all. The outputs of the three
# runs must be the same bytes.
#
# Usage: benches/compressed.sh [BENEFICIARIES] [RUNS]
#   BENEFICIARIES  about 50 claim lines each (default 20000: about 1M lines)
#   RUNS           timed runs of each command; the fastest is kept (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."

beneficiaries=${1:-20000}
runs=${2:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/episode-recon-compressed.XXXXXX")
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet --bin episode-recon --example decompress_only
bin=${CARGO_TARGET_DIR:-target}/release/episode-recon
decompress=${CARGO_TARGET_DIR:-target}/release/examples/decompress_only

# shellcheck source=benches/lib.sh
source benches/lib.sh

# best_of runs a command, not a shell function.
generate=("$bin" generate --beneficiaries "$beneficiaries" --seed 1 --compress)
read -r gen_none_s _ < <(best_of "${generate[@]}" none --out "$work/none")
read -r gen_zstd_s _ < <(best_of "${generate[@]}" zstd --out "$work/zstd")
read -r gen_gzip_s _ < <(best_of "${generate[@]}" gzip --out "$work/gzip")
plain="$work/none/claims/claims.csv"
zst="$work/zstd/claims/claims.csv.zst"
gz="$work/gzip/claims/claims.csv.gz"
rows=$(($(wc -l <"$plain") - 1))

reconcile=("$bin" reconcile --definitions "$work/none/definitions-claims-only"
  --target-prices "$work/none/target_prices.csv" --force)
# Wall seconds and peak KiB of the fastest run, and the least CPU seconds
# (best_of's $work/best.cpu): on a shared machine the steadier figure.
for threads in all 1; do
  threading=()
  [ "$threads" = all ] || threading=(--threads "$threads")
  for kind in plain zst gz; do
    eval "claims=\$$kind"
    read -r secs kib < <(best_of "${reconcile[@]}" "${threading[@]}" \
      --claims "$claims" --out "$work/out-$kind")
    printf '%s %s %s %s %s\n' "$threads" "$kind" "$secs" "$kib" "$(cat "$work/best.cpu")" >>"$work/runs"
  done
  for kind in zst gz; do
    for file in episodes.csv providers.csv ledger.csv summary.json; do
      cmp -s "$work/out-plain/$file" "$work/out-$kind/$file" || {
        echo "$kind: $file differs from the plain run's" >&2
        exit 1
      }
    done
  done
done
read -r unzst_s _ < <(best_of "$decompress" "$zst")
unzst_cpu=$(cat "$work/best.cpu")
read -r ungz_s _ < <(best_of "$decompress" "$gz")
ungz_cpu=$(cat "$work/best.cpu")

awk -v rows="$rows" -v cores="$(nproc)" \
    -v pb="$(stat -c %s "$plain")" -v zb="$(stat -c %s "$zst")" -v gb="$(stat -c %s "$gz")" \
    -v uz="$unzst_s" -v uzc="$unzst_cpu" -v ug="$ungz_s" -v ugc="$ungz_cpu" \
    -v gn="$gen_none_s" -v gz_="$gen_gzip_s" -v gs="$gen_zstd_s" '
{ t = $1; k = $2; wall[t, k] = $3; kib[t, k] = $4; cpu[t, k] = $5 }
END {
  size["plain"] = pb; size["zst"] = zb; size["gz"] = gb
  name["plain"] = "claims.csv"; name["zst"] = "claims.csv.zst"; name["gz"] = "claims.csv.gz"
  printf "input: %d claim lines (generated, seed 1); %d cores\n", rows, cores
  printf "%-24s %8s %8s %8s %9s %9s %9s\n", "reconcile --claims", "MiB", "threads", "seconds", "CPU s", "peak MiB", "vs plain"
  split("all 1", ts, " "); split("plain zst gz", ks, " ")
  for (i = 1; i <= 2; i++) for (j = 1; j <= 3; j++) {
    t = ts[i]; k = ks[j]
    printf "%-24s %8.1f %8s %8.2f %9.2f %9.1f %8.2fx\n", name[k], size[k] / 1048576, t, wall[t, k], cpu[t, k], kib[t, k] / 1024, wall[t, k] / wall[t, "plain"]
  }
  printf "decompressing alone (the engine'"'"'s decoder, no parsing): zst %.2f s (%.2f CPU s), gz %.2f s (%.2f CPU s)\n", uz, uzc, ug, ugc
  printf "overlap on 1 parsing thread, (compressed run - plain run) / decompressing alone: zst %.2f, gz %.2f (0: hidden, 1: none)\n", (wall[1, "zst"] - wall[1, "plain"]) / uz, (wall[1, "gz"] - wall[1, "plain"]) / ug
  printf "peak memory vs plain (all threads): zst %.2fx, gz %.2fx\n", kib["all", "zst"] / kib["all", "plain"], kib["all", "gz"] / kib["all", "plain"]
  printf "generate (claims and beneficiaries): none %.2f s, --compress zstd %.2f s (%.2fx), gzip %.2f s (%.2fx)\n", gn, gs, gs / gn, gz_, gz_ / gn
}' "$work/runs"
