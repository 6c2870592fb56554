#!/usr/bin/python3
"""Captures the HTTP/1 wire bytes the Http1 parser tests replay.

Run once, as root or not, from anywhere:  /usr/bin/python3 capture.py
Needs curl and nginx (apt-get install -y nginx; nginx is started here with its own prefix and config, never as
the system service). Writes, next to this script, for each case NAME:

  NAME.c2s    the bytes the client sent (requests), as one stream
  NAME.s2c    the bytes the server sent (responses), as one stream
  NAME.order  one line per recv() the relay made, in arrival order: "c2s LEN" or "s2c LEN"

The bytes are real: a relay on 127.0.0.1 sits between the client (curl, or a socket for what curl will not do:
pipelining, an Upgrade) and the server (nginx, or a small python server for chunked trailers, 100-continue,
chunked request bodies and a response ended by the close), and records what crosses it. Dates and ETags change
from one capture to the next; the tests assert on what does not.
"""

import gzip
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Relay:
    """Accepts one connection at a time and forwards it to the upstream, logging each recv().

    Cases named on the command line (capture.py NAME...) are the only ones recorded, when any is named: a new case
    is captured without rewriting the files of the others."""

    def __init__(self, upstream_port):
        self.upstream = upstream_port
        self.only = set(sys.argv[1:])
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]

    def record(self, name, run_client):
        if self.only and name not in self.only:
            return
        streams = {"c2s": bytearray(), "s2c": bytearray()}
        order = []
        lock = threading.Lock()
        done = threading.Event()

        def pump(src, dst, direction):
            while True:
                try:
                    data = src.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    try:
                        dst.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    return
                with lock:
                    streams[direction] += data
                    order.append(f"{direction} {len(data)}")
                dst.sendall(data)

        def serve():
            client, _ = self.listener.accept()
            server = socket.create_connection(("127.0.0.1", self.upstream))
            a = threading.Thread(target=pump, args=(client, server, "c2s"))
            b = threading.Thread(target=pump, args=(server, client, "s2c"))
            a.start()
            b.start()
            a.join()
            b.join()
            client.close()
            server.close()
            done.set()

        t = threading.Thread(target=serve)
        t.start()
        run_client(self.port)
        if not done.wait(20):
            sys.exit(f"{name}: the relay did not see the connection end")
        t.join()
        for direction, data in streams.items():
            with open(os.path.join(HERE, f"{name}.{direction}"), "wb") as f:
                f.write(data)
        with open(os.path.join(HERE, f"{name}.order"), "w") as f:
            f.write("\n".join(order) + "\n")
        print(f"{name}: {len(streams['c2s'])} bytes sent, {len(streams['s2c'])} received, {len(order)} recvs")


def curl(*args):
    subprocess.run(["curl", "-s", "-o", "/dev/null", *args], check=True)


def raw_client(payload, linger=0.5):
    """Sends payload in one write, reads until the server closes (or linger seconds of silence)."""

    def run(port):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(payload)
        s.settimeout(linger)
        try:
            while s.recv(65536):
                pass
        except socket.timeout:
            pass
        s.close()

    return run


class PyHandler(BaseHTTPRequestHandler):
    """What nginx will not do by itself: trailers, 100-continue, chunked request bodies, close-delimited bodies."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def do_GET(self):
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Trailer", "X-Checksum")
            self.end_headers()
            for part in (b"hello, ", b"chunked ", b"world\n"):
                self.wfile.write(b"%x;ext=1\r\n%s\r\n" % (len(part), part))
                self.wfile.flush()
            self.wfile.write(b"0\r\nX-Checksum: abc123\r\n\r\n")
        elif self.path == "/close":
            # HTTP/1.0 style: no Content-Length, the close ends the body (RFC 9112 section 6.3, rule 8).
            self.close_connection = True
            self.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n")
            for i in range(3):
                self.wfile.write(b"line %d of a body that ends when the connection does\n" % i)
                self.wfile.flush()
        elif self.path == "/ws":
            self.send_response(101)
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            self.end_headers()
            self.wfile.write(b"\x81\x05hello")  # a websocket text frame: not HTTP any more
            self.close_connection = True
        else:
            self.send_error(404)

    def do_POST(self):
        body = self.read_body()
        reply = b"got %d bytes\n" % len(body)
        self.send_response(201)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(reply)))
        self.send_header("Set-Cookie", "session=s3cr3t; HttpOnly")
        self.end_headers()
        self.wfile.write(reply)


def nginx_conf(root, port):
    return f"""
