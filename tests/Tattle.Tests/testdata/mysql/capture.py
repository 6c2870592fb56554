#!/usr/bin/python3
"""Captures the MySQL wire bytes the MySql parser tests replay.

Run once, as root, from anywhere:  /usr/bin/python3 capture.py [NAME...]   (only the cases named, when any is)
Needs mariadb-server and mariadb-client (Debian 12: MariaDB 10.11), openssl, and tests/DbClients built
(`dotnet build tests/DbClients`). A server is created with mariadb-install-db in its own data directory under
/tmp, listens on 127.0.0.1 on a free port with its socket in that directory, and is stopped at the end; the system
service is never touched. Writes, next to this script, for each case NAME:

  NAME.c2s    the bytes the client sent, as one stream
  NAME.s2c    the bytes the server sent, as one stream
  NAME.order  one line per recv() the relay made, in arrival order: "c2s LEN" or "s2c LEN"

The bytes are real: a relay on 127.0.0.1 sits between the client (the mariadb command-line client, mariadb-admin,
the MySqlConnector client of tests/DbClients (`mysql` mode), or a socket for a client without CLIENT_DEPRECATE_EOF) and the
server, and records what crosses it. Clients log in as "tattle" with a password (mysql_native_password) the tests
check is never recorded. Scrambles and thread ids change from one capture to the next; the tests assert on what
does not.
"""

import glob
import hashlib
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PASSWORD = "hunter2-never-recorded"
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", "..", ".."))

sys.path.insert(0, os.path.join(HERE, "..", "http1"))
import capture as http1  # noqa: E402  (the relay and free_port, shared with the HTTP captures)

http1.HERE = HERE
free_port, Relay = http1.free_port, http1.Relay


def mariadb(*args, stdin=None, user="tattle", password=PASSWORD):
    def run(port):
        subprocess.run(["mariadb", "--no-defaults", "-h", "127.0.0.1", "-P", str(port), "-u", user,
                        f"--password={password}", "--ssl=0", *args],
                       input=stdin, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return run


def admin(*args):
    def run(port):
        subprocess.run(["mariadb-admin", "--no-defaults", "-h", "127.0.0.1", "-P", str(port), "-u", "tattle",
                        f"--password={PASSWORD}", "--ssl=0", *args],
                       check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return run


def connector(port):
    dll = sorted(glob.glob(os.path.join(ROOT, "tests", "DbClients", "bin", "**", "DbClients.dll"), recursive=True),
                 key=os.path.getmtime)[-1]
    subprocess.run(["dotnet", dll, "mysql", f"Server=127.0.0.1;Port={port};User ID=tattle;Password={PASSWORD};Database=test;"
                    "SslMode=None;Pooling=false"], check=True, stdout=subprocess.DEVNULL)


def packet(seq, body):
    return struct.pack("<I", len(body))[:3] + bytes([seq]) + body


def read_packet(s):
    head = b""
    while len(head) < 4:
        head += s.recv(4 - len(head))
    length = int.from_bytes(head[:3], "little")
    body = b""
    while len(body) < length:
        body += s.recv(length - len(body))
    return head[3], body


def read_answer(s, deprecate_eof):
    """Reads one command's answer: OK, ERR, or a result set (column count, definitions, rows, its end)."""
    _, first = read_packet(s)
    if first[0] in (0x00, 0xff):
        return
    columns = first[0]
    for _ in range(columns):
        read_packet(s)
    if not deprecate_eof:
        read_packet(s)
    while True:
        _, p = read_packet(s)
        if p[0] == 0xff or (p[0] == 0xfe and len(p) < 0xffffff):
            return


def scramble(password, seed):
    a = hashlib.sha1(password.encode()).digest()
    b = hashlib.sha1(a).digest()
    c = hashlib.sha1(seed + b).digest()
    return bytes(x ^ y for x, y in zip(a, c))


def old_eof_client(port):
    """A client without CLIENT_DEPRECATE_EOF (the mariadb client asks for it): result sets end with EOF packets."""
    s = socket.create_connection(("127.0.0.1", port))
    _, hello = read_packet(s)
    end = hello.index(b"\0", 1)
    seed = hello[end + 5:end + 13] + hello[end + 1 + 4 + 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10:][:12]
    flags = 0x1 | 0x4 | 0x8 | 0x200 | 0x8000 | 0x80000 | 0x10000  # long pw, long flag, db, 4.1, secure, plugin, multi
    body = struct.pack("<IIB", flags, 1 << 24, 33) + b"\0" * 23 + b"tattle\0" + bytes([20]) + scramble(PASSWORD, seed)
    body += b"test\0mysql_native_password\0"
    s.sendall(packet(1, body))
    read_packet(s)
    for sql in (b"select 1", b"select 'a' as x, 2 as y union select 'b', 3", b"select * from no_such_table", b"do 1"):
        s.sendall(packet(0, b"\x03" + sql))
        read_answer(s, False)
    s.sendall(packet(0, b"\x01"))
    s.close()


def main():
    if os.geteuid() != 0:
        sys.exit("run as root")
    top = tempfile.mkdtemp(prefix="tattle-mysql-")
    data = os.path.join(top, "data")
    sock = os.path.join(top, "sock")
    port = free_port()
    subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={data}", "--user=root", "--auth-root-authentication-method=socket"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", os.path.join(top, "server.key"), "-out", os.path.join(top, "server.crt")],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = subprocess.Popen(["mariadbd", "--no-defaults", f"--datadir={data}", f"--port={port}", "--bind-address=127.0.0.1",
                               f"--socket={sock}", "--user=root", "--skip-name-resolve", "--max-allowed-packet=64M",
                               f"--ssl-cert={top}/server.crt", f"--ssl-key={top}/server.key", f"--log-error={top}/err.log"])
    try:
        for _ in range(100):
            if os.path.exists(sock):
                break
            time.sleep(0.1)
        subprocess.run(["mariadb", "--no-defaults", "-S", sock, "-u", "root", "-e",
                        f"create user tattle@'%' identified via mysql_native_password using password('{PASSWORD}');"
                        "grant all on *.* to tattle@'%'; create database if not exists test"], check=True)
        relay = Relay(port)
        relay.record("select1", mariadb("-e", "select 1"))
        relay.record("error", mariadb("-e", "select * from no_such_table"))
        relay.record("syntax", mariadb("-e", "selec 1"))
        relay.record("script", mariadb("test", stdin=b"create table t (id int, name text);\n"
                                       b"insert into t values (1, 'one'), (2, 'two'), (3, 'three');\n"
                                       b"select * from t order by id;\nupdate t set name = 'uno' where id = 1;\n"
                                       b"use mysql;\nselect count(*) from test.t where id > 100;\ndrop table test.t;\n"))
        relay.record("big_rows", mariadb("test", "-e", "select repeat('x', 100000) from seq_1_to_3"))
        relay.record("ping", admin("ping"))
        relay.record("bad_password", mariadb("-e", "select 1", password="wrong"))
        relay.record("compressed", mariadb("--compress", "-e", "select 1"))
        relay.record("ssl", mariadb("--ssl", "--ssl-verify-server-cert=0", "-e", "select 1"))
        relay.record("old_eof", old_eof_client)
        relay.record("connector", connector)
        # Statements that carry passwords, which records show as REDACTED.
        relay.record("passwords", mariadb("-e", f"create user scram@'localhost' identified by '{PASSWORD}';"
                                          f"set password for scram@'localhost' = password(\"{PASSWORD}\");"
                                          f"alter user scram@'localhost' identified via mysql_native_password using password('{PASSWORD}');"
                                          "drop user scram@'localhost'"))
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    main()
