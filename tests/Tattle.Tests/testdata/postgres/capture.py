#!/usr/bin/python3
"""Captures the PostgreSQL wire bytes the Postgres parser tests replay.

Run once, as root, from anywhere:  /usr/bin/python3 capture.py [NAME...]   (only the cases named, when any is)
Needs postgresql-15 (its initdb, pg_ctl, psql and pgbench) and openssl. A PostgreSQL 15 cluster is created as user
postgres in its own data directory under /tmp, listening on 127.0.0.1 on a free port with its socket in /tmp, and
stopped at the end; the system service is never touched. Writes, next to this script, for each case NAME:

  NAME.c2s    the bytes the client sent, as one stream
  NAME.s2c    the bytes the server sent, as one stream
  NAME.order  one line per recv() the relay made, in arrival order: "c2s LEN" or "s2c LEN"

The bytes are real: a relay on 127.0.0.1 sits between psql or pgbench and the server and records what crosses it.
Trust authentication for everyone but the user "scram", whose password (scram-sha-256) the tests check is never
recorded. Key data and process ids change from one capture to the next; the tests assert on what does not.
"""

import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = "/usr/lib/postgresql/15/bin"
PASSWORD = "hunter2-never-recorded"


sys.path.insert(0, os.path.join(HERE, "..", "http1"))
import capture as http1  # noqa: E402  (the relay and free_port, shared with the HTTP captures)

http1.HERE = HERE
free_port, Relay = http1.free_port, http1.Relay


def as_postgres(*args, **kw):
    return subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, **kw)


