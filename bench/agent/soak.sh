#!/usr/bin/env bash
# The agent over a long run: nginx (one worker on CPU 0) under wrk (CPU 1) with a new connection per request
# (Connection: close, the worst case for per-connection state), `tattle agent --comm nginx` exporting a span per
# request over OTLP http/protobuf to a local sink that discards them. Samples the agent's resident size every
# 10 s: it must level off, not grow with the requests served. Run as root:
#   bench/agent/soak.sh [SECONDS]   (default 180: ~3 M requests here, an hour at ~900 req/s)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
secs=${1:-180}
[ "$(id -u)" = 0 ] || { echo "bench/agent: run as root (tracing loads BPF programs)" >&2; exit 2; }
"$root/scripts/install-missing.sh" wrk nginx
"$root/tattle" --version >/dev/null # builds once, outside the measurement
tattle="$root/out/tattle/tattle"
dir=$(mktemp -d /tmp/tattle-soak.XXXXXX)
port=18090 agent_port=19467 sink_port=19468
mkdir -p "$dir/www"
head -c 612 /dev/zero | tr '\0' 'x' > "$dir/www/index.html"
cat > "$dir/nginx.conf" <<CONF
user root;
worker_processes 1;
worker_cpu_affinity 01;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 1024; }
http { access_log off; sendfile off; server { listen 127.0.0.1:$port; root $dir/www; } }
CONF
/usr/bin/python3 "$here/otlp-sink.py" "$sink_port" &
sink=$!
nginx -c "$dir/nginx.conf" &
nginx_pid=$!
agent=""
trap 'kill $sink $nginx_pid $agent 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.05; done
"$tattle" agent --comm nginx --listen "127.0.0.1:$agent_port" --otlp-endpoint "http://127.0.0.1:$sink_port" \
  --otlp-protocol http/protobuf 2>"$dir/agent.err" &
agent=$!
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$agent_port/readyz" >/dev/null 2>&1 && break; sleep 0.05; done
echo "$(date -u +%FT%TZ) soak: $secs s, nginx on CPU 0, wrk -c16 with Connection: close on CPU 1, agent pid $agent"
taskset -c 1 wrk -t1 -c16 -d"${secs}s" -H "Connection: close" "http://127.0.0.1:$port/" > "$dir/wrk.out" &
wrk_pid=$!
t=0
printf '%6s %10s %12s %10s\n' "t(s)" "rss MiB" "requests" "agent cpu s"
while kill -0 $wrk_pid 2>/dev/null; do
  rss=$(awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$agent/status")
  reqs=$(curl -s "http://127.0.0.1:$agent_port/metrics" | awk '/^http_server_request_duration_seconds_count/ {s += $NF} END {printf "%d", s}')
  cpu=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$agent/stat")
  printf '%6d %10d %12d %10s\n' "$t" "$rss" "$reqs" "$cpu"
  sleep 10
  t=$((t + 10))
done
wait $wrk_pid || true
grep -E 'requests in|Requests/sec' "$dir/wrk.out"
kill -TERM $agent
wait $agent || true
agent=""
grep -o 'spans_exported=[0-9]* spans_dropped=[0-9]* series_folded=[0-9]*' "$dir/agent.err"
