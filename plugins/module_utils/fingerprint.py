# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Content fingerprints: row count and an order-independent hash per table.

Two databases of the same engine hold the same data exactly when their
fingerprints match, whatever order rows are stored in. Memory stays constant:
the per-table hash is a sum of per-row hash prefixes, not a sorted list.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import hashlib
import os
import sqlite3
import stat

from ansible_collections.lifeboat.dr.plugins.module_utils import engine_mysql
from ansible_collections.lifeboat.dr.plugins.module_utils import engine_postgresql as pg
from ansible_collections.lifeboat.dr.plugins.module_utils import engine_redis
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError

_MOD = 1 << 64
_PG_ROW_HASH = "coalesce(sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint::numeric), 0)"


def combine(tables):
    """One hash over every table's fingerprint."""
    digest = hashlib.sha256()
    for name in sorted(tables):
        digest.update(("%s:%d:%s;" % (name, tables[name]["rows"], tables[name]["hash"])).encode("utf-8"))
    return "sha256:" + digest.hexdigest()


def postgresql(runner, conn, database):
    tables = {}
    for name, quoted in pg.query(runner, conn, database, pg.TABLES_SQL):
        rows, total = pg.query(runner, conn, database, "SELECT count(*), %s FROM %s t" % (_PG_ROW_HASH, quoted))[0]
        tables[name] = {"rows": int(rows), "hash": "%x" % (int(total) % _MOD)}
    return tables


def mysql(runner, conn, database):
    """Per base table: row count and the sum of 60-bit prefixes of MD5 over every column, QUOTE()d."""
    lit = engine_mysql.quote_literal(database)
    tables = {}
    with engine_mysql.Client(conn) as client:
        columns = {}
        for table, column in client.query(runner, (
                "SELECT c.TABLE_NAME, c.COLUMN_NAME FROM information_schema.COLUMNS c JOIN information_schema.TABLES t "
                "ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME WHERE c.TABLE_SCHEMA = %s "
                "AND t.TABLE_TYPE = 'BASE TABLE' ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION") % lit):
            columns.setdefault(table, []).append("QUOTE(%s)" % engine_mysql.quote_ident(column))
        for table, quoted in sorted(columns.items()):
            row_hash = "CAST(CONV(SUBSTRING(MD5(CONCAT_WS(',', %s)), 1, 15), 16, 10) AS UNSIGNED)" % ", ".join(quoted)
            rows, total = client.query(runner, "SELECT COUNT(*), COALESCE(SUM(%s), 0) FROM %s.%s" % (
                row_hash, engine_mysql.quote_ident(database), engine_mysql.quote_ident(table)))[0]
            tables[table] = {"rows": int(rows), "hash": "%x" % (int(total) % _MOD)}
    return tables


def sqlite(path):
    try:
        conn = sqlite3.connect("file:%s?mode=rw" % path, uri=True, timeout=30)  # rw: see engine_sqlite.snapshot
    except sqlite3.Error as exc:
        raise LifeboatError("cannot open SQLite database %s: %s" % (path, exc))
    tables = {}
    with contextlib.closing(conn):
        try:
            names = [row[0] for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
            for name in names:
                rows, total = 0, 0
                for row in conn.execute('SELECT * FROM "%s"' % name.replace('"', '""')):
                    rows += 1
                    total += int.from_bytes(hashlib.sha256(repr(row).encode("utf-8")).digest()[:8], "big")
                tables[name] = {"rows": rows, "hash": "%x" % (total % _MOD)}
        except sqlite3.Error as exc:
            raise LifeboatError("cannot read SQLite database %s: %s" % (path, exc))
    return tables


def directory(path):
    """One "table" for a directory tree: entry count and a hash of every path, mode, owner and content."""
    if not os.path.isdir(path):
        raise LifeboatError("directory %s does not exist" % path)
    digest, entries = hashlib.sha256(), 0
    for top, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(dirs + files):
            full = os.path.join(top, name)
            info = os.lstat(full)
            entries += 1
            digest.update(("%s\0%o\0%d:%d\0" % (os.path.relpath(full, path), info.st_mode, info.st_uid,
                                                info.st_gid)).encode("utf-8", "surrogateescape"))
            if stat.S_ISREG(info.st_mode):
                with open(full, "rb") as handle:
                    for chunk in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(chunk)
            elif stat.S_ISLNK(info.st_mode):
                digest.update(os.readlink(full).encode("utf-8", "surrogateescape"))
    return {".": {"rows": entries, "hash": digest.hexdigest()[:16]}}


def redis(conn):
    """Per database: key count and an order-independent hash of every key with its serialized value."""
    client = engine_redis.connect(conn)
    tables = {}
    try:
        for db in sorted(engine_redis.keyspace(client)):
            client.call("SELECT", db)
            cursor, count, total = b"0", 0, 0
            while True:
                cursor, keys = client.call("SCAN", cursor, "COUNT", 1000)
                for key in keys:
                    value = client.call("DUMP", key) or b""
                    count += 1
                    total += int.from_bytes(hashlib.sha256(key + b"\0" + value).digest()[:8], "big")
                if cursor == b"0":
                    break
            tables["db" + db] = {"rows": count, "hash": "%x" % (total % _MOD)}
    finally:
        client.close()
    return tables
