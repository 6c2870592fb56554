#!/bin/sh
# Records the small real captures the CaptureReader tests read: curl fetching a file from python3's http.server
# on 127.0.0.1, captured on lo by the real tools.
#
# Run once, as root (needs tcpdump, tshark, curl; apt-get install tcpdump tshark curl):
#     sh capture.sh
# It writes, next to itself:
#   http-us.pcap       tcpdump -w: classic pcap, microseconds, little-endian, LINKTYPE_ETHERNET
#   http-ns.pcap       tcpdump --time-stamp-precision=nano: magic 0xa1b23c4d
#   http-be.pcap       http-us.pcap rewritten big-endian by hand (python struct): no tool here writes one
#   http-any.pcap      tcpdump -i any -y LINUX_SLL2: LINKTYPE_LINUX_SLL2 (276)
#   http.pcapng        tshark -w: pcapng with SHB/IDB options, EPBs and an Interface Statistics Block at the end
#   http-sections.pcapng  http.pcapng twice, concatenated: two sections (what cat does to pcapng files)
#   http-mixed.pcapng  mergecap of http-us.pcap and http-any.pcap: one section, two interfaces, two link types
# The files are committed: the tests never run this script (they run tcpdump/tshark on the files as oracles).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
PORT=28931
WWW=$(mktemp -d)
printf 'hello from the pcap test data\n' > "$WWW/hello.txt"
/usr/bin/python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "$WWW" >/dev/null 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$WWW"' EXIT
sleep 1

# capture OUT TOOL ARGS...: starts the capture, lets it settle, runs one HTTP exchange, stops it with SIGINT.
capture() {
    out=$1
    shift
    "$@" >/dev/null 2>&1 &
    pid=$!
    sleep 2
    curl -s -o /dev/null "http://127.0.0.1:$PORT/hello.txt"
    sleep 1
    kill -INT "$pid"
    wait "$pid" || true
    echo "$out: $(tcpdump -r "$HERE/$out" 2>/dev/null | wc -l) packets (tcpdump), $(stat -c %s "$HERE/$out") bytes"
}

capture http-us.pcap tcpdump -i lo -U -w "$HERE/http-us.pcap" "tcp port $PORT"
capture http-ns.pcap tcpdump -i lo -U --time-stamp-precision=nano -w "$HERE/http-ns.pcap" "tcp port $PORT"
capture http-any.pcap tcpdump -i any -y LINUX_SLL2 -U -w "$HERE/http-any.pcap" "tcp port $PORT"
capture http.pcapng tshark -i lo -f "tcp port $PORT" -w "$HERE/http.pcapng"

# Big-endian pcap: swap every header field; packet bytes stay as they are.
/usr/bin/python3 - "$HERE/http-us.pcap" "$HERE/http-be.pcap" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
out = bytearray(struct.pack(">IHHiIII", *struct.unpack("<IHHiIII", data[:24])))
at = 24
while at < len(data):
    sec, frac, incl, orig = struct.unpack("<IIII", data[at:at + 16])
    out += struct.pack(">IIII", sec, frac, incl, orig) + data[at + 16:at + 16 + incl]
    at += 16 + incl
open(sys.argv[2], "wb").write(out)
PY
echo "http-be.pcap: $(tcpdump -r "$HERE/http-be.pcap" 2>/dev/null | wc -l) packets (tcpdump)"

chown root:root "$HERE"/*.pcap "$HERE"/*.pcapng  # tcpdump writes them as its own user
chmod 644 "$HERE"/*.pcap "$HERE"/*.pcapng
cat "$HERE/http.pcapng" "$HERE/http.pcapng" > "$HERE/http-sections.pcapng"
echo "http-sections.pcapng: $(tshark -r "$HERE/http-sections.pcapng" 2>/dev/null | wc -l) packets (tshark)"
mergecap -w "$HERE/http-mixed.pcapng" "$HERE/http-us.pcap" "$HERE/http-any.pcap"
echo "http-mixed.pcapng: $(tshark -r "$HERE/http-mixed.pcapng" 2>/dev/null | wc -l) packets (tshark)"
