# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Debian packages a host needs for its services (see module_utils/host_packages.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: host_packages
short_description: Debian packages a Lifeboat host needs for its services
version_added: "1.1.0"
description:
  - Returns the sorted package names for the engines and encryption methods of O(_input), the offsite
    store O(offsite) and O(extra) packages, always with the base tools (python3, zstd, gzip, tar).
options:
  _input:
    description: Service definitions as in C(lifeboat_services) (only C(name), C(engine) and C(encryption) are read).
    type: list
    elements: dict
    required: true
  offsite:
    description: The offsite stores (C(lifeboat_offsite) dicts; C(provider) and C(credentials_file) are read), or one store.
    type: raw
    default: []
  extra:
    description: Further package names.
    type: list
    elements: str
    default: []
"""

RETURN = r"""
_value:
  description: Sorted Debian package names.
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.lifeboat.dr.plugins.module_utils import host_packages as packages
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError


def host_packages(services, offsite=None, extra=None):
    try:
        return packages.host_packages(services, offsite, extra)
    except LifeboatError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {"host_packages": host_packages}
