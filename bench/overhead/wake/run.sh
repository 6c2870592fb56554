#!/usr/bin/env bash
# The wake-up latency of a task on CPU 0 beside a task that runs there in bursts (wake.c), each mode in turn for
# --reps rounds, with both CPUs kept awake as bench/overhead/run.sh --awake keeps them (an idle vCPU here halts,
# and its wake-up would set the latency). Shows how often the scheduler lets a burst run on for the woken task.
#   bench/overhead/wake/run.sh [--reps 3] [--seconds 4] [--bursts "100 300"] [--period-us 2000]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/overhead/awake.sh
. "$here/../awake.sh"
reps=3 secs=4 bursts="100 300" period=2000
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps=$2; shift 2 ;;
    --seconds) secs=$2; shift 2 ;;
    --bursts) bursts=$2; shift 2 ;;
    --period-us) period=$2; shift 2 ;;
    *) echo "usage: $0 [--reps N] [--seconds S] [--bursts \"US ...\"] [--period-us US]" >&2; exit 2 ;;
  esac
done
[ "$(nproc)" -ge 2 ] || { echo "$0: needs two CPUs (the woken task's and the writer's)" >&2; exit 1; }
bin=$(mktemp -d)
spin_pids=()
cleanup() { kill "${spin_pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$bin"; }
trap cleanup EXIT
cc -O2 -pthread "$here/wake.c" -o "$bin/wake"
keep_cpus_awake
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), $(nproc) CPUs; hog period $period us, wake-ups every 500 us for $secs s"
for rep in $(seq "$reps"); do
  "$bin/wake" none 1 "$period" "$secs" | sed "s/^/rep $rep /"
  for b in $bursts; do
    "$bin/wake" normal "$b" "$period" "$secs" | sed "s/^/rep $rep /"
  done
done
