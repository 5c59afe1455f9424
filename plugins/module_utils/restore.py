# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restoring one backup, in an order that never harms the target on bad input.

1. choose the backup and load its metadata        (read only)
2. check size and sha256, decompress, read it      (read only)
3. refuse to overwrite an existing target without confirmation
4. restore into scratch space and compare with the metadata
5. keep a safety copy of the target, then put the restored data in place
Check mode stops after step 3 and reports the plan.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import tempfile
import time

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf
from ansible_collections.lifeboat.dr.plugins.module_utils import crypto
from ansible_collections.lifeboat.dr.plugins.module_utils.engines import directory as tree
from ansible_collections.lifeboat.dr.plugins.module_utils.engines import mongodb as mongo
from ansible_collections.lifeboat.dr.plugins.module_utils.engines import mysql as mysql
from ansible_collections.lifeboat.dr.plugins.module_utils.engines import postgresql as pg
from ansible_collections.lifeboat.dr.plugins.module_utils.engines import redis as redis
from ansible_collections.lifeboat.dr.plugins.module_utils.engines import sqlite as lite
from ansible_collections.lifeboat.dr.plugins.module_utils.dump import verify_archive
from ansible_collections.lifeboat.dr.plugins.module_utils.locking import service_lock
from ansible_collections.lifeboat.dr.plugins.module_utils.process import Runner, reader_stages, writer_stages


def choose(spec):
    """The backup to restore: ``backup`` (a path) or ``select`` among ``backup_root``/``service``."""
    if spec.get("backup"):
        return spec["backup"], "backup file given explicitly"
    backups, _incomplete = bf.list_backups(spec["backup_root"], spec["service"])
    entry, reason = bf.select_backup(backups, spec.get("select") or "latest")
    return entry["path"], reason


def compare_counts(expected, actual):
    """Differences between two ``{table: rows}`` maps, as readable strings."""
    problems = []
    for table in sorted(set(expected) | set(actual)):
        if table not in actual:
            problems.append("%s missing (expected %d rows)" % (table, expected[table]))
        elif table not in expected:
            problems.append("%s not in the backup's metadata (%d rows)" % (table, actual[table]))
        elif expected[table] != actual[table]:
            problems.append("%s has %d rows, metadata says %d" % (table, actual[table], expected[table]))
    return problems


def run_restore(spec, runner=None, check_mode=False, when=None):
    """Restore per ``spec``; return the result dict (``changed``, ``plan`` ...).

    ``spec`` keys: engine, backup | (backup_root, service, select), confirm,
    safety_copy, verify_rows; postgresql: database, connection, jobs;
    sqlite: path.
    """
    runner = runner or Runner()
    if os.path.isdir(bf.service_dir(spec["backup_root"], spec["service"])):
        # Rotation must not delete the backup while it is being restored.
        with service_lock(spec["backup_root"], spec["service"], spec.get("lock_timeout", 60)):
            return _run_restore(spec, runner, check_mode, when)
    return _run_restore(spec, runner, check_mode, when)


def _run_restore(spec, runner, check_mode, when):
    path, reason = choose(spec)
    meta = bf.load_metadata(path)
    if meta["engine"] != spec["engine"]:
        raise bf.LifeboatError("backup %s holds a %s backup, not %s" % (path, meta["engine"], spec["engine"]))
    # The method is the backup's; the keys are the caller's.
    with crypto.from_spec(runner, spec, method=meta.get("encryption") or "none") as encryption:
        return _restore_verified(spec, runner, check_mode, when, path, reason, meta, encryption)


def _restore_verified(spec, runner, check_mode, when, path, reason, meta, encryption):
    started = time.monotonic()
    if spec.get("skip_verify"):
        # The restore still checks rows before the target is touched; only the read-through is skipped.
        checksum = "not verified (skip_verify)"
    else:
        checksum = bf.verify_checksum(path, meta)
        # PostgreSQL restores read the whole archive into a scratch database before the target is
        # touched: that restore is the read-through, so only a plan (check mode) reads it separately.
        if check_mode or spec["engine"] != "postgresql":
            verify_archive(runner, path, meta, encryption)
    target = {"postgresql": spec.get("database"), "mysql": spec.get("database"), "redis": "redis unit %s" % spec.get("redis_unit", "redis-server"),
              "mongodb": "mongodb database %s" % (spec.get("database") or "(all)")}.get(spec["engine"], spec.get("path"))
    exists = _target_exists(runner, spec, target, meta)
    stamp = (when or bf.utcnow()).strftime("%Y%m%d_%H%M%S")
    result = {
        "backup": path, "backup_id": meta["backup_id"], "checksum": checksum, "selected_because": reason,
        "target": target, "target_existed": exists, "expected_rows": meta["content"].get("tables", {}),
        "expected_content": meta["content"],
        "executed_commands": runner.executed,
    }
    if exists and not spec.get("confirm"):
        raise bf.LifeboatError(
            "refusing to overwrite existing %s %s without confirmation: set confirm: true "
            "(playbooks: -e lifeboat_confirm=yes)" % (spec["engine"], target))
    # Directories and Redis files are always moved aside, never deleted.
    safety = (spec.get("safety_copy", True) or spec["engine"] in ("directory", "redis", "mongodb")) and exists
    head = reader_stages(runner, meta.get("compression", "none"), path, encryption)
    if check_mode:
        result.update(changed=True, plan="restore %s into %s%s" % (
            path, target, " after keeping a safety copy" if safety else ""))
        return result
    if spec["engine"] == "postgresql":
        result.update(_restore_postgresql(runner, spec, head, meta, target, safety and pg.safety_name(target, stamp),
                                          path))
    elif spec["engine"] == "mysql":
        result.update(_restore_mysql(runner, spec, head, meta, target, safety, stamp))
    elif spec["engine"] == "mongodb":
        kept = os.path.join(bf.service_dir(spec["backup_root"], spec["service"]), "pre-restore-%s.mongo.archive.zst" % stamp)
        restored = mongo.restore(runner, head, spec["mongodb"], meta, spec.get("database"), kept,
                                 writer_stages(runner, "zstd", 3))
        result.update(safety_copy=kept, restored={"documents": restored})
    elif spec["engine"] == "redis":
        kept, found = redis.restore(runner, head, spec["redis"], meta, spec.get("redis_unit", "redis-server"),
                                    spec.get("redis_restore_type", "rdb"), stamp, os.path.dirname(path))
        result.update(safety_copy=kept, restored=found)
    elif spec["engine"] == "directory":
        kept, stats = tree.restore(runner, head, target, meta["content"], stamp)
        result.update(safety_copy=kept, restored=stats)
    else:
        result.update(_restore_sqlite(spec, head, meta, target, exists, safety, stamp, runner))
    result.update(changed=True, duration_seconds=round(time.monotonic() - started, 3))
    return result


