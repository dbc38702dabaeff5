#!/usr/bin/python3
"""wait_notify.py CHANNEL [TIMEOUT]: LISTEN on CHANNEL, print "listening"
once the LISTEN is in effect, then block until a notification on it arrives:
print its payload and exit 0 (exit 1 when TIMEOUT seconds pass first, 2 on a
protocol error).  Connects like psql (PGHOST socket directory or host,
PGPORT, PGUSER, PGDATABASE; trust authentication, as in the test clusters).
A few lines of the frontend/backend protocol, so that a shell test can wait
for an event without polling and without a client library."""
import os
import socket
import struct
import sys
import time


def connect():
    host = os.environ.get("PGHOST", "/var/run/postgresql")
    port = int(os.environ.get("PGPORT", "5432"))
    if host.startswith("/"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect("%s/.s.PGSQL.%d" % (host, port))
    else:
        s = socket.create_connection((host, port))
    user = os.environ.get("PGUSER", "postgres")
    db = os.environ.get("PGDATABASE", user)
    body = struct.pack("!i", 196608)
    for k, v in (("user", user), ("database", db), ("application_name", "wait_notify")):
        body += k.encode() + b"\0" + v.encode() + b"\0"
    body += b"\0"
    s.sendall(struct.pack("!i", len(body) + 4) + body)
    return s


class Reader:
    def __init__(self, s):
        self.s = s
        self.buf = b""

    def read(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            self.s.settimeout(left)
            try:
                chunk = self.s.recv(65536)
            except socket.timeout:
                raise TimeoutError
            if not chunk:
                raise EOFError("server closed the connection")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def message(self, deadline):
        head = self.read(5, deadline)
        kind, length = head[:1], struct.unpack("!i", head[1:])[0]
        return kind, self.read(length - 4, deadline)


def main():
    channel = sys.argv[1]
    timeout = float(sys.argv[2]) if len(sys.argv) > 2 else 600.0
    deadline = time.monotonic() + timeout
    s = connect()
    r = Reader(s)
    try:
        # start-up: authentication (trust), parameters, ReadyForQuery
        while True:
            kind, body = r.message(deadline)
            if kind == b"R" and struct.unpack("!i", body[:4])[0] != 0:
                print("authentication other than trust is not supported", file=sys.stderr)
                return 2
            if kind == b"E":
                print("error: %r" % body, file=sys.stderr)
                return 2
            if kind == b"Z":
                break
        q = ('LISTEN "%s"' % channel.replace('"', '""')).encode() + b"\0"
        s.sendall(b"Q" + struct.pack("!i", len(q) + 4) + q)
        while True:
            kind, body = r.message(deadline)
            if kind == b"E":
                print("error: %r" % body, file=sys.stderr)
                return 2
            if kind == b"Z":
                break
        print("listening", flush=True)
        while True:
            kind, body = r.message(deadline)
            if kind == b"A":
                parts = body[4:].split(b"\0")
                if parts[0].decode() == channel:
                    print(parts[1].decode(), flush=True)
                    return 0
    except TimeoutError:
        print("timeout: no notification on %s within %g s" % (channel, timeout), file=sys.stderr)
        return 1
    except EOFError as e:
        print(str(e), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
