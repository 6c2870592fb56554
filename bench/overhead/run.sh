#!/usr/bin/env bash
# The overhead benchmark: nginx serving a small file over HTTP/1.1 keep-alive under wrk, untraced and traced,
# conditions interleaved (A B C A B C ...) so every one sees the same machine. Run as root:
#   bench/overhead/run.sh [--reps 5] [--seconds 5] [--rate 2000] [--page-bytes 612] [--bpf-stats] [--service-time] [--stages] [--awake] [--conditions "untraced tattle ..."]
# --page-bytes sets the size of the file served (612 bytes, nginx's own index.html, by default): large pages show
# what copying bodies costs, against tattle-nosys-snap64 (the head of each payload copied, the rest counted).
# tattle: attach with payload capture, HTTP parsing, JSON Lines to a file (payloads from the socket layer, programs on
# the per-call tracepoints of close, connect... where the kernel has them); tattle-raw*: the same with --raw-syscalls
# (programs on every syscall, raw sys_enter/sys_exit); tattle-pcap: the same plus -w;
# tattle-capture: -w --no-payload (packets and their owners, the job tcpdump -w does: no syscall payloads);
# tattle-packets: -w --packets-only, no syscall tracepoints at all (TCP connections learnt from their state changes);
# tattle-light: --no-payload alone, which isolates what tracing syscalls costs the traced program;
# tattle-noparse: payloads copied by the kernel and read by tattle, but not parsed (--no-parse): the kernel's share;
# bpftrace: a bpftrace script copying the first 64 bytes of every recv and writev of the worker.
# floor: empty programs on raw_tp sys_enter/sys_exit (bench/overhead/floor): what any syscall tracer costs on a
# kernel without kprobes or fentry before it does anything. floor-events: empty programs on the per-syscall
# tracepoints of connect, bind, close, accept and sendmmsg/recvmmsg only (bench/overhead/floor/events.bpf.c).
# floor-default: empty programs on every point the default trace attaches to from 6.3: the socket layer's payload
# tracepoints, the per-call syscall tracepoints, TCP states and process events (bench/overhead/floor/default.bpf.c).
# floor-nosys: the same without the syscall tracepoints, the points --no-syscalls attaches to (floor/nosys.bpf.c).
# burn-N and burn-idle trace nothing: beside the untraced server they run work that is not tracing
# (bench/overhead/burn: memory copies), burn-N for N % of a CPU at normal priority on either CPU, as tattle runs,
# burn-idle on wrk's CPU under SCHED_IDLE, where it takes only time that CPU would spend idle. They tell what any
# work on this machine's CPUs costs the server from what tattle's costs it. burn-N-even (e.g. burn-2-even: 200 us
# of every 10 ms) is burn-N beside the untraced server under the even pace below: what any process that takes
# tattle's share of a CPU at a light load, in bursts like its drains, adds to a paced request's latency. A -cpu0 or
# -cpu1 suffix pins the burner to that CPU (burn-10-cpu1: wrk's): which of the two processes its time is taken from.
# -pM before it sets the period to M us instead of 10 000 (burn-10-p1000: 100 us of every 1 ms): how long a burst is.
# The -https conditions run the same over TLS (nginx's second port, self-signed): tattle-https reads the plaintext
# through its uprobes on libssl; bpftrace-https merely counts SSL_read/SSL_write calls with per-pid uprobes.
# The -h2 conditions serve the same file with nghttpd (HTTP/2 over clear text, one worker pinned to CPU 0) under
# h2load -c16 -m8 (16 connections, 8 concurrent streams each); tattle-h2 attaches to nghttpd and parses every
# stream (HPACK, frames); its completeness is http records of version 2 against the streams h2load started (those
# still open when h2load stops are reported too, truncated).
# The -go conditions serve the same file over HTTPS from a Go server (go-server/, Go's own crypto/tls, GOMAXPROCS=1,
# pinned to CPU 0) under wrk; tattle-go attaches to it and reads the plaintext through its Go probes; completeness
# is http records against the requests wrk completed.
# tattle-base (and tattle-base-X for any tattle-X: tattle-base-https, tattle-base-nosys, tattle-base-nosys-stats) is the
# tattle (tattle-X) condition with another build ($TATTLE_BASELINE, e.g. the previous commit's
# out/tattle/tattle), interleaved with the current one, so a change's cost is measured on the same machine state.
# tattle-nosys (and tattle-nosys-https, tattle-nosys-noparse) is the tattle (tattle-https, tattle-noparse) condition
# with --no-syscalls: payloads from the socket layer's sock_send_length/sock_recv_length tracepoints, no program on
# the syscall tracepoints, so only socket calls pay for tracing.
# tattle-nosys-light is --no-syscalls --no-payload (connections and byte counts from the socket layer, nothing
# copied); tattle-nosys-snap64 copies only the first 64 bytes of each payload (--snaplen 64): with --bpf-stats, what
# copying the bytes costs in the kernel against what each record costs whatever its size.
# tattle-copy and tattle-nosys-copy add --copy-bodies: every body byte copied (up to the snap length), where by default
# the kernel counts the rest of a long body once the parser has read its head; with large --page-bytes, what that saves.
# tattle-devnull is the full trace writing its JSON Lines to /dev/null: every record built and formatted, none
# written to a file, so its CPU per request less tattle's is what writing the file costs tattle (the page cache and
# the file system's work in the write call); its lost count comes from the summary on standard error, and it has no
# completeness. Every condition also prints the CPU of the kernel's own threads per request (kthr us/req: writeback
# of the records to the disk, ksoftirqd...), which no tracer's CPU includes.
# tattle-stats and tattle-nosys-stats add --stats: parsed and counted per endpoint and route, no record per request.
# tattle-nosys-kstats is --no-syscalls --stats-in-kernel: HTTP/1 counted by the kernel programs, no payload copied;
# tattle-kstats is --stats-in-kernel on the default path (the per-call syscall tracepoints attached as well).
# tattle-khttp is --http-in-kernel: HTTP/1 read by the kernel programs as tattle-kstats, one http record per request
# written from what they kept (method, path, Host, status, latency, bytes); tattle-nosys-khttp adds --no-syscalls.
# tattle-live is the tattle condition with the live view on (to a file, -o, instead of -q) at its default --live-rate;
# tattle-live-all shows every line (--live-rate 0): what the view costs under load, sampled and whole.
# tattle-fallback (and tattle-fallback-https) is the tattle (tattle-https) condition on the fallback build of the
# kernel programs (--bpf-variant fallback: raw tracepoints, bpf_probe_read_kernel, a hash for calls in flight), the
# one kernels 5.17-6.1 load.
# tattle-agent: `tattle agent --comm nginx` at its default depth (protocols) serving /metrics, no JSON; its
# completeness is http.server.request.duration's count scraped just before it stops, and its resident size is
# printed. tattle-agent-otlp adds a span per request exported over OTLP http/protobuf to a local sink that accepts
# and discards them: its CPU per request less tattle-agent's is the export's cost per span. tattle-base-agent and
# tattle-base-agent-otlp are the same with $TATTLE_BASELINE. tattle-agent-khttp and tattle-agent-otlp-khttp add
# --http-in-kernel: HTTP/1 read by the kernel programs, a record (and a span) per request from what they kept.
# The -paced conditions send a fixed rate (--rate requests/s, wrk's delay hook) instead of saturating: latency
# and CPU per request at a load a service actually runs at. floor-paced, floor-default-paced, tattle-nosys-paced, tattle-noparse-paced,
# tattle-light-paced, tattle-khttp-paced and tattle-nosys-khttp-paced are those conditions paced; tattle-idle-paced runs the full trace under SCHED_IDLE (chrt -i), so
# its own process never delays a runnable nginx or wrk: what remains of the latency it adds is the kernel side.
# The -even conditions send the same rate evenly: bench/overhead/pace (pace.c) sends one request every 1/rate s on
# the next idle connection of 16, by an absolute timer. wrk's delay hook times each connection in whole
# milliseconds and sends every request then due at once: bursts of about six at 2 000 req/s, the last of which waits
# for nginx to answer the others first. untraced-even, tattle-even, tattle-nosys-khttp-even and floor-default-even
# are the -even twins, burn-N-even is burn-N under it; --service-time and --stages time them too.
# --service-time measures, in every -paced and -even condition, nginx's own time per request with bpftrace: from the worker's
# entry into the recvfrom that returns a request to the return of the writev that sends its response. It is the part
# of the latency where tattle's work lands (its programs in those calls, its threads preempting the worker), without
# the waits around it (the idle vCPUs' wake-ups, wrk) that move wrk's percentiles by milliseconds here. The same
# bpftrace runs beside every condition, untraced too; its per-microsecond counts are the "service" lines.
# --stages (implies --service-time) splits each paced request as its sockets see it, with the same bpftrace: from
# the client's (wrk's or pace's) send of the request to nginx's receive of it ("reach": nginx's wake-up, its
# epoll_wait and the call into recvfrom), from that receive to nginx's send of the response ("work"), from that send
# to the client's receive of it ("back": the client's wake-up and its read), and the client's send to its receive
# ("exchange"). Each point is the socket layer's sock_send_length/sock_recv_length tracepoint, which fires after the
# call moved its bytes; the two ends of a connection are matched by the client's port. tattle's own programs on those tracepoints run before bpftrace's (they
# attach first), so their time on nginx's receive counts in "reach", on nginx's send in "work". The stages are the
# "stage" lines, per microsecond. On loopback the response reaches the client inside nginx's send, so the client can
# read it before nginx's tracepoint fires: such a request has no "back" (1 % of them with the full trace, whose
# program on that tracepoint runs first), but its "exchange" counts.
# --awake keeps both CPUs from idling for the whole run: a shell loop on each under SCHED_IDLE, which any other task
# preempts at once. An idle vCPU here halts, and its wake-up sets a paced request's latency more than its work does.
# --bpf-stats turns on the kernel's BPF run-time statistics (kernel.bpf_stats_enabled, restored at the end) and adds
# the CPU the tracer's kernel programs spent per request while the load ran (run_time_ns of every program whose fd
# the tracer holds, from /proc/PID/fdinfo). The statistics cost two clock reads per program run: compare ratios
# from runs without it.
# nginx's single worker is pinned to CPU 0, wrk to CPU 1; tracers float. Prints one row per condition (median
# requests/s, p50/p99 latency, ratio to untraced, the tracer's CPU per request while the load ran, completeness
# against nginx's access log, lost events, and the tracer's CPU to start: loading the kernel programs, before the
# load, which figures measured before 2026-12-02 19:00 UTC counted in the CPU per request) and ends with a
# machine-readable line.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=bench/nginx-site.sh
. "$here/../nginx-site.sh"
# shellcheck source=bench/overhead/awake.sh
. "$here/awake.sh"
all="untraced tattle tattle-raw tattle-raw-stats tattle-live tattle-live-all tattle-nosys tattle-nosys-noparse tattle-nosys-snap64 tattle-nosys-light tattle-copy tattle-nosys-copy tattle-stats tattle-nosys-stats tattle-nosys-kstats tattle-kstats tattle-khttp tattle-nosys-khttp tattle-fallback tattle-agent tattle-agent-otlp tattle-agent-khttp tattle-agent-otlp-khttp tattle-pcap tattle-capture tattle-packets tattle-light tattle-noparse floor floor-events floor-default floor-nosys burn-10 burn-10-cpu0 burn-10-cpu1 burn-10-p1000 burn-idle tcpdump strace bpftrace untraced-https tattle-https tattle-raw-https tattle-nosys-https tattle-fallback-https bpftrace-https untraced-paced tattle-paced tattle-raw-paced tattle-idle-paced tattle-nosys-paced tattle-noparse-paced tattle-light-paced tattle-khttp-paced tattle-nosys-khttp-paced floor-paced floor-default-paced untraced-even tattle-even tattle-nosys-khttp-even floor-default-even burn-2-even burn-1-even untraced-h2 tattle-h2 untraced-go tattle-go"
reps=5 secs=5 rate=2000 page_bytes=612 conditions="$all" bpf_stats=0 service_time=0 stages=0 awake=0
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps=$2; shift 2 ;;
    --seconds) secs=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --page-bytes) page_bytes=$2; shift 2 ;;
    --conditions) conditions=$2; shift 2 ;;
    --bpf-stats) bpf_stats=1; shift ;;
    --service-time) service_time=1; shift ;;
    --stages) service_time=1 stages=1; shift ;;
    --awake) awake=1; shift ;;
    *) echo "usage: $0 [--reps N] [--seconds S] [--rate R] [--page-bytes N] [--bpf-stats] [--service-time] [--stages] [--awake] [--conditions \"$all\"]" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "bench/overhead: run as root (tracing loads BPF programs)" >&2; exit 2; }
