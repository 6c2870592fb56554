#!/usr/bin/env bash
# What tattle costs while it waits: its CPU (every thread's, from /proc/PID/task/*/schedstat) and its wake-ups a
# second, attached to an nginx worker that serves nothing (idle), then the same tattle while an even 2 000 req/s of
# its 612-byte page pass (light), per request. Builds alternate repetition by repetition (A B A B ...), so both see
# the same machine. Run as root:
#   bench/overhead/idle.sh [--reps 3] [--seconds 8] [--rate 2000]
# TATTLE_BASELINE=path/to/tattle adds the "base" build (e.g. the previous commit's out/tattle/tattle).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=bench/nginx-site.sh
. "$here/../nginx-site.sh"
reps=3 secs=8 rate=2000
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps=$2; shift 2 ;;
    --seconds) secs=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    *) echo "usage: $0 [--reps N] [--seconds S] [--rate R]" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "$0: run as root" >&2; exit 2; }
"$root/scripts/install-missing.sh" nginx
"$root/tattle" --version >/dev/null
builds=("this:$root/out/tattle/tattle")
[ -n "${TATTLE_BASELINE:-}" ] && builds+=("base:$TATTLE_BASELINE")

dir=$(mktemp -d /tmp/tattle-idle.XXXXXX)
nginx_pid='' tracer_pid=''
cleanup() {
  [ -n "$tracer_pid" ] && kill -INT "$tracer_pid" 2>/dev/null
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
cc -O2 "$here/pace/pace.c" -o "$dir/pace"
nginx_page "$dir" 612 18096
nginx_worker "$dir"

# The sum of every thread's run time (ns) and of its times on a CPU ("slices": wake-ups, roughly).
usage() {
  local run=0 slices=0 r k
  for t in /proc/"$1"/task/*; do
    read -r r _ k < "$t/schedstat" || continue
    run=$((run + r)) slices=$((slices + k))
  done
  echo "$run $slices"
}

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), $(nproc) CPUs; ${secs} s idle then ${secs} s at $rate req/s, per repetition"
for rep in $(seq "$reps"); do
  for b in "${builds[@]}"; do
    name=${b%%:*} bin=${b#*:}
    rm -f "$dir/t.jsonl"
    "$bin" attach -p "$worker" -q --json "$dir/t.jsonl" 2>"$dir/t.err" &
    tracer_pid=$!
    trace_started "$dir/t.jsonl"
    sleep 3 # the start's own work (probing libraries, the first /proc walk) is not the idle cost
    read -r r0 s0 <<< "$(usage "$tracer_pid")"
    sleep "$secs"
    read -r r1 s1 <<< "$(usage "$tracer_pid")"
    taskset -c 1 "$dir/pace" 127.0.0.1 18096 /index.html "$rate" "$secs" 16 > "$dir/pace.out"
    read -r r2 s2 <<< "$(usage "$tracer_pid")"
    kill -INT "$tracer_pid"
    wait "$tracer_pid" || true
    tracer_pid=''
    sent=$(awk '/requests in/ {print $1}' "$dir/pace.out")
    awk -v rep="$rep" -v name="$name" -v secs="$secs" -v sent="${sent:-0}" -v r0="$r0" -v r1="$r1" -v r2="$r2" \
      -v s0="$s0" -v s1="$s1" -v s2="$s2" 'BEGIN {
        printf "rep %d %-5s idle %6.0f us/s %4.0f wake-ups/s   light %6.0f us/s %4.0f wake-ups/s %6.2f us/req (%d requests)\n",
          rep, name, (r1 - r0) / 1000 / secs, (s1 - s0) / secs, (r2 - r1) / 1000 / secs, (s2 - s1) / secs,
          (sent > 0 ? (r2 - r1) / 1000 / sent : 0), sent }'
  done
done
