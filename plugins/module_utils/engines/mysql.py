# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""MariaDB (and MySQL) dumps and restores with mariadb-dump and the mariadb client.

Consistency: ``--single-transaction`` dumps every InnoDB table from one
snapshot. MariaDB cannot share that snapshot with a second session, so the
row counts in the metadata are read from the dump stream itself as it is
written (``DumpCounter``): they describe exactly the rows in the file.

Secrets: the password reaches the tools in a 0600 option file in a private
directory (``--defaults-extra-file``), removed afterwards; never on a
command line.

Restore never writes into the target first: the dump is loaded into a
scratch database and checked against the metadata (rows per table, views,
triggers, routines, events). Only then is the target saved to a safety dump
and replaced by loading the same verified stream.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import shutil
import tempfile

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf
from ansible_collections.lifeboat.dr.plugins.module_utils import safety as safety_copies
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils.engines.base import HASH_MODULUS, Engine
from ansible_collections.lifeboat.dr.plugins.module_utils.process import writer_stages

# Debian packages a host needs for this engine (mariadb, mariadb-dump).
HOST_PACKAGES = ("mariadb-client",)

MAX_IDENT = 64
DUMP_OPTIONS = ["--single-transaction", "--quick", "--routines", "--triggers", "--events", "--hex-blob",
                "--default-character-set=utf8mb4"]
OBJECT_KINDS = ("views", "triggers", "routines", "events")
_STRING = re.compile(rb"'[^'\\]*(?:(?:\\.|'')[^'\\]*)*'", re.S)
_INSERT = re.compile(rb"^INSERT INTO `((?:[^`]|``)+)` VALUES")
_TABLE = re.compile(rb"^CREATE TABLE `((?:[^`]|``)+)`")
_OBJECTS = {
    "views": re.compile(rb"^/\*!50001 VIEW `"),
    "triggers": re.compile(rb"^/\*!50003 CREATE\*/ .*/\*!50003 TRIGGER "),
    "events": re.compile(rb"^/\*!50106 CREATE\*/ .*/\*!50106 EVENT "),
    "routines": re.compile(rb"^CREATE (?:DEFINER=\S+ )?(?:FUNCTION|PROCEDURE) "),
}
_COMPLETED = b"-- Dump completed"


def quote_ident(name):
    return "`" + name.replace("`", "``") + "`"


def quote_literal(value):
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _option_value(value):
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


class Client:
    """Connection options for the MariaDB tools; a context manager that owns the 0600 option file."""

    def __init__(self, conn):
        self.conn = conn
        self._dir = None
        self.path = None

    def __enter__(self):
        self._dir = tempfile.mkdtemp(prefix="lifeboat-mysql-")
        self.path = os.path.join(self._dir, "client.cnf")
        lines = ["[client]"]
        for key in ("user", "password", "host", "port", "socket"):
            if self.conn.get(key) not in (None, ""):
                lines.append("%s=%s" % (key, _option_value(self.conn[key])))
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write("\n".join(lines) + "\n")
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self._dir, ignore_errors=True)

    def argv(self, runner, program, *args):
        # --defaults-extra-file must come first, or the tools ignore it.
        return [runner.binary(program), "--defaults-extra-file=" + self.path] + list(args)

    def query(self, runner, sql, database=None):
        """Run ``sql`` (on stdin) and return rows of strings."""
        argv = self.argv(runner, "mariadb", "--batch", "--skip-column-names")
        if database:
            argv.append(database)
        out = runner.run(argv, input_bytes=sql.encode("utf-8"))
        return [line.split("\t") for line in out.decode("utf-8").splitlines() if line]

    def load_argv(self, runner, database):
        return self.argv(runner, "mariadb", "--batch", database)


