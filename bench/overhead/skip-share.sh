#!/usr/bin/env bash
# How much of nginx's 1 MiB responses the kernel counts instead of copying, at full speed. Run as root:
#   bench/overhead/skip-share.sh [path/to/tattle] [label]
# nginx (one worker on CPU 0, sendfile off, as bench/overhead/run.sh configures it) serves a 1 MiB page to
# `wrk -t1 -c10 -d4s` on CPU 1; tattle attaches to the worker with --no-syscalls, once skipping bodies (the default)
# and once with --copy-bodies, and prints the bytes skipped, their share of the bodies, and the bytes the snap
# length cut per response.
set -euo pipefail
# shellcheck source=bench/nginx-site.sh
. "$(dirname "$0")/../nginx-site.sh"
tattle=${1:-$(cd "$(dirname "$0")/../.." && pwd)/out/tattle/tattle}
label=${2:-tattle}
dir=$(mktemp -d /tmp/tattle-skip-share.XXXXXX)
port=18090
nginx_page "$dir" 1048576 "$port"
trap 'kill "$nginx_pid" 2>/dev/null; wait "$nginx_pid" 2>/dev/null; rm -rf "$dir"' EXIT
sleep 1
worker=$(pgrep -P "$nginx_pid" | head -1)
for mode in "" --copy-bodies; do
  rm -f "$dir/o.jsonl"
  # shellcheck disable=SC2086 # $mode is one option or none
  timeout 12 "$tattle" attach -p "$worker" -q --verbose --no-syscalls $mode --duration 6 --json "$dir/o.jsonl" 2> "$dir/err.txt" &
  tracer=$!
  sleep 1.5
  echo "## $label ${mode:-(skipping)}"
  taskset -c 1 wrk -t1 -c10 -d4s "http://127.0.0.1:$port/" | grep Requests
  wait "$tracer" || true
  grep -v '^ \|^$\|──' "$dir/err.txt" || true
  n=$(grep -c '"type":"http"' "$dir/o.jsonl" || true)
  echo "http records: $n"
  grep -o '"unseen_bytes":[0-9]*' "$dir/o.jsonl" | awk -F: '{s += $2; n++} END {if (n) print "bytes the 16 KiB snap length cut per response:", int(s / n)}'
  skipped=$(grep -o 'not copied: [0-9]*' "$dir/err.txt" | grep -o '[0-9]*$' || true)
  if [ -n "$skipped" ] && [ "$n" -gt 0 ]; then
    echo "share of the bodies skipped: $(awk -v s="$skipped" -v n="$n" 'BEGIN {printf "%.3f", s / (n * 1048576)}')"
  fi
done
