# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a host's PITR repository is shipped in an offsite store."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: pitr_offsite_prefix
short_description: The prefix of a host's PostgreSQL WAL archive and base backups in an offsite store
version_added: "1.2.0"
description:
  - Returns C([<store prefix>/]pitr/<host>/<version>-<cluster>), where lifeboat.dr.postgresql_pitr ships a cluster
    unless C(postgresql_pitr_offsite_prefix) says otherwise; a recovery onto another host finds the lost host's
    copy there.
options:
  _input:
    description: The offsite store (C(lifeboat_offsite)); its C(prefix) is read.
    type: dict
    required: true
  host:
    description: The inventory name of the host whose cluster it is.
    type: str
    required: true
  version:
    description: PostgreSQL major version of the cluster.
    type: int
    default: 15
  cluster:
    description: Cluster name.
    type: str
    default: main
"""

EXAMPLES = r"""
- name: Where app1's cluster is offsite
  ansible.builtin.debug:
    msg: "{{ lifeboat_offsite | lifeboat.dr.pitr_offsite_prefix('app1') }}"
"""

RETURN = r"""
_value:
  description: The prefix, without leading or trailing slash.
  type: str
"""

from ansible_collections.lifeboat.dr.plugins.module_utils.pitr.offsite import default_prefix


def pitr_offsite_prefix(store, host, version=15, cluster="main"):
    return default_prefix(store, host, version, cluster)


class FilterModule(object):
    def filters(self):
        return {"pitr_offsite_prefix": pitr_offsite_prefix}
