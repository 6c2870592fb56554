#!/usr/bin/env bash
# Tattle's smoke suite for one kernel: the same checks on the host (the control) and inside each guest
# kernel-matrix.sh boots. Each check prints `ok NAME` or `FAIL NAME: why`, then the evidence (tattle's output,
# the records found) indented; the last line is `N passed, M failed`, exit 1 when any failed.
#
#   scripts/kernel-matrix/smoke.sh [--tattle BINARY] [--quick] [--repeat N] [--check-timeout S] [--bpf-objects DIR]
#
# --quick: doctor, run-http and stats-in-kernel only. --repeat N: every check after doctor N times, named NAME-1 to
# NAME-N (for faults that strike one tattle run in several, such as a hang as links close). Servers listen on 127.0.0.1 only. --bpf-objects: the build's BPF objects
# (src/Tattle.Capture/obj/bpf); when the verifier rejects a build, bpftool loads its object again for the whole
# verifier log (tattle keeps 4 KiB of each libbpf message, which cuts a long log before its verdict).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tattle="${TATTLE_BIN:-$here/../../out/tattle/tattle}"
quick=0
repeat=1
bpf_objects=""
# TCG emulates every instruction: a check that takes 2 s on the host can take a minute in a guest.
check_timeout=300
while [ $# -gt 0 ]; do
  case "$1" in
    --tattle) tattle="$2"; shift 2 ;;
    --quick) quick=1; shift ;;
    --repeat) repeat="$2"; shift 2 ;;
    --check-timeout) check_timeout="$2"; shift 2 ;;
    --bpf-objects) bpf_objects="$2"; shift 2 ;;
    *) echo "smoke.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ "$repeat" =~ ^[1-9][0-9]*$ ]] || { echo "smoke.sh: --repeat takes a count (1 or more): $repeat" >&2; exit 2; }
# python3 on PATH may be a pyenv build that exists on the host only; Debian's is in every guest.
py=/usr/bin/python3

