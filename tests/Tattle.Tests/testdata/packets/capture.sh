#!/bin/bash
# Captures the real wire bytes the packet tests read (classic pcap files, one exchange each).
#
# Run as root from anywhere (needs tcpdump, curl, dig, dnsmasq, /usr/bin/python3):
#     bash tests/Tattle.Tests/testdata/packets/capture.sh
# It writes, next to itself:
#   http-lo.pcap        curl -> python3 http.server on 127.0.0.1, `-i lo` (Ethernet link type, 1)
#   http-any-sll2.pcap  the same on `-i any -y LINUX_SLL2` (276)
#   http-any-sll.pcap   the same on `-i any -y LINUX_SLL` (113). Kernel 6.x shows a loopback packet once on
#                       "any", as received; older kernels showed it twice, as sent and as received.
#   http-bridge.pcap    curl in a network namespace -> http.server behind a bridge, `-i any -y LINUX_SLL2`:
#                       every packet twice, once on the veth (bridge port) and once on the bridge
#   http-v6.pcap        curl -> http.server on [::1], `-i lo`
#   http-snap.pcap      curl fetching a 6000-byte file, `-i lo -s 300`: frames cut by the snap length
#   dns-lo.pcap         dig -> dnsmasq on 127.0.0.54:53 over UDP, `-i lo`
#   capture.log         what curl and dig printed: the oracle for the requests' outcome
#   NAME.pcap.txt       `tcpdump -r NAME.pcap -nn -S -tt`: the decoder's oracle when tcpdump is not installed
# The files are committed: the tests never run this script (they run `tcpdump -r` on the files when present).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
PORT=18080
DNS_ADDR=127.0.0.54
WWW="$(mktemp -d /tmp/tattle-packets-www.XXXXXX)"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$WWW"
    ip link del tpk-br 2>/dev/null || true
    ip link del tpk-h 2>/dev/null || true
    ip netns del tattle-pk 2>/dev/null || true
}
trap cleanup EXIT

printf 'hello from the packet tests\n' > "$WWW/hello.txt"
/usr/bin/python3 -c 'import sys; sys.stdout.write("".join(chr(48 + i % 43) for i in range(6000)))' > "$WWW/big.txt"
: > "$HERE/capture.log"

# start_server ADDR: python3 http.server on ADDR:PORT serving $WWW.
start_server() {
    /usr/bin/python3 -m http.server "$PORT" --bind "$1" --directory "$WWW" >/dev/null 2>&1 &
    PIDS+=($!)
    for _ in $(seq 50); do
        if ss -ltnH "sport = :$PORT" | grep -q .; then return; fi
        sleep 0.1
    done
    echo "http.server did not start" >&2; exit 1
}

stop_last() {
    local pid="${PIDS[-1]}"
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset 'PIDS[-1]'
}

# capture FILE 'TCPDUMP ARGS' COMMAND...: runs COMMAND while tcpdump writes FILE.
capture() {
    local file="$1" args="$2"
    shift 2
    local err
    err="$(mktemp)"
    # shellcheck disable=SC2086
    tcpdump $args --immediate-mode -U -w "$HERE/$file" 2>"$err" &
    local dump=$!
    for _ in $(seq 50); do
        if grep -q "listening on" "$err"; then break; fi
        sleep 0.1
    done
    sleep 0.3
    echo "## $file: $*" >> "$HERE/capture.log"
    "$@" >> "$HERE/capture.log" 2>&1
    echo >> "$HERE/capture.log"
    sleep 0.5
    kill -INT "$dump"
    wait "$dump" || true
    rm -f "$err"
}

CURL_OUT=(-s -o /dev/null -w 'status=%{http_code} size=%{size_download} local=%{local_ip}:%{local_port} remote=%{remote_ip}:%{remote_port}\n')

start_server 127.0.0.1
capture http-lo.pcap "-i lo -s 65535 tcp port $PORT" curl "${CURL_OUT[@]}" "http://127.0.0.1:$PORT/hello.txt?from=tattle"
capture http-any-sll2.pcap "-i any -y LINUX_SLL2 -s 65535 tcp port $PORT" curl "${CURL_OUT[@]}" "http://127.0.0.1:$PORT/hello.txt?from=tattle"
capture http-any-sll.pcap "-i any -y LINUX_SLL -s 65535 tcp port $PORT" curl "${CURL_OUT[@]}" "http://127.0.0.1:$PORT/hello.txt?from=tattle"
capture http-snap.pcap "-i lo -s 300 tcp port $PORT" curl "${CURL_OUT[@]}" "http://127.0.0.1:$PORT/big.txt"
stop_last

start_server ::1
capture http-v6.pcap "-i lo -s 65535 tcp port $PORT" curl "${CURL_OUT[@]}" "http://[::1]:$PORT/hello.txt"
stop_last

# A namespace whose veth's host end is a port of a bridge: on "any" each packet shows on both.
ip netns add tattle-pk
ip link add tpk-h type veth peer name tpk-c
ip link set tpk-c netns tattle-pk
ip link add tpk-br type bridge
ip link set tpk-h master tpk-br
ip addr add 10.201.7.1/24 dev tpk-br
ip link set tpk-br up
ip link set tpk-h up
ip -n tattle-pk addr add 10.201.7.2/24 dev tpk-c
ip -n tattle-pk link set tpk-c up
sleep 1
start_server 10.201.7.1
capture http-bridge.pcap "-i any -y LINUX_SLL2 -s 65535 tcp port $PORT" ip netns exec tattle-pk curl "${CURL_OUT[@]}" "http://10.201.7.1:$PORT/hello.txt?via=bridge"
stop_last

dnsmasq --no-daemon --conf-file=/dev/null --no-resolv --no-hosts --port=53 --listen-address="$DNS_ADDR" \
    --bind-interfaces --user=root --pid-file= --address=/www.example.test/10.1.2.3 >/dev/null 2>&1 &
PIDS+=($!)
sleep 0.5
capture dns-lo.pcap "-i lo -s 65535 udp port 53 and host $DNS_ADDR" dig +short +tries=1 +time=2 @"$DNS_ADDR" www.example.test A
stop_last

for f in "$HERE"/*.pcap; do
    tcpdump -r "$f" -nn -S -tt > "$f.txt" 2>/dev/null
done
ls -l "$HERE"/*.pcap
