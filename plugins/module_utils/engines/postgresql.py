# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL dumps and restores with pg_dump/pg_restore/psql.

Consistency: row counts for the metadata are taken inside a REPEATABLE READ
transaction whose snapshot is exported and handed to pg_dump, so the counts
describe exactly the data in the dump.

Restore never writes into the target first: it restores into a scratch
database, checks it against the metadata, gives it the database-level
properties the dump recorded (postgresql_fidelity.py), and only then swaps
names. The old database survives as the safety copy. The roles the database
needs are backed up with it and created on the target when missing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile

from ansible_collections.lifeboat.dr.plugins.module_utils import accounts
from ansible_collections.lifeboat.dr.plugins.module_utils import missing_rows
from ansible_collections.lifeboat.dr.plugins.module_utils import safety as safety_copies
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils.engines import postgresql_fidelity as fidelity
from ansible_collections.lifeboat.dr.plugins.module_utils.engines import postgresql_replication as replication
from ansible_collections.lifeboat.dr.plugins.module_utils.engines.base import HASH_MODULUS, Engine

# Debian packages a host needs for this engine (psql, pg_dump, pg_restore, pg_amcheck).
HOST_PACKAGES = ("postgresql-client",)

FORMATS = {"custom": "dump", "directory": "dir.tar"}
SPOOLED = "archive.dump"
_END = "__lifeboat_end__"
MAX_IDENT = 63

TABLES_SQL = (
    "SELECT n.nspname || '.' || c.relname, quote_ident(n.nspname) || '.' || quote_ident(c.relname) "
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%' ORDER BY 1"
)
_ROW_HASH = "coalesce(sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint::numeric), 0)"
DATABASE_SQL = (
    "SELECT pg_get_userbyid(datdba), pg_encoding_to_char(encoding), datcollate, datctype, "
    "current_setting('server_version'), current_setting('server_version_num') "
    "FROM pg_database WHERE datname = current_database()"
)
LOGIN_SQL = (
    "SELECT json_build_object('login', current_user, 'superuser', (SELECT rolsuper FROM pg_roles "
    "WHERE rolname = current_user), 'member', (SELECT json_object_agg(rolname, pg_has_role(current_user, oid, "
    "'MEMBER')) FROM pg_roles))::text"
)
quote_ident = fidelity.quote_ident
quote_literal = fidelity.quote_literal


class Connection:
    """How to reach a server; the password travels only in PGPASSWORD."""

    def __init__(self, host=None, port=None, user=None, password=None, maintenance_db="postgres"):
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.maintenance_db = maintenance_db

    def args(self, database):
        argv = []
        if self.host:
            argv += ["-h", self.host]
        if self.port:
            argv += ["-p", str(self.port)]
        if self.user:
            argv += ["-U", self.user]
        return argv + ["-d", database]

    def env(self):
        env = {"PGCONNECT_TIMEOUT": "10", "PGAPPNAME": "lifeboat"}
        if self.password is not None:
            env["PGPASSWORD"] = self.password
        return env


def _psql_argv(runner, conn, database):
    return [runner.binary("psql"), "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-w"] + conn.args(database)


def query(runner, conn, database, sql):
    """Run ``sql`` through psql (on stdin, never argv) and return rows of strings."""
    out = runner.run(_psql_argv(runner, conn, database), input_bytes=sql.encode("utf-8"), env=conn.env())
    return [line.split("\t") for line in out.decode("utf-8").splitlines() if line]


class SnapshotSession:
    """An open REPEATABLE READ transaction whose snapshot pg_dump can share."""

    def __init__(self, runner, conn, database):
        argv = _psql_argv(runner, conn, database)
        runner.record([argv])
        env = dict(runner.env)
        env.update(conn.env())
        self._err = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._err, env=env)

    def ask(self, sql):
        self._proc.stdin.write((sql.rstrip().rstrip(";") + ";\n\\echo " + _END + "\n").encode("utf-8"))
        self._proc.stdin.flush()
        rows = []
        while True:
            line = self._proc.stdout.readline()
            if not line:
                self._proc.wait()
                self._err.seek(0)
                raise LifeboatError("psql failed: %s" % self._err.read().decode("utf-8", "replace").strip())
            text = line.decode("utf-8").rstrip("\n")
            if text == _END:
                return rows
            if text:
                rows.append(text.split("\t"))

    def close(self):
        if self._proc.poll() is None:
            try:
                self._proc.stdin.write(b"COMMIT;\n")
                self._proc.stdin.close()
            except BrokenPipeError:
                pass
            self._proc.wait()
        self._err.close()


