# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The drill's decisions (``module_utils/drill_result.py``) as filters, for ``playbooks/drill.yml``."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: drill_result
short_description: A drill run's result document, from what each scenario measured and the runbook's objectives
version_added: "1.2.0"
description:
  - Returns the drill's result (C(kind) C(lifeboat-drill), C(version) 1, C(environment), C(started), C(finished),
    C(result) PASS or FAIL, C(scenarios)). A scenario passes only when every check passed and its achieved RTO and RPO
    met the objectives of the runbook incident that names it; a selected scenario with no measurement is reported
    C(not_runnable) with the reason, never passed. The drill is PASS only when every scenario that ran passed.
  - The same file holds C(drill_scenarios), the scenario names a C(scenario) argument selects (C(all), a name, or
    names separated by commas), in the order the drill runs them; it fails naming an unknown scenario. And
    C(drill_phases), the phases (C(name), C(start), C(end), C(seconds)) from a list of C([name, epoch seconds]) marks,
    each phase running to the next mark, C(drill_span), the seconds between two named marks, and
    C(drill_lost_writes_rpo), the RPO of a number of lost writes made every so many seconds, and C(drill_table_row), a
    scenario's line in the drill's terminal table (status, RTO and RPO achieved with the objective, writes lost).
positional: runbook, selected, started, finished, not_runnable
options:
  _input:
    description: What each scenario measured, by scenario name (see C(module_utils/drill_result.py)).
    type: dict
    required: true
  runbook:
    description: The runbook (the inventory's C(lifeboat_runbook)); gives the incidents and their objectives.
    type: dict
    required: true
  selected:
    description: The scenarios the run was asked for (C(drill_scenarios)'s result).
    type: list
    elements: str
    required: true
  started:
    description: When the drill started (UTC, C(YYYY-MM-DDTHH:MM:SS.ffffffZ)).
    type: str
    required: true
  finished:
    description: When it finished.
    type: str
    required: true
  not_runnable:
    description: Why a scenario cannot run here, by name (else the runbook's reason).
    type: dict
"""

EXAMPLES = r"""
- name: Choose the scenarios
  ansible.builtin.set_fact:
    drill_selected: "{{ scenario | default('all') | lifeboat.dr.drill_scenarios }}"

- name: Build the result
  ansible.builtin.set_fact:
    drill_result: "{{ drill_measured | lifeboat.dr.drill_result(lifeboat_runbook, drill_selected, started, finished) }}"
"""

RETURN = r"""
_value:
  description: The drill's result document.
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.lifeboat.dr.plugins.module_utils import drill_result


def drill_scenarios(scenario):
    try:
        return drill_result.select(scenario)
    except drill_result.DrillError as exc:
        raise AnsibleFilterError(str(exc))


def drill_result_document(measured, runbook, selected, started, finished, not_runnable=None):
    try:
        return drill_result.build(runbook, selected, measured or {}, started, finished, not_runnable)
    except drill_result.DrillError as exc:
        raise AnsibleFilterError(str(exc))


def drill_phases(marks):
    return drill_result.phases(marks or [])


def drill_span(marks, first, last):
    return drill_result.span(marks or [], first, last)


def drill_table_row(entry):
    return drill_result.table_row(entry)


def drill_lost_writes_rpo(lost, interval):
    return drill_result.rpo_of_lost_writes(lost, interval)


class FilterModule(object):
    def filters(self):
        return {"drill_scenarios": drill_scenarios, "drill_result": drill_result_document,
                "drill_phases": drill_phases, "drill_span": drill_span,
                "drill_lost_writes_rpo": drill_lost_writes_rpo, "drill_table_row": drill_table_row}
