# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Proof that a service and its backups work: the checks behind verify.yml and restore_test.yml.

Levels build on each other, like the reference runbook's verify-recovery.sh:

* ``quick``: units running, health endpoint, database connection, newest backup younger than the
  limit, newest backup's checksum;
* ``full``: plus row counts per table (or keys, or entries) against the newest backup's metadata,
  PostgreSQL ``pg_amcheck`` of every B-tree index and heap, SQLite ``integrity_check``;
* ``smoke``: plus the application's own HTTP flows.

Every check yields ``{"check", "status": PASS|FAIL, "detail"}``; a failing check never stops the others.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import glob
import json
import os
import sqlite3
import subprocess

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf
from ansible_collections.lifeboat.dr.plugins.module_utils import engine_mysql as mysql
from ansible_collections.lifeboat.dr.plugins.module_utils import engine_postgresql as pg
from ansible_collections.lifeboat.dr.plugins.module_utils import engine_redis as redis
from ansible_collections.lifeboat.dr.plugins.module_utils import fingerprint

LEVELS = ("quick", "full", "smoke")

try:  # Python 3 on hosts; the import is guarded for the sanity tests' Python 2 compile pass
    from urllib.error import HTTPError
    from urllib.request import Request, urlopen
except ImportError:  # pragma: no cover
    HTTPError = Request = urlopen = None


def check(name, ok, detail=""):
    return {"check": name, "status": "PASS" if ok else "FAIL", "detail": detail}


def guarded(name, function):
    """Run ``function() -> (ok, detail)``; an exception is that check's failure, not the run's."""
    try:
        ok, detail = function()
    except Exception as exc:  # every failure is reported as the check's result
        return check(name, False, str(exc))
    return check(name, ok, detail)


def compare_rows(expected, actual, mode):
    """Problems between metadata counts and live counts; ``at_least`` accepts growth, ``exact`` nothing."""
    problems = []
    for table in sorted(expected):
        if table not in actual:
            problems.append("%s missing" % table)
        elif mode == "exact" and actual[table] != expected[table]:
            problems.append("%s has %d rows, backup has %d" % (table, actual[table], expected[table]))
        elif actual[table] < expected[table]:
            problems.append("%s has %d rows, fewer than the backup's %d" % (table, actual[table], expected[table]))
    if mode == "exact":
        problems += ["%s not in the backup" % table for table in sorted(set(actual) - set(expected))]
    return problems


def http_get(url, method="GET", body=None, timeout=10, headers=None):
    data = json.dumps(body).encode("utf-8") if isinstance(body, (dict, list)) else (body or None)
    if isinstance(data, str):
        data = data.encode("utf-8")
    request = Request(url, data=data, method=method, headers=dict(headers or {}, **(
        {"Content-Type": "application/json"} if isinstance(body, (dict, list)) else {})))
    try:
        with urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def newest_backup(root, service):
    backups, dummy = bf.list_backups(root, service)
    if not backups:
        raise bf.LifeboatError("no backup of %s in %s" % (service, bf.service_dir(root, service)))
    return backups[-1]


def live_counts(runner, spec):
    """``{table: rows}`` of the live service, in the shape of its backups' metadata."""
    engine = spec["engine"]
    if engine == "postgresql":
        return pg.table_counts(lambda sql: pg.query(runner, spec["connection"], spec["database"], sql))
    if engine == "mysql":
        return {name: entry["rows"] for name, entry in fingerprint.mysql(runner, spec["mysql"], spec["database"]).items()}
    if engine == "sqlite":
        return {name: entry["rows"] for name, entry in fingerprint.sqlite(spec["path"]).items()}
    if engine == "directory":
        return {"entries": fingerprint.directory(spec["path"])["."]["rows"]}
    if engine == "redis":
        return {name[2:]: entry["rows"] for name, entry in fingerprint.redis(spec["redis"]).items()}
    raise bf.LifeboatError("no row check for engine %s" % engine)


def expected_counts(engine, content):
    if engine == "directory":
        return {"entries": content["directory"]["entries"]}
    if engine == "redis":
        part = content["redis"].get("rdb") or content["redis"].get("aof") or {}
        return {db: int(keys) for db, keys in part.get("keys", {}).items()}
    return content.get("tables", {})


def connect(runner, spec):
    engine = spec["engine"]
    if engine == "postgresql":
        version = pg.query(runner, spec["connection"], spec["database"], "SELECT current_setting('server_version')")
        return True, "PostgreSQL %s, database %s" % (version[0][0], spec["database"])
    if engine == "mysql":
        with mysql.Client(spec["mysql"]) as client:
            version = client.query(runner, "SELECT VERSION()", spec["database"])
        return True, "MariaDB %s, database %s" % (version[0][0], spec["database"])
    if engine == "redis":
        client = redis.connect(spec["redis"])
        try:
            return client.call("PING") in (b"PONG", "PONG"), "PING"
        finally:
            client.close()
    if engine == "sqlite":
        if not os.path.exists(spec["path"]):
            return False, "%s does not exist" % spec["path"]
        with contextlib.closing(sqlite3.connect("file:%s?mode=ro" % spec["path"], uri=True)) as conn:
            tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
        return True, "%s opens, %d tables" % (spec["path"], tables)
    if engine == "directory":
        return os.path.isdir(spec["path"]), spec["path"]
    raise bf.LifeboatError("no connection check for engine %s" % engine)


