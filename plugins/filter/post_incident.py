# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A post-incident report's facts from a run's JSON record (``module_utils/post_incident.py``)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: post_incident_summary
short_description: The facts of a post-incident report, from a failover record, a rebuild report or a drill summary
version_added: "1.2.0"
description:
  - Reads what a run recorded - C(failover.yml)'s record, C(rebuild.yml)'s report or the drill's summary - and
    returns the report's facts, a dict with C(kind) (failover, rebuild, drill), C(source), C(incident) (C(id),
    C(title), C(severity), C(scenario), C(detection), from the runbook; None where unknown), C(host), C(started) and
    C(ended) (UTC, C(YYYY-MM-DDTHH:MM:SSZ)), C(duration_seconds), C(ok), C(failure), C(timeline) (a list of C(at),
    C(after_seconds), C(what), C(seconds)), C(actions) (texts), C(rto) (C(seconds), C(objective_seconds), C(met)),
    C(rpo) (a list of C(service), C(seconds), C(objective_seconds), C(met), C(data_time), C(detail)), C(writes)
    (C(acknowledged) and C(lost), or None when the run did not count them), C(downtime_seconds) (from the loss to
    healthy, when the record has both), C(decisions) (what the runbook leaves to a person), C(notes) and
    C(checklist) (a list of C(item) and C(done), the reference plans' post-incident items, done where the record
    answers them). Every key is always there; a value the record lacks is None.
  - Objectives - the one the run was held to (in its record) first, else the runbook's - per service for a
    rebuild's RPO, the incident's for a failover's or a drill's. C(met) is None without an objective or a figure.
  - Fails naming the cause when the record is none of these, a check-mode run, a status report, a rejoin, a plan
    whose recovery another playbook ran (the datacenter failure's rebuild), or when O(incident) is not in the
    runbook.
positional: runbook, incident, source
options:
  _input:
    description: The record, as JSON text (e.g. C(lookup('ansible.builtin.file', path))) or parsed.
    type: raw
    required: true
  runbook:
    description: The runbook (the inventory's C(lifeboat_runbook)); gives the incident and the objectives.
    type: dict
  incident:
    description: The runbook incident the record is for (e.g. C(INC-004)), when the record does not say.
    type: str
  source:
    description: Where the record was read from, carried into the facts.
    type: str
"""

EXAMPLES = r"""
- name: The facts of the last failover's report
  ansible.builtin.set_fact:
    facts: "{{ lookup('ansible.builtin.file', record) | lifeboat.dr.post_incident_summary(lifeboat_runbook) }}"
"""

RETURN = r"""
_value:
  description: The report's facts (see the description).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.lifeboat.dr.plugins.module_utils import post_incident
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError


def post_incident_summary(record, runbook=None, incident=None, source=None):
    try:
        return post_incident.summary(record, runbook, incident_id=incident or None, source=source)
    except LifeboatError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {"post_incident_summary": post_incident_summary}
