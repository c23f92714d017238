# Shared by the end-to-end benchmarks (sourced, not run).
#
# best_of CMD...: runs CMD $runs times under /usr/bin/time; prints
# "seconds peak_kib" of the fastest run and keeps that run's stdout in
# $work/best.out. Needs $runs and $work set.
best_of() {
  local best="" best_mem="" secs mem
  for _ in $(seq "$runs"); do
    /usr/bin/time -f '%e %M' -o "$work/time" "$@" >"$work/stdout" 2>"$work/stderr" || {
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