def table_counts(ask):
    """``{schema.table: rows}`` for every ordinary table, through ``ask(sql) -> rows``."""
    counts = {}
    for name, quoted in ask(TABLES_SQL):
        counts[name] = int(ask("SELECT count(*) FROM %s" % quoted)[0][0])
    return counts


def dump(runner, conn, database, out_file, work_dir, tail, fmt="custom", jobs=1):
    """Dump ``database`` into the writable ``out_file``; return the content record for metadata.

    ``custom`` streams ``pg_dump -Fc -Z0 | <tail stages>`` into ``out_file``.
    ``directory`` runs ``pg_dump -Fd -j jobs`` into ``work_dir`` and streams it as a tar.
    """
    if fmt not in FORMATS:
        raise LifeboatError("unknown PostgreSQL dump format %r (expected custom or directory)" % fmt)
    pg_dump = runner.binary("pg_dump")
    session = SnapshotSession(runner, conn, database)
    try:
        session.ask("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        snapshot = session.ask("SELECT pg_export_snapshot()")[0][0]
        owner, encoding, collate, ctype, version, version_num = session.ask(DATABASE_SQL)[0]
        properties = fidelity.database_properties(session.ask, database, int(version_num))
        counts = table_counts(session.ask)
        base = [pg_dump, "--snapshot=%s" % snapshot, "-Z0", "--no-password"] + conn.args(database)
        if fmt == "custom":
            argvs = [base + ["-Fc"]] + tail
            runner.pipeline(argvs, sink=out_file.write, env=conn.env())
        else:
            target = os.path.join(work_dir, "dump")
            runner.pipeline([base + ["-Fd", "-j", str(jobs), "-f", target]], env=conn.env())
            tar = [runner.binary("tar"), "-C", target, "-cf", "-", "."]
            runner.pipeline([tar] + tail, sink=out_file.write)
    finally:
        session.close()
    referenced = properties.pop("referenced_roles")
    return {
        "tables": counts,
        "database": {"name": database, "owner": owner, "encoding": encoding, "lc_collate": collate,
                     "lc_ctype": ctype, "server_version": version, "properties": properties},
        "format": fmt,
        "roles": capture_roles(runner, conn, database, tail, referenced),
    }


def capture_roles(runner, conn, database, tail, referenced):
    """``pg_dumpall --roles-only`` through ``tail`` (compressed, encrypted), kept as the metadata's ``sealed``.

    Reading password hashes needs a superuser or SELECT on pg_authid (``pg_read_all_data`` has it);
    without, the roles are kept without passwords, and without even that, the record says why.
    """
    # pg_dumpall's -d is a connection string; -l names the database to connect to.
    base = [runner.binary("pg_dumpall"), "--roles-only", "--no-password"] + conn.args(database)[:-2] + ["-l", database]
    reason = None
    for extra, passwords in (([], True), (["--no-role-passwords"], False)):
        sealed, plain = [], []
        try:
            runner.pipeline([base + extra] + tail, sink=sealed.append, tap=(0, plain.append), env=conn.env())
        except LifeboatError as exc:
            reason = fidelity.scrub(str(exc))
            continue
        data = b"".join(sealed)
        roles, _memberships = fidelity.parse_roles(b"".join(plain).decode("utf-8", "replace"))
        return {"captured": True, "passwords": passwords, "referenced": referenced, "names": sorted(roles),
                "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                "sealed": base64.b64encode(data).decode("ascii")}
    return {"captured": False, "referenced": referenced, "reason": reason}


def stdin_stages(head, path):
    """The reader stages of ``head`` reading stdin instead of the backup ``path`` (same decryption and
    decompression): how the sealed roles are opened."""
    return [argv[:-1] if argv and argv[-1] == path else argv for argv in head]


def open_roles(runner, head, path, record):
    """The roles SQL from a backup's ``roles`` record; raise when it was altered or cannot be read."""
    data = base64.b64decode(record["sealed"])
    if len(data) != record.get("size") or hashlib.sha256(data).hexdigest() != record.get("sha256"):
        raise LifeboatError("the roles kept in the metadata fail their checksum: they were altered")
    try:
        return runner.pipeline(stdin_stages(head, path), input_bytes=data, capture=True).decode("utf-8")
    except LifeboatError as exc:
        raise LifeboatError("the roles kept in the metadata cannot be read: %s" % fidelity.scrub(str(exc)))


def login_facts(runner, conn):
    return json.loads(query(runner, conn, conn.maintenance_db, LOGIN_SQL)[0][0])


def restore_roles(runner, conn, head, path, content, mode):
    """Create the roles the database needs that the target lacks (``missing``), or all (``all``)."""
    record = content.get("roles") or {}
    result = {"roles_created": [], "roles_updated": []}
    if mode == "none" or not record.get("captured"):
        if mode != "none" and record:
            result["roles_not_in_backup"] = record.get("reason") or "not captured"
        return result
    roles, memberships = fidelity.parse_roles(open_roles(runner, head, path, record))
    facts = login_facts(runner, conn)
    wanted = fidelity.needed_roles(record.get("referenced") or [], roles, memberships)
    sql, created, updated, skipped = fidelity.role_plan(roles, memberships, wanted, set(facts["member"]),
                                                        facts["login"], facts["superuser"], mode)
    if sql:
        try:
            query(runner, conn, conn.maintenance_db, fidelity.script(sql))
        except LifeboatError as exc:
            raise LifeboatError("the roles %s could not be created or updated (nothing was changed): %s" % (
                ", ".join(created + updated), fidelity.scrub(str(exc))))
    result.update(roles_created=created, roles_updated=updated)
    if skipped:
        result["roles_skipped"] = skipped
    if created and not record.get("passwords"):
        result["roles_without_password"] = created
    return result


def check_archive(runner, head, fmt, work_dir):
    """Prove the archive that ``head`` streams out reads in full with pg_restore.

    ``pg_restore -f /dev/null`` renders the whole archive as SQL, so every
    data block is decompressed and parsed, not only the table of contents.
    """
    pg_restore = [runner.binary("pg_restore"), "-f", "/dev/null"]
    if fmt == "custom":
        runner.pipeline(head + [pg_restore])
    else:
        target = _unpack(runner, head, work_dir)
        try:
            runner.run(pg_restore + [target])
        finally:
            shutil.rmtree(target, ignore_errors=True)


def _unpack(runner, head, work_dir):
    target = tempfile.mkdtemp(prefix=".lifeboat-unpack-", dir=work_dir)
    tar = [runner.binary("tar"), "-C", target, "-xf", "-"]
    runner.pipeline(head + [tar])
    return target


def _spool(runner, head, work_dir):
    target = tempfile.mkdtemp(prefix=".lifeboat-unpack-", dir=work_dir)
    runner.pipeline(head + [[runner.binary("dd"), "of=" + os.path.join(target, SPOOLED), "bs=1M", "status=none"]])
    return target


def database_exists(runner, conn, name):
    return bool(query(runner, conn, conn.maintenance_db,
                      "SELECT 1 FROM pg_database WHERE datname = %s" % quote_literal(name)))


def scratch_name(target):
    return (target[:MAX_IDENT - len("__lifeboat_restore")] + "__lifeboat_restore")


SAFETY_INFIX = "_pre_restore_"


def safety_name(target, stamp):
    suffix = SAFETY_INFIX + stamp
    return target[:MAX_IDENT - len(suffix)] + suffix


def safety_pattern(target):
    """The names ``safety_name`` gives ``target``'s safety copies (the prefix is cut as it cuts it)."""
    prefix = target[:MAX_IDENT - len(SAFETY_INFIX) - len("YYYYMMDD_HHMMSS")]
    like = "".join("\\" + char if char in "\\_%" else char for char in prefix + SAFETY_INFIX) + "%"
    return re.compile("^%s%s%s$" % (re.escape(prefix), SAFETY_INFIX, safety_copies.STAMP_PATTERN)), like


SAFETY_NAME = re.compile(".+%s%s$" % (SAFETY_INFIX, safety_copies.STAMP_PATTERN), re.S)
SAFETY_COPIES_SQL = ("SELECT datname, CASE WHEN has_database_privilege(oid, 'CONNECT') THEN pg_database_size(oid) END "
                     "FROM pg_database WHERE datname LIKE %s ORDER BY 1")


def safety_databases(runner, conn, target):
    """The ``<target>_pre_restore_<stamp>`` databases on the server, with their sizes."""
    pattern, like = safety_pattern(target)
    found = []
    for name, size in query(runner, conn, conn.maintenance_db, SAFETY_COPIES_SQL % quote_literal(like)):
        match = pattern.match(name)
        if match:
            found.append(safety_copies.entry(name, name, "database", match.group("stamp"),
                                             int(size) if size else None))
    return found


def restore_into_scratch(runner, conn, head, meta, target, work_dir, jobs=1):
    """Restore the archive ``head`` streams out into a fresh scratch database; return its name and row counts."""
    content = meta.get("content", {})
    info = content.get("database", {})
    scratch = scratch_name(target)
    admin = conn.maintenance_db
    query(runner, conn, admin, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % quote_ident(scratch))
    create = "CREATE DATABASE %s TEMPLATE template0" % quote_ident(scratch)
    if info.get("owner"):
        create += " OWNER %s" % quote_ident(info["owner"])
    create += fidelity.create_options(info)
    query(runner, conn, admin, create)
    try:
        # Extensions owned by another role than the login are created first, as that role.
        facts = login_facts(runner, conn)
        plan, refused = fidelity.extension_plan(info.get("properties") or {}, facts["login"],
                                                lambda role: facts["member"].get(role, False))
        if plan:
            query(runner, conn, scratch, "BEGIN;\n" + "".join(s + ";\n" for s in fidelity.extension_sql(plan))
                  + "COMMIT;\n")
        pg_restore = [runner.binary("pg_restore"), "--exit-on-error", "--no-password"] + conn.args(scratch)
        if content.get("format", "custom") == "custom" and jobs <= 1:
            listing = _toc_list(runner, plan, work_dir, lambda argv: runner.pipeline(head + [argv], capture=True))
            try:
                runner.pipeline(head + [pg_restore + ["--single-transaction"] + listing], env=conn.env())
            finally:
                _remove_list(listing)
        else:
            # pg_restore -j needs a seekable archive: unpack the directory format, or spool the custom one.
            directory = content.get("format") == "directory"
            unpacked = (_unpack if directory else _spool)(runner, head, work_dir)
            try:
                archive = unpacked if directory else os.path.join(unpacked, SPOOLED)
                listing = _toc_list(runner, plan, unpacked, lambda argv: runner.run(argv + [archive]))
                runner.run(pg_restore + ["-j", str(jobs)] + listing + [archive], env=conn.env())
            finally:
                shutil.rmtree(unpacked, ignore_errors=True)
        counts = table_counts(lambda sql: query(runner, conn, scratch, sql))
    except BaseException:
        drop_database(runner, conn, scratch)
        raise
    return scratch, counts, refused


def _toc_list(runner, plan, directory, read_toc):
    """``["-L", file]`` leaving out the CREATE SCHEMA of schemas created with an extension beforehand."""
    if not fidelity.needs_toc(plan):
        return []
    listing, _dropped = fidelity.filter_toc(read_toc([runner.binary("pg_restore"), "-l"]).decode("utf-8"), plan)
    handle, path = tempfile.mkstemp(prefix=".lifeboat-toc-", dir=directory)
    with os.fdopen(handle, "w") as out:
        out.write(listing)
    return ["-L", path]


def _remove_list(listing):
    if listing:
        try:
            os.unlink(listing[1])
        except OSError:
            pass


def apply_properties(runner, conn, scratch, info, refused):
    """Give ``scratch`` the recorded database-level properties and read them back; return the summary."""
    props = info.get("properties")
    if not props:
        return None  # a backup from before properties were recorded
    expected = dict(props, extensions=[e for e in props.get("extensions") or [] if e not in refused])
    version = int(query(runner, conn, scratch, "SELECT current_setting('server_version_num')")[0][0])
    restored = fidelity.database_properties(lambda sql: query(runner, conn, scratch, sql), scratch, version)
    sql = fidelity.apply_sql(scratch, props)
    if sql:
        query(runner, conn, conn.maintenance_db, "BEGIN;\n" + "".join(s + ";\n" for s in sql) + "COMMIT;\n")
    after = fidelity.database_properties(lambda sql: query(runner, conn, conn.maintenance_db, sql), scratch, version)
    after["extensions"] = restored["extensions"]
    if version < 150000:
        expected.pop("locale_provider", None)
        expected.pop("icu_locale", None)
    problems = fidelity.compare_properties(expected, after)
    if problems:
        raise LifeboatError("the database-level properties of scratch database %s differ from the backup's: %s"
                            % (scratch, "; ".join(problems)))
    shown = fidelity.summary(expected)
    if refused:
        shown["extension_owners_not_restored"] = dict(
            (e["name"], "owned by %s in the backup; the login cannot SET ROLE to it" % e["owner"]) for e in refused)
    return shown


def drop_database(runner, conn, name):
    query(runner, conn, conn.maintenance_db, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % quote_ident(name))


def swap_in(runner, conn, scratch, target, safety):
    """Put ``scratch`` in place of ``target``; keep the old one as ``safety`` (or drop it when None)."""
    admin = conn.maintenance_db
    if database_exists(runner, conn, target):
        # Block reconnects before evicting sessions, or the rename races the app.
        query(runner, conn, admin, "ALTER DATABASE %s ALLOW_CONNECTIONS false" % quote_ident(target))
        query(runner, conn, admin,
              "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
              % quote_literal(target))
        if safety:
            query(runner, conn, admin, "ALTER DATABASE %s RENAME TO %s" % (quote_ident(target), quote_ident(safety)))
            query(runner, conn, admin, "ALTER DATABASE %s ALLOW_CONNECTIONS true" % quote_ident(safety))
        else:
            drop_database(runner, conn, target)
    query(runner, conn, admin, "ALTER DATABASE %s RENAME TO %s" % (quote_ident(scratch), quote_ident(target)))


def fingerprint(runner, conn, database):
    """Per table: row count and the sum of 60-bit prefixes of md5 over each row's text form."""
    tables = {}
    for name, quoted in query(runner, conn, database, TABLES_SQL):
        rows, total = query(runner, conn, database, "SELECT count(*), %s FROM %s t" % (_ROW_HASH, quoted))[0]
        tables[name] = {"rows": int(rows), "hash": "%x" % (int(total) % HASH_MODULUS)}
    return tables


def _pg_amcheck(runner):
    """pg_amcheck is not on PATH on Debian (no pg_wrapper link): take the newest server's."""
    found = runner.optional_binary("pg_amcheck") or sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_amcheck"), key=lambda path: int(path.split("/")[4]))[-1:]
    if not found:
        raise LifeboatError("pg_amcheck not found (it comes with postgresql-client)")
    return found if isinstance(found, str) else found[0]


def amcheck(runner, conn, database):
    """``(ok, detail)`` of pg_amcheck over every B-tree index and heap of ``database``."""
    if os.geteuid() == 0:
        # amcheck needs a superuser: root asks as postgres over the local socket.
        prefix, target, env = ["runuser", "-u", "postgres", "--"], (
            ["-p", str(conn.port)] if conn.port else []) + ["-d", database], {}
    else:
        prefix, target, env = [], conn.args(database), conn.env()
    env = dict(runner.env, **env)
    psql = prefix + [runner.binary("psql"), "-XAtq", "-v", "ON_ERROR_STOP=1", "-w"] + target
    # The amcheck extension is created for the check and dropped again when it was not there:
    # left in place it would enter the next backup, which a non-superuser could then not restore.
    had_amcheck = runner.run(psql + ["-c", "SELECT count(*) FROM pg_extension WHERE extname = 'amcheck'"],
                             env=env).decode().strip() != "0"
    argv = prefix + [_pg_amcheck(runner), "--install-missing", "--heapallindexed", "--no-password"] + target
    # pg_amcheck reports corruption on stdout, so read both streams rather than runner.run's stderr.
    runner.record([argv])
    try:
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    finally:
        if not had_amcheck:
            runner.run(psql + ["-c", "DROP EXTENSION IF EXISTS amcheck"], env=env)
    if proc.returncode != 0:
        lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip() and "NOTICE" not in line]
        return False, "pg_amcheck exit %d: %s" % (proc.returncode, " | ".join(lines)[:800])
    return True, "pg_amcheck: every B-tree index and table of %s is consistent (amcheck %s)" % (
        database, "kept, it was installed" if had_amcheck else "installed for the check and dropped")


def set_password(runner, conn, database, user, password, check_mode=False):
    """The role's new password, sent as its SCRAM verifier (accounts.py): the server never sees the clear text.
    Left alone when the stored verifier is already this password's (read from pg_authid, when the login may)."""
    if not user:
        raise LifeboatError("name the PostgreSQL role whose password to set (user)")
    try:
        password.encode("ascii")
    except UnicodeEncodeError:  # libpq normalises others with SASLprep, which the verifier here does not
        raise LifeboatError("the new password of PostgreSQL role %s has non-ASCII characters: not set" % user)
    if not query(runner, conn, database, "SELECT 1 FROM pg_roles WHERE rolname = %s" % quote_literal(user)):
        raise LifeboatError("PostgreSQL role %s does not exist: no password was changed" % user)
    try:
        stored = query(runner, conn, database, "SELECT coalesce(rolpassword, '') FROM pg_authid WHERE rolname = %s"
                       % quote_literal(user))
    except LifeboatError:  # not a superuser: the stored verifier cannot be read, so the password is set again
        stored = []
    if stored and accounts.scram_matches(stored[0][0], password):
        return {"changed": False, "accounts": [user], "notes": []}
    if not check_mode:
        query(runner, conn, database, "ALTER ROLE %s PASSWORD %s" % (
            quote_ident(user), quote_literal(accounts.scram_sha256_verifier(password))))
    return {"changed": True, "accounts": [user], "notes": [] if stored else [
        "the stored password could not be read (the login is not a superuser): it was set without comparing"]}


# --- rows deleted by mistake: copy back the rows a side database has and production lacks (missing_rows.py) ---

TABLE_META_SQL = (
    "SELECT coalesce(json_object_agg(n.nspname || '.' || c.relname, json_build_object("
    "'quoted', quote_ident(n.nspname) || '.' || quote_ident(c.relname), "
    "'columns', (SELECT json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod), "
    "'generated', a.attgenerated <> '', 'identity', a.attidentity <> '', 'sequence', "
    "pg_get_serial_sequence(quote_ident(n.nspname) || '.' || quote_ident(c.relname), a.attname)) ORDER BY a.attnum) "
    "FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), "
    "'key', (SELECT json_agg(a.attname ORDER BY k.ord) FROM pg_constraint p "
    "CROSS JOIN LATERAL unnest(p.conkey) WITH ORDINALITY AS k(attnum, ord) "
    "JOIN pg_attribute a ON a.attrelid = p.conrelid AND a.attnum = k.attnum "
    "WHERE p.conrelid = c.oid AND p.contype = 'p'), "
    "'references', (SELECT json_agg(DISTINCT fn.nspname || '.' || fc.relname) FROM pg_constraint f "
    "JOIN pg_class fc ON fc.oid = f.confrelid JOIN pg_namespace fn ON fn.oid = fc.relnamespace "
    "WHERE f.conrelid = c.oid AND f.contype = 'f'))), '{}')::text "
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'"
)
MISSING_PREFIX = "lifeboat_missing_"


def table_metadata(runner, conn, database):
    """``{schema.table: metadata}`` (missing_rows.py's shape) of every ordinary table of ``database``."""
    return json.loads(query(runner, conn, database, TABLE_META_SQL)[0][0])


def _key_match(key, left, right):
    return " AND ".join("%s.%s = %s.%s" % (left, quote_ident(k), right, quote_ident(k)) for k in key)


def missing_rows_sql(index, table, meta, check_mode):
    """The statements for one table, against its copy ``lifeboat_missing_<index>`` (a temporary table): count
    the side's rows, those production lacks and those both have with other content, then (outside check mode)
    insert the missing ones and advance the table's sequences past the largest value. Each result row starts
    with a tag (``counts``, ``copied``, ``sequence``) and the table's name."""
    temp = "%s%d" % (MISSING_PREFIX, index)
    cols = missing_rows.copy_columns(meta)
    listed = ", ".join(quote_ident(c) for c in cols)
    side_cols = ", ".join("s.%s" % quote_ident(c) for c in cols)
    prod_cols = ", ".join("p.%s" % quote_ident(c) for c in cols)
    absent = "NOT EXISTS (SELECT 1 FROM %s p WHERE %s)" % (meta["quoted"], _key_match(meta["key"], "p", "s"))
    tag = quote_literal(table)
    sql = ["SELECT 'counts', %s, (SELECT count(*) FROM %s), (SELECT count(*) FROM %s s WHERE %s), "
           "(SELECT count(*) FROM %s s JOIN %s p ON %s WHERE ROW(%s)::text <> ROW(%s)::text)" % (
               tag, temp, temp, absent, temp, meta["quoted"], _key_match(meta["key"], "p", "s"), side_cols,
               prod_cols)]
    if check_mode:
        return sql
    overriding = " OVERRIDING SYSTEM VALUE" if any(c.get("identity") for c in meta["columns"]) else ""
    # ON CONFLICT DO NOTHING: a row another session inserted meanwhile, or one another unique key of production
    # already holds, stays production's; the difference between missing and copied reports them.
    sql.append("WITH copied AS (INSERT INTO %s (%s)%s SELECT %s FROM %s s WHERE %s ON CONFLICT DO NOTHING "
               "RETURNING 1) SELECT 'copied', %s, count(*) FROM copied" % (
                   meta["quoted"], listed, overriding, side_cols, temp, absent, tag))
    for column, sequence in missing_rows.sequences(meta):
        # Only ever forward, and only ascending sequences: setval is not undone by a rollback.
        sql.append("SELECT 'sequence', %s, %s, setval(%s::regclass, m) FROM (SELECT max(%s)::bigint AS m FROM %s) x, "
                   "%s q, pg_sequence ps WHERE ps.seqrelid = %s::regclass AND ps.seqincrement > 0 AND x.m IS NOT NULL "
                   "AND x.m > CASE WHEN q.is_called THEN q.last_value ELSE q.last_value - 1 END" % (
                       tag, quote_literal(sequence), quote_literal(sequence), quote_ident(column), meta["quoted"],
                       sequence, quote_literal(sequence)))
    return sql


def _copy_stream(runner, conn, side_db, table, quoted, listed, sink):
    """Stream the side table's rows (``COPY ... TO STDOUT``, text format, the columns ``listed``) into ``sink``."""
    argv = _psql_argv(runner, conn, side_db) + ["-c", "COPY (SELECT %s FROM %s) TO STDOUT" % (listed, quoted)]
    runner.record([argv])
    env = dict(runner.env)
    env.update(conn.env())
    env["PGCLIENTENCODING"] = "UTF8"  # the side's COPY text and production's reading of it agree
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, env=env)
        try:
            for chunk in iter(lambda: proc.stdout.read(1 << 20), b""):
                sink(chunk)
        finally:
            proc.stdout.close()
            proc.wait()
        if proc.returncode != 0:
            err.seek(0)
            raise LifeboatError("reading table %s of %s failed: %s" % (
                table, side_db, err.read().decode("utf-8", "replace").strip()))


