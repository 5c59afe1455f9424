# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What playbooks and roles need to know about an engine, from the engine itself.

Playbooks ask ``service.engine | lifeboat.dr.engine_property('runs_as_root')``
instead of comparing engine names, so a new engine needs no playbook change.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: engine_property
short_description: One property of a Lifeboat engine, from the engine registry
version_added: "0.1.0"
description:
  - Returns a property that the engine declares in C(plugins/module_utils/engines/), so playbooks and roles
    decide by property rather than by engine name.
options:
  _input:
    description: Engine name (C(postgresql), C(mysql), C(sqlite), C(directory), C(redis), C(mongodb)).
    type: str
    required: true
  key:
    description:
      - The property. C(runs_as_root) (the backup agent runs its backups as root), C(scratch_teardown)
        (the restore-test step that removes the scratch copy, or none), C(target_kind) (V(database),
        V(path) or V(instance)), C(host_packages), C(required_params), C(always_safety_copy),
        C(restore_reads_archive), C(count_unit), C(item_noun), C(point_in_time_recovery), C(name),
        C(server_packages), C(server_setup), C(server_version_parts).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Run directory backups as root
  ansible.builtin.debug:
    msg: "{{ 'root' if (service.engine | lifeboat.dr.engine_property('runs_as_root')) else 'lifeboat' }}"
"""

RETURN = r"""
_value:
  description: The property's value (a string, boolean, list or null).
  type: raw
"""

from ansible_collections.lifeboat.dr.plugins.module_utils import engines
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError


def engine_property(name, key):
    try:
        value = engines.get(name).property_value(key)
    except LifeboatError as exc:
        from ansible.errors import AnsibleFilterError
        raise AnsibleFilterError(str(exc))
    return list(value) if isinstance(value, tuple) else value


def engines_where(value, key):
    """The names of the engines whose property ``key`` is ``value`` (for a selectattr test ``in``)."""
    return [name for name in engines.names() if engine_property(name, key) == value]


def engines_supporting(capability):
    """The names of the engines that have ``capability`` (a check or an optional method, e.g. ``copy_missing_rows``)."""
    try:
        return list(engines.names(supporting=capability))
    except LifeboatError as exc:
        from ansible.errors import AnsibleFilterError
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {"engine_property": engine_property, "engines_where": engines_where,
                "engines_supporting": engines_supporting}