def psql(*args, sslmode="disable", user="postgres", password=None, stdin=None):
    def run(port):
        env = dict(os.environ, PGSSLMODE=sslmode, PGAPPNAME="tattle-test")
        if password:
            env["PGPASSWORD"] = password
        subprocess.run(["psql", "-X", "-q", "-h", "127.0.0.1", "-p", str(port), "-U", user, "-d", "postgres", *args],
                       env=env, input=stdin, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return run


def message(kind, body=b""):
    return kind + struct.pack("!i", len(body) + 4) + body


def cstr(s):
    return s.encode() + b"\0"


def read_until_ready(s):
    data = b""
    while not data.endswith(b"Z\0\0\0\x05I") and not data.endswith(b"Z\0\0\0\x05E"):
        chunk = s.recv(65536)
        if not chunk:
            return
        data += chunk


def extended_client(port):
    """The extended protocol as libpq's PQprepare/PQexecPrepared pipeline it (psycopg2 interpolates parameters
    client-side and pgbench opens two connections): the client's bytes are built here, the server's are real."""
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(struct.pack("!ii", 8 + len(b"user\0postgres\0database\0postgres\0\0"), 196608)
              + b"user\0postgres\0database\0postgres\0\0")
    read_until_ready(s)
    one = struct.pack("!hi", 0, 1) + b"7"
    s.sendall(message(b"P", cstr("plus_one") + cstr("select $1::int + 1 as n") + struct.pack("!h", 0))
              + message(b"S"))
    read_until_ready(s)
    # Two executions of the named statement, then an unnamed one, pipelined up to one Sync.
    for value in (b"7", b"41"):
        s.sendall(message(b"B", cstr("") + cstr("plus_one") + struct.pack("!hh", 0, 1) + struct.pack("!i", len(value))
                          + value + struct.pack("!h", 0))
                  + message(b"D", b"P" + cstr("")) + message(b"E", cstr("") + struct.pack("!i", 0)))
    s.sendall(message(b"P", cstr("") + cstr("select generate_series(1, 3)") + struct.pack("!h", 0))
              + message(b"B", cstr("") + cstr("") + struct.pack("!hhh", 0, 0, 0))
              + message(b"E", cstr("") + struct.pack("!i", 0)) + message(b"S"))
    read_until_ready(s)
    # An error in Execute: the backend skips to Sync, so the Execute after it never runs.
    s.sendall(message(b"P", cstr("") + cstr("select 1 / 0") + struct.pack("!h", 0))
              + message(b"B", cstr("") + cstr("") + struct.pack("!hhh", 0, 0, 0))
              + message(b"E", cstr("") + struct.pack("!i", 0))
              + message(b"B", cstr("") + cstr("plus_one") + struct.pack("!hh", 0, 1) + one[2:] + struct.pack("!h", 0))
              + message(b"E", cstr("") + struct.pack("!i", 0)) + message(b"S"))
    read_until_ready(s)
    s.sendall(message(b"X"))
    s.recv(100)
    s.close()


SCRIPT = b"""create table t (id int, name text);
insert into t values (1, 'one'), (2, 'two'), (3, 'three');
select * from t order by id;
update t set name = 'uno' where id = 1;
copy t from stdin;
4\tfour
5\tfive
\\.
copy t to stdout;
select count(*) from t where id > 100;
delete from t;
drop table t;
"""


def main():
    if os.geteuid() != 0:
        sys.exit("run as root: the cluster is created as user postgres")
    top = tempfile.mkdtemp(prefix="tattle-pg-")
    os.chmod(top, 0o755)
    data = os.path.join(top, "data")
    shutil.chown(top, "postgres", "postgres")
    port = free_port()
    as_postgres(f"{BIN}/initdb", "-D", data, "-A", "trust", "-U", "postgres", stdout=subprocess.DEVNULL)
    with open(os.path.join(data, "pg_hba.conf"), "w") as f:
        f.write("local all all trust\nhost all scram 127.0.0.1/32 scram-sha-256\nhost all all 127.0.0.1/32 trust\n")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", os.path.join(data, "server.key"), "-out", os.path.join(data, "server.crt")],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for f in ("server.key", "server.crt"):
        shutil.chown(os.path.join(data, f), "postgres", "postgres")
        os.chmod(os.path.join(data, f), 0o600)
    as_postgres(f"{BIN}/pg_ctl", "-D", data, "-l", os.path.join(top, "log"), "-w",
                "-o", f"-p {port} -k /tmp -c listen_addresses=127.0.0.1 -c ssl=on", "start", stdout=subprocess.DEVNULL)
    try:
        as_postgres("psql", "-X", "-q", "-h", "/tmp", "-p", str(port), "-d", "postgres",
                    "-c", f"create user scram password '{PASSWORD}'")
        as_postgres(f"{BIN}/pgbench", "-h", "/tmp", "-p", str(port), "-i", "-s", "1", "-q", "postgres",
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        relay = Relay(port)
        relay.record("ssl", psql("-c", "select 1", sslmode="require"))
        relay.record("select1", psql("-c", "select 1"))
        relay.record("error", psql("-c", "select * from no_such_table"))
        relay.record("multi", psql("-c", "select 1; select 2, 3"))
        relay.record("script", psql("-f", "-", stdin=SCRIPT))
        relay.record("scram", psql("-c", "select current_user", user="scram", password=PASSWORD))
        relay.record("bad_database", psql("-d", "no_such_db", "-c", "select 1"))
        relay.record("big_rows", psql("-c", "select repeat('x', 100000) from generate_series(1, 3)"))
        relay.record("notify", psql("-c", "listen ch; notify ch, 'hello'"))
        relay.record("extended", extended_client)
        # Statements that carry passwords, which records show as REDACTED (the role's, a connection string's).
        relay.record("passwords", psql("-c", f"alter user scram password '{PASSWORD}'",
                                       "-c", f"alter role scram with encrypted password E'{PASSWORD}' valid until 'infinity'",
                                       "-c", f"select 'host=127.0.0.1 password={PASSWORD} dbname=postgres' as conninfo"))
    finally:
        as_postgres(f"{BIN}/pg_ctl", "-D", data, "-m", "fast", "stop", stdout=subprocess.DEVNULL)
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    main()
