#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: backup_rotate
short_description: Apply a GFS retention policy to a service's backups
version_added: "0.1.0"
description:
  - Keeps, per class, every backup taken in the newest N periods of that class that have one (a day for
    V(daily), an ISO week for V(weekly), a month for V(monthly), a year for V(yearly)) and deletes the rest,
    data file first, then its metadata.
  - Never deletes the newest backup of the service, the newest verified backup of any class, a backup whose
    metadata is missing or unreadable (listed in RV(incomplete) instead), or a file being written (C(.partial-*)).
  - Holds the service's lock, so it never races a backup or restore of the same service.
author:
  - Lifeboat contributors (@lifeboat-dr)
options:
  service:
    description: Service whose backups are rotated. Required, here or in O(definition).
    type: str
  backup_root:
    description: Root of the backup repository.
    type: path
    default: /var/backups/lifeboat
  keep_daily:
    description: Daily periods to keep.
    type: int
    default: 7
  keep_weekly:
    description: Weekly periods to keep.
    type: int
    default: 4
  keep_monthly:
    description: Monthly periods to keep.
    type: int
    default: 12
  keep_yearly:
    description: Yearly periods to keep.
    type: int
    default: 0
attributes:
  check_mode:
    support: full
    details:
      - Nothing is deleted; RV(deleted) lists what would be.
  diff_mode:
    support: full
    details:
      - The service's backups before and after rotation, one path per line.
extends_documentation_fragment:
  - lifeboat.dr.attributes
  - lifeboat.dr.service
  - lifeboat.dr.connection.lock
notes:
  - In check mode nothing is deleted and RV(deleted) lists what would be.
"""

EXAMPLES = r"""
- name: Rotate as the reference plans do (7 daily, 4 weekly, 12 monthly)
  lifeboat.dr.backup_rotate:
    service: appdb

- name: Keep only two local dailies when offsite copies keep the history
  lifeboat.dr.backup_rotate:
    service: appdb
    keep_daily: 2
    keep_weekly: 0
    keep_monthly: 0
"""

RETURN = r"""
kept:
  description: Backups kept, each with C(path) and C(reason).
  returned: always
  type: list
  elements: dict
deleted:
  description: Backups deleted (or, in check mode, that would be), each with C(path) and C(reason).
  returned: always
  type: list
  elements: dict
incomplete:
  description: Files that look like backups but lack readable metadata; never deleted.
  returned: always
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule, _load_params

from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils.module_args import (
    argument_spec, definition_spec, listing_diff, lock_spec, params_for, repository_spec)
from ansible_collections.lifeboat.dr.plugins.module_utils.rotation import rotate


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            definition_spec(), repository_spec(), lock_spec(),
            keep_daily=dict(type="int", default=7),
            keep_weekly=dict(type="int", default=4),
            keep_monthly=dict(type="int", default=12),
            keep_yearly=dict(type="int", default=0),
        ),
        supports_check_mode=True,
    )
    params = params_for(module, _load_params(), required=("service",))
    policy = {kind: params["keep_" + kind] for kind in ("daily", "weekly", "monthly", "yearly")}
    try:
        result = rotate(params["backup_root"], params["service"], policy, check_mode=module.check_mode,
                        lock_timeout=params["lock_timeout"])
    except LifeboatError as exc:
        module.fail_json(msg=str(exc))
    if module._diff:
        paths = [item["path"] for item in result["kept"]]
        result["diff"] = listing_diff(paths + [item["path"] for item in result["deleted"]], paths,
                                      "backups of %s" % params["service"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
