#!/usr/bin/python3
"""Captures the memcached wire bytes the memcached parser tests replay.

Run once, from anywhere:  /usr/bin/python3 capture.py
Needs memcached, python3-pymemcache and libmemcached-tools (memccp, memccat; apt-get install -y memcached python3-pymemcache
libmemcached-tools; the server is started here on its own port, never as the system service). Writes, next to this
script, for each case NAME: NAME.c2s (what the client sent), NAME.s2c (what the server sent) and NAME.order (one
line per recv() of the relay: "c2s LEN" or "s2c LEN"), as the HTTP/1 capture does, whose relay this one uses.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

sys.path.insert(0, os.path.join(HERE, "..", "http1"))
import capture as http1  # noqa: E402  (the relay and free_port, shared with the HTTP captures)

http1.HERE = HERE
free_port, Relay = http1.free_port, http1.Relay

from pymemcache.client.base import Client  # noqa: E402


def pymemcache_basic(port):
    """Every classic command pymemcache has, with hits, misses, noreply and a multi-key get."""
    c = Client(("127.0.0.1", port), default_noreply=False)
    c.set("user:1", b"hello", flags=0)
    c.get("user:1")
    c.get("missing")
    c.set("user:2", b"world!", noreply=True)
    c.get_many(["user:1", "missing", "user:2"])
    c.add("user:1", b"x")
    c.replace("user:1", b"hello again")
    c.append("user:1", b"!")
    c.prepend("user:1", b">")
    value, token = c.gets("user:1")
    c.cas("user:1", b"swapped", token)
    c.cas("user:1", b"stale", token)
    c.set("counter", b"10")
    c.incr("counter", 5)
    c.decr("counter", 2)
    c.incr("nocounter", 1)
    c.touch("user:1", 60)
    c.touch("missing", 60)
    c.delete("user:2")
    c.delete("user:2")
    c.stats()
    c.version()
    c.flush_all()
    c.quit()


def raw(payload, expect):
    """Sends payload in one write and reads until the reply ends with expect, then closes."""

    def run(port):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(payload)
        s.settimeout(3)
        seen = b""
        while not seen.endswith(expect):
            data = s.recv(65536)
            if not data:
                break
            seen += data
        s.close()

    return run


META = (b"ms user:1 5 F7 T0\r\nhello\r\n"
        b"mg user:1 v f k\r\n"
        b"mg missing v\r\n"
        b"ms a 1 q\r\n1\r\nms b 1 q\r\n2\r\n"
        b"mg a v q k\r\nmg nothere v q k\r\nmg b v q k Oxy\r\n"
        b"md nothere q O1\r\nmd a q O2\r\n"
        b"ma b q O3\r\nma nothere q O4\r\n"
        b"mn\r\n"
        b"ma b v\r\nmd b\r\nmd b\r\nme user:1\r\nmg user:1 s t\r\nms user:1 3 ME\r\nnew\r\n"
        b"mn\r\n")

ERRORS = (b"bogus command\r\nset k 0 0 notanumber\r\nget\r\nincr k abc\r\nverbosity 1\r\nstats detail on\r\n"
          b"stats reset\r\nstats detail off\r\nversion\r\n")


def memccp(port, *args, files):
    subprocess.run(["memccp", f"--servers=127.0.0.1:{port}", *args, *files], check=True)


def main():
    port = free_port()
    server = subprocess.Popen(["memcached", "-p", str(port), "-l", "127.0.0.1", "-U", "0", "-u", "root"])
    for _ in range(50):
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            break
        except OSError:
            time.sleep(0.1)
    try:
        relay = Relay(port)
        relay.record("pymemcache", pymemcache_basic)
        relay.record("meta", raw(META, b"MN\r\n"))
        relay.record("errors", raw(ERRORS, b"VERSION " + subprocess.run(["memcached", "-V"], capture_output=True).stdout.split()[1] + b"\r\n"))
        with tempfile.TemporaryDirectory() as tmp:
            big = os.path.join(tmp, "big.bin")
            with open(big, "wb") as f:
                f.write(b"v" * 200_000)
            relay.record("bigvalue", lambda p: memccp(p, files=[big]))
            relay.record("bigget", lambda p: subprocess.run(["memccat", f"--servers=127.0.0.1:{p}", "big.bin"],
                                                          stdout=subprocess.DEVNULL, check=True))
            relay.record("binary", lambda p: memccp(p, "--binary", files=[big]))
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
