#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: db_password
short_description: Give a database account a new password, without the server ever seeing it in clear
version_added: "1.2.0"
requirements:
  - For O(engine=redis), redis-py on the host (Debian package C(python3-redis)); the C(lifeboat.dr.host_tools) role installs it.
description:
  - Sets the password of one account of a service, connected with the service's own login (its definition as the
    inventory writes it). A security breach response (C(playbooks/security_breach.yml)) rotates every secret with it.
  - "PostgreSQL: C(ALTER ROLE ... PASSWORD) with the SCRAM-SHA-256 verifier computed on the host, so the statement
    log, C(pg_stat_activity) and replicas never carry the clear text. MariaDB: every C(user@host) account of
    O(user) gets C(IDENTIFIED BY PASSWORD) with its C(mysql_native_password) hash. Redis: C(requirepass) (the default
    user) with C(CONFIG SET), written to the server's configuration file with C(CONFIG REWRITE)."
  - An account that already has the password is left alone (PostgreSQL compares the stored verifier when the login
    may read C(pg_authid), that is a superuser; otherwise the password is set again and a note says so). An account
    that does not exist is an error naming it, and nothing changes.
  - Sessions already connected stay connected; new connections need the new password. Change the login's own
    password last, or give O(login_password) the old one explicitly.
author:
  - Lifeboat contributors (@lifeboat-dr)
options:
  engine:
    description: Database engine. Required, here or in O(definition).
    type: str
    choices: [postgresql, mysql, redis]
  database:
    description: The PostgreSQL database to connect to (the definition's by default). Required when O(engine=postgresql).
    type: str
  path:
    description: Not used; accepted because a service definition may carry it.
    type: path
  user:
    description:
      - The account. Redis rotates the default user's C(requirepass) only, so V(default) or nothing there.
    type: str
  new_password:
    description: The new password. Never logged, never in the result, never on a command line.
    type: str
    required: true
extends_documentation_fragment:
  - lifeboat.dr.attributes
  - lifeboat.dr.service
  - lifeboat.dr.connection
attributes:
  check_mode:
    support: full
    details:
      - Check mode connects and reads, changes nothing, and reports whether the password would change.
  diff_mode:
    support: none
notes:
  - The new password is sent to the host as a module argument (over the connection, like any no_log option) and to
    the servers as a verifier (PostgreSQL, MariaDB) or over Redis's protocol.
seealso:
  - module: lifeboat.dr.vault_secrets
"""

EXAMPLES = r"""
- name: New password for the app's PostgreSQL role, connected as the service's login
  lifeboat.dr.db_password:
    definition: "{{ lifeboat_services | selectattr('name', 'equalto', 'appdb') | first }}"
    user: sampleapp
    new_password: "{{ vault_sampleapp_password }}"
  no_log: true
"""

RETURN = r"""
accounts:
  description: The accounts given the password (MariaDB C(user@host), one per host).
  returned: success
  type: list
  elements: str
notes:
  description: What the caller must still do or know (replicas that need C(masterauth), a password set without comparing).
  returned: success
  type: list
  elements: str
executed_commands:
  description: Commands run, without secrets.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lifeboat.dr.plugins.module_utils import engines
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils.module_args import service_argument_spec, service_spec


def main():
    module = AnsibleModule(argument_spec=service_argument_spec("set_password", user=dict(type="str"),
                                                               new_password=dict(type="str", required=True, no_log=True)),
                           supports_check_mode=True)
    spec, runner = service_spec(module)
    try:
        result = engines.get(spec["engine"]).set_password(runner, spec, module.params["user"],
                                                          module.params["new_password"], check_mode=module.check_mode)
    except LifeboatError as exc:
        module.fail_json(msg=str(exc), executed_commands=runner.executed)
    module.exit_json(executed_commands=runner.executed, **result)


if __name__ == "__main__":
    main()
