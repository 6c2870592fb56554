#!/usr/bin/python3
"""Captures the TLS handshake bytes the tests read: ClientHellos of curl and openssl s_client, ServerHellos of
openssl s_server (TLS 1.3, TLS 1.2, a HelloRetryRequest), through a relay that writes each direction to a file.

Run once (needs curl and openssl):
    /usr/bin/python3 capture.py
Per case: NAME.client.bin (client to server) and NAME.server.bin (server to client), each the direction's whole
byte stream (cut at 16 KiB); capture.log has what the client printed. The tests never run this script.
"""
import os
import socket
import subprocess
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER_PORT = 24433
RELAY_PORT = 24434
CAP = 16 * 1024
LOG = []

R = str(RELAY_PORT)
SNI_ALPN = ["-servername", "example.test", "-alpn", "h2,http/1.1"]
# (name, server arguments, client command)
CASES = [
    ("curl-ip", ["-alpn", "http/1.1"], ["curl", "-k", "-sv", "--max-time", "5", "-o", "/dev/null", f"https://127.0.0.1:{R}/"]),
    ("curl-sni", ["-alpn", "http/1.1"],
     ["curl", "-k", "-sv", "--max-time", "5", "-o", "/dev/null", "--resolve", f"example.test:{R}:127.0.0.1", f"https://example.test:{R}/"]),
    ("sclient-tls13", ["-alpn", "h2"], ["openssl", "s_client", "-connect", f"127.0.0.1:{R}"] + SNI_ALPN),
    # TLS 1.2: the chosen ALPN travels in the ServerHello (RFC 7301 §3.1); in TLS 1.3 it is encrypted.
    ("sclient-tls12", ["-alpn", "h2", "-tls1_2"], ["openssl", "s_client", "-connect", f"127.0.0.1:{R}"] + SNI_ALPN),
    # The client's key share (X25519) is not one the server takes: HelloRetryRequest (RFC 8446 §4.1.4).
    ("sclient-hrr", ["-groups", "P-256"],
     ["openssl", "s_client", "-connect", f"127.0.0.1:{R}", "-groups", "X25519:P-256"] + SNI_ALPN),
    # Records of at most 512 bytes and a long ALPN list: the ClientHello spans two records (RFC 8446 §5.1).
    ("sclient-split", [],
     ["openssl", "s_client", "-connect", f"127.0.0.1:{R}", "-max_send_frag", "512", "-servername", "example.test",
      "-alpn", ",".join(["h2", "http/1.1"] + [f"proto-{i:02d}-padding-to-make-the-hello-long" for i in range(12)])]),
]


def pump(src, dst, sink):
    while True:
        try:
            data = src.recv(65535)
        except OSError:
            data = b""
        if not data:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            return
        sink.extend(data)
        try:
            dst.sendall(data)
        except OSError:
            return


def relay_once(listener, client_bytes, server_bytes):
    conn, _ = listener.accept()
    up = socket.create_connection(("127.0.0.1", SERVER_PORT))
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


def main():
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-subj", "/CN=example.test", "-days", "1", "-keyout", key, "-out", cert],
                       check=True, capture_output=True)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", RELAY_PORT))
        listener.listen(1)
        for name, server_args, client in CASES:
            server = subprocess.Popen(
                ["openssl", "s_server", "-accept", str(SERVER_PORT), "-cert", cert, "-key", key, "-www",
                 "-naccept", "1"] + server_args,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            client_bytes, server_bytes = bytearray(), bytearray()
            t = threading.Thread(target=relay_once, args=(listener, client_bytes, server_bytes))
            t.start()
            out = subprocess.run(client, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=10)
            t.join()
            server.wait(timeout=10)
            keep = [line for line in (out.stdout + out.stderr).splitlines()
                    if any(k in line for k in ("Protocol", "Cipher is", "ALPN", "Server Temp Key", "SSL connection"))]
            LOG.append("$ " + " ".join(client) + "\n" + "\n".join(keep) + "\n")
            with open(os.path.join(HERE, f"{name}.client.bin"), "wb") as f:
                f.write(bytes(client_bytes[:CAP]))
            with open(os.path.join(HERE, f"{name}.server.bin"), "wb") as f:
                f.write(bytes(server_bytes[:CAP]))
        listener.close()
    with open(os.path.join(HERE, "capture.log"), "w") as f:
        f.write("\n".join(LOG))


if __name__ == "__main__":
    main()
