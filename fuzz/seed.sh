#!/usr/bin/env bash
# Rebuilds the committed seed corpora, fuzz/corpus/<target>/, from the
# test fixtures and the shared sample: each file's first 12 lines, at most 6000 bytes (a
# header and enough rows to reach every column; the corpus stays small).
# Inputs libFuzzer finds later are kept beside these seeds.
set -euo pipefail
cd "$(dirname "$0")/.."
seed() { # target file [prefix byte]
  local dir=fuzz/corpus/$1 name
  mkdir -p "$dir"
  name=$(echo "$2" | tr '/' '_')
  { if [ -n "${3:-}" ]; then printf "$3"; fi; head -n 12 "$2" | head -c 6000; } > "$dir/$name"
}
for f in sample-claims/claims/*.csv tests/fixtures/hostile/claims/*.csv; do
  seed claims_canonical "$f"; seed claims_auto "$f"
done
for f in tests/fixtures/rif/*.txt tests/fixtures/rif/episode/{inpatient,snf,carrier}.txt; do
  seed claims_rif "$f"; seed claims_auto "$f"
done
for f in tests/fixtures/cclf/cclf*.txt; do seed claims_cclf "$f"; seed claims_auto "$f"; done
for f in tests/fixtures/synpuf/*.csv; do seed claims_synpuf "$f"; seed claims_auto "$f"; done
# The beneficiaries target's first byte picks the format: 0 canonical,
# 1 MBSF, 2 CCLF8, 3 DE-SynPUF, 4 auto.
for f in sample-claims/beneficiaries.csv tests/fixtures/hostile/beneficiaries.csv; do
  seed beneficiaries "$f" '\000'
done
for f in tests/fixtures/beneficiaries/mbsf/*; do seed beneficiaries "$f" '\001'; done
for f in tests/fixtures/beneficiaries/synpuf/*; do seed beneficiaries "$f" '\003'; done
for f in tests/fixtures/beneficiaries/*/*; do seed beneficiaries "$f" '\004'; done
for f in episode-definitions/*.toml episode-definitions/bpci-advanced/*.toml tests/fixtures/hostile/definitions/*.toml; do
  seed definitions "$f"
done
for f in sample-claims/target_prices*.csv tests/fixtures/*/target_prices.csv tests/fixtures/rif/episode/target_prices.csv; do
  seed target_prices "$f"
done
seed risk_factors sample-claims/risk_factors.csv
for f in models/*/settlement.toml tests/fixtures/hostile/settlement.toml; do seed settlement "$f"; done
for f in sample-claims/participants.csv tests/fixtures/hostile/participants.csv; do seed participants "$f"; done
# A prior run: its files joined at the target's cut, in the target's order.
for run in tests/golden/sample/expected tests/fixtures/hostile/exact; do
  [ -f "$run/episodes.csv" ] || continue
  mkdir -p fuzz/corpus/prior_run
  { head -n 40 "$run/episodes.csv"; printf '\n#%%%%\n'; head -n 40 "$run/providers.csv"
    printf '\n#%%%%\n'; cat "$run/summary.json"
    printf '\n#%%%%\n'; head -n 40 "$run/ledger.csv"; printf '\n#%%%%\n'; head -n 40 "$run/rejects.csv"
    if [ -f "$run/participants.csv" ]; then printf '\n#%%%%\n'; cat "$run/participants.csv"; fi
  } > "fuzz/corpus/prior_run/$(echo "$run" | tr '/' '_')"
done
