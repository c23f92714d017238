#!/usr/bin/env bash
# Builds the fuzz targets with libFuzzer's coverage instrumentation on the
# stable toolchain and runs each on its committed corpus for SECONDS
# (default 10). CI runs it briefly; run it with a larger SECONDS (and
# optionally target names) to fuzz for longer:
#
#   fuzz/run.sh 600                     # every target, ten minutes each
#   fuzz/run.sh 300 claims_rif prior_run
#
# Why not `cargo fuzz`: it needs an install (a minute or two of compiling
# in CI) and a nightly toolchain for its default sanitizer. These are the
# flags it passes with `--sanitizer none`, all stable, so plain cargo
# builds the same binaries (RULES 49). The committed seeds in
# fuzz/corpus/<target>/ are only read: new inputs libFuzzer finds go to
# fuzz/found/<target>/ (not committed; merge the ones worth keeping into
# the corpus with the binary's `-merge=1`). A crash is written to
# fuzz/artifacts/<target>/ and the script, having run every target, exits
# with status 1.
set -euo pipefail
cd "$(dirname "$0")"

seconds=${1:-10}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^episode-recon-fuzz$')
fi

export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
# Its own target folder: the instrumented build must not overwrite the
# normal one.
target_dir=${CARGO_TARGET_DIR:-../target}/fuzz
# With an explicit --target the flags reach the crates only, not the build
# scripts and proc macros (which cannot link without libFuzzer).
host=$(rustc -vV | sed -n 's/^host: //p')
cargo build --release --locked --bins --target "$host" --target-dir "$target_dir"

# With FUZZ_RUNS set (CI), each target runs that many inputs from a fixed
# seed (FUZZ_SEED, default 1) instead of for SECONDS: the same inputs every
# time, so CI's smoke test cannot turn red on a random find. Finding is
# what long runs are for.
limit=(-max_total_time="$seconds")
if [ -n "${FUZZ_RUNS:-}" ]; then
  limit=(-runs="$FUZZ_RUNS" -seed="${FUZZ_SEED:-1}")
fi

failed=()
for target in "${targets[@]}"; do
  mkdir -p "found/$target" "artifacts/$target"
  printf '\n==> fuzz %s (%s)\n' "$target" "${limit[*]}"
  "$target_dir/$host/release/$target" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="artifacts/$target/" \
    "found/$target" "corpus/$target" 2>&1 | grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|==|SUMMARY|thread|panicked|Done)' || true
  if compgen -G "artifacts/$target/crash-*" >/dev/null || compgen -G "artifacts/$target/oom-*" >/dev/null \
    || compgen -G "artifacts/$target/timeout-*" >/dev/null; then
    echo "fuzz target $target found a failing input: fuzz/artifacts/$target/" >&2
    failed+=("$target")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "failing inputs found by: ${failed[*]}" >&2
  exit 1
fi
