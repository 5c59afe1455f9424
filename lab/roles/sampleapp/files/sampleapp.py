#!/usr/bin/python3
"""The lab's sample application: a tiny HTTP service over PostgreSQL, SQLite and Redis.

GET  /healthz  -> 200 with row counts when the databases answer and Redis takes a write, else 503;
                  "targets" names the PostgreSQL server and the Redis it uses (SAMPLEAPP_DATABASE_HOST
                  and SAMPLEAPP_REDIS_HOST, which failover repoints)
                  "key" says whether the data was sealed under the app's encryption key (a restore with
                  another key answers 503)
GET  /orders   -> orders in PostgreSQL (count and sum), for data checks
POST /notes    -> append a note to SQLite (used by writers during backups)
"""
import hashlib
import hmac
import json
import os
import socket
import sqlite3
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2

# Where the database is: the environment file /etc/default/sampleapp sets these, and failover.yml
# rewrites SAMPLEAPP_DATABASE_HOST. Unset, the app uses the local server over its Unix socket.
# The password comes from the file PGPASSFILE names, never from the environment file.
DATABASE_HOST = os.environ.get("SAMPLEAPP_DATABASE_HOST", "")
DATABASE_PORT = os.environ.get("SAMPLEAPP_DATABASE_PORT", "5432")
PG_DSN = os.environ.get("SAMPLEAPP_PG_DSN") or " ".join(
    ["dbname=appdb"] + (["host=%s" % DATABASE_HOST, "port=%s" % DATABASE_PORT, "user=sampleapp"] if DATABASE_HOST else []))
SQLITE_PATH = os.environ.get("SAMPLEAPP_SQLITE", "/var/lib/sampleapp/app.db")
PORT = int(os.environ.get("SAMPLEAPP_PORT", "8080"))
# Redis: its host from the environment file, its password from a file only the app reads.
REDIS_HOST = os.environ.get("SAMPLEAPP_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("SAMPLEAPP_REDIS_PORT", "6379"))
REDIS_PASSWORD_FILE = os.environ.get("SAMPLEAPP_REDIS_PASSWORD_FILE", "/var/lib/sampleapp/.redispass")
# The app's encryption key (restored from its configuration's backup by rebuild.yml): the data in appdb is
# sealed under it, so a database restored next to another key is data this app cannot read.
KEY_FILE = os.environ.get("SAMPLEAPP_KEY_FILE", "/etc/sampleapp/secret.key")


def pg_orders():
    with psycopg2.connect(PG_DSN, connect_timeout=3) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*), coalesce(sum(amount_cents), 0) FROM orders")
        count, total = cur.fetchone()
    conn.close()
    return {"count": count, "amount_cents": int(total)}


def sqlite_conn():
    if not os.path.exists(SQLITE_PATH):
        raise RuntimeError("%s is missing" % SQLITE_PATH)
    conn = sqlite3.connect(SQLITE_PATH, timeout=10)
    conn.execute("PRAGMA journal_mode=WAL")
    return conn


def sqlite_notes():
    conn = sqlite_conn()
    try:
        return {"count": conn.execute("SELECT count(*) FROM notes").fetchone()[0]}
    finally:
        conn.close()


def _resp(*args):
    return b"".join([b"*%d\r\n" % len(args)] + [b"$%d\r\n%s\r\n" % (len(a), a) for a in (
        x if isinstance(x, bytes) else str(x).encode() for x in args)])


def redis_write():
    """SET a key on the Redis the app uses (a replica or a fenced master refuses it) and read it back."""
    password = open(REDIS_PASSWORD_FILE).read().strip() if os.path.exists(REDIS_PASSWORD_FILE) else ""
    value = "%.6f" % time.time()
    with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=3) as conn:
        commands = ([_resp("AUTH", password)] if password else []) + [
            _resp("SET", "sampleapp:health", value), _resp("GET", "sampleapp:health")]
        conn.sendall(b"".join(commands))
        replies, data = [], b""
        while len(replies) < len(commands):
            chunk = conn.recv(4096)
            if not chunk:
                raise RuntimeError("redis closed the connection")
            data += chunk
            replies = data.split(b"\r\n")[:-1]
            replies = [r for r in replies if not r.startswith(b"$")]
    for reply in replies:
        if reply.startswith(b"-"):
            raise RuntimeError(reply[1:].decode(errors="replace"))
    if replies[-1].decode() != value:
        raise RuntimeError("redis did not read back what was written")
    return {"written": True}


def key_seal():
    """The HMAC of a fixed text under the app's key, stored in appdb on first use and compared afterwards."""
    with open(KEY_FILE, "rb") as handle:
        seal = hmac.new(handle.read().strip(), b"lifeboat sample app data", hashlib.sha256).hexdigest()
    with psycopg2.connect(PG_DSN, connect_timeout=3) as conn, conn.cursor() as cur:
        cur.execute("SELECT seal FROM app_seal")
        row = cur.fetchone()
        if row is None:
            cur.execute("INSERT INTO app_seal (seal) VALUES (%s)", (seal,))
    conn.close()
    if row is not None and row[0] != seal:
        raise RuntimeError("the data in appdb was sealed under another key than %s" % KEY_FILE)
    return {"sealed": True}


class Handler(BaseHTTPRequestHandler):
    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 (http.server API)
        if self.path == "/healthz":
            body, status = {"status": "ok", "targets": {"postgresql": DATABASE_HOST or "local",
                                                        "redis": REDIS_HOST}}, 200
            for name, check in (("postgresql", pg_orders), ("sqlite", sqlite_notes), ("redis", redis_write),
                                ("key", key_seal)):
                try:
                    body[name] = check()
                except Exception as exc:  # the health endpoint reports every failure
                    body[name] = {"error": str(exc)}
                    body["status"], status = "degraded", 503
            self.reply(status, body)
        elif self.path == "/orders":
            self.reply(200, pg_orders())
        else:
            self.reply(404, {"error": "not found"})

    def do_POST(self):  # noqa: N802
        if self.path != "/notes":
            return self.reply(404, {"error": "not found"})
        length = int(self.headers.get("Content-Length", 0))
        text = json.loads(self.rfile.read(length) or b"{}").get("text", "")
        try:
            conn = sqlite_conn()
            try:
                with conn:
                    conn.execute("INSERT INTO notes (body) VALUES (?)", (text,))
            finally:
                conn.close()
        except Exception as exc:  # report, do not drop the connection
            return self.reply(500, {"error": str(exc)})
        return self.reply(201, {"ok": True})

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()