needs=(nginx wrk tcpdump strace bpftrace openssl nghttpd:nghttp2-server h2load:nghttp2-client)
case " $conditions " in *-go" "*) needs+=(go:golang-go) ;; esac
"$root/scripts/install-missing.sh" "${needs[@]}"
# bpftrace 0.17 finds tracepoints through tracefs, which a minimal machine may not have mounted.
mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true
mountpoint -q /sys/kernel/debug || mount -t debugfs nodev /sys/kernel/debug 2>/dev/null || true
build_floor() { # the floor condition's loader and programs (clang and libbpf-dev come with tattle's build)
  clang -O2 -g -target bpf -I"/usr/include/$(uname -m)-linux-gnu" -c "$here/floor/floor.bpf.c" -o "$dir/floor.bpf.o"
  clang -O2 -g -target bpf -I"/usr/include/$(uname -m)-linux-gnu" -c "$here/floor/events.bpf.c" -o "$dir/events.bpf.o"
  clang -O2 -g -target bpf -I"/usr/include/$(uname -m)-linux-gnu" -c "$here/floor/default.bpf.c" -o "$dir/default.bpf.o"
  clang -O2 -g -target bpf -I"/usr/include/$(uname -m)-linux-gnu" -c "$here/floor/nosys.bpf.c" -o "$dir/nosys.bpf.o"
  cc -O2 "$here/floor/floor.c" -o "$dir/floor" -lbpf
}
"$root/tattle" sockets -n -p $$ >/dev/null   # builds the native tool once, outside the timings
tattle="$root/out/tattle/tattle"

