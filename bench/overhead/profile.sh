#!/usr/bin/env bash
# Where the time goes while tattle traces nginx under wrk: a system-wide perf profile of the saturated run, split
# by process and by object (nginx's own code, the kernel's syscall path and BPF programs, tattle). Run as root:
#   bench/overhead/profile.sh [--seconds 5] [--https] [--untraced] [-- extra tattle options]
# (--untraced profiles the same workload with no tracer: the baseline to compare shares with.)
# Prints the share of samples per (process, object) and the top kernel symbols of nginx's samples.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=bench/nginx-site.sh
. "$here/../nginx-site.sh"
secs=5 scheme=http extra=() untraced=0
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) secs=$2; shift 2 ;;
    --https) scheme=https; shift ;;
    --untraced) untraced=1; shift ;;
    --) shift; extra=("$@"); break ;;
    *) echo "usage: $0 [--seconds S] [--https] [--untraced] [-- tattle options]" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "bench/overhead/profile.sh: run as root" >&2; exit 2; }
"$root/scripts/install-missing.sh" nginx wrk perf:linux-perf openssl
"$root/tattle" --version >/dev/null
tattle="$root/out/tattle/tattle"

dir=$(mktemp -d /tmp/tattle-profile.XXXXXX)
mkdir -p "$dir/www"
head -c 612 /dev/zero | tr '\0' 'x' > "$dir/www/index.html"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
nginx_site "$dir" "$dir/access.log" "listen 127.0.0.1:18090; root $dir/www;" \
  "listen 127.0.0.1:18091 ssl; ssl_certificate $dir/cert.pem; ssl_certificate_key $dir/key.pem; root $dir/www;"
nginx -c "$dir/nginx.conf" &
nginx_pid=$!
tracer=""
cleanup() { [ -n "$tracer" ] && kill -TERM "$tracer" 2>/dev/null; kill "$nginx_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
nginx_worker "$dir"
url="http://127.0.0.1:18090/index.html"
[ "$scheme" = https ] && url="https://127.0.0.1:18091/index.html"
if [ "$untraced" = 0 ]; then
  "$tattle" attach -p "$worker" -q --json "$dir/t.jsonl" "${extra[@]}" 2>"$dir/t.err" &
  tracer=$!
  trace_started "$dir/t.jsonl"
fi
sleep 1
load_started "$url" "$secs" "$dir/wrk.txt"
# The shipped binary is stripped; its symbols are in tattle.dbg beside it, which perf finds by build id once cached.
if [ -f "$root/out/tattle/tattle.dbg" ]; then
  perf buildid-cache -a "$root/out/tattle/tattle.dbg" 2>/dev/null || true
fi
perf record -a -g -F "${TATTLE_PROFILE_HZ:-999}" -o "$dir/perf.data" -- sleep "$secs" 2>/dev/null
# $TATTLE_PROFILE_DATA=FILE keeps the samples for perf report.
[ -n "${TATTLE_PROFILE_DATA:-}" ] && cp "$dir/perf.data" "$TATTLE_PROFILE_DATA"
wait "$wrk_pid" || true
echo "== $scheme, $([ "$untraced" = 1 ] && echo untraced || echo "tattle ${extra[*]}"): $(awk '/Requests\/sec/ {print $2}' "$dir/wrk.txt") requests/s"
echo "== share of all samples by process and object"
# "|| true": head leaves before perf has written all, and under pipefail perf's SIGPIPE would end the script here.
perf report -i "$dir/perf.data" --no-children -g none --sort comm,dso --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -15 || true
echo "== nginx's kernel samples: top symbols"
perf report -i "$dir/perf.data" --no-children -g none --comms nginx --dsos '[kernel.kallsyms]' --sort sym --stdio 2>/dev/null \
  | grep -E '^ +[0-9]' | head -15 || true
if [ "$untraced" = 0 ]; then
  # Tattle's own stages (drain, decode, tracking, parsing, records, JSON): its symbols, every thread of the process.
  echo "== tattle's samples: top symbols (share of tattle's samples)"
  perf report -i "$dir/perf.data" --no-children -g none --comms tattle --sort sym --stdio --percentage relative 2>/dev/null \
    | grep -E '^ +[0-9]' | head -40 || true
fi
