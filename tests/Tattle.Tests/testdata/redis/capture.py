#!/usr/bin/python3
"""Captures the Redis wire bytes the Redis parser tests replay.

Run once, as root or not, from anywhere:  /usr/bin/python3 capture.py
Needs redis-server and redis-cli (apt-get install -y redis-server redis-tools; the server is started here on its
own port with no persistence, never as the system service). Writes, next to this script, for each case NAME:

  NAME.c2s    the bytes the client sent (commands), as one stream
  NAME.s2c    the bytes the server sent (replies, pushes), as one stream
  NAME.order  one line per recv() the relay made, in arrival order: "c2s LEN" or "s2c LEN"

The bytes are real: a relay on 127.0.0.1 sits between the client (redis-cli, or a socket for what redis-cli will
not do in one connection: stay subscribed while another client publishes) and redis-server, and records what
crosses it.
"""

import os
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


sys.path.insert(0, os.path.join(HERE, "..", "http1"))
import capture as http1  # noqa: E402  (the relay and free_port, shared with the HTTP captures)

http1.HERE = HERE
free_port, Relay = http1.free_port, http1.Relay


def cli(port, *args, stdin=None):
    subprocess.run(["redis-cli", "-p", str(port), *args], input=stdin, stdout=subprocess.DEVNULL, check=True)


def resp(*words):
    out = b"*%d\r\n" % len(words)
    for w in words:
        w = w if isinstance(w, bytes) else str(w).encode()
        out += b"$%d\r\n%s\r\n" % (len(w), w)
    return out


def subscriber(server_port, hello3):
    """Subscribes to two channels, lets another client publish three messages, unsubscribes, pings, quits."""

    def run(port):
        s = socket.create_connection(("127.0.0.1", port))
        s.settimeout(2)

        def wait_for(text):
            seen = b""
            while text not in seen.lower():
                seen += s.recv(65536)

        if hello3:
            s.sendall(resp("HELLO", "3"))
            wait_for(b"modules")
        s.sendall(resp("SUBSCRIBE", "news", "weather"))
        wait_for(b"weather")
        for channel, text in (("news", "hello"), ("weather", "sunny"), ("news", "bye")):
            cli(server_port, "PUBLISH", channel, text)
            wait_for(text.encode())
        s.sendall(resp("UNSUBSCRIBE") + resp("PING"))
        wait_for(b"pong")
        s.sendall(resp("QUIT"))
        wait_for(b"ok")
        s.close()

    return run


def main():
    port = free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--enable-debug-command", "local"], stdout=subprocess.DEVNULL)
    for _ in range(50):
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            break
        except OSError:
            time.sleep(0.1)
    try:
        relay = Relay(port)
        relay.record("set_get", lambda p: cli(p, stdin=b"SET user:1 hello\nGET user:1\nGET missing\nDEL user:1\n"
                                                     b"CONFIG SET maxmemory-policy noeviction\nNOSUCH x\n"
                                                     b"INCR counter\nLRANGE nolist 0 -1\n"))
        pipe = b"".join(resp("SET", f"key:{i}", f"value {i}") if i % 2 == 0 else resp("GET", f"key:{i - 1}")
                        for i in range(100))
        relay.record("pipe100", lambda p: cli(p, "--pipe", stdin=pipe))
        relay.record("multi", lambda p: cli(p, stdin=b"MULTI\nSET a 1\nINCR a\nLPUSH l x y z\nEXEC\n"
                                                   b"MULTI\nINCR a b\nEXEC\n"))
        relay.record("bigvalue", lambda p: cli(p, "-x", "SET", "big", stdin=b"v" * 200_000)
                     or None)
        relay.record("bigget", lambda p: cli(p, "GET", "big"))
        relay.record("resp3", lambda p: cli(p, "-3", stdin=b"HSET h f1 v1 f2 v2\nHGETALL h\nSADD s a b\nSMEMBERS s\n"
                                                        b"GET missing\nZADD z 1.5 m\nZSCORE z m\nEXISTS h\n"
                                                        b"DEBUG PROTOCOL true\nDEBUG PROTOCOL verbatim\n"))
        relay.record("pubsub", subscriber(port, hello3=False))
        relay.record("pubsub3", subscriber(port, hello3=True))
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
