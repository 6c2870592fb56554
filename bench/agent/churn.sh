#!/usr/bin/env bash
# The agent under process churn: `tattle agent --all --depth connections` while N short processes (/bin/true)
# start and exit, its resident size sampled after each third. Pids cycle through pid_max (4,194,304 on 64-bit), so
# what the agent keeps per process it ever saw must not grow with N. With $TATTLE_BASELINE (another build's binary)
# the two alternate, baseline first. Run as root:
#   bench/agent/churn.sh [N]   (default 30000)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
n=${1:-30000}
[ "$(id -u)" = 0 ] || { echo "bench/agent: run as root (tracing loads BPF programs)" >&2; exit 2; }
"$root/tattle" --version >/dev/null # builds once, outside the measurement
log=$(mktemp /tmp/tattle-churn.XXXXXX)
agent=""
trap 'kill $agent 2>/dev/null || true; rm -f "$log"' EXIT

one() {
  local name=$1 bin=$2
  "$bin" agent --all --depth connections 2>"$log" &
  agent=$!
  for _ in $(seq 100); do grep -q msg=tracing "$log" && break; sleep 0.1; done
  local start
  start=$(awk '/VmRSS/{print $2}' "/proc/$agent/status")
  for third in 1 2 3; do
    for _ in $(seq $((n / 3))); do /bin/true; done
    sleep 2
    echo "$name: after $((third * n / 3)) processes: rss $(awk '/VmRSS/{print $2}' "/proc/$agent/status") kB (start $start kB)"
  done
  kill -TERM "$agent"
  wait "$agent" || true
  agent=""
}

echo "$(date -u +%FT%TZ) churn: $n processes, build $("$root/out/tattle/tattle" --version)"
if [ -n "${TATTLE_BASELINE:-}" ]; then
  one base "$TATTLE_BASELINE"
fi
one tattle "$root/out/tattle/tattle"
