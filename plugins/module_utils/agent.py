# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One backup cycle as the agent runs it: dump, record, rotate, copy offsite, publish metrics.

A failed dump or offsite copy is recorded and published too (success 0)
before the error is raised, so monitoring sees failures, not only silence.
A failed offsite copy never touches the local backup.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf
from ansible_collections.lifeboat.dr.plugins.module_utils import health
from ansible_collections.lifeboat.dr.plugins.module_utils import offsite
from ansible_collections.lifeboat.dr.plugins.module_utils.offsite import transfer
from ansible_collections.lifeboat.dr.plugins.module_utils.dump import owner_ids, run_dump
from ansible_collections.lifeboat.dr.plugins.module_utils.rotation import rotate


def backup_cycle(spec, runner=None, when=None):
    """Run ``run_dump`` and the bookkeeping around it; ``spec['retention']`` (a GFS policy) enables rotation."""
    when = when or bf.utcnow()
    backup_type = bf.resolve_backup_type(spec.get("backup_type"), when)
    uid, gid = owner_ids(spec)
    root, service = spec["backup_root"], spec["service"]
    started = time.monotonic()
    try:
        result = run_dump(spec, runner=runner, when=when)
    except bf.LifeboatError as exc:
        try:
            bf.ensure_dir(bf.service_dir(root, service), 0o700, uid, gid)
        except OSError:
            raise exc  # no directory to record the run in (a backup root that cannot be created): the error says why
        health.record_run(root, service, backup_type, False, when, time.monotonic() - started, error=str(exc),
                          uid=uid, gid=gid)
        _publish(spec)
        raise
    health.record_run(root, service, backup_type, True, when, time.monotonic() - started, result=result,
                      uid=uid, gid=gid)
    if spec.get("retention") is not None:
        result["rotation"] = rotate(root, service, spec["retention"], lock_timeout=spec.get("lock_timeout", 60))
    if spec.get("offsite"):
        result["offsite"] = _offsite(spec, uid, gid)
    result["metrics_file"] = _publish(spec)
    return result


def _offsite(spec, uid, gid):
    """Push this service's backups and prune the remote copies; record the outcome either way."""
    params = dict(spec["offsite"], service=spec["service"], backup_root=spec["backup_root"],
                  lock_timeout=spec.get("lock_timeout", 60))
    started, when = time.monotonic(), bf.utcnow()
    try:
        provider = offsite.provider_from_params(params)
        pushed = transfer.run("push", provider, params)["services"].get(spec["service"], {})
        pruned = {}
        if params.get("retention") is not None:
            pruned = transfer.prune(provider, params.get("prefix") or "", spec["service"], params["retention"])
    except bf.LifeboatError as exc:
        health.record_offsite(spec["backup_root"], spec["service"], False, when, time.monotonic() - started,
                              error=str(exc), uid=uid, gid=gid)
        _publish(spec)
        raise bf.LifeboatError("local backup kept, but the offsite copy failed: %s" % exc)
    health.record_offsite(spec["backup_root"], spec["service"], True, when, time.monotonic() - started,
                          target=provider.describe(), uid=uid, gid=gid)
    return {"target": provider.describe(), "pushed": pushed.get("pushed", []),
            "deleted": [item["path"] for item in pruned.get("deleted", [])]}


def _publish(spec):
    try:
        return health.write_metrics(spec.get("metrics_dir"), spec["backup_root"], spec["service"])
    except (OSError, bf.LifeboatError) as exc:
        raise bf.LifeboatError("backup recorded, but the metrics file could not be written: %s" % exc)
