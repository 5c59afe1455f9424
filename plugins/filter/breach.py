# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The security breach response's decisions (``module_utils/breach.py``) as filters, for the controller."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: breach_isolation_ruleset
short_description: The nftables ruleset that isolates a compromised host except for the controller's SSH
version_added: "1.2.0"
description:
  - Returns the text for C(nft -f) that isolates a host - an C(inet) table of its own (O(table)) whose input, forward
    and output chains have policy drop and accept only loopback, new and established TCP to O(ssh_port) from the
    controller's addresses (the input), its answers (the output), ICMP errors related to it and, with an IPv6
    controller, neighbour discovery. Nothing else - no DNS, no outbound connection, no forwarding, and no other
    established connection (an attacker's open session dies with the isolation). Applying it again replaces it.
  - Each address (IPv4 or IPv6, or a network) is checked; an empty list, a bad address or C(0.0.0.0/0) fail
    naming it.
  - The same file holds C(breach_isolation_removal) (the text that deletes the table, lifting the isolation; it
    takes the table name), C(breach_clean_backups) (per service, the newest complete backup taken strictly before
    the compromise, from a M(lifeboat.dr.backup_offsite) C(action=list) result; the later ones named as refused;
    fails naming each service without one, and the compromise time; positional C(compromised_at) (ISO 8601 with
    C(Z) or an offset) and C(services)), C(breach_listing_before) (the same listing with only the backups started
    before the compromise, for a rebuild's preflight) and C(breach_evidence_check) (an evidence set's directory checked against
    its C(manifest.sha256), giving C(ok), C(problems), C(missing), C(changed), C(extra), C(checked); positional
    C(expected_sha256), the manifest's sha256 the collection returned).
positional: ssh_port, table
options:
  _input:
    description: The controller's addresses (a list, or one address).
    type: raw
    required: true
  ssh_port:
    description: The SSH port the controller connects to.
    type: int
    default: 22
  table:
    description: The nftables table (family C(inet)) to create.
    type: str
    default: lifeboat_isolation
"""

EXAMPLES = r"""
- name: The isolation ruleset for the controller's address
  ansible.builtin.copy:
    dest: /etc/lifeboat/isolation.nft
    content: "{{ [ansible_env.SSH_CLIENT.split(' ')[0]] | lifeboat.dr.breach_isolation_ruleset }}"
    mode: "0600"

- name: The backups to restore, from before the compromise
  ansible.builtin.set_fact:
    clean: "{{ listing | lifeboat.dr.breach_clean_backups('2026-12-07T03:15:00Z', ['appdb', 'files']) }}"
"""

RETURN = r"""
_value:
  description: The ruleset's text.
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.lifeboat.dr.plugins.module_utils import breach
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError


def _filter(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except LifeboatError as exc:
        raise AnsibleFilterError(str(exc))


def breach_isolation_ruleset(sources, ssh_port=22, table=breach.DEFAULT_TABLE):
    return _filter(breach.isolation_ruleset, sources, ssh_port, table)


def breach_isolation_removal(table=breach.DEFAULT_TABLE):
    return _filter(breach.isolation_removal, table)


def breach_clean_backups(listing, compromised_at, services=None):
    return _filter(breach.clean_backups, listing, compromised_at, services)


def breach_listing_before(listing, compromised_at):
    return _filter(breach.listing_before, listing, compromised_at)


def breach_evidence_check(directory, expected_sha256=None):
    return _filter(breach.verify_manifest, directory, expected_sha256=expected_sha256)


class FilterModule(object):
    def filters(self):
        return {"breach_isolation_ruleset": breach_isolation_ruleset,
                "breach_isolation_removal": breach_isolation_removal,
                "breach_clean_backups": breach_clean_backups,
                "breach_listing_before": breach_listing_before,
                "breach_evidence_check": breach_evidence_check}