class DumpCounter:
    """Reads a mariadb-dump stream as it passes: rows per table, other objects, and whether it is complete.

    Each row of an extended INSERT is one parenthesised tuple. Quoted strings
    are removed first, so brackets inside values never count; what remains
    (numbers, NULL, 0x hex blobs) holds no brackets.
    """

    def __init__(self):
        self.tables = {}
        self.objects = dict((kind, 0) for kind in OBJECT_KINDS)
        self.completed = False
        self._pending = b""
        self._inserting = None

    def feed(self, chunk):
        lines = (self._pending + chunk).split(b"\n")
        self._pending = lines.pop()
        for line in lines:
            self._line(line)

    def finish(self):
        if self._pending:
            self._line(self._pending)
            self._pending = b""
        return self

    def _line(self, line):
        if self._inserting is not None:
            self._values(line)
            return
        match = _INSERT.match(line)
        if match:
            self._inserting = _name(match.group(1))
            self.tables.setdefault(self._inserting, 0)
            self._values(line[match.end():])
            return
        match = _TABLE.match(line)
        if match:
            self.tables.setdefault(_name(match.group(1)), 0)
            return
        if line.startswith(_COMPLETED):
            self.completed = True
            return
        for kind, pattern in _OBJECTS.items():
            if pattern.match(line):
                self.objects[kind] += 1
                return

    def _values(self, text):
        bare = _STRING.sub(b"''", text)
        self.tables[self._inserting] += bare.count(b"(")
        if bare.rstrip().endswith(b";"):
            self._inserting = None


def _name(raw):
    return raw.replace(b"``", b"`").decode("utf-8", "replace")


def database_info(runner, client, database):
    rows = client.query(runner, (
        "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME, VERSION() FROM information_schema.SCHEMATA "
        "WHERE SCHEMA_NAME = %s") % quote_literal(database))
    if not rows:
        raise LifeboatError("MariaDB database %s does not exist" % database)
    charset, collation, version = rows[0]
    return {"name": database, "charset": charset, "collation": collation, "server_version": version}


def dump(runner, conn, database, sink, tail):
    """``mariadb-dump`` of ``database`` through ``tail`` into ``sink``; return the content record for metadata."""
    counter = DumpCounter()
    with Client(conn) as client:
        info = database_info(runner, client, database)
        argv = client.argv(runner, "mariadb-dump", *DUMP_OPTIONS) + [database]
        runner.pipeline([argv] + tail, sink=sink.write, tap=(0, counter.feed))
    counter.finish()
    if not counter.completed:
        raise LifeboatError("mariadb-dump output ends without its completion line; the dump is incomplete")
    return {"tables": counter.tables, "objects": counter.objects, "database": info}


def check_archive(runner, head, meta):
    """Read the whole stream back: it must be a complete dump with the rows the metadata records."""
    counter = DumpCounter()
    runner.pipeline(head, sink=counter.feed)
    counter.finish()
    if not counter.completed:
        raise LifeboatError("the dump is truncated (no completion line)")
    expected = meta["content"].get("tables", {})
    if counter.tables != expected:
        raise LifeboatError("the dump holds rows %s, the metadata records %s" % (counter.tables, expected))


def database_exists(runner, conn, name):
    with Client(conn) as client:
        return bool(client.query(runner, "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s"
                                 % quote_literal(name)))


def scratch_name(target):
    return target[:MAX_IDENT - len("__lifeboat_restore")] + "__lifeboat_restore"


def contents(runner, client, database):
    """Rows per base table and the number of views, triggers, routines and events in ``database``."""
    lit = quote_literal(database)
    tables = {}
    for (name,) in client.query(runner, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
                                        "AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1" % lit):
        tables[name] = int(client.query(runner, "SELECT COUNT(*) FROM %s.%s" % (
            quote_ident(database), quote_ident(name)))[0][0])
    counts = client.query(runner, " UNION ALL ".join([
        "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'VIEW'" % lit,
        "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s" % lit,
        "SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = %s" % lit,
        "SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = %s" % lit]))
    return tables, dict(zip(OBJECT_KINDS, (int(row[0]) for row in counts)))


