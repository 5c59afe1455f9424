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

import json
import subprocess

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf
from ansible_collections.lifeboat.dr.plugins.module_utils import engines

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
    backups, dummy = bf.list_backups(root, service)  # newest first
    if not backups:
        raise bf.LifeboatError("no backup of %s in %s" % (service, bf.service_dir(root, service)))
    return backups[0]


def live_counts(runner, spec):
    """``{table: rows}`` of the live service, in the shape of its backups' metadata."""
    return engines.get(spec["engine"]).live_counts(runner, spec)


def expected_counts(engine, content):
    return engines.get(engine).expected_counts(content)


def connect(runner, spec):
    return engines.get(spec["engine"]).connect(runner, spec)


def unit_active(unit):
    state = subprocess.run(["systemctl", "is-active", unit], capture_output=True, text=True, check=False)
    return state.stdout.strip() == "active", state.stdout.strip() or state.stderr.strip()


def integrity(runner, spec):
    """Engine integrity beyond row counts (pg_amcheck, SQLite integrity_check), or None without one."""
    engine = engines.get(spec["engine"])
    return engine.integrity(runner, spec) if engine.supports("integrity") else None


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
                    len(expected), engines.get(spec["engine"]).count_unit,
                    meta["backup_id"], spec["rows"].replace("_", " "))
            results.append(guarded("%s: data matches the backup" % service, rows))
            if engines.get(spec["engine"]).supports("integrity"):
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
