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
triggers, routines, events, the database's character set and collation, and
every object's definer). Only then is the target saved to a safety dump
and replaced by loading the same verified stream.

Users: the accounts the database needs (definers and grantees) are kept with
each backup (``SHOW CREATE USER`` and ``SHOW GRANTS``, compressed and
encrypted like the backup, as the metadata's ``sealed``), and a restore
creates the missing ones (``restore_roles``). Password hashes travel on stdin
only, never in argv, results or messages.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import json
import os
import re
import shutil
import tempfile

from ansible_collections.lifeboat.dr.plugins.module_utils import accounts as password_forms
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
RESTORE_ROLES = ("missing", "all", "none")
# Accounts every server has (or that belong to the server, not to a database): never backed up or changed.
SYSTEM_ACCOUNTS = (("root", "localhost"), ("mariadb.sys", "localhost"), ("mysql", "localhost"), ("PUBLIC", ""))
_MARK = "__lifeboat_account__"
_SECRETS = (re.compile(r"(PASSWORD|USING|AS)\s+'(?:[^'\\]|\\.|'')*'", re.I), re.compile(r"\*[0-9A-Fa-f]{40}"))
DEFINERS_SQL = (
    "SELECT 'view', TABLE_NAME, DEFINER FROM information_schema.VIEWS WHERE TABLE_SCHEMA = {db} UNION ALL "
    "SELECT LOWER(ROUTINE_TYPE), ROUTINE_NAME, DEFINER FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = {db} "
    "UNION ALL SELECT 'trigger', TRIGGER_NAME, DEFINER FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = {db} "
    "UNION ALL SELECT 'event', EVENT_NAME, DEFINER FROM information_schema.EVENTS WHERE EVENT_SCHEMA = {db} "
    "ORDER BY 1, 2"
)
GRANTEES_SQL = (
    "SELECT GRANTEE FROM information_schema.SCHEMA_PRIVILEGES WHERE TABLE_SCHEMA = {db} UNION "
    "SELECT GRANTEE FROM information_schema.TABLE_PRIVILEGES WHERE TABLE_SCHEMA = {db} UNION "
    "SELECT GRANTEE FROM information_schema.COLUMN_PRIVILEGES WHERE TABLE_SCHEMA = {db}"
)


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
    return {"name": database, "charset": charset, "collation": collation, "server_version": version,
            "definers": definers(runner, client, database)}


def definers(runner, client, database):
    """``[[kind, name, definer]]`` of every view, routine, trigger and event of ``database``."""
    return [list(row) for row in client.query(runner, DEFINERS_SQL.format(db=quote_literal(database)))]


def account(text):
    """``user@host`` (a DEFINER) or ``'user'@'host'`` (a GRANTEE) -> ``(user, host)``."""
    match = re.match(r"^'((?:[^']|'')*)'@'((?:[^']|'')*)'$", text)
    if match:
        return match.group(1).replace("''", "'"), match.group(2).replace("''", "'")
    user, _sep, host = text.rpartition("@")
    return (user, host) if _sep else (text, "")


def account_name(user, host):
    return "%s@%s" % (user, host) if host else user


def account_literal(user, host):
    return quote_literal(user) + ("@" + quote_literal(host) if host else "")


def scrub(text):
    """``text`` without password hashes or authentication strings."""
    text = _SECRETS[0].sub(lambda m: "%s '<redacted>'" % m.group(1), text)
    return _SECRETS[1].sub("<redacted>", text)


def _unescape(value):
    # mariadb --batch escapes backslash, tab, newline and NUL in values.
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "0": "\0"}.get(m.group(1), m.group(1)), value)


def referenced_accounts(runner, client, database, found_definers):
    names = set(account(row[2]) for row in found_definers)
    names |= set(account(row[0]) for row in client.query(runner, GRANTEES_SQL.format(db=quote_literal(database))))
    return sorted([list(name) for name in names])


def capture_accounts(runner, client):
    """Every account's ``SHOW CREATE USER`` (roles: ``CREATE ROLE``) and ``SHOW GRANTS``, as a JSON list."""
    rows = client.query(runner, "SELECT User, Host, is_role FROM mysql.user ORDER BY User, Host")
    script = []
    accounts = []
    for user, host, is_role in rows:
        if (user, host) in SYSTEM_ACCOUNTS or (user == "" and is_role != "Y"):
            continue
        role = is_role == "Y"
        accounts.append({"user": user, "host": "" if role else host, "role": role})
        target = quote_ident(user) if role else account_literal(user, host)
        script.append("SELECT '%s';" % _MARK)
        if not role:
            script.append("SHOW CREATE USER %s;" % target)
        script.append("SELECT '%s';" % _MARK)
        script.append("SHOW GRANTS FOR %s;" % target)
    if not accounts:
        return accounts
    out = runner.run(client.argv(runner, "mariadb", "--batch", "--skip-column-names"),
                     input_bytes="\n".join(script).encode("utf-8")).decode("utf-8")
    parts = out.split(_MARK + "\n")[1:]
    for index, entry in enumerate(accounts):
        create = [_unescape(line) for line in parts[2 * index].splitlines() if line]
        grants = [_unescape(line) for line in parts[2 * index + 1].splitlines() if line]
        entry["create"] = create[0] if create else "CREATE ROLE %s" % quote_ident(entry["user"])
        entry["grants"] = grants
    return accounts


