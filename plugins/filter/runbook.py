# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runbook as data (``module_utils/runbook.py``) as filters, for the ``runbook`` role."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: runbook_render
short_description: A runbook rendered as Markdown, self-contained HTML and the reference plan's JSON
version_added: "1.2.0"
description:
  - Returns C(markdown), C(html) and C(json) (text) for the runbook; the JSON has the reference plan's shape,
    C(.incidents[] | select(.id=="INC-003")) works on it, and each incident carries its scenario's recovery playbook
    and the drill that rehearses it (or why none does yet).
  - The same file holds C(runbook_problems) (what is wrong beyond the argument spec - ids, severities, scenarios
    Lifeboat does not know, escalation contacts, step timeouts, rollbacks to steps that do not come earlier) and
    C(runbook_drift) (scenarios no incident covers, incidents naming a scenario no drill knows), each a list of
    sentences, empty when all is well, and C(runbook_scenarios) (the drill scenarios Lifeboat knows).
options:
  _input:
    description: The runbook (the inventory's C(lifeboat_runbook)).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Render the runbook
  ansible.builtin.set_fact:
    documents: "{{ lifeboat_runbook | lifeboat.dr.runbook_render }}"
"""

RETURN = r"""
_value:
  description: C(markdown), C(html) and C(json).
  type: dict
"""

from ansible_collections.lifeboat.dr.plugins.module_utils import runbook


def runbook_render(document):
    return runbook.render(document or {})


def runbook_problems(document):
    return runbook.problems(document or {})


def runbook_drift(document):
    return runbook.drift(document or {})


def runbook_scenarios(_ignored=None):
    return [scenario.as_dict() for scenario in runbook.SCENARIOS]


class FilterModule(object):
    def filters(self):
        return {"runbook_render": runbook_render, "runbook_problems": runbook_problems,
                "runbook_drift": runbook_drift, "runbook_scenarios": runbook_scenarios}
