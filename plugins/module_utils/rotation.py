# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""GFS retention: which backups to keep and which to delete, and why.

Each backup has a class (daily, weekly, monthly, yearly). A policy keeps, per
class, every backup taken in the newest N periods of that class that have one
(a day for daily, an ISO week for weekly, a month, a year). With one backup a
period this is "the newest N"; extra runs inside a kept period (a 6-hourly
daily) are kept too, so rotation never thins the most recent recovery points.

Whatever the policy says, rotation never deletes:
- the newest backup of the service, and the newest verified backup of each class;
- a backup whose metadata is missing or unreadable (it is reported instead);
- anything being written (``.partial-*`` names are never listed as backups).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf
from ansible_collections.lifeboat.dr.plugins.module_utils.locking import service_lock

DEFAULT_POLICY = {"daily": 7, "weekly": 4, "monthly": 12, "yearly": 0}


def period(kind, when):
    """The period a backup of class ``kind`` taken at ``when`` belongs to."""
    if kind == "daily":
        return when.strftime("%Y-%m-%d")
    if kind == "weekly":
        year, week = when.isocalendar()[:2]
        return "%04d-W%02d" % (year, week)
    if kind == "monthly":
        return when.strftime("%Y-%m")
    return when.strftime("%Y")


def check_policy(policy):
    merged = dict(DEFAULT_POLICY)
    for key, value in (policy or {}).items():
        if key not in DEFAULT_POLICY:
            raise bf.LifeboatError("unknown retention class %r (expected %s)" % (key, ", ".join(DEFAULT_POLICY)))
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise bf.LifeboatError("retention for %s must be a whole number >= 0, not %r" % (key, value))
        merged[key] = value
    return merged


def plan(backups, policy):
    """Split ``backups`` (list_backups entries) into kept and deleted, each with a reason.

    Pure and deterministic: the same backups and policy give the same answer.
    """
    policy = check_policy(policy)
    decisions = {}
    newest = max(backups, key=_order) if backups else None
    for kind in bf.BACKUP_TYPES:
        members = sorted((b for b in backups if b["type"] == kind), key=_order, reverse=True)
        periods = []
        for entry in members:
            key = period(kind, entry["timestamp"])
            if key not in periods:
                periods.append(key)
        kept_periods = set(periods[:policy[kind]])
        newest_verified = next((b for b in members if b["metadata"].get("verified")), None)
        for entry in members:
            key = period(kind, entry["timestamp"])
            if key in kept_periods:
                decisions[entry["path"]] = ("keep", "%s: within the newest %d %s period(s) (%s)" % (
                    kind, policy[kind], kind, key))
            elif entry is newest_verified:
                decisions[entry["path"]] = ("keep", "%s: newest verified backup of its class" % kind)
            elif entry is newest:
                decisions[entry["path"]] = ("keep", "%s: newest backup of the service" % kind)
            else:
                decisions[entry["path"]] = ("delete", "%s: older than the newest %d %s period(s)" % (
                    kind, policy[kind], kind))
    kept = [dict(path=p, reason=r) for p, (d, r) in sorted(decisions.items()) if d == "keep"]
    deleted = [dict(path=p, reason=r) for p, (d, r) in sorted(decisions.items()) if d == "delete"]
    return kept, deleted


def _order(entry):
    """Total order of backups: time, then sequence, then id (two classes can share a second)."""
    return (entry["timestamp"], entry["seq"], entry["backup_id"])


def rotate(root, service, policy, check_mode=False, lock_timeout=60):
    """Apply ``policy`` to the backups of ``service``; return kept, deleted and incomplete lists."""
    if not os.path.isdir(bf.service_dir(root, service)):
        return {"kept": [], "deleted": [], "incomplete": [], "changed": False}
    with service_lock(root, service, lock_timeout):
        return _rotate(root, service, policy, check_mode)


def _rotate(root, service, policy, check_mode):
    backups, incomplete = bf.list_backups(root, service)
    kept, deleted = plan(backups, policy)
    incomplete = [dict(path=i["path"], reason="not deleted: %s" % i["reason"]) for i in incomplete]
    if not check_mode:
        for entry in deleted:
            delete_backup(entry["path"])
    return {"kept": kept, "deleted": deleted, "incomplete": incomplete, "changed": bool(deleted)}


def delete_backup(path):
    """Remove the data, then its metadata; a crash in between leaves only a metadata file, never listed."""
    meta = bf.metadata_path_for(path)
    for victim in (path, meta):
        try:
            os.unlink(victim)
        except FileNotFoundError:
            pass
    bf.fsync_dir(os.path.dirname(path))
