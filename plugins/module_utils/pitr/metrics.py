# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The archive and window metrics for the textfile collector."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os

from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import archive
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import offsite
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import repository
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import window


def ready_segments(data_dir):
    """WAL segments PostgreSQL has finished but not archived yet, and the age of the oldest."""
    ready = glob.glob(os.path.join(data_dir, "pg_wal", "archive_status", "*.ready"))
    oldest = min((os.path.getmtime(path) for path in ready), default=None)
    return len(ready), oldest


def render_metrics(name, repo, data_dir, now):
    status = archive.archive_status(repo)
    bases = repository.list_base_backups(repo)
    win = window.window(repo)
    count, oldest = ready_segments(data_dir) if data_dir else (0, None)
    label = '{cluster="%s"}' % name.replace("\\", "\\\\").replace('"', '\\"')
    values = [
        ("lifeboat_wal_archive_last_success_timestamp_seconds", "Time of the last WAL file archived.",
         status.get("last_archived_time", 0)),
        ("lifeboat_wal_archive_last_failure_timestamp_seconds", "Time of the last failed archive attempt.",
         status.get("last_failed_time", 0)),
        ("lifeboat_wal_archive_failures_total", "Failed archive attempts (PostgreSQL retries each).",
         status.get("failed_count", 0)),
        ("lifeboat_wal_archive_ready_segments", "WAL segments waiting to be archived.", count),
        ("lifeboat_wal_archive_lag_seconds", "Age of the oldest WAL segment waiting to be archived.",
         round(now.timestamp() - oldest, 3) if oldest else 0),
        ("lifeboat_pitr_base_backups", "Complete base backups in the repository.", len(bases)),
        ("lifeboat_pitr_last_base_backup_timestamp_seconds", "End of the newest base backup.",
         bases[-1]["finished"].timestamp() if bases else 0),
        ("lifeboat_pitr_window_start_timestamp_seconds", "Earliest recoverable time.",
         win["earliest"].timestamp() if win["earliest"] else 0),
        ("lifeboat_pitr_window_end_timestamp_seconds", "Latest recoverable time (newest archived WAL).",
         win["latest"].timestamp() if win["latest"] else 0),
    ]
    shipping = offsite.shipping_status(repo)
    if shipping is not None:  # the cluster ships to an offsite store
        pending = offsite.pending_wal(repo)
        oldest = pending[0][1] / 1e9 if pending else None
        values += [
            ("lifeboat_pitr_offsite_pending_files", "Archived WAL files not offsite yet.", len(pending)),
            ("lifeboat_pitr_offsite_pending_base_backups", "Base backups not offsite yet.",
             len(offsite.pending_base_backups(repo))),
            ("lifeboat_pitr_offsite_lag_seconds", "Age of the oldest archived WAL file not offsite yet.",
             round(max(0.0, now.timestamp() - oldest), 3) if oldest else 0),
            ("lifeboat_pitr_offsite_last_success_timestamp_seconds", "End of the last shipping run that succeeded.",
             shipping.get("last_success_time", 0)),
            ("lifeboat_pitr_offsite_failures_total", "Shipping runs that failed (the next run retries).",
             shipping.get("failed_count", 0)),
        ]
    lines = []
    for metric, text, value in values:
        kind = "counter" if metric.endswith("_total") else "gauge"
        lines += ["# HELP %s %s" % (metric, text), "# TYPE %s %s" % (metric, kind), "%s%s %s" % (metric, label, value)]
    return "\n".join(lines) + "\n"