dir=$(mktemp -d /tmp/tattle-overhead.XXXXXX)
port=18080 tls_port=18443 h2_port=18082 go_port=18444
mkdir -p "$dir/www"
head -c "$page_bytes" /dev/zero | tr '\0' 'x' > "$dir/www/index.html"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
# wrk paces each connection with the delay hook: 16 connections at rate/16 requests/s each. Its done hook prints
# the run's latency quantiles from the median up (microseconds), so paired.py can pool the repetitions.
cat > "$dir/paced.lua" <<LUA
function delay() return 16000 / $rate end
function done(summary, latency, requests)
  local q = {}
  for i = 0, 97 do q[#q + 1] = 50 + i * 0.5 end
  for i = 0, 9 do q[#q + 1] = 99 + i * 0.1 end
  for i = 0, 9 do q[#q + 1] = 99.9 + i * 0.01 end
  local v = {}
  for _, p in ipairs(q) do v[#v + 1] = string.format("%g:%d", p, latency:percentile(p)) end
  io.write("quantiles " .. summary.requests .. " " .. table.concat(v, ",") .. "\n")
end
LUA
nginx_site "$dir" "$dir/access.log" "listen 127.0.0.1:$port; root $dir/www;" \
  "listen 127.0.0.1:$tls_port ssl; ssl_certificate $dir/cert.pem; ssl_certificate_key $dir/key.pem; root $dir/www;"
nginx -c "$dir/nginx.conf" &
nginx_pid=$!
taskset -c 0 nghttpd --no-tls -n 1 -d "$dir/www" "$h2_port" >/dev/null 2>&1 &
h2_pid=$!
go_pid=""
case " $conditions " in
  *-go" "*)
    (cd "$here/go-server" && GOCACHE=/tmp/tattle-go-cache GOPATH=/tmp/tattle-go-path GOPROXY=off GOFLAGS='' go build -o "$dir/goserver" .)
    GOMAXPROCS=1 taskset -c 0 "$dir/goserver" "127.0.0.1:$go_port" "$dir/cert.pem" "$dir/key.pem" "$dir/www" >/dev/null 2>&1 &
    go_pid=$! ;;
esac
sink_pid=""
spin_pids=()
[ "$awake" = 1 ] && keep_cpus_awake
stats_before=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
  kill "$nginx_pid" "$h2_pid" $go_pid $sink_pid "${spin_pids[@]}" 2>/dev/null; wait "$nginx_pid" "$h2_pid" $go_pid $sink_pid "${spin_pids[@]}" 2>/dev/null || true; rm -rf "$dir"
  sysctl -q kernel.bpf_stats_enabled="$stats_before"
}
trap cleanup EXIT
[ "$bpf_stats" = 1 ] && sysctl -q kernel.bpf_stats_enabled=1
nginx_worker "$dir"
url="http://127.0.0.1:$port/index.html"
tls_url="https://127.0.0.1:$tls_port/index.html"
h2_url="http://127.0.0.1:$h2_port/index.html"
go_url="https://127.0.0.1:$go_port/index.html"
[ -n "$go_pid" ] && taskset -c 1 wrk -t1 -c16 -d1s "$go_url" >/dev/null
taskset -c 1 wrk -t1 -c16 -d1s "$url" >/dev/null   # warm-up
taskset -c 1 wrk -t1 -c16 -d1s "$tls_url" >/dev/null
libssl=$(awk '/libssl\.so/ {print $6; exit}' "/proc/$worker/maps")
case " $conditions " in *" floor"*) build_floor ;; esac
case " $conditions " in *-even" "*) cc -O2 "$here/pace/pace.c" -o "$dir/pace" ;; esac
case " $conditions " in *" burn-"*) cc -O2 "$here/burn/burn.c" -o "$dir/burn" ;; esac

