"""A DNS relay that holds every query DELAY seconds before passing it to the real server (dnsmasq) and relaying its
answer: a slow resolver for tattle probe's getaddrinfo test. Usage: slow_dns.py ADDRESS PORT UPSTREAM_PORT DELAY.
It also listens on TCP PORT, only so that the test can wait until it is up."""
import socket
import sys
import threading
import time

address, port, upstream, delay = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])

ready = socket.socket()
ready.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ready.bind((address, port))
ready.listen(8)


def accept_forever():
    while True:
        conn, _ = ready.accept()
        conn.close()


threading.Thread(target=accept_forever, daemon=True).start()
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind((address, port))


def answer(query, client):
    time.sleep(delay)
    up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    up.settimeout(5)
    up.sendto(query, (address, upstream))
    reply, _ = up.recvfrom(65535)
    udp.sendto(reply, client)


while True:
    query, client = udp.recvfrom(65535)
    threading.Thread(target=answer, args=(query, client), daemon=True).start()
