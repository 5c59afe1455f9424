#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: service_verify
short_description: Check that a protected service and its backups work (quick, full or smoke)
version_added: "0.2.0"
requirements:
  - For O(engine=redis), redis-py on the host (Debian package C(python3-redis)); the C(lifeboat.dr.host_tools) role installs it.
description:
  - Runs the checks of one verification level against one protected service and returns each check's
    PASS or FAIL with its detail. A failing check does not stop the others and does not fail the task;
    the playbook (C(verify.yml)) prints the table and fails when any check failed.
  - V(quick) checks that the O(units) are active, that O(health_url) answers 200, that the database accepts
    connections, that the newest backup is younger than O(max_backup_age_hours), and the newest backup's sha256.
  - V(full) adds the data check (rows per table, Redis keys per database, or directory entries, against the
    newest backup's metadata; see O(rows)), C(pg_amcheck --heapallindexed --install-missing) of every B-tree
    index and table for PostgreSQL (it creates the C(amcheck) extension when missing and drops it afterwards,
    so it never enters a backup; as root it runs as the C(postgres) OS user, since amcheck needs a superuser),
    and C(PRAGMA integrity_check) for SQLite.
  - V(smoke) adds the application's HTTP flows in O(smoke_requests).
  - Leaves nothing behind (the smoke requests do what the application does with them); check mode runs the same
    checks.
author:
  - Lifeboat contributors (@lifeboat-dr)
options:
  engine:
    description:
      - Engine of the service. Without it only O(units), O(health_url) and O(smoke_requests) are checked
        (host-level checks; O(service) then only names them).
    type: str
    choices: [postgresql, mysql, sqlite, directory, redis, mongodb]
  service:
    description: Service name (its backups are under O(backup_root)/O(service)). Required, here or in O(definition).
    type: str
  level:
    description: Verification level.
    type: str
    default: quick
    choices: [quick, full, smoke]
  rows:
    description:
      - V(at_least) passes when every table of the backup exists with at least its rows (live data grows
        after a backup; losing rows fails). V(exact) demands the backup's counts and no other tables, for data
        that was just restored.
    type: str
    default: at_least
    choices: [at_least, exact]
  check_backups:
    description: Check the age and checksum of the newest backup (off when verifying a restored copy elsewhere).
    type: bool
    default: true
  max_backup_age_hours:
    description: The newest backup must be at most this old.
    type: float
    default: 26
  units:
    description: systemd units that must be active.
    type: list
    elements: str
    default: []
  health_url:
    description: URL that must answer HTTP 200.
    type: str
  smoke_requests:
    description:
      - HTTP requests of the V(smoke) level, each with C(url), optional C(name), C(method) (GET), C(body)
        (a dict is sent as JSON), C(status) (200) and C(contains) (text the answer must contain).
    type: list
    elements: dict
    default: []
  backup_root:
    description: Root of the backup repository.
    type: path
    default: /var/backups/lifeboat
  database:
    description: PostgreSQL or MariaDB database.
    type: str
  path:
    description: SQLite file or directory.
    type: path
extends_documentation_fragment:
  - lifeboat.dr.attributes
  - lifeboat.dr.service
  - lifeboat.dr.attributes.read_only
  - lifeboat.dr.connection
  - lifeboat.dr.connection.mongodb
notes:
  - MongoDB services are not checked yet beyond their backups.
seealso:
  - module: lifeboat.dr.db_restore
"""

EXAMPLES = r"""
- name: Full check of appdb after a recovery
  lifeboat.dr.service_verify:
    engine: postgresql
    service: appdb
    database: appdb
    level: full
    login_user: lifeboat
    login_password: "{{ vault_appdb_password }}"
    units: [postgresql@15-main, sampleapp]
    health_url: http://127.0.0.1:8080/healthz
  register: appdb_checks
"""

RETURN = r"""
checks:
  description: One entry per check.
  returned: always
  type: list
  elements: dict
  sample: [{"check": "appdb: accepts connections", "status": "PASS", "detail": "PostgreSQL 15.8, database appdb"}]
summary:
  description: Totals and the overall result.
  returned: always
  type: dict
  sample: {"total": 7, "passed": 7, "failed": 0, "result": "ALL CHECKS PASSED"}
executed_commands:
  description: Commands run, without secrets.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule, _load_params

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf
from ansible_collections.lifeboat.dr.plugins.module_utils import verify
from ansible_collections.lifeboat.dr.plugins.module_utils.module_args import (
    argument_spec, connection_spec, definition_spec, mongodb_spec, params_for, repository_spec, runner_for,
    spec_from_params, target_spec)


def main():
    spec = argument_spec(
        # Without an engine, only the host's units, health endpoint and HTTP flows are checked.
        definition_spec(), target_spec(), repository_spec(), connection_spec(), mongodb_spec(),
        level=dict(type="str", default="quick", choices=list(verify.LEVELS)),
        rows=dict(type="str", default="at_least", choices=["at_least", "exact"]),
        check_backups=dict(type="bool", default=True),
        max_backup_age_hours=dict(type="float", default=26),
        units=dict(type="list", elements="str", default=[]),
        health_url=dict(type="str"),
        smoke_requests=dict(type="list", elements="dict", default=[]),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    params = params_for(module, _load_params(), required=("service",))
    runner = runner_for(module)
    checks = verify.run_checks(runner, spec_from_params(params), params["level"], bf.utcnow())
    module.exit_json(changed=False, checks=checks, summary=verify.summary(checks), executed_commands=runner.executed)


if __name__ == "__main__":
    main()