def copy_missing_rows(runner, conn, database, side_db, tables=None, check_mode=False):
    """Copy the rows of ``tables`` that ``side_db`` has and ``database`` lacks, matched by primary key.

    One psql session on production: each side table is streamed into a temporary table there, then one
    transaction counts and inserts the missing rows (parents before children) and advances the sequences;
    in check mode it only counts and rolls back. A row production has is never changed. The temporary
    tables go with the session.
    """
    side = table_metadata(runner, conn, side_db)
    production = table_metadata(runner, conn, database)
    chosen = missing_rows.plan(side, production, side_db, database, tables)
    argv = _psql_argv(runner, conn, database)
    runner.record([argv])
    env = dict(runner.env)
    env.update(conn.env())
    env["PGCLIENTENCODING"] = "UTF8"  # the side's COPY text and production's reading of it agree
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=out, stderr=err, env=env)
        try:
            try:
                statements = []
                for index, table in enumerate(chosen["tables"], 1):
                    meta = production[table]
                    listed = ", ".join(quote_ident(c) for c in missing_rows.copy_columns(meta))
                    temp = "%s%d" % (MISSING_PREFIX, index)
                    # The temporary table has production's column types; the side's rows are read in its order.
                    proc.stdin.write(("CREATE TEMPORARY TABLE %s AS SELECT %s FROM %s WITH NO DATA;\n" % (
                        temp, listed, meta["quoted"])).encode("utf-8"))
                    proc.stdin.write(("COPY %s (%s) FROM STDIN;\n" % (temp, listed)).encode("utf-8"))
                    _copy_stream(runner, conn, side_db, table, side[table]["quoted"], listed, proc.stdin.write)
                    proc.stdin.write(b"\\.\n")
                    statements += missing_rows_sql(index, table, meta, check_mode)
                proc.stdin.write(("BEGIN;\n" + "".join(s + ";\n" for s in statements)
                                  + ("ROLLBACK" if check_mode else "COMMIT") + ";\n").encode("utf-8"))
                proc.stdin.close()
            except BrokenPipeError:
                pass  # psql stopped at an error: its message follows
            except BaseException:
                proc.kill()  # the side could not be read in full: nothing may be counted or copied from it
                raise
        finally:
            if proc.stdin and not proc.stdin.closed:
                try:
                    proc.stdin.close()
                except BrokenPipeError:
                    pass
            proc.wait()
        if proc.returncode != 0:
            err.seek(0)
            raise LifeboatError("copying the missing rows from %s into %s failed, the transaction was rolled back "
                                "and nothing was copied: %s" % (side_db, database,
                                                                err.read().decode("utf-8", "replace").strip()))
        out.seek(0)
        rows = [line.split("\t") for line in out.read().decode("utf-8").splitlines() if line]
    found = dict((table, {"rows_in_side": 0, "rows_missing": 0, "rows_copied": 0, "rows_conflicting": 0,
                          "rows_differing": 0}) for table in chosen["tables"])
    advanced = {}
    for row in rows:
        if row[0] == "counts":
            found[row[1]].update(rows_in_side=int(row[2]), rows_missing=int(row[3]), rows_differing=int(row[4]))
        elif row[0] == "copied":
            found[row[1]]["rows_copied"] = int(row[2])
        elif row[0] == "sequence":
            advanced[row[2]] = int(row[3])
    for entry in found.values():
        entry["rows_conflicting"] = 0 if check_mode else entry["rows_missing"] - entry["rows_copied"]
    copied = sum(entry["rows_copied"] for entry in found.values())
    return {"changed": bool(sum(entry["rows_missing"] for entry in found.values())) if check_mode else copied > 0,
            "database": database, "side_database": side_db, "order": chosen["tables"], "tables": found,
            "tables_skipped": chosen["skipped"], "sequences_advanced": advanced, "rows_copied": copied,
            "summary": missing_rows.summary(found, check_mode)}


