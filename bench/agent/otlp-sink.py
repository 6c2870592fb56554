"""An OTLP http/protobuf sink that accepts every export and discards it: the agent's export cost without a
collector's. Used by bench/overhead/run.sh (tattle-agent-otlp) and bench/agent/soak.sh. Usage: otlp-sink.py PORT"""
import http.server
import sys


class Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
