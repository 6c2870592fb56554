#!/usr/bin/env bash
# Tattle tracing a DNS server under load: dnsmasq answering from a hosts file, pinned to CPU 0; dnsperf on CPU 1
# asking for A and AAAA records of a few names (as getaddrinfo does); the full trace attached to dnsmasq. Conditions
# are interleaved (A B A B ...), each SECS long:
#   bench/overhead/dns.sh [--reps 6] [--seconds 4] [--conditions "untraced tattle tattle-base"]
# tattle-base runs $TATTLE_BASELINE (another build's tattle) instead of this tree's. One line per run: the lookups a
# second dnsperf had answered, tattle's CPU per lookup, the dns records written against the lookups answered, and
# the events lost; then each condition's medians, and its lookups a second against the untraced runs'.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
reps=6 secs=4 conditions="untraced tattle tattle-base"
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps=$2; shift 2 ;;
    --seconds) secs=$2; shift 2 ;;
    --conditions) conditions=$2; shift 2 ;;
    *) echo "usage: $0 [--reps N] [--seconds S] [--conditions \"untraced tattle tattle-base\"]" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "bench/overhead/dns.sh: run as root" >&2; exit 2; }
"$root/scripts/install-missing.sh" dnsmasq dnsperf
"$root/tattle" --version >/dev/null
tattle="$root/out/tattle/tattle"
case " $conditions " in *" tattle-base "*) [ -x "${TATTLE_BASELINE:-}" ] || { echo "tattle-base needs TATTLE_BASELINE=path/to/tattle" >&2; exit 2; } ;; esac

dir=$(mktemp -d /tmp/tattle-dns.XXXXXX)
port=5399
: > "$dir/hosts"
: > "$dir/queries"
for i in 1 2 3 4; do
  echo "10.1.2.$i svc$i.example.test" >> "$dir/hosts"
  echo "2001:db8::$i svc$i.example.test" >> "$dir/hosts"
  printf 'svc%s.example.test A\nsvc%s.example.test AAAA\n' "$i" "$i" >> "$dir/queries"
done
# Answers from the hosts file only, with a fixed TTL; no upstream, no cache to warm.
taskset -c 0 dnsmasq --keep-in-foreground --no-resolv --no-hosts --addn-hosts="$dir/hosts" --local-ttl=300 \
  --port="$port" --listen-address=127.0.0.1 --bind-interfaces --user=root --pid-file="$dir/pid" 2>"$dir/dnsmasq.err" &
dnsmasq_pid=$!
tracer=""
cleanup() { [ -n "$tracer" ] && kill -TERM "$tracer" 2>/dev/null; kill "$dnsmasq_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
for _ in $(seq 50); do
  dig +short -p "$port" @127.0.0.1 svc1.example.test A 2>/dev/null | grep -q 10.1.2.1 && break
  sleep 0.1
done

echo "# bench/overhead/dns.sh --reps $reps --seconds $secs --conditions \"$conditions\", $(date -u +%Y-%m-%dT%H:%M:%SZ), build $(git -C "$root" rev-parse --short HEAD)${TATTLE_BASELINE:+, baseline $TATTLE_BASELINE}"
results="$dir/results"
for rep in $(seq "$reps"); do
  for c in $conditions; do
    rm -f "$dir/t.jsonl"
    tracer=""
    case "$c" in
      untraced) ;;
      tattle|tattle-base)
        bin=$tattle
        [ "$c" = tattle-base ] && bin=$TATTLE_BASELINE
        "$bin" attach -p "$dnsmasq_pid" -q --json "$dir/t.jsonl" 2>"$dir/t.err" &
        tracer=$!
        for _ in $(seq 100); do grep -q '"process.start"' "$dir/t.jsonl" 2>/dev/null && break; sleep 0.05; done ;;
      *) echo "unknown condition $c (untraced, tattle, tattle-base)" >&2; exit 2 ;;
    esac
    t0=0
    [ -n "$tracer" ] && t0=$(awk '{print $14 + $15}' "/proc/$tracer/stat")
    taskset -c 1 dnsperf -s 127.0.0.1 -p "$port" -d "$dir/queries" -l "$secs" -c 1 -q 64 > "$dir/perf.txt" 2>&1
    answered=$(awk '/Queries completed:/ {print $3}' "$dir/perf.txt")
    qps=$(awk '/Queries per second:/ {print $4}' "$dir/perf.txt")
    cpu_ns=0 records=0 lost=0
    if [ -n "$tracer" ]; then
      ticks=$(( $(awk '{print $14 + $15}' "/proc/$tracer/stat") - t0 ))
      kill -TERM "$tracer"
      wait "$tracer" || true
      tracer=""
      cpu_ns=$(( ticks * 10000000 / answered ))
      records=$(grep '"type":"dns"' "$dir/t.jsonl" | grep -vc '"rcode":null' || true)
      lost=$(grep '"type":"summary"' "$dir/t.jsonl" | grep -o '"lost":[0-9]*' | cut -d: -f2 || echo 0)
    fi
    echo "rep $rep $c lookups/s $qps answered $answered cpu_ns_per_lookup $cpu_ns dns_records $records lost ${lost:-0}" | tee -a "$results"
  done
done
echo "condition median_lookups/s ratio median_cpu_ns_per_lookup (of $reps)"
awk '{ q[$3] = q[$3] " " $5; n[$3] = n[$3] " " $9 }
  function median(s,   a, k) { k = split(s, a, " "); asort(a); return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2 }
  END { base = median(q["untraced"]); for (c in q) printf "%s %.0f %.2f %.0f\n", c, median(q[c]), base ? median(q[c]) / base : 0, median(n[c]) }' "$results" | sort