def unit_active(unit):
    state = subprocess.run(["systemctl", "is-active", unit], capture_output=True, text=True, check=False)
    return state.stdout.strip() == "active", state.stdout.strip() or state.stderr.strip()


def _pg_amcheck(runner):
    """pg_amcheck is not on PATH on Debian (no pg_wrapper link): take the newest server's."""
    found = runner.optional_binary("pg_amcheck") or sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_amcheck"), key=lambda path: int(path.split("/")[4]))[-1:]
    if not found:
        raise bf.LifeboatError("pg_amcheck not found (it comes with postgresql-client)")
    return found if isinstance(found, str) else found[0]


def integrity(runner, spec):
    """Engine integrity beyond row counts: pg_amcheck of indexes and heap, SQLite integrity_check."""
    if spec["engine"] == "postgresql":
        return _postgresql_integrity(runner, spec["connection"], spec["database"])
    if spec["engine"] == "sqlite":
        with contextlib.closing(sqlite3.connect("file:%s?mode=ro" % spec["path"], uri=True)) as conn:
            result = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        return result == ["ok"], "integrity_check: %s" % "; ".join(result[:5])
    return None


def _postgresql_integrity(runner, conn, database):
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


def run_checks(runner, spec, level, now):
    """All checks of ``level`` for one service, in the order a runbook would list them."""
    if level not in LEVELS:
        raise bf.LifeboatError("unknown verification level %r (expected %s)" % (level, ", ".join(LEVELS)))
    service = spec["service"]
    results = [guarded("%s: unit %s running" % (service, unit), lambda unit=unit: unit_active(unit))
               for unit in spec.get("units") or []]
    if spec.get("health_url"):
        results.append(guarded("%s: health endpoint %s" % (service, spec["health_url"]),
                               lambda: _expect_http(spec["health_url"], 200)))
    if spec.get("engine"):  # without one: host-level checks only (units, health, smoke)
        results.append(guarded("%s: accepts connections" % service, lambda: connect(runner, spec)))
        newest = {}

        def backup_age():
            newest["entry"] = newest_backup(spec["backup_root"], service)
            hours = (now - newest["entry"]["timestamp"]).total_seconds() / 3600.0
            return hours <= spec["max_backup_age_hours"], "%s is %.1f h old (limit %s h)" % (
                newest["entry"]["backup_id"], hours, spec["max_backup_age_hours"])

        def backup_checksum():
            entry = newest.get("entry") or newest_backup(spec["backup_root"], service)
            meta = bf.load_metadata(entry["path"])
            newest["meta"] = meta
            return True, "%s %s" % (entry["backup_id"], bf.verify_checksum(entry["path"], meta))

        if spec.get("check_backups", True):
            results.append(guarded("%s: newest backup recent" % service, backup_age))
            results.append(guarded("%s: newest backup checksum" % service, backup_checksum))
        if level in ("full", "smoke"):
            def rows():
                meta = newest.get("meta") or bf.load_metadata(newest_backup(spec["backup_root"], service)["path"])
                expected = expected_counts(spec["engine"], meta["content"])
                problems = compare_rows(expected, live_counts(runner, spec), spec["rows"])
                return not problems, "; ".join(problems) if problems else "%d %s as in %s (%s)" % (
                    len(expected), "tables" if spec["engine"] not in ("redis", "directory") else "counts",
                    meta["backup_id"], spec["rows"].replace("_", " "))
            results.append(guarded("%s: data matches the backup" % service, rows))
            if spec["engine"] in ("postgresql", "sqlite"):
                results.append(guarded("%s: integrity" % service, lambda: integrity(runner, spec)))
    if level == "smoke":
        for request in spec.get("smoke_requests") or []:
            results.append(guarded("%s: %s" % (service, request.get("name") or request["url"]),
                                   lambda request=request: _smoke(request)))
    return results


def _expect_http(url, status, contains=None, method="GET", body=None):
    code, text = http_get(url, method, body)
    ok = code == status and (contains is None or contains in text)
    return ok, "HTTP %d%s" % (code, "" if ok else ": " + text[:200])


def _smoke(request):
    return _expect_http(request["url"], int(request.get("status", 200)), request.get("contains"),
                        request.get("method", "GET"), request.get("body"))


def summary(results):
    failed = [entry for entry in results if entry["status"] == "FAIL"]
    return {"total": len(results), "passed": len(results) - len(failed), "failed": len(failed),
            "result": "ALL CHECKS PASSED" if not failed else "SOME CHECKS FAILED"}