def compare_objects(expected, actual):
    return ["%s: %d, metadata says %d" % (kind, actual.get(kind, 0), expected[kind])
            for kind in OBJECT_KINDS if kind in expected and expected[kind] != actual.get(kind, 0)]


def _create(runner, client, name, info):
    create = "CREATE DATABASE %s" % quote_ident(name)
    if info.get("charset"):
        create += " CHARACTER SET %s COLLATE %s" % (info["charset"], info["collation"])
    client.query(runner, create)


def _drop(runner, client, name):
    client.query(runner, "DROP DATABASE IF EXISTS %s" % quote_ident(name))


def load_into_scratch(runner, conn, head, meta, target, check):
    """Load the dump into a fresh scratch database, ``check(tables, objects)`` it, and drop it again."""
    info = meta["content"].get("database", {})
    scratch = scratch_name(target)
    with Client(conn) as client:
        _drop(runner, client, scratch)
        _create(runner, client, scratch, info)
        try:
            runner.pipeline(head + [client.load_argv(runner, scratch)])
            tables, objects = contents(runner, client, scratch)
            check(tables, objects, "scratch database %s" % scratch)
        finally:
            _drop(runner, client, scratch)
    return tables, objects


def safety_dump(runner, conn, target, path, tail, uid=-1, gid=-1):
    """Dump the current ``target`` to ``path`` (0600, published only when whole) before it is replaced."""
    with Client(conn) as client:
        with bf.atomic_file(path, 0o600, uid, gid) as handle:
            argv = client.argv(runner, "mariadb-dump", *DUMP_OPTIONS) + [target]
            runner.pipeline([argv] + tail, sink=handle.write)


def keep_safety_dump(runner, conn, target, job):
    """The safety dump of ``target`` in the service's safety directory, compressed and encrypted like the
    service's backups: ``<backup_root>/<service>/safety/pre-restore-<db>-<stamp>.sql.zst[.age|.gpg]``."""
    directory, uid, gid = job.safety_dir()
    with safety_copies.encryption(runner, job.spec, job.meta) as encryption:
        try:
            tail = writer_stages(runner, "zstd", 3, 0, encryption)
        except LifeboatError as exc:
            raise LifeboatError("the safety dump of %s cannot be encrypted like the service's backups (%s): %s; "
                                "the target was not touched" % (target, encryption.method, exc))
        path = safety_copies.unique_path(directory, "pre-restore-%s-%s" % (target, job.stamp),
                                         ".sql.zst" + encryption.extension)
        safety_dump(runner, conn, target, path, tail, uid, gid)
    return path


def safety_dump_pattern(target):
    return r"^pre-restore-%s-%s\.sql(?:\.[a-z0-9]+)*$" % (re.escape(target), safety_copies.STAMP_PATTERN)


def safety_dumps(root, service, target):
    """The safety dumps of ``target``: in the safety directory, and where versions before it kept them."""
    pattern = safety_dump_pattern(target)
    return (safety_copies.matching_files(safety_copies.safety_dir(root, service), pattern)
            + safety_copies.matching_files(bf.service_dir(root, service), pattern))


def replace(runner, conn, head, meta, target):
    """End sessions on ``target``, recreate it empty and load the dump; return what it then holds."""
    info = meta["content"].get("database", {})
    with Client(conn) as client:
        for (session,) in client.query(runner, "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = %s "
                                               "AND ID <> CONNECTION_ID()" % quote_literal(target)):
            try:
                client.query(runner, "KILL CONNECTION %d" % int(session))
            except LifeboatError:
                pass  # the session ended by itself meanwhile
        _drop(runner, client, target)
        _create(runner, client, target, info)
        runner.pipeline(head + [client.load_argv(runner, target)])
        return contents(runner, client, target)


