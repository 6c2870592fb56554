#!/usr/bin/env bash
# TLS plaintext of short children probed at their fork, with the CPUs kept busy: a shell runs --children curls in
# turn against a local openssl s_server, under tattle, beside --busy spinning loops, --runs times. Per run: the curls
# whose exchange was read whole (request and response), and the notices naming a TLS handshake made before its
# process's probes went live. A curl not read whole and not named is a silent loss: the run says so and exits 1.
# Usage: bench/tls-spawn.sh [--runs 14] [--children 12] [--busy 2] [--tattle PATH]   (root)
set -euo pipefail
runs=14 children=12 busy=2
here=$(cd "$(dirname "$0")" && pwd)
tattle="$here/../tattle"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --children) children=$2; shift 2 ;;
    --busy) busy=$2; shift 2 ;;
    --tattle) tattle=$2; shift 2 ;;
    *) echo "tls-spawn.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "tls-spawn.sh: run as root (tattle needs it)" >&2; exit 2; }
dir=$(mktemp -d /tmp/tattle-tls-spawn.XXXXXX)
server=""
spin=""
cleanup() {
  if [ -n "$spin" ]; then pkill -P "$spin" 2>/dev/null || true; kill "$spin" 2>/dev/null || true; fi
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/key.pem" -out "$dir/cert.pem" -days 1 -subj /CN=localhost 2>/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
openssl s_server -accept "127.0.0.1:$port" -cert "$dir/cert.pem" -key "$dir/key.pem" -www -quiet >/dev/null 2>&1 &
server=$!
sleep 0.5
echo "# $(date -u +%FT%TZ) $(uname -r), $(nproc) CPUs: $runs runs of $children curls under sh, $busy busy loops, tattle $("$tattle" --version)"
total=0 whole_total=0 named_total=0 silent_total=0
for run in $(seq "$runs"); do
  # shellcheck disable=SC2016 # expanded by the inner shell
  sh -c 'for i in $(seq "$1"); do (while :; do :; done) & done; wait' sh "$busy" &
  spin=$!
  "$tattle" run -q --json "$dir/run.jsonl" -- sh -c \
    "for i in \$(seq $children); do curl -sk -o /dev/null https://localhost:$port/child-\$i; done" 2>/dev/null
  pkill -P "$spin" 2>/dev/null || true
  kill "$spin" 2>/dev/null || true
  wait "$spin" 2>/dev/null || true
  spin=""
  line=$(python3 - "$dir/run.jsonl" <<'EOF'
import json, sys
records = [json.loads(l) for l in open(sys.argv[1])]
curls = {r["pid"] for r in records if r["type"] == "process.exec" and r["comm"] == "curl"}
whole = {r["pid"] for r in records if r["type"] == "http" and r.get("tls") and r.get("path") and r.get("status")}
named = {r["pid"] for r in records if r["type"] == "notice" and r["message"].startswith("tls: plaintext probes")}
silent = curls - whole - named
print(len(curls), len(whole & curls), len(named), len(silent), " ".join(sorted(
    r["message"].split(": ", 1)[1] for r in records if r["type"] == "notice")))
EOF
)
  read -r n whole named silent notes <<< "$line" || true
  echo "run $run: $whole of $n read whole, $named named by a notice, $silent silent ${notes:+| $notes}"
  total=$((total + n)); whole_total=$((whole_total + whole))
  named_total=$((named_total + named)); silent_total=$((silent_total + silent))
done
echo "total: $whole_total of $total read whole, $named_total named by a notice, $silent_total silent"
[ "$silent_total" = 0 ]
