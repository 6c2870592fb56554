"""A ZeroMQ REQ/REP pair in one process (the REP end on its own thread); prints what each end sent and received,
with the thread ids, as JSON: the oracle for tattle probe's zmq_msg_send/zmq_msg_recv records."""
import json
import sys
import threading

import zmq

n = int(sys.argv[1]) if len(sys.argv) > 1 else 5
ctx = zmq.Context()
rep = ctx.socket(zmq.REP)
port = rep.bind_to_random_port("tcp://127.0.0.1")
counts = {}


def serve():
    received = sent = 0
    for _ in range(n):
        message = rep.recv()
        received += 1
        rep.send(b"re:" + message)
        sent += 1
    counts["server"] = {"tid": threading.get_native_id(), "sent": sent, "received": received}


server = threading.Thread(target=serve)
server.start()
req = ctx.socket(zmq.REQ)
req.connect(f"tcp://127.0.0.1:{port}")
sent = received = 0
for i in range(n):
    req.send(b"hello %d" % i)
    sent += 1
    req.recv()
    received += 1
server.join()
counts["client"] = {"tid": threading.get_native_id(), "sent": sent, "received": received}
counts["endpoint"] = f"tcp://127.0.0.1:{port}"
req.close()
rep.close()
ctx.term()
print(json.dumps(counts), flush=True)