daemon off;
master_process off;
worker_processes 1;
error_log {root}/error.log;
pid {root}/nginx.pid;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    types {{ text/plain txt; text/html html; }}
    sendfile on;
    gzip on;
    gzip_types text/plain;
    gzip_min_length 1;
    server {{
        listen 127.0.0.1:{port};
        root {root}/www;
    }}
}}
"""


def main():
    tmp = tempfile.mkdtemp(prefix="tattle-http1-")
    www = os.path.join(tmp, "www")
    os.makedirs(www)
    with open(os.path.join(www, "a.txt"), "w") as f:
        f.write("file a\n")
    with open(os.path.join(www, "b.txt"), "w") as f:
        f.write("file b, a little longer\n")
    with open(os.path.join(www, "index.html"), "w") as f:
        f.write("<html><body>index</body></html>\n")
    with open(os.path.join(www, "big.txt"), "w") as f:
        f.write("".join(f"line {i:06d} of a text file that gzip will squeeze\n" for i in range(3000)))
    # A fixed mtime so the 304 case has a date to ask about.
    os.utime(os.path.join(www, "a.txt"), (1_600_000_000, 1_600_000_000))

    nginx_port = free_port()
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write(nginx_conf(tmp, nginx_port))
    nginx = subprocess.Popen(["nginx", "-p", tmp, "-c", conf])

    py = ThreadingHTTPServer(("127.0.0.1", 0), PyHandler)
    threading.Thread(target=py.serve_forever, daemon=True).start()

    for _ in range(50):
        try:
            socket.create_connection(("127.0.0.1", nginx_port)).close()
            break
        except OSError:
            time.sleep(0.1)

    try:
        ng = Relay(nginx_port)
        pr = Relay(py.server_address[1])

        # Keep-alive: curl reuses the connection for both URLs.
        ng.record("keepalive", lambda p: curl(f"http://127.0.0.1:{p}/a.txt", "-o", "/dev/null", f"http://127.0.0.1:{p}/b.txt"))
        ng.record("head", lambda p: curl("-I", f"http://127.0.0.1:{p}/a.txt"))
        ng.record("notmodified", lambda p: curl("-H", "If-Modified-Since: Sun, 13 Sep 2020 12:26:40 GMT",
                                                f"http://127.0.0.1:{p}/a.txt"))
        # gzip on a static file: nginx answers chunked with Content-Encoding: gzip.
        ng.record("gzip_chunked", lambda p: curl("--compressed", f"http://127.0.0.1:{p}/big.txt"))
        # Pipelining: two requests in one write, then a third that asks nginx to close.
        ng.record("pipelined", raw_client(
            b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"
            b"GET /b.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"
            b"GET /missing HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"))
        ng.record("credentials", lambda p: curl("-u", "alice:hunter2", "-H", "Cookie: sid=abc",
                                                f"http://127.0.0.1:{p}/a.txt?access_token=xyz&page=2"))

        # A proxy-style absolute-form target with credentials in the URL and a secret in the query.
        ng.record("absolute_form", raw_client(
            b"GET http://bob:pw@localhost/a.txt?password=p&q=1 HTTP/1.1\r\nHost: localhost\r\n"
            b"X-Api-Key: k-123\r\nConnection: close\r\n\r\n"))

        pr.record("chunked_trailer", lambda p: curl("-H", "TE: trailers", f"http://127.0.0.1:{p}/chunked"))
        pr.record("post", lambda p: curl("-H", "Expect:", "-H", "Content-Type: application/json",
                                         "-d", '{"name":"tattle","n":42}', f"http://127.0.0.1:{p}/items"))
        pr.record("continue", lambda p: curl("-H", "Expect: 100-continue", "--data-binary", "x" * 2000,
                                             f"http://127.0.0.1:{p}/upload"))
        pr.record("chunked_request", lambda p: curl("-H", "Expect:", "-H", "Transfer-Encoding: chunked",
                                                    "--data-binary", "y" * 300, f"http://127.0.0.1:{p}/upload"))
        pr.record("close_delimited", lambda p: curl(f"http://127.0.0.1:{p}/close"))
        pr.record("upgrade", raw_client(
            b"GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"))
    finally:
        nginx.terminate()
        nginx.wait()
        py.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
