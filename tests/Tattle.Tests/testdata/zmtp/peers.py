#!/usr/bin/python3
"""Both ends of ZeroMQ socket pairs in one process, over tcp://127.0.0.1, for the end-to-end tests.

  /usr/bin/python3 peers.py pairs        REQ/REP, PUB/SUB, DEALER/ROUTER, PUSH/PULL exchanges
  /usr/bin/python3 peers.py unanswered   a REQ whose REP never replies: the process exits after the request

Prints one JSON object: per pair ("REQ->REP"), the messages and frames each side sent and received, as the
application saw them (without the empty delimiter frame REQ and REP add on the wire).
"""

import json
import socket
import sys
import time

import zmq

CTX = zmq.Context()
counts = {}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pair(server_type, client_type, subscribe=None):
    server = CTX.socket(server_type)
    client = CTX.socket(client_type)
    for s in (server, client):
        s.linger = 1000
    port = free_port()
    server.bind(f"tcp://127.0.0.1:{port}")
    if subscribe is not None:
        client.subscribe(subscribe)
    client.connect(f"tcp://127.0.0.1:{port}")
    return server, client


def count(name, side, frames):
    c = counts.setdefault(name, {"sent": 0, "sent_frames": 0, "received": 0, "received_frames": 0})
    c[side] += 1
    c[side + "_frames"] += len(frames)


def send(name, socket_, frames):
    socket_.send_multipart(frames)
    count(name, "sent", frames)


def recv(name, socket_):
    frames = socket_.recv_multipart()
    count(name, "received", frames)
    return frames


def pairs():
    rep, req = pair(zmq.REP, zmq.REQ)
    for i in range(5):
        send("REQ->REP", req, [b"request %d" % i] + [b"part"] * (i % 3))
        request = recv("REQ->REP", rep)
        send("REP->REQ", rep, [b"reply to " + request[0]])
        recv("REP->REQ", req)

    pub, sub = pair(zmq.PUB, zmq.SUB, subscribe=b"news")
    time.sleep(0.5)  # the subscription reaches the publisher, which filters
    for i in range(6):
        topic = b"news" if i % 2 == 0 else b"sport"
        pub.send_multipart([topic, b"item %d" % i])
        if topic == b"news":
            count("PUB->SUB", "sent", [topic, b""])
    for _ in range(3):
        recv("PUB->SUB", sub)

    router, dealer = pair(zmq.ROUTER, zmq.DEALER)
    for i in range(4):
        send("DEALER->ROUTER", dealer, [b"job", b"x" * (100 * i)] + [b"more"] * i)
        identity, *frames = router.recv_multipart()
        count("DEALER->ROUTER", "received", frames)
        # The ROUTER's first frame routes the message and never crosses the wire.
        router.send_multipart([identity, b"done", b"%d" % i])
        count("ROUTER->DEALER", "sent", [b"done", b"%d" % i])
        recv("ROUTER->DEALER", dealer)

    pull, push = pair(zmq.PULL, zmq.PUSH)
    for i in range(7):
        send("PUSH->PULL", push, [b"task %d" % i, b"y" * 300])
    for _ in range(7):
        recv("PUSH->PULL", pull)
    for s in (req, rep, sub, pub, dealer, router, push, pull):
        s.close()


def unanswered():
    rep, req = pair(zmq.REP, zmq.REQ)
    send("REQ->REP", req, [b"anyone there?"])
    recv("REQ->REP", rep)
    req.close()
    rep.close()


def main():
    {"pairs": pairs, "unanswered": unanswered}[sys.argv[1]]()
    CTX.term()
    print(json.dumps(counts, sort_keys=True))


if __name__ == "__main__":
    main()