def seal_accounts(runner, conn, database, tail, found_definers):
    """The accounts record of the metadata: the referenced names, and every account sealed through ``tail``."""
    with Client(conn) as client:
        referenced = referenced_accounts(runner, client, database, found_definers)
        try:
            accounts = capture_accounts(runner, client)
        except LifeboatError as exc:
            return {"captured": False, "referenced": referenced, "reason": scrub(str(exc))}
    plain = json.dumps(accounts, sort_keys=True).encode("utf-8")
    sealed = []
    if tail:
        runner.pipeline(tail, input_bytes=plain, sink=sealed.append)
    data = b"".join(sealed) if tail else plain
    return {"captured": True, "referenced": referenced, "names": [account_name(a["user"], a["host"]) for a in accounts],
            "size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "sealed": base64.b64encode(data).decode("ascii")}


def open_accounts(runner, head, path, record):
    data = base64.b64decode(record["sealed"])
    if len(data) != record.get("size") or hashlib.sha256(data).hexdigest() != record.get("sha256"):
        raise LifeboatError("the users kept in the metadata fail their checksum: they were altered")
    stages = [argv[:-1] if argv and argv[-1] == path else argv for argv in head]
    try:
        return json.loads(runner.pipeline(stages, input_bytes=data, capture=True).decode("utf-8"))
    except (LifeboatError, ValueError) as exc:
        raise LifeboatError("the users kept in the metadata cannot be read: %s" % scrub(str(exc)))


def _retarget(statement, source, target):
    """A grant on the backed-up database becomes a grant on the restore's target."""
    if not source or source == target:
        return statement
    return statement.replace(" ON %s." % quote_ident(source), " ON %s." % quote_ident(target))


def account_plan(accounts, referenced, existing, login, mode, source, target):
    """``(statements, created, updated)`` for ``restore_roles`` ``mode`` (see the module's documentation)."""
    if mode not in RESTORE_ROLES:
        raise LifeboatError("restore_roles must be one of %s, not %r" % (", ".join(RESTORE_ROLES), mode))
    if mode == "none":
        return [], [], []
    wanted = set(tuple(name) for name in referenced)
    existing = set(tuple(name) for name in existing)
    sql, created, updated = [], [], []
    # Roles first: a user's grants may name one.
    for entry in sorted(accounts, key=lambda item: not item["role"]):
        key = (entry["user"], entry["host"])
        if mode == "missing" and key not in wanted:
            continue
        if key in existing:
            if mode != "all" or entry["user"] == login:
                continue
            if not entry["role"]:
                sql.append(re.sub(r"^CREATE USER", "ALTER USER", entry["create"]))
            updated.append(account_name(*key))
        else:
            sql.append(entry["create"])
            created.append(account_name(*key))
        sql += [_retarget(grant, source, target) for grant in entry["grants"]]
    return sql, created, updated


def restore_accounts(runner, conn, head, path, meta, target, mode):
    content = meta["content"]
    record = content.get("accounts") or {}
    result = {"roles_created": [], "roles_updated": []}
    if mode == "none" or not record.get("captured"):
        if mode != "none" and record:
            result["roles_not_in_backup"] = record.get("reason") or "not captured"
        return result
    accounts = open_accounts(runner, head, path, record)
    with Client(conn) as client:
        existing = [list(row) for row in client.query(runner, "SELECT User, Host FROM mysql.user")]
        sql, created, updated = account_plan(accounts, record.get("referenced") or [], existing,
                                             conn.get("user"), mode, content.get("database", {}).get("name"), target)
        if sql:
            try:
                client.query(runner, "".join(statement + ";\n" for statement in sql))
            except LifeboatError as exc:
                raise LifeboatError("the users %s could not be created or updated: %s" % (
                    ", ".join(created + updated), scrub(str(exc))))
    result.update(roles_created=created, roles_updated=updated)
    return result


def compare_database(expected, actual):
    """Character set, collation and definers of a restored database against the metadata's."""
    problems = []
    for key in ("charset", "collation"):
        if expected.get(key) and expected[key] != actual.get(key):
            problems.append("%s is %s, the backup has %s" % (key, actual.get(key), expected[key]))
    if "definers" in expected and sorted(map(tuple, expected["definers"])) != sorted(
            map(tuple, actual.get("definers", []))):
        missing = sorted(set(map(tuple, expected["definers"])) - set(map(tuple, actual.get("definers", []))))
        problems.append("definers differ: %s" % ", ".join("%s %s by %s" % item for item in missing[:10]))
    return problems


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
    return {"tables": counter.tables, "objects": counter.objects, "database": info,
            "accounts": seal_accounts(runner, conn, database, tail, info["definers"])}


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
            check(tables, objects, "scratch database %s" % scratch, database_info(runner, client, scratch))
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
        return contents(runner, client, target) + (database_info(runner, client, target),)


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


def set_password(runner, conn, user, password, check_mode=False):
    """Every ``user@host`` account of ``user`` gets the password, sent as its mysql_native_password hash (the
    server never sees the clear text); accounts that already have it are left alone."""
    if not user:
        raise LifeboatError("name the MariaDB account whose password to set (user)")
    wanted = password_forms.mysql_native_hash(password)
    with Client(conn) as client:
        # global_priv (MariaDB 10.4+): the plugin, the hash, and whether other methods (unix_socket) are allowed too.
        rows = client.query(runner, "SELECT Host, JSON_VALUE(Priv, '$.plugin'), JSON_VALUE(Priv, '$.authentication_string'), "
                            "JSON_EXISTS(Priv, '$.auth_or') FROM mysql.global_priv WHERE User = %s ORDER BY Host"
                            % quote_literal(user))
        if not rows:
            raise LifeboatError("MariaDB account %s does not exist (on any host): no password was changed" % user)
        # ALTER USER ... IDENTIFIED BY PASSWORD makes mysql_native_password the only method: refused for accounts that
        # use another plugin or several (it would drop unix_socket or ed25519), naming them.
        other = [account_name(user, row[0]) for row in rows if row[1] != "mysql_native_password" or row[3] == "1"]
        if other:
            raise LifeboatError("MariaDB account(s) %s do not use mysql_native_password alone: their password is not "
                                "changed here (nothing was changed)" % ", ".join(other))
        todo = [row[0] for row in rows if row[2] != wanted]
        if todo and not check_mode:
            try:
                client.query(runner, "".join("ALTER USER %s IDENTIFIED BY PASSWORD %s;\n" % (
                    account_literal(user, host), quote_literal(wanted)) for host in todo))
            except LifeboatError as exc:
                raise LifeboatError(scrub(str(exc)))  # the server may quote the statement, hash included
    return {"changed": bool(todo), "accounts": [account_name(user, row[0]) for row in rows], "notes": []}


class MySQL(Engine):
    """The contract (engines/base.py) over the functions above; ``spec["mysql"]`` holds the connection."""

    name = "mysql"
    host_packages = HOST_PACKAGES
    server_packages = ("mariadb-server", "python3-pymysql")
    server_setup = "server_mysql"
    server_version_parts = 2
    required_params = ("database",)
    target_kind = "database"
    scratch_teardown = "drop_mysql_database"

    def extension(self, fmt):
        return "sql"

    def dump(self, runner, spec, sink, work_dir, tail):
        return dump(runner, spec["mysql"], spec["database"], sink, tail)

    def check_archive(self, runner, head, meta, path):
        check_archive(runner, head, meta)
        if (meta["content"].get("accounts") or {}).get("captured"):
            open_accounts(runner, head, path, meta["content"]["accounts"])

    def describe_target(self, spec):
        return spec.get("database")

    def target_exists(self, runner, spec, target, meta):
        return database_exists(runner, spec["mysql"], target)

    def restore(self, runner, spec, head, meta, target, job):
        """Load into a scratch database and check it; then a safety dump, and the target is reloaded."""
        conn = spec["mysql"]
        expected_objects = meta["content"].get("objects", {})

        info = meta["content"].get("database", {})

        def check(tables, objects, where, actual, untouched=True):
            job.check_rows(tables, where, untouched)
            problems = compare_objects(expected_objects, objects)
            if problems and job.verify_rows:
                raise LifeboatError("restored objects in %s do not match the backup's metadata%s: %s" % (
                    where, ", target left untouched" if untouched else "", "; ".join(problems)))
            problems = compare_database(info, actual)
            if problems:
                raise LifeboatError("restored database %s is not what the backup holds%s: %s" % (
                    where, ", target left untouched" if untouched else "", "; ".join(problems)))

        load_into_scratch(runner, conn, head, meta, target, check)
        try:
            users = restore_accounts(runner, conn, head, job.backup, meta, target,
                                     spec.get("restore_roles") or "missing")
        except LifeboatError as exc:
            raise LifeboatError("backup %s: the users it needs could not be restored (%s was not touched): %s" % (
                job.backup, target, exc))
        kept = keep_safety_dump(runner, conn, target, job) if job.safety else None
        tables, objects, actual = replace(runner, conn, head, meta, target)
        check(tables, objects, "%s (previous data in %s)" % (target, kept or "no safety copy"), actual, untouched=False)
        properties = {"charset": actual["charset"], "collation": actual["collation"],
                      "definers": sorted(set(row[2] for row in actual["definers"]))} if "definers" in info else None
        return dict(users, safety_copy=kept, restored_rows=tables, restored_objects=objects,
                    database_properties=properties)

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

    def set_password(self, runner, spec, user, password, check_mode=False):
        return set_password(runner, spec["mysql"], user, password, check_mode)


ENGINE = MySQL()
