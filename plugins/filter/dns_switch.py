# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The DNS switch's plan (``module_utils/dns_switch.py``) as a filter, for the ``dns_switch`` role."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: dns_switch_plan
short_description: What a DNS switch will do, from what every authoritative server answers before it
version_added: "1.2.0"
description:
  - Returns the plan of C(module_utils/dns_switch.py) - C(change) (whether any server answers something else),
    C(current) (the answer a rollback restores - C(values), C(ttl), C(serial), C(from)), C(desired) (the new values in
    canonical form), C(ttl), C(lower_ttl) and C(wait_seconds) (when the old TTL is waited out first), C(steps) and
    C(summary).
  - The same file holds C(dns_switch_assess) - whether a list of answers (C(values), C(ttl), C(authoritative),
    C(error)) all equal the given values, as C(done), C(states), C(waiting) and C(summary).
  - And C(dns_absolute_name) - a record's absolute name in a zone (C(app) in C(lab.test) is C(app.lab.test.)).
  - Fails when no server answered authoritatively, or when the servers disagree before the switch (there is then no
    one answer to roll back to), or when a value is not of the record's type.
options:
  _input:
    description: The C(servers) that M(lifeboat.dr.dns_verify) returned (asked without O(lifeboat.dr.dns_verify#module:expect)).
    type: list
    elements: dict
    required: true
  values:
    description: The new values.
    type: list
    elements: str
    required: true
  type:
    description: The record type.
    type: str
    default: A
  ttl:
    description: The new TTL.
    type: int
    default: 60
  primary:
    description: The address or name of the server updates go to; its answer is the one a rollback restores.
    type: str
  lower_ttl_first:
    description: Republish the old value with the new TTL and wait the old TTL out before switching.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Decide what the switch does
  ansible.builtin.set_fact:
    plan: "{{ before.servers | lifeboat.dr.dns_switch_plan(['172.30.57.9'], type='A', ttl=60, primary='172.30.57.250') }}"
"""

RETURN = r"""
_value:
  description: The plan.
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.lifeboat.dr.plugins.module_utils import dns_switch


def dns_switch_plan(observations, values, type="A", ttl=60, primary=None, lower_ttl_first=False):  # pylint: disable=redefined-builtin
    try:
        desired = dns_switch.canonical_values(type, values)
        return dns_switch.plan(observations, desired, int(ttl), primary=primary, lower_ttl_first=bool(lower_ttl_first))
    except dns_switch.DnsSwitchError as exc:
        raise AnsibleFilterError("DNS switch: %s" % exc)


def dns_switch_assess(observations, values, type="A", ttl=None):  # pylint: disable=redefined-builtin
    """Whether the observations (servers, or one read back through a provider's API) answer the values."""
    try:
        return dns_switch.assess(observations, dns_switch.canonical_values(type, values),
                                 None if ttl is None else int(ttl))
    except dns_switch.DnsSwitchError as exc:
        raise AnsibleFilterError("DNS switch: %s" % exc)


def dns_absolute_name(record, zone):
    """``app`` in ``lab.test`` -> ``app.lab.test.``."""
    try:
        return dns_switch.absolute_name(record, zone)
    except dns_switch.DnsSwitchError as exc:
        raise AnsibleFilterError("DNS switch: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"dns_switch_plan": dns_switch_plan, "dns_switch_assess": dns_switch_assess,
                "dns_absolute_name": dns_absolute_name}
