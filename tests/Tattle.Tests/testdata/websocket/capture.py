#!/usr/bin/python3
"""Captures the WebSocket wire bytes the WebSocket parser tests replay.

Run once, from anywhere:  /usr/bin/python3 capture.py
Needs python3-websockets (apt-get install -y python3-websockets). An echo server of the websockets library runs here
on its own port; its client talks to it through the relay of the HTTP/1 capture. Writes, next to this script, for
each case NAME: NAME.c2s (what the client sent: the HTTP/1.1 upgrade, then frames), NAME.s2c (the 101, then frames)
and NAME.order (one line per recv() of the relay: "c2s LEN" or "s2c LEN").
"""

import asyncio
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))

sys.path.insert(0, os.path.join(HERE, "..", "http1"))
import capture as http1  # noqa: E402  (the relay and free_port, shared with the HTTP captures)

http1.HERE = HERE
free_port, Relay = http1.free_port, http1.Relay

import websockets  # noqa: E402


async def echo(ws, *_):
    try:
        async for message in ws:
            await ws.send(message)
    except websockets.ConnectionClosed:
        # A close code other than 1000 ends the loop with an exception; the close handshake is done.
        pass


def serve(port, compression):
    async def main():
        async with websockets.serve(echo, "127.0.0.1", port, compression=compression, max_size=None):
            await asyncio.Future()

    threading.Thread(target=lambda: asyncio.run(main()), daemon=True).start()


def client(compression):
    """A text message, a binary one, a text message in three fragments, a ping, 100 000 bytes (a 64-bit length),
    each echoed; then a close with a code and a reason."""

    async def talk(port):
        async with websockets.connect(f"ws://127.0.0.1:{port}/chat", compression=compression, max_size=None) as ws:
            await ws.send("hello")
            await ws.recv()
            await ws.send(bytes(range(100)))
            await ws.recv()
            await ws.send(["frag", "ment", "ed"])
            await ws.recv()
            await (await ws.ping(b"p1"))
            await ws.send(b"x" * 100_000)
            await ws.recv()
            await ws.close(code=4000, reason="bye")

    return lambda port: asyncio.run(talk(port))


def main():
    for name, compression in (("plain", None), ("deflate", "deflate")):
        port = free_port()
        serve(port, compression)
        time.sleep(0.3)
        Relay(port).record(name, client(compression))


if __name__ == "__main__":
    main()
