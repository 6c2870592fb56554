#!/usr/bin/env bash
# What a trace makes the CPUs do besides running programs: interrupts and MSR writes (the timer's deadline, IPIs) per
# CPU and task, counted by bpftrace while wrk loads the benchmark's nginx, traced or not. Run as root:
#   bench/overhead/interrupts.sh [--seconds 5] [TRACER [ARGS...]]
# TRACER is run as `TRACER attach -p WORKER -q --json FILE` (a tattle binary, or a wrapper that sets its options);
# without one, nginx runs untraced. MSR 0x6e0 (1760) is the TSC deadline (a timer armed), 0x830 (2096) the x2APIC
# ICR (an IPI to another CPU), 0x83f (2111) the x2APIC self-IPI (what irq_work raises, e.g. a ring buffer's wake-up).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bench/nginx-site.sh
. "$here/../nginx-site.sh"
secs=5
if [ "${1:-}" = --seconds ]; then secs=$2; shift 2; fi
[ "$(id -u)" = 0 ] || { echo "bench/overhead/interrupts.sh: run as root" >&2; exit 2; }
for p in nginx wrk bpftrace; do
  command -v "$p" >/dev/null || { echo "bench/overhead/interrupts.sh: needs $p (apt-get install $p)" >&2; exit 2; }
done
dir=$(mktemp -d /tmp/tattle-interrupts.XXXXXX)
mkdir -p "$dir/www"
head -c 612 /dev/zero | tr '\0' 'x' > "$dir/www/index.html"
nginx_site "$dir" off "listen 127.0.0.1:18092; root $dir/www;"
nginx -c "$dir/nginx.conf" &
nginx_pid=$!
tracer="" wrk_pid=""
cleanup() {
  [ -n "$tracer" ] && kill -TERM "$tracer" 2>/dev/null
  [ -n "$wrk_pid" ] && kill "$wrk_pid" 2>/dev/null
  kill "$nginx_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT
nginx_worker "$dir"
if [ $# -gt 0 ]; then
  "$@" attach -p "$worker" -q --json "$dir/t.jsonl" 2>"$dir/t.err" &
  tracer=$!
  trace_started "$dir/t.jsonl"
fi
sleep 1
load_started "http://127.0.0.1:18092/index.html" "$secs" "$dir/wrk.txt"
echo "== ${*:-untraced}: counts over $secs s (cpu, msr, task)"
timeout -s INT "$secs" bpftrace -q -e '
tracepoint:irq_vectors:irq_work_entry { @irq_work[cpu, comm] = count(); }
tracepoint:irq_vectors:reschedule_entry { @reschedule[cpu] = count(); }
tracepoint:irq_vectors:local_timer_entry { @timer[cpu] = count(); }
tracepoint:irq_vectors:call_function_single_entry { @call_function_single[cpu] = count(); }
tracepoint:msr:write_msr { @msr[cpu, args->msr, comm] = count(); }' 2>&1 \
  | grep -E '^@' | sort -t: -k2 -n -r | head -20 || true
wait "$wrk_pid" || true
wrk_pid=""
echo "wrk: $(awk '/Requests\/sec/ {print $2}' "$dir/wrk.txt") requests/s over $((secs + 2)) s"