agent_port=19465 sink_port=19466
case " $conditions " in *" tattle-agent-otlp "*|*" tattle-agent-otlp-khttp "*|*" tattle-base-agent-otlp "*)
  # An OTLP http/protobuf sink that accepts and discards: the agent's export cost without a collector's.
  /usr/bin/python3 "$root/bench/agent/otlp-sink.py" "$sink_port" &
  sink_pid=$! ;;
esac

start_tracer() { # condition -> sets tracer_pid; waits until it is ready
  # A -paced or -even condition runs its unpaced twin's tracer: the pace is the load's, not the tracer's.
  local c=${1%-paced}; c=${c%-even}; tracer_pid=""
  rm -f "$dir/t.jsonl" "$dir/t.pcapng" "$dir/t.pcap" "$dir/t.err" "$dir/live.txt"
  case "$c" in
    untraced|untraced-https|untraced-h2|untraced-go) return ;;
    tattle-agent|tattle-agent-otlp|tattle-agent-khttp|tattle-agent-otlp-khttp|tattle-base-agent|tattle-base-agent-otlp)
      local o=() bin=$tattle
      [[ "$c" == *-otlp* ]] && o=(--otlp-endpoint "http://127.0.0.1:$sink_port" --otlp-protocol http/protobuf)
      [[ "$c" == *-khttp ]] && o+=(--http-in-kernel)
      [[ "$c" == tattle-base-* ]] && bin=${TATTLE_BASELINE:?$c needs TATTLE_BASELINE=path/to/tattle}
      "$bin" agent --comm nginx --listen "127.0.0.1:$agent_port" "${o[@]}" 2>"$dir/t.err" &
      tracer_pid=$!
      for _ in $(seq 200); do curl -sf "http://127.0.0.1:$agent_port/readyz" >/dev/null 2>&1 && break; sleep 0.05; done ;;
    tattle|tattle-live|tattle-live-all|tattle-base|tattle-base-*|tattle-nosys|tattle-nosys-https|tattle-nosys-noparse|tattle-stats|tattle-nosys-stats|tattle-nosys-kstats|tattle-kstats|tattle-khttp|tattle-nosys-khttp|tattle-fallback|tattle-fallback-https|tattle-pcap|tattle-capture|tattle-packets|tattle-light|tattle-noparse|tattle-devnull|tattle-https|tattle-idle|tattle-nosys-light|tattle-nosys-snap64|tattle-copy|tattle-nosys-copy|tattle-raw|tattle-raw-https|tattle-raw-stats|tattle-h2|tattle-go)
      # tattle-capture: what tcpdump does (packets to a file) plus each packet's process: the kernel side only
      # counts TCP payload bytes, so the records are the connections the attribution needs.
      local w=() as=$c
      [[ "$c" == tattle-base-* ]] && as=tattle-${c#tattle-base-}
      # Packets on lo, the interface tcpdump is given (on "any" every loopback packet reaches the ring twice).
      [ "$as" = tattle-pcap ] && w=(-w "$dir/t.pcapng" -i lo)
      [ "$as" = tattle-capture ] && w=(-w "$dir/t.pcapng" -i lo --no-payload)
      [ "$as" = tattle-packets ] && w=(-w "$dir/t.pcapng" -i lo --packets-only)
      [ "$as" = tattle-light ] && w=(--no-payload)
      [ "$as" = tattle-noparse ] && w=(--no-parse)
      case "$as" in tattle-fallback*) w=(--bpf-variant fallback) ;; tattle-nosys-noparse) w=(--no-syscalls --no-parse) ;; tattle-nosys-stats) w=(--no-syscalls --stats) ;; tattle-nosys-kstats) w=(--no-syscalls --stats-in-kernel) ;; tattle-kstats) w=(--stats-in-kernel) ;; tattle-khttp) w=(--http-in-kernel) ;; tattle-nosys-khttp) w=(--no-syscalls --http-in-kernel) ;;
        tattle-nosys-light) w=(--no-syscalls --no-payload) ;; tattle-nosys-snap64) w=(--no-syscalls --snaplen 64) ;;
        tattle-copy) w=(--copy-bodies) ;; tattle-nosys-copy) w=(--no-syscalls --copy-bodies) ;;
        tattle-raw-stats) w=(--raw-syscalls --stats) ;; tattle-raw*) w=(--raw-syscalls) ;;
        tattle-stats) w=(--stats) ;; tattle-nosys*) w=(--no-syscalls) ;; tattle-live-all) w=(--live-rate 0) ;; esac
      # tattle-idle: the tracer under SCHED_IDLE, which never delays a runnable nginx or wrk.
      local pre=()
      [ "$c" = tattle-idle ] && pre=(chrt -i 0)
      local json=$dir/t.jsonl
      [ "$c" = tattle-devnull ] && json=/dev/null
      local view=(-q)
      [[ "$c" == tattle-live* ]] && view=(-o "$dir/live.txt")
      local traced=$worker bin=$tattle
      [ "$as" = tattle-h2 ] && traced=$h2_pid
      [ "$as" = tattle-go ] && traced=$go_pid
      case "$c" in tattle-base*) bin=${TATTLE_BASELINE:?$c needs TATTLE_BASELINE=path/to/tattle} ;; esac
      "${pre[@]}" "$bin" attach -p "$traced" "${view[@]}" --json "$json" "${w[@]}" 2>"$dir/t.err" &
      tracer_pid=$!
      if [ "$json" = /dev/null ]; then
        sleep 2 # nothing to watch: the programs load in 1.1-1.6 s here
      else
        trace_started "$dir/t.jsonl"
      fi ;;
    burn-*)
      local burn=("$dir/burn" "${c#burn-}")
      [ "$c" = burn-idle ] && burn=(chrt -i 0 taskset -c 1 "$dir/burn" 100)
      [[ $c =~ -p([0-9]+)(-cpu[01])?$ ]] && burn+=("${BASH_REMATCH[1]}")
      case "$c" in *-cpu[01]) burn=(taskset -c "${c##*-cpu}" "${burn[@]}") ;; esac
      "${burn[@]}" > "$dir/t.err" 2>&1 &
      tracer_pid=$!
      for _ in $(seq 100); do grep -q ready "$dir/t.err" && break; sleep 0.05; done ;;
    floor|floor-events|floor-default|floor-nosys)
      local obj=floor.bpf.o
      [ "$c" = floor-events ] && obj=events.bpf.o
      [ "$c" = floor-default ] && obj=default.bpf.o
      [ "$c" = floor-nosys ] && obj=nosys.bpf.o
      "$dir/floor" "$dir/$obj" > "$dir/t.err" 2>&1 &
      tracer_pid=$!
      for _ in $(seq 100); do grep -q ready "$dir/t.err" && break; sleep 0.05; done ;;
    tcpdump)
      tcpdump -i lo -w "$dir/t.pcap" "tcp port $port" 2>"$dir/t.err" &
      tracer_pid=$!
      for _ in $(seq 100); do grep -q "listening on" "$dir/t.err" && break; sleep 0.05; done ;;
    strace)
      strace -f -qq -p "$worker" -o /dev/null 2>"$dir/t.err" &
      tracer_pid=$!
      sleep 0.5 ;;
    bpftrace)
      bpftrace -p "$worker" -e '
        tracepoint:syscalls:sys_enter_recvfrom /pid == '"$worker"'/ { @buf[tid] = args->ubuf; }
        tracepoint:syscalls:sys_exit_recvfrom /@buf[tid]/ { if (args->ret > 0) { printf("%d %r\n", args->ret, buf(@buf[tid], 64)); } delete(@buf[tid]); }
        tracepoint:syscalls:sys_enter_writev /pid == '"$worker"'/ { printf("%r\n", buf(((struct iovec *)args->vec)->iov_base, 64)); }' \
        >/dev/null 2>"$dir/t.err" &
      tracer_pid=$!
      sleep 3 ;;
    bpftrace-https)
      bpftrace -p "$worker" -e "uprobe:$libssl:SSL_read { @reads = count(); } uprobe:$libssl:SSL_write { @writes = count(); }" \
        >/dev/null 2>"$dir/t.err" &
      tracer_pid=$!
      sleep 3 ;;
  esac
}

