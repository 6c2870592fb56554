#!/usr/bin/env bash
# Tattle's peak memory while tracing one process that holds N open TCP connections (default 10 000: 5 000
# loopback pairs, both ends in the traced process), each of which then carries a small HTTP exchange so every
# connection gets its stream decoders. Run as root: bench/overhead/rss.sh [N]. Target: <= 150 MB.
# TATTLE_BIN=path/to/tattle measures another build (e.g. the previous commit's, interleaved with this one).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
n=${1:-10000}
"$root/tattle" sockets -n -p $$ >/dev/null   # build once, outside the measurement
dir=$(mktemp -d /tmp/tattle-rss.XXXXXX)
trap 'kill $holder 2>/dev/null; rm -rf "$dir"' EXIT
python3 - "$n" "$dir/go" > "$dir/holder.out" <<'PY' &
import os, resource, socket, sys, time
n, go = int(sys.argv[1]), sys.argv[2]
resource.setrlimit(resource.RLIMIT_NOFILE, (n + 1000, n + 1000))
hub = socket.socket(); hub.bind(("127.0.0.1", 0)); hub.listen(4096)
pairs = []
for _ in range(n // 2):
    c = socket.create_connection(hub.getsockname()); a, _ = hub.accept(); pairs.append((c, a))
print(len(pairs) * 2, flush=True)
while not os.path.exists(go):
    time.sleep(0.05)
for c, a in pairs:  # one exchange per connection, once tattle is attached
    c.sendall(b"GET /x HTTP/1.1\r\nHost: bench\r\n\r\n"); a.recv(100)
    a.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"); c.recv(100)
print("done", flush=True)
time.sleep(3600)
PY
holder=$!
for _ in $(seq 600); do [ -s "$dir/holder.out" ] && break; sleep 0.1; done
echo "holder $holder: $(head -1 "$dir/holder.out") connections open"
/usr/bin/time -f "%M" -o "$dir/rss" "${TATTLE_BIN:-$root/out/tattle/tattle}" attach -p "$holder" -q --json "$dir/t.jsonl" --duration 20 2>/dev/null &
tattle=$!
sleep 3
touch "$dir/go"
for _ in $(seq 300); do grep -q "done" "$dir/holder.out" && break; sleep 0.1; done
sleep 1
kill -TERM "$(pgrep -P $tattle || echo $tattle)" 2>/dev/null || true
wait $tattle || true
http=$(grep -c '"type":"http"' "$dir/t.jsonl" || true)
existing=$(grep -c '"existing":true' "$dir/t.jsonl" || true)
echo "tattle peak RSS: $(( $(cat "$dir/rss") / 1024 )) MB for $n connections ($existing existing records, $http http records)"
