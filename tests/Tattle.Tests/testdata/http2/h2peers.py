#!/usr/bin/python3
"""HTTP/2 peers shared by capture.py (which records their bytes) and the end-to-end tests (which trace them).

As a program, one peer per run:

  h2peers.py h2-server              a python-h2 server (prior knowledge or HTTP/1.1 Upgrade: h2c); prints its port
  h2peers.py grpc-server            python grpcio with generic handlers for demo.v1.Items; prints its port
  h2peers.py grpc-client PORT       calls Echo (OK), Missing (NOT_FOUND) and Count for 5 messages, one channel
  h2peers.py counter-client PORT STOP
                                    one connection, GET /n/1, /n/2, … a tenth of a second apart until the file STOP
                                    exists; prints each n with the x-n it was answered

Needs Debian's python3-h2 and python3-grpcio (/usr/bin/python3).
"""

import os
import socket
import sys
import threading
import time


def h2_server():
    """
    Answers every stream with a body. Takes a client's preface (prior knowledge) or an HTTP/1.1 request with
    Upgrade: h2c (RFC 7540 section 3.2, which nghttpd and node do not take). A path /n/N is answered with the
    header x-n: N, never indexed, so a decoder that joins mid-connection still reads it.
    """
    import h2.config
    import h2.connection
    import h2.events
    from hpack import HeaderTuple, NeverIndexedHeaderTuple

    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)

    def answer(conn, sock, stream_id, path):
        body = f"answer to {path} on stream {stream_id}\n".encode()
        headers = [HeaderTuple(":status", "200"), HeaderTuple("content-type", "text/plain"),
                   HeaderTuple("content-length", str(len(body)))]
        if path.startswith("/n/"):
            headers.append(NeverIndexedHeaderTuple("x-n", path[3:]))
        conn.send_headers(stream_id, headers)
        conn.send_data(stream_id, body, end_stream=True)
        sock.sendall(conn.data_to_send())

    def serve(sock):
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        data = b""
        while len(data) < 3:
            chunk = sock.recv(65536)
            if not chunk:
                return
            data += chunk
        if data.startswith(b"PRI"):
            conn.initiate_connection()
            sock.sendall(conn.data_to_send())
        else:
            while b"\r\n\r\n" not in data:
                chunk = sock.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, data = data.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            fields = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
            sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
            conn.initiate_upgrade_connection(fields["http2-settings"])
            sock.sendall(conn.data_to_send())
            answer(conn, sock, 1, path)
        while True:
            for event in conn.receive_data(data) if data else []:
                if isinstance(event, h2.events.RequestReceived):
                    answer(conn, sock, event.stream_id, dict(event.headers)[b":path"].decode())
                elif isinstance(event, h2.events.ConnectionTerminated):
                    sock.close()
                    return
            sock.sendall(conn.data_to_send())
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                data = b""
            if not data:
                sock.close()
                return

    def accept():
        while True:
            sock, _ = listener.accept()
            threading.Thread(target=serve, args=(sock,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return listener.getsockname()[1]


def grpc_server():
    """demo.v1.Items over grpcio's generic handlers: raw bytes as messages, no generated code."""
    import grpc
    from concurrent import futures

    def echo(request, context):
        return b"echo:" + request

    def fail(request, context):
        context.send_initial_metadata((("x-before", "1"),))
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, "bad input: 100% wrong \u2713")

    def missing(request, context):
        # Nothing sent before the abort: grpc answers trailers-only (one HEADERS with END_STREAM).
        context.abort(grpc.StatusCode.NOT_FOUND, "no such item")

    def count(request, context):
        # A request of digits asks for that many messages; anything else for 3.
        for i in range(int(request) if request.isdigit() else 3):
            yield b"item %d" % i

    def total(requests, context):
        return b"%d" % sum(len(r) for r in requests)

    handlers = {
        "Echo": grpc.unary_unary_rpc_method_handler(echo),
        "Fail": grpc.unary_unary_rpc_method_handler(fail),
        "Missing": grpc.unary_unary_rpc_method_handler(missing),
        "Count": grpc.unary_stream_rpc_method_handler(count),
        "Total": grpc.stream_unary_rpc_method_handler(total),
    }
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("demo.v1.Items", handlers),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


def grpc_channel(port):
    import grpc

    return grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.enable_http_proxy", 0)])


def grpc_client(port):
    """The end-to-end test's calls; prints what each returned so the test can tell the server's answers."""
    import grpc

    with grpc_channel(port) as channel:
        print("Echo", channel.unary_unary("/demo.v1.Items/Echo")(b"hello", timeout=10).decode(), flush=True)
        try:
            channel.unary_unary("/demo.v1.Items/Missing")(b"id-7", timeout=10)
        except grpc.RpcError as e:
            print("Missing", e.code().name, e.details(), flush=True)
        items = list(channel.unary_stream("/demo.v1.Items/Count")(b"5", timeout=10))
        print("Count", len(items), flush=True)


def counter_client(port, stop):
    import h2.config
    import h2.connection
    import h2.events

    sock = socket.create_connection(("127.0.0.1", port))
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    n = 0
    while not os.path.exists(stop):
        n += 1
        stream_id = conn.get_next_available_stream_id()
        conn.send_headers(stream_id, [(":method", "GET"), (":scheme", "http"), (":authority", f"127.0.0.1:{port}"),
                                      (":path", f"/n/{n}"), ("user-agent", "tattle-counter")], end_stream=True)
        sock.sendall(conn.data_to_send())
        answered = None
        ended = False
        while not ended:
            data = sock.recv(65536)
            if not data:
                sys.exit("the server closed the connection")
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived) and event.stream_id == stream_id:
                    answered = dict(event.headers).get(b"x-n", b"").decode()
                elif isinstance(event, h2.events.DataReceived):
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.StreamEnded) and event.stream_id == stream_id:
                    ended = True
            sock.sendall(conn.data_to_send())
        print(n, answered, flush=True)
        time.sleep(0.1)
    conn.close_connection()
    sock.sendall(conn.data_to_send())
    sock.close()


def main():
    mode = sys.argv[1]
    if mode == "h2-server":
        print(h2_server(), flush=True)
        threading.Event().wait()
    elif mode == "grpc-server":
        server, port = grpc_server()
        print(port, flush=True)
        server.wait_for_termination()
    elif mode == "grpc-client":
        grpc_client(int(sys.argv[2]))
    elif mode == "counter-client":
        counter_client(int(sys.argv[2]), sys.argv[3])
    else:
        sys.exit(f"unknown mode {mode}: h2-server, grpc-server, grpc-client PORT or counter-client PORT STOP")


if __name__ == "__main__":
    main()
