#!/usr/bin/python3
"""Captures the HTTP/2 wire bytes the Http2 parser tests replay.

Run once, as root or not, from anywhere:  /usr/bin/python3 capture.py
Needs curl, nghttp2-server (nghttpd), nghttp2-client (nghttp, h2load), python3-grpcio, python3-h2 and node.
Writes, next to this script, for each case NAME the same three files as ../http1/capture.py, whose relay it
uses (a relay on 127.0.0.1 logging each recv()):

  NAME.c2s    the bytes the client sent, as one stream
  NAME.s2c    the bytes the server sent, as one stream
  NAME.order  one line per recv() the relay made, in arrival order: "c2s LEN" or "s2c LEN"

Servers: nghttpd (h2c with prior knowledge), h2peers.py's python-h2 server for the HTTP/1.1 Upgrade to h2c
(nghttpd and node do not take it), its python grpcio with generic handlers (raw bytes as messages), and
node's http2 module (node_h2.js: early hints, trailers, server push, a cancelled stream, a GOAWAY). Dates
change from one capture to the next; the tests assert on what does not.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "http1"))
import capture as http1  # noqa: E402  (the relay and free_port)
from h2peers import grpc_channel, grpc_server, h2_server  # noqa: E402

# The relay writes its files next to the script that defines it: here, next to this one.
http1.HERE = HERE


def run(*args):
    subprocess.run(list(args), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)


def wait_for(port):
    for _ in range(50):
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"nothing listens on {port}")


def grpc_client(calls):
    def client(port):
        import grpc

        channel = grpc_channel(port)
        for call in calls:
            try:
                call(channel)
            except grpc.RpcError:
                pass
        channel.close()

    return client


def unary(method, payload, compression=None):
    def call(channel):
        channel.unary_unary(f"/demo.v1.Items/{method}")(payload, timeout=5, compression=compression)

    return call


def server_streaming(channel):
    list(channel.unary_stream("/demo.v1.Items/Count")(b"three please", timeout=5))


def client_streaming(channel):
    channel.stream_unary("/demo.v1.Items/Total")(iter([b"a" * 10, b"b" * 20, b"c" * 30]), timeout=5)


def main():
    import grpc

    tmp = tempfile.mkdtemp(prefix="tattle-http2-")
    www = os.path.join(tmp, "www")
    os.makedirs(www)
    with open(os.path.join(www, "a.txt"), "w") as f:
        f.write("file a\n")
    with open(os.path.join(www, "b.txt"), "w") as f:
        f.write("file b, a little longer\n")
    with open(os.path.join(www, "big.txt"), "w") as f:
        # Larger than the initial 64 KiB window: several DATA frames and WINDOW_UPDATEs.
        f.write("".join(f"line {i:06d} of a file longer than one window\n" for i in range(2500)))

    nghttpd_port = http1.free_port()
    nghttpd = subprocess.Popen(["nghttpd", "--no-tls", "-d", www, str(nghttpd_port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    node_server = subprocess.Popen(["node", os.path.join(HERE, "node_h2.js"), "server"], stdout=subprocess.PIPE, text=True)
    node_port = int(node_server.stdout.readline())
    grpc_srv, grpc_port = grpc_server()
    upgrade_port = h2_server()
    wait_for(nghttpd_port)

    try:
        ng = http1.Relay(nghttpd_port)
        ng.record("curl_get", lambda p: run("curl", "-s", "-o", "/dev/null", "--http2-prior-knowledge",
                                            f"http://127.0.0.1:{p}/a.txt"))
        ng.record("curl_credentials", lambda p: run(
            "curl", "-s", "-o", "/dev/null", "--http2-prior-knowledge", "-u", "alice:hunter2", "-H", "Cookie: sid=abc",
            "-H", "Content-Type: application/json", "-d", '{"name":"tattle"}',
            f"http://127.0.0.1:{p}/a.txt?access_token=xyz&page=2"))
        # Four streams at once, one of them a 404 and one larger than the flow-control window.
        ng.record("nghttp_concurrent", lambda p: run(
            "nghttp", "-n", f"http://127.0.0.1:{p}/a.txt", f"http://127.0.0.1:{p}/b.txt",
            f"http://127.0.0.1:{p}/big.txt", f"http://127.0.0.1:{p}/missing"))
        # 20 requests, 8 at a time: interleaved streams and a well-used dynamic table.
        ng.record("h2load", lambda p: run("h2load", "-n", "20", "-c", "1", "-m", "8", f"http://127.0.0.1:{p}/b.txt"))

        up = http1.Relay(upgrade_port)
        # The request that upgrades becomes stream 1; nghttp's second one goes as HTTP/2 on stream 3.
        up.record("upgrade_curl", lambda p: run("curl", "-s", "-o", "/dev/null", "--http2", f"http://127.0.0.1:{p}/first"))
        up.record("upgrade_nghttp", lambda p: run("nghttp", "-n", "-u", f"http://127.0.0.1:{p}/first",
                                                  f"http://127.0.0.1:{p}/second"))

        gr = http1.Relay(grpc_port)
        gr.record("grpc_unary", grpc_client([unary("Echo", b"hello"), unary("Fail", b"x")]))
        gr.record("grpc_trailers_only", grpc_client([unary("Missing", b"id-7")]))
        gr.record("grpc_streaming", grpc_client([server_streaming, client_streaming,
                                                 unary("Echo", b"z" * 2000, grpc.Compression.Gzip)]))

        nd = http1.Relay(node_port)
        nd.record("node", lambda p: run("node", os.path.join(HERE, "node_h2.js"), "client", str(p)))
    finally:
        nghttpd.terminate()
        node_server.terminate()
        grpc_srv.stop(0)
        nghttpd.wait()
        node_server.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