passed=0
failed=0
pids=()
work="$(mktemp -d /tmp/tattle-smoke.XXXXXX)"
cleanup() {
  local p
  mountpoint -q "$work/bpffs" 2>/dev/null && umount "$work/bpffs"
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now() { echo "${EPOCHREALTIME/,/.}"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
# Evidence goes under the check's line, indented, so a log reads as one block per check.
show() { sed 's/^/  | /' "$@"; }

why=""
# run_check NAME FUNCTION: the function returns non-zero after setting `why`.
run_check() {
  local name="$1" fn="$2" start
  start="$(now)"
  why=""
  if "$fn" > "$work/$name.out" 2>&1; then
    echo "ok $name ($(since "$start") s)"
    passed=$((passed + 1))
  else
    echo "FAIL $name: ${why:-exit status $?} ($(since "$start") s)"
    failed=$((failed + 1))
  fi
  show "$work/$name.out"
}

free_port() {
  "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for PID URL [curl options]: the servers start slowly under emulation; poll instead of sleeping a guess.
wait_for() {
  local pid="$1" url="$2"
  shift 2
  for _ in $(seq 600); do
    curl -s -o /dev/null --max-time 5 "$@" "$url" && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  echo "no answer from $url" >&2
  return 1
}

# http_records FILE METHOD PATH STATUS TLS: how many http records in tattle's JSON Lines match.
http_records() {
  "$py" - "$@" <<'EOF'
import json, sys
path, method, target, status, tls = sys.argv[1:]
n = 0
with open(path) as f:
    for line in f:
        r = json.loads(line)
        if (r.get("type") == "http" and r.get("method") == method and r.get("path") == target
                and str(r.get("status")) == status and str(r.get("tls")).lower() == tls):
            n += 1
print(n)
EOF
}

# Prints the JSON records of one type, for the evidence.
records() {
  grep -F "\"type\":\"$2\"" "$1" || echo "(no $2 records)"
}

# tattle_run NAME [tattle options] -- CMD: runs tattle; its exit status is the check's concern, its stderr evidence.
tattle_run() {
  local name="$1" status=0
  shift
  timeout "$check_timeout" "$tattle" run -q "$@" > "$work/$name.cmd-out" 2> "$work/$name.stderr" || status=$?
  echo "tattle run $*: exit $status"
  cat "$work/$name.stderr"
  return "$status"
}

# A load or verifier failure is the one thing worth the whole libbpf log; run again to get it.
explain_failure() {
  echo "again with --verbose:"
  timeout "$check_timeout" "$tattle" run -q --verbose "$@" 2>&1 || true
}

http_port=""
https_port=""
start_http_server() {
  [ -n "$http_port" ] && return 0
  http_port="$(free_port)"
  mkdir -p "$work/www"
  (cd "$work/www" && exec "$py" -m http.server --bind 127.0.0.1 "$http_port" > "$work/http-server.log" 2>&1) &
  pids+=($!)
  http_pid=$!
  wait_for "$http_pid" "http://127.0.0.1:$http_port/"
}

start_https_server() {
  [ -n "$https_port" ] && return 0
  https_port="$(free_port)"
  openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1 \
    -keyout "$work/key.pem" -out "$work/cert.pem" > "$work/openssl-req.log" 2>&1
  openssl s_server -www -quiet -accept "127.0.0.1:$https_port" -cert "$work/cert.pem" -key "$work/key.pem" \
    < /dev/null > "$work/https-server.log" 2>&1 &
  pids+=($!)
  wait_for $! "https://127.0.0.1:$https_port/" -k
}

variant=""
check_doctor() {
  local status=0
  timeout "$check_timeout" "$tattle" doctor --fresh > "$work/doctor.txt" 2>&1 || status=$?
  cat "$work/doctor.txt"
  variant="$(sed -n 's/^variant: \([a-z]*\).*/\1/p' "$work/doctor.txt")"
  if [ "$status" -ne 0 ]; then
    why="tattle doctor exit $status ($(grep -m1 '^variant:' "$work/doctor.txt" || echo 'no variant line'))"
    verifier_logs
    return 1
  fi
}

# EACCES is the verifier's verdict (a missing kfunc or tracepoint is EINVAL or ENOENT, and expected on old
# kernels); for each build refused that way, the whole log from bpftool. Its maps hold zeros where tattle sets
# its configuration, so the path it rejects may differ; the object may also be newer than the binary.
verifier_logs() {
  local v obj
  [ -n "$bpf_objects" ] && command -v bpftool > /dev/null || return 0
  for v in fast fallback; do
    grep -q -E "^  $v +refused: EACCES" "$work/doctor.txt" || continue
    obj="$bpf_objects/tattle.bpf.o"
    [ "$v" = fallback ] && obj="$bpf_objects/tattle.bpf.fallback.o"
    [ -f "$obj" ] || continue
    mkdir -p "$work/bpffs"
    mountpoint -q "$work/bpffs" || mount -t bpf bpf "$work/bpffs"
    echo
    echo "bpftool prog loadall $obj (built $(date -u -r "$obj" '+%F %T') UTC), the $v build's whole verifier log:"
    bpftool prog loadall "$obj" "$work/bpffs/$v" 2>&1 | grep -v -E '^(Warning: bpftool is now running|If it used to work)' || true
  done
}

# One plain HTTP request through `tattle run`, with the variant's flags (none: auto).
http_check() {
  local name="$1" json
  shift
  json="$work/$name.jsonl"
  start_http_server || { why="python3 -m http.server did not start"; return 1; }
  if ! tattle_run "$name" "$@" --json "$json" -- curl -s --max-time 60 "http://127.0.0.1:$http_port/x"; then
    why="tattle run failed"
    explain_failure "$@" -- curl -s --max-time 60 "http://127.0.0.1:$http_port/x"
    return 1
  fi
  records "$json" http
  # Equality, not -ne: an empty count (no file, a parse error) must fail the check, not slip through.
  if [ "$(http_records "$json" GET /x 404 false)" != 1 ]; then
    why="no http record GET /x -> 404"
    return 1
  fi
}

# Also how syscalls were traced: from 6.3 the fast build puts programs on the per-call syscall tracepoints only.
check_run_http() {
  http_check run-http --verbose || return 1
  local path release major minor
  path=$(grep -o 'syscalls traced: [a-z ]*' "$work/run-http.stderr" | head -n 1)
  [ -n "$path" ] || { why="--verbose did not say how syscalls are traced"; return 1; }
  echo "$path"
  release=$(uname -r)
  major=${release%%.*}
  minor=${release#*.}
  minor=${minor%%[.-]*}
  if grep -q 'kernel programs: the fast build' "$work/run-http.stderr" && { [ "$major" -gt 6 ] || { [ "$major" -eq 6 ] && [ "$minor" -ge 3 ]; }; } \
    && [ "$path" != "syscalls traced: their own tracepoints " ]; then
    why="the fast build on $release traced every syscall, not the per-call tracepoints"
    return 1
  fi
}

# --stats-in-kernel: the request counted by the kernel programs (its branch is dead code, so unverified, without it).
check_stats_in_kernel() {
  local json="$work/kstats.jsonl" url counted
  start_http_server || { why="python3 -m http.server did not start"; return 1; }
  url="http://127.0.0.1:$http_port/x"
  if ! tattle_run kstats --stats-in-kernel --json "$json" -- curl -s --max-time 60 "$url"; then
    why="tattle run --stats-in-kernel failed"
    explain_failure --stats-in-kernel -- curl -s --max-time 60 "$url"
    return 1
  fi
  records "$json" summary
  counted="$("$py" -c 'import json, sys
print(sum(r["requests"] for l in open(sys.argv[1]) if "\"summary\"" in l for r in json.loads(l).get("routes") or []
          if r.get("operation") == "GET" and r.get("route") == "/x" and r.get("statuses", {}).get("4xx") == 1))' "$json" 2>&1)"
  if [ "$counted" != 1 ]; then
    why="no route GET /x with one 4xx in the summary ($counted)"
    return 1
  fi
}
check_fallback() { http_check fallback --bpf-variant fallback; }

check_run_https() {
  local json="$work/run-https.jsonl"
  start_https_server || { why="openssl s_server did not start"; return 1; }
  if ! tattle_run run-https --json "$json" -- curl -sk --max-time 60 "https://127.0.0.1:$https_port/y"; then
    why="tattle run failed"
    return 1
  fi
  records "$json" tls.handshake
  records "$json" http
  grep -F '"type":"summary"' "$json" | "$py" -c 'import json, sys; print("summary tls:", json.load(sys.stdin)["tls"])' || true
  # A kernel without attach cookies (before 5.15) cannot load the uprobe programs: there the check is that tattle
  # says so in a notice and still traces the connection, rather than showing nothing.
  if grep -qF '"message":"no TLS plaintext on this kernel' "$json"; then
    if [ "$(records "$json" tls.handshake | grep -c '"type":"tls.handshake"')" -lt 1 ]; then
      why="no TLS probes on this kernel (as its notice says), but no tls.handshake record either"
      return 1
    fi
    echo "this kernel has no attach cookies: no TLS plaintext, said in a notice; the handshake is traced"
    return 0
  fi
  if [ "$(http_records "$json" GET /y 200 true)" != 1 ]; then
    why="no http record GET /y -> 200 with tls true (the TLS probes read no plaintext)"
    return 1
  fi
}

check_attach() {
  local json="$work/attach.jsonl" live="$work/attach.live" client status=0 n
  start_http_server || { why="python3 -m http.server did not start"; return 1; }
  # The client waits for a file, not a fixed time: under emulation loading the programs takes seconds, and
  # requests made before tattle has attached would be missed.
  "$py" -c '
import os, sys, time, urllib.request, urllib.error
go, port = sys.argv[1], sys.argv[2]
while not os.path.exists(go):
    time.sleep(0.1)
for i in range(3):
    try:
        urllib.request.urlopen("http://127.0.0.1:%s/a%d" % (port, i), timeout=60).read()
    except urllib.error.HTTPError:
        pass
' "$work/attach.go" "$http_port" &
  client=$!
  pids+=("$client")
  timeout "$check_timeout" "$tattle" attach -p "$client" -o "$live" --json "$json" 2> "$work/attach.stderr" &
  local attach=$!
  pids+=("$attach")
  for _ in $(seq $((check_timeout * 10))); do
    grep -q " attached " "$live" 2>/dev/null && break
    kill -0 "$attach" 2>/dev/null || break
    sleep 0.1
  done
  touch "$work/attach.go"
  wait "$attach" || status=$?
  echo "tattle attach -p $client: exit $status"
  cat "$live" "$work/attach.stderr"
  if [ "$status" -ne 0 ]; then
    why="tattle attach exit $status"
    return 1
  fi
  records "$json" http
  for n in 0 1 2; do
    if [ "$(http_records "$json" GET "/a$n" 404 false)" != 1 ]; then
      why="no http record GET /a$n -> 404 (3 expected, /a0 to /a2)"
      return 1
    fi
  done
}

check_sockets() {
  local status=0
  start_http_server || { why="python3 -m http.server did not start"; return 1; }
  timeout "$check_timeout" "$tattle" sockets -p "$http_pid" -t -l > "$work/sockets.txt" 2>&1 || status=$?
  echo "tattle sockets -p $http_pid -t -l: exit $status"
  cat "$work/sockets.txt"
  if [ "$status" -ne 0 ]; then
    why="tattle sockets exit $status"
    return 1
  fi
  if ! grep -E "LISTEN .* 127\.0\.0\.1:$http_port " "$work/sockets.txt" > /dev/null; then
    why="no LISTEN socket on 127.0.0.1:$http_port"
    return 1
  fi
}

check_pcap() {
  local pcap="$work/pcap.pcapng" status=0
  start_http_server || { why="python3 -m http.server did not start"; return 1; }
  if ! tattle_run pcap -w "$pcap" -- curl -s --max-time 60 "http://127.0.0.1:$http_port/p"; then
    why="tattle run -w failed"
    return 1
  fi
  timeout "$check_timeout" tshark -r "$pcap" -Y http.request -T fields -e http.request.method -e http.request.uri \
    > "$work/tshark.txt" 2> "$work/tshark.stderr" || status=$?
  echo "tshark -r: exit $status"
  cat "$work/tshark.txt"
  if ! grep -q -P '^GET\t/p$' "$work/tshark.txt"; then
    why="tshark finds no GET /p in the capture"
    cat "$work/tshark.stderr"
    return 1
  fi
}

echo "smoke: kernel $(uname -r), tattle $("$tattle" --version 2>&1 || echo "missing at $tattle")"
run_check doctor check_doctor
for round in $(seq "$repeat"); do
  n=""
  [ "$repeat" -eq 1 ] || n="-$round"
  run_check "run-http$n" check_run_http
  run_check "stats-in-kernel$n" check_stats_in_kernel
  if [ "$quick" -eq 0 ]; then
    run_check "run-https$n" check_run_https
    run_check "attach$n" check_attach
    run_check "sockets$n" check_sockets
    run_check "pcap$n" check_pcap
    # The fallback must keep working where nobody would choose it: on kernels where the fast build loads.
    if [ "$variant" = fast ]; then
      run_check "fallback$n" check_fallback
    elif [ "$variant" = fallback ]; then
      echo "skip fallback: auto chose the fallback here, so the checks above ran it"
    else
      echo "skip fallback: no build loads here"
    fi
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