bpf_run_ns() { # the run time of the tracer's kernel programs so far, in ns (each program once, however many fds)
  if [ -z "$tracer_pid" ] || [ "$bpf_stats" = 0 ]; then echo 0; return; fi
  awk 'FNR == 1 {id = ""} /^prog_id:/ {id = $2}
       /^run_time_ns:/ {if (id != "" && !(id in seen)) {seen[id] = 1; ns += $2}} END {printf "%d\n", ns}' \
    "/proc/$tracer_pid/fdinfo/"* 2>/dev/null || echo 0
}

kthread_ticks() { # "pid ticks" for each of the kernel's threads (kthreadd's children): the CPU they have used
  # The command name may hold spaces: the fields are counted from its closing parenthesis.
  for f in /proc/[0-9]*/stat; do
    { read -r line < "$f"; } 2>/dev/null || continue
    pid=${f#/proc/}
    echo "${pid%/stat} ${line##*) }"
  done | awk '$3 == 2 {print $1, $13 + $14}'
}

kthread_delta() { # kthread_ticks before, kthread_ticks after -> the ticks used between (threads that ended are left out)
  awk 'NR == FNR {t[$1] = $2; next} {s += $2 - ($1 in t ? t[$1] : 0)} END {print s + 0}' <(echo "$1") <(echo "$2")
}

tracer_ticks() { # the tracer's CPU so far, in clock ticks (0 untraced)
  if [ -z "$tracer_pid" ]; then echo 0; return; fi
  awk '{print $14 + $15}' "/proc/$tracer_pid/stat" 2>/dev/null || echo 0
}

stop_tracer() { # condition, ticks at the load's start -> prints "cpu_seconds http_records lost tls hits"
  local c=$1 t0=${2:-0}
  [ -z "$tracer_pid" ] && { echo "0 0 0 0"; return; }
  local ticks agent_http="" agent_lost="" rss=""
  if [[ "$c" == tattle-agent* || "$c" == tattle-base-agent* ]]; then
    sleep 0.3 # the last requests' events through the ring
    local m
    m=$(curl -s "http://127.0.0.1:$agent_port/metrics")
    agent_http=$(awk '/^http_server_request_duration_seconds_count/ {s += $NF} END {print s + 0}' <<<"$m")
    agent_lost=$(awk '/^tattle_events_lost_total/ {s += $NF} END {print s + 0}' <<<"$m")
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$tracer_pid/status")
  fi
  # CPU while the load ran: the start (loading the kernel programs, attaching) is its own column.
  ticks=$(( $(tracer_ticks) - t0 ))
  # SIGTERM, not SIGINT: a background job of a script starts with SIGINT ignored. This runs in a subshell
  # (the tracer is not its child), so wait for the pid to go away instead of using wait.
  kill -TERM "$tracer_pid" 2>/dev/null || true # (a tracer that failed to start is gone already)
  for _ in $(seq 600); do
    state=$(awk '{print $3}' "/proc/$tracer_pid/stat" 2>/dev/null || echo gone)
    [ "$state" = gone ] || [ "$state" = Z ] && break
    sleep 0.05
  done
  local http=0 lost=0 tls=0 hits=0
  if [ -f "$dir/t.jsonl" ]; then
    http=$(grep -c '"type":"http"' "$dir/t.jsonl" || true)
    [[ "$c" == *-h2 ]] && http=$(grep '"type":"http"' "$dir/t.jsonl" | grep -c '"version":"2"' || true)
    # --stats writes no http records: the requests its routes counted stand for them.
    [[ "$c" == *-stats || "$c" == *-kstats ]] && http=$(grep '"type":"summary"' "$dir/t.jsonl" | /usr/bin/python3 -c \
      'import json, sys; print(sum(r["requests"] for l in sys.stdin for r in json.loads(l).get("routes") or []))' || echo 0)
    lost=$(grep '"type":"summary"' "$dir/t.jsonl" | grep -o '"lost":[0-9]*' | cut -d: -f2 || echo 0)
    tls=$(grep '"type":"summary"' "$dir/t.jsonl" | grep -o '"calls":[0-9]*' | cut -d: -f2 || echo 0)
    hits=$(grep '"type":"summary"' "$dir/t.jsonl" | grep -o '"probe_hits":[0-9]*' | cut -d: -f2 || echo 0)
  fi
  if [[ "$c" == tattle-agent* || "$c" == tattle-base-agent* ]]; then
    http=$agent_http lost=$agent_lost
    echo "  $c: rss $((rss / 1024)) MiB; $(grep -o 'spans_exported=[0-9]* spans_dropped=[0-9]*' "$dir/t.err" || echo 'no stop line')" >&2
  fi
  # Written to /dev/null: the summary table on standard error still counts what was lost.
  [ "$c" = tattle-devnull ] && lost=$( (grep -o '[0-9]* lost' "$dir/t.err" || true) | awk '{s += $1} END {print s + 0}')
  # bpftrace says "Lost N events" when its perf buffer overflowed.
  if [ "$c" = bpftrace ]; then lost=$( (grep -o 'Lost [0-9]*' "$dir/t.err" || true) | awk '{s += $2} END {print s + 0}'); fi
  echo "$(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.3f", t/hz}') $http ${lost:-0} ${tls:-0} ${hits:-0}"
}

