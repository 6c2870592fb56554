"""A multi-threaded program to attach to: THREADS threads resolving localhost in a loop until stdin closes; prints its
pid, then, at the end, how many lookups each thread made (JSON)."""
import json
import os
import socket
import sys
import threading
import time

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 4
stop = threading.Event()
lookups = {}


def resolve():
    tid = threading.get_native_id()
    lookups[tid] = 0
    while not stop.is_set():
        socket.getaddrinfo("localhost", 80)
        lookups[tid] += 1
        time.sleep(0.01)


workers = [threading.Thread(target=resolve) for _ in range(threads)]
for w in workers:
    w.start()
print(os.getpid(), flush=True)
sys.stdin.read()
stop.set()
for w in workers:
    w.join()
print(json.dumps(lookups), flush=True)
