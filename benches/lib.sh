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

# paired NAME_A NAME_B: runs the commands held in the arrays named NAME_A
# and NAME_B one after the other, $runs times, and prints "wall cpu": the
# medians of the per-pair ratios B / A, in wall time and in CPU time (user
# + system). Each pair runs back to back, so both of its runs meet the
# same load; the median then ignores the pairs a burst of other work
# split. On this VM the same command's time swings by half between
# minutes, which moves a ratio of best-of-N runs (taken minutes apart)
# more than the effect it measures.
# Needs $runs and $work set.
paired() {
  local -n first=$1 second=$2
  local a_secs a_mem a_user a_sys b_secs b_mem b_user b_sys
  for _ in $(seq "$runs"); do
    /usr/bin/time -f '%e %M %U %S' -o "$work/time" "${first[@]}" >/dev/null 2>"$work/stderr" || {
      cat "$work/stderr" >&2
      return 1
    }
    read -r a_secs a_mem a_user a_sys <"$work/time"
    /usr/bin/time -f '%e %M %U %S' -o "$work/time" "${second[@]}" >/dev/null 2>"$work/stderr" || {
      cat "$work/stderr" >&2
      return 1
    }
    read -r b_secs b_mem b_user b_sys <"$work/time"
    echo "$a_secs $a_user $a_sys $b_secs $b_user $b_sys"
  done | awk '{ w[NR] = $4 / $1; c[NR] = ($5 + $6) / ($2 + $3) }
    function median(v, n,   i, j, t) {
      for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j-1] > v[j]; j--) { t = v[j]; v[j] = v[j-1]; v[j-1] = t }
      return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    END { printf "%.3f %.3f\n", median(w, NR), median(c, NR) }'
}
