#!/usr/bin/python3
"""Captures the ZMTP 3.x wire bytes the ZMTP parser tests replay.

Run once, as root or not, from anywhere:  /usr/bin/python3 capture.py
Needs python3-zmq (apt-get install -y python3-zmq; run with /usr/bin/python3, Debian's, which has it). Writes,
next to this script, for each case NAME:

  NAME.c2s    the bytes the connecting peer sent, as one stream
  NAME.s2c    the bytes the binding peer sent, as one stream
  NAME.order  one line per recv() the relay made, in arrival order: "c2s LEN" or "s2c LEN"

The bytes are real: a relay on 127.0.0.1 sits between a libzmq socket that connects and one that binds, and
records what crosses it. Each case prints the counts its test asserts on.
"""

import os
import sys
import threading
import time

import zmq
import zmq.auth.thread

HERE = os.path.dirname(os.path.abspath(__file__))

sys.path.insert(0, os.path.join(HERE, "..", "http1"))
import capture as http1  # noqa: E402  (the relay and free_port, shared with the HTTP captures)

http1.HERE = HERE
free_port, Relay = http1.free_port, http1.Relay

CTX = zmq.Context()


def pair(server_type, client_type, server_opts=None, client_opts=None):
    """A bound socket on a port of its own, and a way to connect a client socket to any port (the relay's)."""
    port = free_port()
    server = CTX.socket(server_type)
    server.linger = 0
    for option, value in (server_opts or {}).items():
        server.setsockopt(option, value)
    server.bind(f"tcp://127.0.0.1:{port}")

    def client(relay_port):
        s = CTX.socket(client_type)
        s.linger = 1000
        for option, value in (client_opts or {}).items():
            s.setsockopt(option, value)
        s.connect(f"tcp://127.0.0.1:{relay_port}")
        return s

    return port, server, client


def req_rep():
    """Three requests, one of two frames, each answered; then the REQ closes."""
    port, rep, connect = pair(zmq.REP, zmq.REQ)

    def run(relay_port):
        req = connect(relay_port)
        for request in ([b"hello"], [b"part one", b"part two"], [b"ping"]):
            req.send_multipart(request)
            rep.send_multipart([b"re: " + rep.recv_multipart()[0]])
            req.recv_multipart()
        req.close()

    return port, run, rep


def pub_sub():
    """SUB subscribes to news and weather; PUB publishes five messages, three match; SUB cancels news."""
    port, pub, connect = pair(zmq.PUB, zmq.SUB)

    def run(relay_port):
        sub = connect(relay_port)
        sub.subscribe(b"news")
        sub.subscribe(b"weather")
        time.sleep(0.3)
        for topic, text in ((b"news", b"hello"), (b"sport", b"goal"), (b"weather", b"sunny"), (b"other", b"x"),
                            (b"news", b"bye")):
            pub.send_multipart([topic, text])
        for _ in range(3):
            sub.recv_multipart()
        sub.unsubscribe(b"news")
        time.sleep(0.3)
        sub.close()

    return port, run, pub


def dealer_router():
    """A DEALER with an identity and heartbeats: multipart messages both ways, PINGs answered with PONGs."""
    port, router, connect = pair(zmq.ROUTER, zmq.DEALER,
                                 client_opts={zmq.IDENTITY: b"worker-1", zmq.HEARTBEAT_IVL: 100})

    def run(relay_port):
        dealer = connect(relay_port)
        dealer.send_multipart([b"job", b"a", b"bb", b"ccc"])
        identity, *frames = router.recv_multipart()
        router.send_multipart([identity, b"done", b"%d" % len(frames)])
        dealer.recv_multipart()
        time.sleep(0.35)
        dealer.send_multipart([b"bye"])
        router.recv_multipart()
        dealer.close()

    return port, run, router


def plain(password):
    """REQ/REP with the PLAIN mechanism and a ZAP handler that knows admin:secret."""
    auth = zmq.auth.thread.ThreadAuthenticator(CTX)
    auth.start()
    auth.configure_plain(domain="*", passwords={"admin": "secret"})
    port, rep, connect = pair(zmq.REP, zmq.REQ, server_opts={zmq.PLAIN_SERVER: 1},
                              client_opts={zmq.PLAIN_USERNAME: b"admin", zmq.PLAIN_PASSWORD: password})

    def run(relay_port):
        req = connect(relay_port)
        if password == b"secret":
            req.send(b"hello")
            rep.send(b"re: " + rep.recv())
            req.recv()
        else:
            # The server answers the bad password with ERROR and closes; the REQ never gets to send.
            time.sleep(0.5)
        req.close()

    def stop():
        rep.close()
        auth.stop()

    return port, run, stop


def long_frames():
    """Frames over 255 bytes take the 8-byte size: a 300 B request, a 70 000 B reply, then a short pair."""
    port, rep, connect = pair(zmq.REP, zmq.REQ)

    def run(relay_port):
        req = connect(relay_port)
        req.send(b"q" * 300)
        rep.recv()
        rep.send(b"r" * 70_000)
        req.recv()
        req.send(b"small")
        rep.send(b"ok" if rep.recv() == b"small" else b"??")
        req.recv()
        req.close()

    return port, run, rep


def record(name, case):
    port, run, server = case
    Relay(port).record(name, run)
    if callable(server):
        server()
    else:
        server.close()


def main():
    record("req_rep", req_rep())
    record("pub_sub", pub_sub())
    record("dealer_router", dealer_router())
    record("plain", plain(b"secret"))
    record("plain_bad", plain(b"wrong"))
    record("long", long_frames())
    CTX.term()


if __name__ == "__main__":
    main()
