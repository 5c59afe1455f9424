#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: db_fingerprint
short_description: Row counts and content hashes of every table, to prove two databases hold the same data
version_added: "0.1.0"
requirements:
  - For O(engine=redis), redis-py on the host (Debian package C(python3-redis)); the C(lifeboat.dr.host_tools) role installs it.
description:
  - Reads every ordinary table and returns its row count and an order-independent content hash, plus one
    combined fingerprint. Two databases of the same engine hold identical data exactly when their
    fingerprints are equal.
  - Use it before a drill and after the restore, or to compare a restored copy with production.
  - Read only; never reports a change.
author:
  - Lifeboat contributors (@lifeboat-dr)
options:
  engine:
    description: Database engine. Required, here or in O(definition).
    type: str
    choices: [postgresql, mysql, sqlite, directory, redis]
  database:
    description: PostgreSQL or MariaDB database. Required when O(engine=postgresql) or O(engine=mysql).
    type: str
  path:
    description: SQLite file, or directory for O(engine=directory).
    type: path
extends_documentation_fragment:
  - lifeboat.dr.attributes
  - lifeboat.dr.service
  - lifeboat.dr.attributes.read_only
  - lifeboat.dr.connection
notes:
  - Supports check mode; it is read only either way.
  - PostgreSQL hashes each row's text form with md5 inside the server, MariaDB the C(QUOTE()) of every column;
    SQLite rows are hashed in Python.
    Compare fingerprints of the same engine only.
  - For Redis, each database C(db<N>) counts its keys and hashes every key with its C(DUMP).
  - For a directory, the one entry C(.) counts every path below it and hashes paths, modes, owners, file
    contents and link targets.
"""

EXAMPLES = r"""
- name: Fingerprint appdb before the drill
  lifeboat.dr.db_fingerprint:
    engine: postgresql
    database: appdb
    login_user: lifeboat
    login_password: "{{ vault_appdb_password }}"
  register: before
"""

RETURN = r"""
tables:
  description: Per table, C(rows) and C(hash).
  returned: always
  type: dict
  sample: {"public.orders": {"rows": 20000, "hash": "7f3a..."}}
fingerprint:
  description: C(sha256:<hex>) over all tables' names, counts and hashes.
  returned: always
  type: str
executed_commands:
  description: Commands run, without secrets.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lifeboat.dr.plugins.module_utils import fingerprint
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils.module_args import service_argument_spec, service_spec


def main():
    module = AnsibleModule(argument_spec=service_argument_spec("fingerprint"), supports_check_mode=True)
    spec, runner = service_spec(module)
    try:
        tables = fingerprint.of_service(runner, spec)
    except LifeboatError as exc:
        module.fail_json(msg=str(exc), executed_commands=runner.executed)
    module.exit_json(changed=False, tables=tables, fingerprint=fingerprint.combine(tables),
                     executed_commands=runner.executed)


if __name__ == "__main__":
    main()
