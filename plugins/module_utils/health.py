# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a service's backups say about its health: last runs, metrics, size trend, status.

Every run (success or failure) records itself in ``<service>/.last_runs.json``
and rewrites the Prometheus textfile ``lifeboat_<service>.prom`` for
node_exporter's textfile collector. Successful runs append a line to
``<service>/size_trend.jsonl``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf
from ansible_collections.lifeboat.dr.plugins.module_utils import locking
from ansible_collections.lifeboat.dr.plugins.module_utils import safety

LAST_RUNS = ".last_runs.json"
LAST_OFFSITE = ".last_offsite.json"
SIZE_TREND = "size_trend.jsonl"
DEFAULT_STALE_HOURS = 26


def _read_record(root, service, name):
    try:
        with open(os.path.join(bf.service_dir(root, service), name)) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def read_last_runs(root, service):
    return _read_record(root, service, LAST_RUNS)


def record_run(root, service, backup_type, ok, when, duration, error=None, result=None, uid=-1, gid=-1):
    """Remember this run's outcome per class, and append successful runs to the size trend."""
    directory = bf.service_dir(root, service)
    runs = read_last_runs(root, service)
    runs[backup_type] = {"ok": bool(ok), "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                         "epoch": int(when.timestamp()), "duration_seconds": round(duration, 3),
                         "error": error, "backup_id": result and result.get("backup_id")}
    bf.write_json_atomic(os.path.join(directory, LAST_RUNS), runs, 0o600, uid, gid)
    if ok and result:
        line = json.dumps({"time": runs[backup_type]["time"], "type": backup_type, "backup_id": result["backup_id"],
                           "size_bytes": result["size_bytes"], "duration_seconds": result["duration_seconds"]},
                          sort_keys=True)
        trend = os.path.join(directory, SIZE_TREND)
        fd = os.open(trend, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a") as handle:
            handle.write(line + "\n")
        if uid != -1 or gid != -1:
            os.chown(trend, uid, gid)
    return runs


def read_last_offsite(root, service):
    return _read_record(root, service, LAST_OFFSITE)


def record_offsite(root, service, ok, when, duration, error=None, target=None, uid=-1, gid=-1):
    """Remember the last offsite copy's outcome; the last success survives a failure."""
    record = read_last_offsite(root, service)
    record.update(ok=bool(ok), time=when.strftime("%Y-%m-%dT%H:%M:%SZ"), epoch=int(when.timestamp()),
                  duration_seconds=round(duration, 3), error=error)
    if ok:
        record.update(success_epoch=int(when.timestamp()), target=target)
    bf.write_json_atomic(os.path.join(bf.service_dir(root, service), LAST_OFFSITE), record, 0o600, uid, gid)
    return record


def newest_by_type(backups):
    newest = {}
    for entry in backups:  # list_backups is newest first
        newest.setdefault(entry["type"], entry)
    return newest


def _label(value):
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_metrics(service, backups, runs, offsite=None):
    """Prometheus text exposition for one service, labelled by service and type."""
    newest = newest_by_type(backups)
    series = {
        "lifeboat_backup_last_success_timestamp_seconds": ("gauge", "Time of the newest complete backup."),
        "lifeboat_backup_last_duration_seconds": ("gauge", "Duration of the newest complete backup."),
        "lifeboat_backup_last_size_bytes": ("gauge", "Size of the newest complete backup."),
        "lifeboat_backup_success": ("gauge", "1 if the last run of this class succeeded, else 0."),
        "lifeboat_backup_last_run_timestamp_seconds": ("gauge", "Time of the last run, successful or not."),
        "lifeboat_backup_offsite_success": ("gauge", "1 if the last offsite copy succeeded, else 0."),
        "lifeboat_backup_offsite_last_success_timestamp_seconds": ("gauge", "Time of the last successful offsite copy."),
    }
    values = {name: [] for name in series}
    for kind in bf.BACKUP_TYPES:
        labels = 'service="%s",type="%s"' % (_label(service), kind)
        entry = newest.get(kind)
        if entry:
            meta = entry["metadata"]
            values["lifeboat_backup_last_success_timestamp_seconds"].append((labels, int(entry["timestamp"].timestamp())))
            values["lifeboat_backup_last_duration_seconds"].append((labels, meta.get("duration_seconds", 0)))
            values["lifeboat_backup_last_size_bytes"].append((labels, meta.get("size_bytes", 0)))
        run = runs.get(kind)
        if run:
            values["lifeboat_backup_success"].append((labels, 1 if run["ok"] else 0))
            values["lifeboat_backup_last_run_timestamp_seconds"].append((labels, run["epoch"]))
        elif entry:
            values["lifeboat_backup_success"].append((labels, 1))
    if offsite:
        labels = 'service="%s"' % _label(service)
        values["lifeboat_backup_offsite_success"].append((labels, 1 if offsite.get("ok") else 0))
        if offsite.get("success_epoch"):
            values["lifeboat_backup_offsite_last_success_timestamp_seconds"].append((labels, offsite["success_epoch"]))
    lines = []
    for name, (kind, help_text) in series.items():
        lines.append("# HELP %s %s" % (name, help_text))
        lines.append("# TYPE %s %s" % (name, kind))
        lines.extend("%s{%s} %s" % (name, labels, value) for labels, value in values[name])
    return "\n".join(lines) + "\n"


def write_metrics(textfile_dir, root, service):
    """Rewrite ``lifeboat_<service>.prom`` atomically (node_exporter must never read half a file)."""
    if not textfile_dir:
        return None
    if not os.path.isdir(textfile_dir):
        raise bf.LifeboatError("metrics directory %s does not exist" % textfile_dir)
    backups = bf.list_backups(root, service)[0]
    path = os.path.join(textfile_dir, "lifeboat_%s.prom" % service)
    with bf.atomic_file(path, 0o644) as handle:
        handle.write(render_metrics(service, backups, read_last_runs(root, service),
                                    read_last_offsite(root, service)).encode("utf-8"))
    return path


def stale_partials(root, service):
    """What killed runs left in the service's backup directories, unless a live run holds the lock (then its
    own unfinished files are there): ``{"count", "bytes", "paths", "live_run"}``."""
    if locking.held(root, service):
        return {"count": 0, "bytes": 0, "paths": [], "live_run": True}
    found = safety.partial_files(root, service)
    return {"count": len(found), "bytes": sum(item["size_bytes"] for item in found),
            "paths": [item["path"] for item in found], "live_run": False}


def status(root, service, now, stale_hours=DEFAULT_STALE_HOURS, safety_copies=None):
    """Per class: the newest backup, its age, size and verified state; and the problems found.

    Also the stale partial files (a problem: a killed run records no failure) and, when given,
    ``safety_copies`` (``safety.report``: what restores kept; not a problem).
    """
    backups, incomplete = bf.list_backups(root, service)
    runs = read_last_runs(root, service)
    classes, problems = {}, []
    for kind, entry in sorted(newest_by_type(backups).items()):
        meta = entry["metadata"]
        classes[kind] = {"backup_id": entry["backup_id"], "age_hours": round((now - entry["timestamp"]).total_seconds() / 3600, 1),
                         "size": meta.get("size_readable"), "verified": bool(meta.get("verified")), "path": entry["path"]}
        if not meta.get("verified"):
            problems.append("%s %s is not verified" % (kind, entry["backup_id"]))
    if not backups:
        problems.append("no complete backup")
    elif (now - backups[0]["timestamp"]).total_seconds() > stale_hours * 3600:
        problems.append("newest backup %s is older than %d h" % (backups[0]["backup_id"], stale_hours))
    for kind, run in sorted(runs.items()):
        if not run.get("ok"):
            problems.append("last %s run at %s failed: %s" % (kind, run.get("time"), run.get("error")))
    problems.extend("incomplete file %s" % item["path"] for item in incomplete)
    remote = read_last_offsite(root, service)
    if remote and not remote.get("ok"):
        problems.append("last offsite copy at %s failed: %s" % (remote.get("time"), remote.get("error")))
    elif remote.get("success_epoch") and now.timestamp() - remote["success_epoch"] > stale_hours * 3600:
        problems.append("last offsite copy is older than %d h" % stale_hours)
    partials = stale_partials(root, service)
    if partials["count"]:
        problems.append("%d stale partial file%s (%s) left by an interrupted run; the next backup run removes them: %s"
                        % (partials["count"], "" if partials["count"] == 1 else "s", bf.human_size(partials["bytes"]),
                           ", ".join(partials["paths"])))
    result = {"service": service, "classes": classes, "problems": problems, "ok": not problems,
              "stale_partials": partials}
    if safety_copies is not None:
        result["safety_copies"] = safety_copies["copies"]
        if safety_copies.get("error"):
            result["safety_copies_error"] = safety_copies["error"]
    if remote:
        result["offsite"] = {"ok": remote.get("ok"), "time": remote.get("time"), "target": remote.get("target")}
    return result
