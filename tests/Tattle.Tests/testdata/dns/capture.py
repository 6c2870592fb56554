#!/usr/bin/python3
"""Captures the DNS wire bytes the tests read: what dig sends and what dnsmasq answers.

Run once (as any user; needs dig and dnsmasq: apt-get install bind9-dnsutils dnsmasq):
    /usr/bin/python3 capture.py
A relay sits between dig and a private dnsmasq and writes, per case,
  udp-NAME.query.bin / udp-NAME.response.bin  one datagram each;
  tcp-NAME.client.bin / tcp-NAME.server.bin   each direction's byte stream (2-byte length prefixes included);
  capture.log                                  what dig printed for each case.
The files are committed: the tests never run this script.
"""
import os
import socket
import subprocess
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DNSMASQ_PORT = 25353
RELAY_PORT = 25354
LOG = []  # what dig printed: the oracle the tests' expected values come from (capture.log)

# RFC 9460 HTTPS RDATA: priority 1, target ".", alpn=h2,h3, port=443, ipv4hint=10.1.2.3, ipv6hint=2001:db8::3.
HTTPS_RDATA = (
    "0001" "00"
    "0001" "0006" "026832" "026833"
    "0003" "0002" "01bb"
    "0004" "0004" "0a010203"
    "0006" "0010" "20010db8000000000000000000000003"
)

DNSMASQ = [
    "dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
    f"--port={DNSMASQ_PORT}", "--listen-address=127.0.0.1", "--bind-interfaces", "--user=root",
    "--pid-file=", "--local-ttl=300",
    "--local=/example.test/",
    "--address=/addr.example.test/10.1.2.3",
    "--host-record=www.example.test,10.1.2.4,2001:db8::4",
    "--cname=alias.example.test,alias2.example.test",
    "--cname=alias2.example.test,www.example.test",
    "--srv-host=_http._tcp.example.test,www.example.test,8080,10,5",
    "--txt-record=txt.example.test,v=spf1 -all,second string",
    "--mx-host=example.test,mail.example.test,10",
    f"--dns-rr=svc.example.test,65,{HTTPS_RDATA}",
]

# (file name, dig arguments)
UDP_CASES = [
    ("a", ["addr.example.test", "A"]),
    ("aaaa", ["www.example.test", "AAAA"]),
    ("cname", ["alias.example.test", "A"]),
    ("srv", ["_http._tcp.example.test", "SRV"]),
    ("txt", ["txt.example.test", "TXT"]),
    ("ptr", ["-x", "10.1.2.4"]),
    ("https", ["svc.example.test", "HTTPS"]),
    ("mx", ["example.test", "MX"]),
    ("nxdomain", ["nope.example.test", "A"]),
    ("noedns", ["+noedns", "www.example.test", "A"]),
    # No upstream server configured: dnsmasq refuses names outside its local domains.
    ("refused", ["outside.invalid", "A"]),
]
TCP_CASES = [
    ("a", ["addr.example.test", "A"]),
    # One connection, three queries: +keepopen reuses the TCP connection (RFC 7766 §6.2.1).
    ("multi", ["+keepopen", "www.example.test", "A", "www.example.test", "AAAA", "alias.example.test", "A"]),
]


def udp_relay(stop, records):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", RELAY_PORT))
    s.settimeout(0.2)
    while not stop.is_set():
        try:
            query, client = s.recvfrom(65535)
        except socket.timeout:
            continue
        up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        up.settimeout(2)
        up.sendto(query, ("127.0.0.1", DNSMASQ_PORT))
        response, _ = up.recvfrom(65535)
        up.close()
        records.append((query, response))
        s.sendto(response, client)
    s.close()


def pump(src, dst, sink):
    while True:
        data = src.recv(65535)
        if not data:
            dst.shutdown(socket.SHUT_WR)
            return
        sink.extend(data)
        dst.sendall(data)


def tcp_relay_once(listener, client_bytes, server_bytes):
    conn, _ = listener.accept()
    up = socket.create_connection(("127.0.0.1", DNSMASQ_PORT))
    threads = [
        threading.Thread(target=pump, args=(conn, up, client_bytes)),
        threading.Thread(target=pump, args=(up, conn, server_bytes)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    conn.close()
    up.close()


def dig(args, tcp=False):
    cmd = ["dig", "@127.0.0.1", "-p", str(RELAY_PORT), "+tries=1", "+time=2"] + (["+tcp"] if tcp else []) + args
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    shown = [line for line in out.splitlines() if line and (not line.startswith(";;") or "status:" in line)]
    LOG.append("$ " + " ".join(cmd) + "\n" + "\n".join(shown) + "\n")


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(bytes(data))


def main():
    server = subprocess.Popen(DNSMASQ)
    time.sleep(0.5)
    try:
        stop = threading.Event()
        records = []
        relay = threading.Thread(target=udp_relay, args=(stop, records))
        relay.start()
        for name, args in UDP_CASES:
            records.clear()
            dig(args)
            query, response = records[0]
            write(f"udp-{name}.query.bin", query)
            write(f"udp-{name}.response.bin", response)
        stop.set()
        relay.join()

        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", RELAY_PORT))
        listener.listen(1)
        for name, args in TCP_CASES:
            client_bytes, server_bytes = bytearray(), bytearray()
            t = threading.Thread(target=tcp_relay_once, args=(listener, client_bytes, server_bytes))
            t.start()
            dig(args, tcp=True)
            t.join()
            write(f"tcp-{name}.client.bin", client_bytes)
            write(f"tcp-{name}.server.bin", server_bytes)
        listener.close()
    finally:
        server.terminate()
        server.wait()
    with open(os.path.join(HERE, "capture.log"), "w") as f:
        f.write("\n".join(LOG))


if __name__ == "__main__":
    main()
