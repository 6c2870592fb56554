#!/usr/bin/env python3
"""Opens N sockets spread over W worker processes, prints the worker pids, then sleeps until killed.

Mix per worker: TCP listeners, established loopback pairs (both ends), bound UDP sockets,
so the tables look like a busy server rather than N copies of one socket.
"""
import os, resource, signal, socket, sys, time

total = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
workers = int(sys.argv[2]) if len(sys.argv) > 2 else 4
per = total // workers

def worker():
    resource.setrlimit(resource.RLIMIT_NOFILE, (per + 1000, per + 1000))
    keep = []
    listeners = max(1, per // 10)
    pairs = (per * 4 // 10) // 2
    udps = per - listeners - 2 * pairs
    for _ in range(listeners):
        s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1024); keep.append(s)
    hub = keep[0]
    port = hub.getsockname()[1]
    for _ in range(pairs):
        c = socket.create_connection(("127.0.0.1", port)); a, _ = hub.accept(); keep += [c, a]
    for i in range(udps):
        u = socket.socket(socket.AF_INET6 if i % 2 else socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("::1" if i % 2 else "127.0.0.1", 0)); keep.append(u)
    os.write(w, b"x")
    while True:
        time.sleep(3600)

r, w = os.pipe()
pids = []
for _ in range(workers):
    pid = os.fork()
    if pid == 0:
        os.close(r)
        worker()
    pids.append(pid)
os.close(w)

def stop(*_):
    for p in pids:
        try:
            os.kill(p, signal.SIGTERM)
        except ProcessLookupError:
            pass
    os._exit(0)

signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
for _ in range(workers):
    os.read(r, 1)
print(" ".join(map(str, pids)), flush=True)
while True:
    time.sleep(3600)