results="$dir/results.tsv"
: > "$results"
for rep in $(seq "$reps"); do
  for c in $conditions; do
    start_tracer "$c"
    t0=$(tracer_ticks) b0=$(bpf_run_ns) k0=$(kthread_ticks)
    start_cpu=$(awk -v t="$t0" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.3f", t/hz}')
    before=$(wc -l < "$dir/access.log")
    target=$url pace=()
    case "$c" in *-https) target=$tls_url ;; *-paced) pace=(-s "$dir/paced.lua") ;; *-go) target=$go_url ;; esac
    svc_pid=""
    client=wrk
    [[ "$c" == *-even ]] && client=pace
    if [ "$service_time" = 1 ] && [[ "$c" == *-paced || "$c" == *-even ]]; then
      split="" split_end=""
      # The client's port keys a connection: its own socket's local port, nginx's socket's remote one (network order).
      # shellcheck disable=SC2016 # bpftrace's own $variables
      [ "$stages" = 1 ] && split='
        tracepoint:sock:sock_send_length /comm == "'"$client"'" && args->ret > 0/ {
          $k = ((struct sock *)args->sk)->__sk_common.skc_num; @sent[$k] = nsecs; @asked[$k] = nsecs; }
        tracepoint:sock:sock_recv_length /pid == '"$worker"' && args->ret > 0/ {
          $p = ((struct sock *)args->sk)->__sk_common.skc_dport; $k = (($p & 0xff) << 8) | ($p >> 8);
          if (@sent[$k]) { @reach[(nsecs - @sent[$k]) / 1000] = count(); @got[$k] = nsecs; delete(@sent[$k]); } }
        tracepoint:sock:sock_send_length /pid == '"$worker"' && args->ret > 0/ {
          $p = ((struct sock *)args->sk)->__sk_common.skc_dport; $k = (($p & 0xff) << 8) | ($p >> 8);
          if (@got[$k]) { @work[(nsecs - @got[$k]) / 1000] = count(); delete(@got[$k]);
            if (@asked[$k]) { @answered[$k] = nsecs; } } }
        tracepoint:sock:sock_recv_length /comm == "'"$client"'" && args->ret > 0/ {
          $k = ((struct sock *)args->sk)->__sk_common.skc_num;
          if (@asked[$k]) { @exchange[(nsecs - @asked[$k]) / 1000] = count(); delete(@asked[$k]); }
          if (@answered[$k]) { @back[(nsecs - @answered[$k]) / 1000] = count(); delete(@answered[$k]); } }'
      [ "$stages" = 1 ] && split_end=" clear(@sent); clear(@got); clear(@answered); clear(@asked);"
      bpftrace -e '
        tracepoint:syscalls:sys_enter_recvfrom /pid == '"$worker"'/ { @entered[tid] = nsecs; }
        tracepoint:syscalls:sys_exit_recvfrom /pid == '"$worker"'/ { if (args->ret > 0) { @start[tid] = @entered[tid]; } delete(@entered[tid]); }
        tracepoint:syscalls:sys_exit_writev /pid == '"$worker"' && @start[tid]/ { @us[(nsecs - @start[tid]) / 1000] = count(); delete(@start[tid]); }'"$split"'
        END { clear(@entered); clear(@start);'"$split_end"' }' > "$dir/svc.txt" 2>&1 &
      svc_pid=$!
      for _ in $(seq 100); do grep -q Attaching "$dir/svc.txt" 2>/dev/null && break; sleep 0.1; done
      sleep 0.5
    fi
    if [[ "$c" == *-h2 ]]; then
      # h2load's summary as wrk's lines, so one parser reads both; requests that succeeded stand for the log.
      h2=$(taskset -c 1 h2load -t1 -c16 -m8 -D"$secs" "$h2_url" 2>&1)
      out=$(awk '/^finished in/ {gsub(",", "", $4); print "Requests/sec: " $4}
                 END {print "50% nan"; print "99% nan"}' <<<"$h2")  # h2load gives no percentiles
      done_reqs=$(awk '/^requests:/ {print $4}' <<<"$h2")  # started: each started stream makes a record
      after=$((before + ${done_reqs:-0}))
    elif [[ "$c" == *-even ]]; then
      out=$(taskset -c 1 "$dir/pace" 127.0.0.1 "$port" /index.html "$rate" "$secs" 16)
      after=$(wc -l < "$dir/access.log")
    else
      out=$(taskset -c 1 wrk -t1 -c16 -d"${secs}s" --latency "${pace[@]}" "$target")
      after=$(wc -l < "$dir/access.log")
      # The Go server keeps no log: the requests wrk completed stand for it.
      [[ "$c" == *-go ]] && after=$((before + $(awk '/requests in/ {print $1}' <<<"$out")))
    fi
    if [ -n "$svc_pid" ]; then
      # bpftrace 0.17 sometimes hangs after SIGINT here; SIGTERM then prints its maps and ends it.
      kill -INT "$svc_pid"
      for _ in $(seq 50); do kill -0 "$svc_pid" 2>/dev/null || break; sleep 0.1; done
      kill -TERM "$svc_pid" 2>/dev/null || true
      wait "$svc_pid" || true
    fi
    bpf_ns=$(( $(bpf_run_ns) - b0 )) kthr=$(kthread_delta "$k0" "$(kthread_ticks)")
    read -r cpu http lost tls hits < <(stop_tracer "$c" "$t0")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1=="50%" {print $2}' <<<"$out")
    p99=$(awk '$1=="99%" {print $2}' <<<"$out")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$rps" "$p50" "$p99" "$((after - before))" "$cpu" "$http" "$lost" "$tls" "$hits" "$start_cpu" "$bpf_ns" "$kthr" >> "$results"
    printf 'rep %d %-14s %10s req/s  p50 %-8s p99 %-8s  log %d  tracer cpu %ss (start %ss)  http %s  lost %s  tls calls %s  probe hits %s  bpf %s ns  kthreads %s ticks\n' \
      "$rep" "$c" "$rps" "$p50" "$p99" "$((after - before))" "$cpu" "$start_cpu" "$http" "$lost" "$tls" "$hits" "$bpf_ns" "$kthr" >&2
    [[ "$c" == *-even ]] && sed -nE "s/^ *([0-9]+ requests in .*)/client $rep $c \1/p" <<<"$out" >&2
    if [[ "$c" == *-paced || "$c" == *-even ]]; then awk -v r="$rep" -v c="$c" '$1=="quantiles" {print "quantiles " r " " c " " $2 " " $3}' <<<"$out" >&2; fi
    if [ -n "$svc_pid" ]; then
      sed -nE 's/^@us\[([0-9]+)\]: ([0-9]+)$/\1:\2/p' "$dir/svc.txt" | paste -sd, | sed "s/^/service $rep $c /" >&2
      if [ "$stages" = 1 ]; then
        for stage in reach work back exchange; do
          sed -nE "s/^@$stage\\[([0-9]+)\\]: ([0-9]+)\$/\\1:\\2/p" "$dir/svc.txt" | paste -sd, | sed "s/^/stage $rep $c $stage /" >&2
        done
      fi
    fi
  done
done

PYTHONPATH="$here" python3 - "$results" "$conditions" "$(getconf CLK_TCK)" <<'PY'
import statistics, sys
from conditions import baseline
hz = int(sys.argv[3])
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
conds = sys.argv[2].split()
def ms(v):
    v = v.strip()
    for unit, f in (("us", 1e-3), ("ms", 1.0), ("s", 1e3)):
        if v.endswith(unit):
            return float(v[:-len(unit)]) * f
    return float("nan")
by = {c: [r for r in rows if r[0] == c] for c in conds}
def base_of(c):
    # Each condition against the untraced run of its own workload.
    b = baseline(c)
    return statistics.median(float(r[1]) for r in by[b]) if by.get(b) else float("nan")
print(f"{'condition':15} {'req/s':>10} {'ratio':>6} {'p50 ms':>8} {'p99 ms':>8} {'cpu/req us':>10} {'complete':>9} {'lost':>6} {'tls calls/req':>13} {'hits/req':>8} {'start s':>7} {'bpf us/req':>10} {'kthr us/req':>11}")
ratios, complete, lost, traps, hits = {}, {}, {}, {}, {}
for c in conds:
    rs = by[c]
    rps = statistics.median(float(r[1]) for r in rs)
    ratios[c] = rps / base_of(c)
    reqs = sum(int(r[4]) for r in rs)
    cpu = sum(float(r[5]) for r in rs)
    http = sum(int(r[6]) for r in rs)
    lost[c] = sum(int(r[7]) for r in rs)
    complete[c] = http / reqs if c.startswith("tattle") and c != "tattle-devnull" and reqs else float("nan")
    cpu_req = cpu / reqs * 1e6 if reqs and not c.startswith("untraced") else float("nan")
    tls = sum(int(r[8] or 0) for r in rs)
    traps[c] = tls / reqs if reqs and tls else float("nan")
    # Older builds' summaries have no probe_hits (a 10th column of 0, or none in older results files).
    probe = sum(int(r[9]) for r in rs if len(r) > 9 and r[9])
    hits[c] = probe / reqs if reqs and probe else float("nan")
    # The tracer's CPU before the load (loading and attaching), per start; older results files have no column.
    starts = [float(r[10]) for r in rs if len(r) > 10 and r[10]]
    start = statistics.median(starts) if starts else float("nan")
    # --bpf-stats: the tracer's kernel programs' run time while the load ran (older results files have no column).
    bpf = sum(int(r[11]) for r in rs if len(r) > 11 and r[11])
    bpf_req = bpf / reqs / 1e3 if reqs and bpf else float("nan")
    # The kernel's threads' CPU while the load ran, in clock ticks (older results files have no column).
    kthr = sum(int(r[12]) for r in rs if len(r) > 12 and r[12])
    kthr_req = kthr / hz / reqs * 1e6 if reqs and len(rs[0]) > 12 else float("nan")
    print(f"{c:15} {rps:10.0f} {ratios[c]:6.2f} {statistics.median(ms(r[2]) for r in rs):8.3f} "
          f"{statistics.median(ms(r[3]) for r in rs):8.3f} {cpu_req:10.2f} {complete[c]:9.4f} {lost[c]:6d} {traps[c]:13.2f} {hits[c]:8.2f} {start:7.2f} {bpf_req:10.2f} {kthr_req:11.2f}")
g = lambda d, k: f"{d[k]:.2f}" if k in d else "na"
# A TLS read traps at entry and at return; a write read at entry (SSL_write, gnutls_record_send) once: probe hits.
print(f"overhead http={g(ratios,'tattle')} live={g(ratios,'tattle-live')} live_all={g(ratios,'tattle-live-all')} nosys={g(ratios,'tattle-nosys')} stats={g(ratios,'tattle-stats')} nosys_stats={g(ratios,'tattle-nosys-stats')} nosys_kstats={g(ratios,'tattle-nosys-kstats')} kstats={g(ratios,'tattle-kstats')} khttp={g(ratios,'tattle-khttp')} nosys_khttp={g(ratios,'tattle-nosys-khttp')} completeness_khttp={g(complete,'tattle-khttp')} completeness_nosys_khttp={g(complete,'tattle-nosys-khttp')} completeness_kstats={g(complete,'tattle-kstats')} completeness_nosys_kstats={g(complete,'tattle-nosys-kstats')} completeness_nosys_stats={g(complete,'tattle-nosys-stats')} nosys_noparse={g(ratios,'tattle-nosys-noparse')} nosys_https={g(ratios,'tattle-nosys-https')} completeness_nosys={g(complete,'tattle-nosys')} completeness_nosys_https={g(complete,'tattle-nosys-https')} fallback={g(ratios,'tattle-fallback')} fallback_https={g(ratios,'tattle-fallback-https')} completeness_fallback={g(complete,'tattle-fallback')} agent={g(ratios,'tattle-agent')} agent_otlp={g(ratios,'tattle-agent-otlp')} agent_khttp={g(ratios,'tattle-agent-khttp')} agent_otlp_khttp={g(ratios,'tattle-agent-otlp-khttp')} completeness_agent_khttp={g(complete,'tattle-agent-khttp')} completeness_agent={g(complete,'tattle-agent')} https={g(ratios,'tattle-https')} pcapng={g(ratios,'tattle-pcap')} capture={g(ratios,'tattle-capture')} packets={g(ratios,'tattle-packets')} "
      f"light={g(ratios,'tattle-light')} noparse={g(ratios,'tattle-noparse')} devnull={g(ratios,'tattle-devnull')} floor={g(ratios,'floor')} tcpdump={g(ratios,'tcpdump')} strace={g(ratios,'strace')} bpftrace={g(ratios,'bpftrace')} bpftrace_https={g(ratios,'bpftrace-https')} "
      f"paced={g(ratios,'tattle-paced')} base={g(ratios,'tattle-base')} base_https={g(ratios,'tattle-base-https')} h2={g(ratios,'tattle-h2')} completeness_h2={g(complete,'tattle-h2')} completeness={g(complete,'tattle')} completeness_https={g(complete,'tattle-https')} go={g(ratios,'tattle-go')} completeness_go={g(complete,'tattle-go')} "
      f"tls_calls_per_req={g(traps,'tattle-https')} probe_hits_per_req={g(hits,'tattle-https')} lost={sum(lost.get(k, 0) for k in ('tattle', 'tattle-devnull', 'tattle-raw', 'tattle-raw-https', 'tattle-raw-paced', 'tattle-nosys', 'tattle-nosys-https', 'tattle-stats', 'tattle-nosys-stats', 'tattle-nosys-kstats', 'tattle-kstats', 'tattle-khttp', 'tattle-nosys-khttp', 'tattle-fallback', 'tattle-fallback-https', 'tattle-pcap', 'tattle-https', 'tattle-paced', 'tattle-h2'))}")
PY
