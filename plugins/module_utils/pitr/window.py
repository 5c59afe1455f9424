# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The recoverable window, and the plan of a recovery to a target inside it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import repository


def parse_target(text):
    """``latest`` -> None; a time with or without zone (none means UTC) -> aware datetime."""
    value = (text or "latest").strip()
    if value.lower() == "latest":
        return None
    if value.upper().endswith(" UTC"):
        value = value[:-4] + "+00:00"
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    try:
        when = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise bf.LifeboatError("recovery target %r is neither 'latest' nor a time like '2025-12-27 14:30:00+01:00'"
                               % text)
    return when if when.tzinfo else when.replace(tzinfo=repository.UTC)


def catalog(repo):
    """What a recovery can use in the local repository ``repo``: ``remote_catalog`` gives the same offsite.

    ``bases`` (complete base backups, oldest first), ``wal`` (``{name: archive time or None}``),
    ``wal_entries`` (every file name beside them: ``.sha256``, ``.sig``) and ``where`` (for messages).
    """
    directory = repository.wal_dir(repo)
    return {"bases": repository.list_base_backups(repo), "wal": repository.archived_wal(repo),
            "wal_entries": set(os.listdir(directory)) if os.path.isdir(directory) else set(), "where": directory}


def window(repo):
    """The span a recovery can reach: from the end of the oldest base backup to the newest archived WAL."""
    return window_of(catalog(repo))


def window_of(found):
    bases, wal = found["bases"], found["wal"]
    if not bases:
        return {"base_backups": 0, "earliest": None, "latest": None, "wal_files": len(wal)}
    newest_wal = max([when for name, when in wal.items() if when is not None and not name.endswith(".history")]
                     or [bases[-1]["finished"]])
    return {"base_backups": len(bases), "earliest": bases[0]["finished"],
            "latest": max(newest_wal, bases[-1]["finished"]), "wal_files": len(wal)}


def describe_window(win):
    return "%s .. %s" % (win["earliest"].isoformat(sep=" "), win["latest"].isoformat(sep=" "))


def wal_gaps(names, start_wal):
    """Missing segments between ``start_wal`` and the newest archived one, per timeline."""
    start = repository.segment_number(start_wal)
    by_timeline = {}
    for name in names:
        if repository.WAL_SEGMENT_RE.match(name) and repository.segment_number(name) >= start:
            by_timeline.setdefault(name[:8], []).append(repository.segment_number(name))
    gaps = []
    for timeline, numbers in sorted(by_timeline.items()):
        numbers.sort()
        first = start if timeline == start_wal[:8] else numbers[0]
        expected = set(range(first, numbers[-1] + 1))
        for number in sorted(expected - set(numbers)):
            gaps.append("%s%08X%08X" % (timeline, number // 256, number % 256))
    return gaps


def plan(repo, until):
    """Choose the base backup for ``until`` and check the window; raises with the window when out of it."""
    return plan_from(catalog(repo), until)


def plan_from(found, until):
    """``plan`` for a catalog (``catalog`` of a local repository, or ``offsite.remote_catalog``)."""
    target = parse_target(until)
    win = window_of(found)
    if not win["base_backups"]:
        raise bf.LifeboatError("no complete base backup in %s: point-in-time recovery needs one "
                               "(run lifeboat-pitr basebackup)" % found["where"])
    bases = found["bases"]
    if target is None:
        base = bases[-1]
    else:
        if target < win["earliest"] or target > win["latest"]:
            raise bf.LifeboatError("recovery target %s is outside the recoverable window %s (end of the oldest "
                                   "base backup .. newest archived WAL)" % (target.isoformat(sep=" "), describe_window(win)))
        base = [info for info in bases if info["finished"] <= target][-1]
    gaps = wal_gaps(found["wal"], base["start_wal"])
    if gaps:
        raise bf.LifeboatError("the WAL archive %s misses %s after base backup %s: recovery would stop early "
                               "and lose every later write" % (found["where"], ", ".join(gaps[:5]), base["base_id"]))
    return {"base_backup": base, "target": target, "window": win, "catalog": found,
            "target_text": "latest archived WAL" if target is None else target.isoformat(sep=" ")}


def window_report(repo):
    win = window(repo)
    return {"base_backups": [{key: info[key] for key in ("base_id", "finished_at", "start_wal", "size")}
                             for info in repository.list_base_backups(repo)],
            "earliest": win["earliest"].isoformat() if win["earliest"] else None,
            "latest": win["latest"].isoformat() if win["latest"] else None,
            "wal_files": win["wal_files"]}
