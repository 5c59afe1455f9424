# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A minimal RESP2 client for the Redis engine (engines/redis.py), kept apart from the engine's logic.

Only admin commands are needed (INFO, CONFIG GET, BGSAVE, SCAN, DUMP); the
password stays in memory.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket

from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError


class RedisError(LifeboatError):
    pass


class Client:
    """Minimal RESP2 client: enough for admin commands, binary-safe, password kept in memory."""

    def __init__(self, host="127.0.0.1", port=6379, password=None, user=None, unix_socket=None, timeout=30):
        try:
            if unix_socket:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.settimeout(timeout)
                self.sock.connect(unix_socket)
            else:
                self.sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise RedisError("cannot connect to Redis at %s: %s" % (unix_socket or "%s:%s" % (host, port), exc))
        self.buf = self.sock.makefile("rb")
        if password:
            self.call(*(["AUTH", user, password] if user else ["AUTH", password]))

    def call(self, *args):
        payload = b"*%d\r\n" % len(args)
        for arg in args:
            data = arg if isinstance(arg, bytes) else str(arg).encode("utf-8")
            payload += b"$%d\r\n%s\r\n" % (len(data), data)
        self.sock.sendall(payload)
        return self._read()

    def _read(self):
        line = self.buf.readline()
        if not line:
            raise RedisError("Redis closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RedisError("Redis answered: %s" % rest.decode("utf-8", "replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            data = self.buf.read(size + 2)
            return data[:-2]
        if kind == b"*":
            count = int(rest)
            return None if count < 0 else [self._read() for dummy in range(count)]
        raise RedisError("unexpected Redis reply %r" % line[:40])

    def info(self, section):
        text = self.call("INFO", section).decode()
        return dict(line.split(":", 1) for line in text.splitlines() if ":" in line and not line.startswith("#"))

    def config(self, name):
        reply = self.call("CONFIG", "GET", name)
        return reply[1].decode() if reply else None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def connect(conn):
    return Client(host=conn.get("host") or "127.0.0.1", port=conn.get("port") or 6379, password=conn.get("password"),
                  user=conn.get("user"), unix_socket=conn.get("unix_socket"))
