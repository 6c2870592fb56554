#!/usr/bin/env bash
# Time from invoking `tattle run` to the traced command's first instruction (its exec), over N runs (already
# built: the build is not timed). The exec time comes from the kernel's own record of it (process.start ts).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
n=${1:-7}
"$here/tattle" run -q -- /bin/true >/dev/null 2>&1   # build once, untimed
out=$(mktemp -d)
for i in $(seq "$n"); do
  t0=$(date +%s%N)
  "$here/tattle" run -q --json "$out/r.jsonl" -- /bin/true >/dev/null 2>&1
  t1=$(date +%s%N)
  exec_ts=$(grep '"type":"process.start"' "$out/r.jsonl" | head -1 | sed 's/.*"ts":"\([^"]*\)".*/\1/')
  exec_ns=$(date -d "$exec_ts" +%s%N)
  echo "$(( (exec_ns - t0) / 1000000 )) $(( (t1 - t0) / 1000000 ))"
done | sort -n | awk '{a[NR]=$1; b[NR]=$2} END {m=int((NR+1)/2); printf "tattle run -> command exec: median %d ms (min %d, max %d); whole run of /bin/true: median %d ms\n", a[m], a[1], a[NR], b[m]}'
t0=$(date +%s%N); /bin/true; t1=$(date +%s%N)
echo "untraced /bin/true: $(( (t1 - t0) / 1000000 )) ms"
rm -rf "$out"
