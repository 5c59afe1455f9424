# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pip requirements of the offsite stores' client libraries (see module_utils/host_packages.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: offsite_python_requirements
short_description: pip requirements of the client libraries a host's offsite stores use
version_added: "1.1.0"
description:
  - Returns the sorted pip requirement strings (with version ranges, for example C(boto3>=1.26,<2)) that the
    providers of O(_input) declare, for installing them into the agent's virtualenv on a host. A C(filesystem)
    store needs none.
options:
  _input:
    description: The offsite stores (C(lifeboat_offsite) dicts; only C(provider) is read), or one store.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Install the offsite client libraries into the agent's virtualenv
  ansible.builtin.pip:
    name: "{{ lifeboat_offsite | lifeboat.dr.offsite_python_requirements }}"
    virtualenv: /opt/lifeboat/venv
"""

RETURN = r"""
_value:
  description: Sorted pip requirement strings.
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.lifeboat.dr.plugins.module_utils import host_packages as packages
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError


def offsite_python_requirements(stores):
    try:
        return packages.offsite_python_requirements(stores)
    except LifeboatError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {"offsite_python_requirements": offsite_python_requirements}