def _target_exists(runner, spec, target, meta):
    if spec["engine"] == "postgresql":
        return pg.database_exists(runner, spec["connection"], target)
    if spec["engine"] == "mysql":
        return mysql.database_exists(runner, spec["mysql"], target)
    if spec["engine"] == "redis":
        return redis.instance_has_data(spec["redis"], meta["content"]["redis"].get("settings"))
    if spec["engine"] == "mongodb":
        return True  # no client to look inside: a MongoDB restore always needs confirm
    return os.path.exists(target)


def _check_rows(spec, meta, actual, where, untouched=True):
    if not spec.get("verify_rows", True):
        return
    problems = compare_counts(meta["content"].get("tables", {}), actual)
    if problems:
        raise bf.LifeboatError("restored data in %s does not match the backup's metadata%s: %s" % (
            where, ", target left untouched" if untouched else "", "; ".join(problems)))


def _restore_postgresql(runner, spec, head, meta, target, safety, path):
    conn = spec["connection"]
    try:
        scratch, counts = pg.restore_into_scratch(runner, conn, head, meta, target, os.path.dirname(path),
                                                  spec.get("jobs", 1))
    except bf.LifeboatError as exc:
        raise bf.LifeboatError("backup %s did not restore into a scratch database (dropped again; %s was not "
                               "touched): %s" % (path, target, exc))
    try:
        _check_rows(spec, meta, counts, "scratch database %s" % scratch)
    except bf.LifeboatError:
        pg.drop_database(runner, conn, scratch)
        raise
    pg.swap_in(runner, conn, scratch, target, safety or None)
    return {"safety_copy": safety or None, "restored_rows": counts}


def _restore_mysql(runner, spec, head, meta, target, safety, stamp):
    conn = spec["mysql"]
    expected_objects = meta["content"].get("objects", {})

    def check(tables, objects, where, untouched=True):
        _check_rows(spec, meta, tables, where, untouched)
        problems = mysql.compare_objects(expected_objects, objects)
        if problems and spec.get("verify_rows", True):
            raise bf.LifeboatError("restored objects in %s do not match the backup's metadata%s: %s" % (
                where, ", target left untouched" if untouched else "", "; ".join(problems)))

    mysql.load_into_scratch(runner, conn, head, meta, target, check)
    kept = None
    if safety:
        service_dir = bf.service_dir(spec["backup_root"], spec["service"])
        bf.ensure_dir(service_dir, 0o700)
        kept = os.path.join(service_dir, "pre-restore-%s-%s.sql.zst" % (target, stamp))
        mysql.safety_dump(runner, conn, target, kept, writer_stages(runner, "zstd", 3))
    tables, objects = mysql.replace(runner, conn, head, meta, target)
    check(tables, objects, "%s (previous data in %s)" % (target, kept or "no safety copy"), untouched=False)
    return {"safety_copy": kept, "restored_rows": tables, "restored_objects": objects}


def _restore_sqlite(spec, head, meta, target, exists, safety, stamp, runner):
    directory = os.path.dirname(target) or "."
    if not os.path.isdir(directory):
        raise bf.LifeboatError("directory %s of the SQLite target does not exist" % directory)
    work_dir = tempfile.mkdtemp(prefix=".lifeboat-restore-", dir=directory)
    try:
        copy = os.path.join(work_dir, "restore.sqlite3")
        with open(copy, "wb") as handle:
            runner.pipeline(head, sink=handle.write)
        counts = lite.validate_copy(copy)
        _check_rows(spec, meta, counts, "the unpacked copy of backup %s" % meta["backup_id"])
        kept = []
        if safety:
            kept = lite.safety_copy(target, "%s.pre-restore-%s" % (target, stamp))
        # Side files of a database that is gone would be replayed into the new one.
        for orphan in ([] if exists else lite.orphan_side_files(target)):
            moved = "%s.orphan-%s" % (orphan, stamp)
            os.rename(orphan, moved)
            kept.append(moved)
        restored = lite.apply(copy, target, meta["content"].get("source"))
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    _check_rows(spec, meta, restored, target, untouched=False)
    return {"safety_copy": kept[0] if kept else None, "kept_files": kept, "restored_rows": restored}
