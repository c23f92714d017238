# Shared by the end-to-end benchmarks (sourced, not run).
#
# best_of CMD...: runs CMD $runs times under /usr/bin/time; prints
# "seconds peak_kib" of the fastest run and keeps that run's stdout in
# $work/best.out, and the least CPU time (user + system seconds) of any
# run in $work/best.cpu: on a machine shared with other work, wall time
# swings with the others' load and CPU time much less.
# Needs $runs and $work set.
best_of() {
  local best="" best_mem="" best_cpu="" secs mem user sys
  for _ in $(seq "$runs"); do
    /usr/bin/time -f '%e %M %U %S' -o "$work/time" "$@" >"$work/stdout" 2>"$work/stderr" || {
      cat "$work/stderr" >&2
      return 1
    }
    read -r secs mem user sys <"$work/time"
    if [ -z "$best" ] || awk "BEGIN{exit !($secs < $best)}"; then
      best=$secs best_mem=$mem
      cp "$work/stdout" "$work/best.out"
    fi
    local cpu
    cpu=$(awk "BEGIN{print $user + $sys}")
    if [ -z "$best_cpu" ] || awk "BEGIN{exit !($cpu < $best_cpu)}"; then
      best_cpu=$cpu
    fi
  done
  echo "$best_cpu" >"$work/best.cpu"
  echo "$best $best_mem"
}
