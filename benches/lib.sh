# Shared by the end-to-end benchmarks (sourced, not run).
#
# best_of CMD...: runs CMD $runs times under /usr/bin/time; prints
# "seconds peak_kib" of the fastest run and keeps that run's stdout in
# $work/best.out. Needs $runs and $work set. With time_format set (a
# /usr/bin/time format starting with %e), prints those fields instead.
best_of() {
  local best="" best_mem="" secs mem
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "${time_format:-%e %M}" -o "$work/time" "$@" >"$work/stdout" 2>"$work/stderr" || {
      cat "$work/stderr" >&2
      return 1
    }
    read -r secs mem <"$work/time"
    if [ -z "$best" ] || awk "BEGIN{exit !($secs < $best)}"; then
      best=$secs best_mem=$mem
      cp "$work/stdout" "$work/best.out"
    fi
  done
  echo "$best $best_mem"
}
