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


def rebuild_preflight(services, listing, target, keys=None, versions=None, confirm=False):
    return rebuild.preflight(services or [], listing or {}, target or {}, keys=keys, versions=versions,
                             confirm=bool(confirm))


class FilterModule(object):
    def filters(self):
        return {"rebuild_preflight": rebuild_preflight}
