#!/usr/bin/env bash
# End-to-end benchmark against SQL: on one generated claims file, time side by
# side the engine's reconciliation (all cores) and the same reconciliation
# written in SQL on DuckDB (benches/sql_baseline.py, default threads: all
# cores); check that the two agree on episodes; print the ratio and peak
# memory.
#
# Usage: benches/sql_vs_engine.sh [BENEFICIARIES] [RUNS]
#   BENEFICIARIES  about 50 claim lines each (default 20000: about 1M lines)
#   RUNS           timed runs of each command; the fastest is kept (default 3)
# Needs python3 with the duckdb package.
set -euo pipefail
cd "$(dirname "$0")/.."

beneficiaries=${1:-20000}
runs=${2:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/episode-recon-sql.XXXXXX")
trap 'rm -rf "$work"' EXIT

python3 -c 'import duckdb' || {
  echo "sql_vs_engine.sh: needs the duckdb Python package (pip install duckdb)" >&2
  exit 1
}
cargo build --release --quiet --bin episode-recon
release=${CARGO_TARGET_DIR:-target}/release
bin=$release/episode-recon
"$bin" generate --beneficiaries "$beneficiaries" --seed 1 --out "$work/data" >/dev/null
claims="$work/data/claims/claims.csv"
rows=$(($(wc -l <"$claims") - 1))
bytes=$(stat -c %s "$claims")

# shellcheck source=benches/lib.sh
source benches/lib.sh

read -r engine_s engine_kib < <(best_of "$bin" reconcile --claims "$claims" \
  --definitions "$work/data/definitions-claims-only" --target-prices "$work/data/target_prices.csv" \
  --out "$work/engine" --force -q)
read -r duck_s duck_kib < <(best_of python3 benches/sql_baseline.py "$work/data" "$work/sql")
# The script's own timer: the SQL work alone (CSV reads, queries, CSV write),
# without starting Python, importing duckdb and loading the definitions.
read -r _ sql_only_s _ _ <"$work/best.out"

# Agreement: per episode type, episode count and sum of actual_amount (column
# 12), summed in whole cents so that awk's doubles stay exact.
per_type() {
  awk -F, 'NR > 1 { n[$2]++; a = $12; neg = sub(/^-/, "", a); split(a, p, ".");
    c = p[1] * 100 + p[2]; cents[$2] += neg ? -c : c }
    END { for (t in n) printf "%s %d %.0f\n", t, n[t], cents[t] }' "$1" | sort
}
per_type "$work/engine/episodes.csv" >"$work/engine.types"
per_type "$work/sql/episodes.csv" >"$work/sql.types"
echo "agreement on episodes.csv (engine vs SQL):"
join -a1 -a2 -e 0 -o 0,1.2,2.2,1.3,2.3 "$work/engine.types" "$work/sql.types" | awk '
  BEGIN { printf "  %-6s %9s %9s %16s %16s %12s\n", "type", "engine", "sql", "engine actual",
          "sql actual", "difference" }
  { printf "  %-6s %9d %9d %16.2f %16.2f %12.2f\n", $1, $2, $3, $4 / 100, $5 / 100, ($5 - $4) / 100
    ne += $2; ns += $3; ae += $4; as += $5; bad += ($2 != $3 || $4 != $5) }
  END { printf "  %-6s %9d %9d %16.2f %16.2f %12.2f\n", "all", ne, ns, ae / 100, as / 100, (as - ae) / 100
        exit bad != 0 }' && agree=yes || agree=no
# The SQL writes the first columns of episodes.csv, through gain_loss, and
# not those the engine adds after them (cancel_reason, risk_levels,
# risk_multiplier, target_price): the engine's file is compared on the
# SQL's columns. No generated field holds a comma, so cut splits rows right.
columns=$(head -1 "$work/sql/episodes.csv" | tr ',' '\n' | wc -l)
cut -d, -f"1-$columns" "$work/engine/episodes.csv" >"$work/engine-columns.csv"
if cmp -s "$work/engine-columns.csv" "$work/sql/episodes.csv"; then
  echo "  episodes.csv: byte-identical on the SQL's $columns columns (every one of every episode agrees)"
else
  differing=$(diff "$work/engine-columns.csv" "$work/sql/episodes.csv" | grep -c '^[<>]' || true)
  echo "  episodes.csv (the SQL's $columns columns): $differing row(s) in only one of the two files;" \
    "counts and per-type sums agree: $agree"
  { diff "$work/engine-columns.csv" "$work/sql/episodes.csv" || true; } | head -10 | sed 's/^/    /'
  echo "  What the SQL leaves out, which can explain such differences:"
  python3 benches/sql_baseline.py --explain | sed 's/^/    /'
fi

cores=$(nproc)
awk -v rows="$rows" -v bytes="$bytes" -v e="$engine_s" -v d="$duck_s" -v q="$sql_only_s" \
    -v em="$engine_kib" -v dm="$duck_kib" -v cores="$cores" 'BEGIN {
  printf "input: %d claim lines, %.1f MiB (generated, seed 1); %d cores\n", rows, bytes / 1048576, cores
  printf "%-40s %8s %12s %10s\n", "command", "seconds", "rows/s", "peak MiB"
  printf "%-40s %8.2f %12.0f %10.1f\n", "episode-recon reconcile (all threads)", e, rows / e, em / 1024
  printf "%-40s %8.2f %12.0f %10.1f\n", "DuckDB SQL baseline (whole process)", d, rows / d, dm / 1024
  printf "%-40s %8.2f %12.0f %10s\n", "DuckDB SQL baseline (SQL work only)", q, rows / q, "-"
  printf "ratio engine / DuckDB (whole process): %.2f\n", e / d
  printf "ratio engine / DuckDB (SQL work only): %.2f\n", e / q
  printf "engine speed-up over DuckDB: %.2fx (whole process), %.2fx (SQL work only)\n", d / e, q / e
  printf "peak memory engine / DuckDB: %.2f\n", em / dm
}'