def fingerprint(runner, conn, database):
    """Per base table: row count and the sum of 60-bit prefixes of MD5 over every column, QUOTE()d."""
    lit = quote_literal(database)
    tables = {}
    with Client(conn) as client:
        columns = {}
        for table, column in client.query(runner, (
                "SELECT c.TABLE_NAME, c.COLUMN_NAME FROM information_schema.COLUMNS c JOIN information_schema.TABLES t "
                "ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME WHERE c.TABLE_SCHEMA = %s "
                "AND t.TABLE_TYPE = 'BASE TABLE' ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION") % lit):
            columns.setdefault(table, []).append("QUOTE(%s)" % quote_ident(column))
        for table, quoted in sorted(columns.items()):
            row_hash = "CAST(CONV(SUBSTRING(MD5(CONCAT_WS(',', %s)), 1, 15), 16, 10) AS UNSIGNED)" % ", ".join(quoted)
            rows, total = client.query(runner, "SELECT COUNT(*), COALESCE(SUM(%s), 0) FROM %s.%s" % (
                row_hash, quote_ident(database), quote_ident(table)))[0]
            tables[table] = {"rows": int(rows), "hash": "%x" % (int(total) % HASH_MODULUS)}
    return tables


class MySQL(Engine):
    """The contract (engines/base.py) over the functions above; ``spec["mysql"]`` holds the connection."""

    name = "mysql"
    host_packages = HOST_PACKAGES
    required_params = ("database",)
    target_kind = "database"
    scratch_teardown = "drop_mysql_database"

    def extension(self, fmt):
        return "sql"

    def dump(self, runner, spec, sink, work_dir, tail):
        return dump(runner, spec["mysql"], spec["database"], sink, tail)

    def check_archive(self, runner, head, meta, path):
        check_archive(runner, head, meta)

    def describe_target(self, spec):
        return spec.get("database")

    def target_exists(self, runner, spec, target, meta):
        return database_exists(runner, spec["mysql"], target)

    def restore(self, runner, spec, head, meta, target, job):
        """Load into a scratch database and check it; then a safety dump, and the target is reloaded."""
        conn = spec["mysql"]
        expected_objects = meta["content"].get("objects", {})

        def check(tables, objects, where, untouched=True):
            job.check_rows(tables, where, untouched)
            problems = compare_objects(expected_objects, objects)
            if problems and job.verify_rows:
                raise LifeboatError("restored objects in %s do not match the backup's metadata%s: %s" % (
                    where, ", target left untouched" if untouched else "", "; ".join(problems)))

        load_into_scratch(runner, conn, head, meta, target, check)
        kept = keep_safety_dump(runner, conn, target, job) if job.safety else None
        tables, objects = replace(runner, conn, head, meta, target)
        check(tables, objects, "%s (previous data in %s)" % (target, kept or "no safety copy"), untouched=False)
        return {"safety_copy": kept, "restored_rows": tables, "restored_objects": objects}

    def safety_copies(self, runner, spec, target):
        return safety_dumps(spec["backup_root"], spec["service"], target)

    def drop_safety_copy(self, runner, spec, copy):
        safety_copies.drop_file(copy, [safety_copies.safety_dir(spec["backup_root"], spec["service"]),
                                       bf.service_dir(spec["backup_root"], spec["service"])], r"^pre-restore-")

    def safety_copy_space(self, runner, spec, target, meta):
        # The dump of the live database is compressed like its backup: about the backup's size.
        return (safety_copies.safety_dir(spec["backup_root"], spec["service"]),
                int(meta.get("size_bytes", 0) * safety_copies.DUMP_MARGIN))

    def connect(self, runner, spec):
        with Client(spec["mysql"]) as client:
            version = client.query(runner, "SELECT VERSION()", spec["database"])
        return True, "MariaDB %s, database %s" % (version[0][0], spec["database"])

    def live_counts(self, runner, spec):
        return {name: entry["rows"] for name, entry in self.fingerprint(runner, spec).items()}

    def fingerprint(self, runner, spec):
        return fingerprint(runner, spec["mysql"], spec["database"])


ENGINE = MySQL()