class PostgreSQL(Engine):
    """The contract (engines/base.py) over the functions above; ``spec["connection"]`` is a Connection."""

    name = "postgresql"
    host_packages = HOST_PACKAGES
    required_params = ("database",)
    target_kind = "database"
    point_in_time_recovery = True
    server_packages = ("postgresql", "python3-psycopg2")
    server_setup = "server_postgresql"
    server_version_parts = 1
    restore_reads_archive = True
    scratch_teardown = "drop_postgresql_database"

    def extension(self, fmt):
        return FORMATS.get(fmt, "dump")

    # Replication (postgresql_replication.py): the failover playbook's steps on one cluster.
    def replication_status(self, runner, spec):
        return replication.status(runner, spec)

    def fence(self, runner, spec, check_mode=False):
        return replication.fence(runner, spec, spec["fence_record"], check_mode)

    def promote(self, runner, spec, check_mode=False):
        return replication.promote(runner, spec, check_mode)

    def probe_write(self, runner, spec, check_mode=False):
        return replication.probe_write(runner, spec, check_mode)

    def rejoin(self, runner, spec, check_mode=False):
        return replication.rewind(runner, spec, check_mode)

    def set_password(self, runner, spec, user, password, check_mode=False):
        return set_password(runner, spec["connection"], spec["database"], user, password, check_mode)

    def dump(self, runner, spec, sink, work_dir, tail):
        return dump(runner, spec["connection"], spec["database"], sink, work_dir, tail,
                    fmt=spec.get("format", "custom"), jobs=spec.get("jobs", 1))

    def check_archive(self, runner, head, meta, path):
        check_archive(runner, head, meta["content"].get("format", "custom"), os.path.dirname(path))
        if (meta["content"].get("roles") or {}).get("captured"):
            open_roles(runner, head, path, meta["content"]["roles"])

    def describe_target(self, spec):
        return spec.get("database")

    def target_exists(self, runner, spec, target, meta):
        return database_exists(runner, spec["connection"], target)

    def restore(self, runner, spec, head, meta, target, job):
        """Scratch database, row check, then rename: the old database is the safety copy."""
        conn = spec["connection"]
        safety = job.safety and safety_name(target, job.stamp)
        try:
            roles = restore_roles(runner, conn, head, job.backup, meta["content"],
                                  spec.get("restore_roles") or "missing")
        except LifeboatError as exc:
            raise LifeboatError("backup %s: the roles it needs could not be restored (%s was not touched): %s" % (
                job.backup, target, exc))
        try:
            scratch, counts, refused = restore_into_scratch(runner, conn, head, meta, target, job.work_dir,
                                                            spec.get("jobs", 1))
        except LifeboatError as exc:
            raise LifeboatError("backup %s did not restore into a scratch database (dropped again; %s was not "
                                "touched): %s" % (job.backup, target, exc))
        try:
            job.check_rows(counts, "scratch database %s" % scratch)
            properties = apply_properties(runner, conn, scratch, meta["content"].get("database", {}), refused)
        except LifeboatError as exc:
            drop_database(runner, conn, scratch)
            if "left untouched" in str(exc):
                raise
            raise LifeboatError("%s (scratch database dropped, %s was not touched)" % (exc, target))
        swap_in(runner, conn, scratch, target, safety or None)
        return dict(roles, safety_copy=safety or None, restored_rows=counts, database_properties=properties)

    def safety_copies(self, runner, spec, target):
        return safety_databases(runner, spec["connection"], target)

    def drop_safety_copy(self, runner, spec, copy):
        if not SAFETY_NAME.match(copy["path"]):
            raise LifeboatError("%s is not a safety copy's name; not dropped" % copy["path"])
        drop_database(runner, spec["connection"], copy["path"])

    def connect(self, runner, spec):
        version = query(runner, spec["connection"], spec["database"], "SELECT current_setting('server_version')")
        return True, "PostgreSQL %s, database %s" % (version[0][0], spec["database"])

    def live_counts(self, runner, spec):
        return table_counts(lambda sql: query(runner, spec["connection"], spec["database"], sql))

    def fingerprint(self, runner, spec):
        return fingerprint(runner, spec["connection"], spec["database"])

    def integrity(self, runner, spec):
        return amcheck(runner, spec["connection"], spec["database"])

    def copy_missing_rows(self, runner, spec, check_mode=False):
        return copy_missing_rows(runner, spec["connection"], spec["database"], spec["side_database"],
                                 spec.get("tables"), check_mode)


ENGINE = PostgreSQL()
