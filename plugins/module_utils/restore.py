# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restoring one backup, in an order that never harms the target on bad input.

1. choose the backup, load its metadata and check its signature (read only)
2. check size and sha256, decompress, read it      (read only)
3. refuse to overwrite an existing target without confirmation
4. check there is room for the safety copy (safety.preflight)
5. restore into scratch space and compare with the metadata
6. keep a safety copy of the target, then put the restored data in place
7. apply the safety copies' retention (never to the copy just made)
Check mode stops after step 4 and reports the plan, with what the retention would remove.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf
from ansible_collections.lifeboat.dr.plugins.module_utils import crypto
from ansible_collections.lifeboat.dr.plugins.module_utils import engines
from ansible_collections.lifeboat.dr.plugins.module_utils import safety as safety_copies
from ansible_collections.lifeboat.dr.plugins.module_utils import signing
from ansible_collections.lifeboat.dr.plugins.module_utils.dump import verify_archive
from ansible_collections.lifeboat.dr.plugins.module_utils.engines.base import RestoreJob
from ansible_collections.lifeboat.dr.plugins.module_utils.locking import service_lock
from ansible_collections.lifeboat.dr.plugins.module_utils.process import Runner, reader_stages


def choose(spec):
    """The backup to restore: ``backup`` (a path) or ``select`` among ``backup_root``/``service``.

    Returns ``(path, reason, skipped)``: ``skipped`` are the newer backups the selector would have
    matched but that are incomplete (the reason names them too).
    """
    if spec.get("backup"):
        return spec["backup"], "backup file given explicitly", []
    backups, incomplete = bf.list_backups(spec["backup_root"], spec["service"])
    selector = spec.get("select") or "latest"
    entry, reason = bf.select_backup(backups, selector, incomplete)
    return entry["path"], reason, bf.skipped_backups(entry, selector, incomplete)


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
    path, reason, skipped = choose(spec)
    meta = bf.load_metadata(path)
    if meta["engine"] != spec["engine"]:
        raise bf.LifeboatError("backup %s holds a %s backup, not %s" % (path, meta["engine"], spec["engine"]))
    # Who made it, before anything reads the archive; the signed sha256 is checked even with skip_verify.
    authenticity = signing.check_restore(runner, spec, path, meta)
    if authenticity["signed"] and spec.get("skip_verify"):
        bf.verify_checksum(path, meta)
    # The method is the backup's; the keys are the caller's.
    with crypto.from_spec(runner, spec, method=meta.get("encryption") or "none") as encryption:
        result = _restore_verified(spec, runner, check_mode, when, path, reason, meta, encryption)
    warnings = list(authenticity["warnings"]) + result.get("warnings", [])
    result.update(signature=authenticity["signature"], warnings=warnings, skipped_backups=skipped)
    if skipped:
        result["warnings"].append("restored %s; %s" % (meta["backup_id"], reason))
    return result


def _restore_verified(spec, runner, check_mode, when, path, reason, meta, encryption):
    engine = engines.get(spec["engine"])
    keep_policy = safety_copies.check_policy(spec.get("safety_copy_keep", safety_copies.DEFAULT_KEEP),
                                             spec.get("safety_copy_max_age_days", safety_copies.DEFAULT_MAX_AGE_DAYS))
    started = time.monotonic()
    if spec.get("skip_verify"):
        # The restore still checks rows before the target is touched; only the read-through is skipped.
        checksum = "not verified (skip_verify)"
    else:
        checksum = bf.verify_checksum(path, meta)
        # Engines whose restore into scratch space reads the whole archive before the target is touched
        # (PostgreSQL) need no separate read-through, except for a plan (check mode).
        if check_mode or not engine.restore_reads_archive:
            verify_archive(runner, path, meta, encryption)
    target = engine.describe_target(spec)
    exists = engine.target_exists(runner, spec, target, meta)
    now = when or bf.utcnow()
    stamp = now.strftime(safety_copies.STAMP_FORMAT)
    result = {
        "backup": path, "backup_id": meta["backup_id"], "checksum": checksum, "selected_because": reason,
        "target": target, "target_existed": exists, "expected_rows": meta["content"].get("tables", {}),
        "expected_content": bf.shown(meta["content"]),
        "executed_commands": runner.executed,
    }
    if exists and not spec.get("confirm"):
        raise bf.LifeboatError(
            "refusing to overwrite existing %s %s without confirmation: set confirm: true "
            "(playbooks: -e lifeboat_confirm=yes)" % (spec["engine"], target))
    # Some engines always move the previous data aside (directories, Redis files, a MongoDB dump).
    safety = (spec.get("safety_copy", True) or engine.always_safety_copy) and exists
    if safety:
        # Before anything is touched: a copy that would fill the disk is refused now, not half way.
        space = engine.safety_copy_space(runner, spec, target, meta)
        if space:
            result["safety_copy_space"] = safety_copies.preflight(space[0], space[1], target)
    head = reader_stages(runner, meta.get("compression", "none"), path, encryption)
    if check_mode:
        placeholder = safety and safety_copies.entry("(the copy this restore makes)", "(new)", "new", stamp)
        kept, removed, _warnings = safety_copies.apply_retention(engine, runner, spec, target, placeholder, now,
                                                                 check_mode=True)
        result.update(changed=True, safety_copies=[item for item in kept if item is not placeholder],
                      safety_copies_to_remove=removed, plan="restore %s into %s%s%s" % (
                          path, target, " after keeping a safety copy" if safety else "",
                          _retention_words(keep_policy, removed)))
        return result
    result.update(engine.restore(runner, spec, head, meta, target, RestoreJob(spec, meta, path, stamp, exists, safety)))
    made = result.get("safety_copy")
    kept, removed, warnings = safety_copies.apply_retention(engine, runner, spec, target, made, now)
    result.update(changed=True, duration_seconds=round(time.monotonic() - started, 3), safety_copies=kept,
                  safety_copies_removed=removed)
    if warnings:
        result.setdefault("warnings", []).extend(warnings)
    return result


def _retention_words(policy, removed):
    keep, max_age_days = policy
    words = "; safety copies: keep %d%s" % (keep, " and none older than %d days" % max_age_days if max_age_days else "")
    if removed:
        words += ", would remove %s" % ", ".join(item["path"] for item in removed)
    return words
