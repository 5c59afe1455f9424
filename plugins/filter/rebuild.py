# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A rebuild's preflight decision (``module_utils/rebuild.py``) as a filter."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: rebuild_preflight
short_description: Whether a lost server can be rebuilt onto a target, decided before anything changes
version_added: "1.2.0"
description:
  - Returns C(ok), C(problems) (each names its service or the target and the cause), C(warnings), C(backups) (the
    newest complete offsite backup of each service with its C(age_hours), C(size_bytes), C(signed)), C(room_needed)
    (bytes) and C(summary), from what the preflight observed.
  - Refuses a service without a complete offsite backup, an offsite store that cannot be read, a missing or wrong
    decryption key, an unreachable target, a target that holds data unless confirmed, too little room (6x the
    backups plus 1 GiB for packages), and a server version older than the backup's major version.
options:
  _input:
    description: The lost host's services (C(lifeboat_services)).
    type: list
    elements: dict
    required: true
  listing:
    description: The result of M(lifeboat.dr.backup_offsite) V(list) for those services, or a dict whose C(error) says why the store could not be read.
    type: dict
    required: true
  target:
    description: C(reachable), C(error), C(markers) (data already there), C(free_bytes), C(versions) (per service).
    type: dict
    required: true
  keys:
    description: Per service C(needed), C(matches) and C(detail) of its decryption key.
    type: dict
    default: {}
  versions:
    description: Per service C(backup) (the server version the backup was taken from) and C(parts) (the numbers of its major version).
    type: dict
    default: {}
  confirm:
    description: Rebuild onto a target that holds data.
    type: bool
    default: false
  resume:
    description: The result of C(rebuild_resume) for the target; data this same rebuild restored is not "not blank".
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Decide
  ansible.builtin.set_fact:
    preflight: "{{ lifeboat_services | lifeboat.dr.rebuild_preflight(listing=offsite_list, target=observed) }}"
"""

RETURN = r"""
_value:
  description: The decision.
  type: dict
"""

from ansible_collections.lifeboat.dr.plugins.module_utils import rebuild


def rebuild_preflight(services, listing, target, keys=None, versions=None, confirm=False, resume=None):
    return rebuild.preflight(services or [], listing or {}, target or {}, keys=keys, versions=versions,
                             confirm=bool(confirm), resume=resume)


def server_versions(services, policy_text):
    """Per service the server version the target has or would install (``module_utils/rebuild.server_versions``)."""
    return rebuild.server_versions(services or [], policy_text)


def rebuild_restored(results, listing, pitr=None):
    """What a restore step brought back, per service (``module_utils/rebuild.restored``)."""
    return rebuild.restored(results, listing or {}, pitr)


def rebuild_resume(services, record, lost_host, redo=False):
    """What a rebuild still has to restore, from the target's rebuild record (``module_utils/rebuild.resume_plan``)."""
    return rebuild.resume_plan(services or [], record, lost_host, bool(redo))


def rebuild_key_check(services, listing, restored):
    """Whether the restored application key is the data's (``module_utils/rebuild.key_check``)."""
    return rebuild.key_check(services or [], listing or {}, restored or {})


def rebuild_outcome(phases, data_times, lost_at, healthy_at, objectives=None, started=None):
    """Phase durations, RTO and per-service RPO of a rebuild (``module_utils/rebuild.outcome``)."""
    return rebuild.outcome(phases or [], data_times or {}, lost_at, healthy_at, objectives, started)


def rebuild_phase_line(phase):
    """One line of the printed report for a phase."""
    return "  %-34s %8s s" % (phase.get("name"), phase.get("seconds") if phase.get("seconds") is not None else "-")


def rebuild_rpo_line(item):
    """One line of the printed report for a service's RPO (an item of ``rpo | dict2items``)."""
    entry = item["value"]
    line = "RPO %-12s %s s (data of %s)" % (item["key"], entry.get("seconds"), entry.get("data_time"))
    if "met" in entry:
        line += " objective %s s: %s" % (entry["objective_seconds"], "met" if entry["met"] else "MISSED")
    return line


class FilterModule(object):
    def filters(self):
        return {"rebuild_preflight": rebuild_preflight, "rebuild_resume": rebuild_resume,
                "rebuild_key_check": rebuild_key_check, "rebuild_outcome": rebuild_outcome,
                "server_versions": server_versions, "rebuild_restored": rebuild_restored,
                "rebuild_phase_line": rebuild_phase_line, "rebuild_rpo_line": rebuild_rpo_line}
