#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: db_copy_missing_rows
short_description: Copy back rows deleted by mistake from a side database, keeping every write made since
version_added: "1.2.0"
description:
  - For rows deleted by mistake (the drill scenario C(accidental_deletion)). A backup restored beside production
    (M(lifeboat.dr.db_restore) into C(<database>_staging), the C(restore) role's C(restore_target=staging)) holds
    the deleted rows; this module copies into O(database) the rows of O(tables) that O(side_database) has and
    O(database) lacks, matched by primary key. A row production has is never overwritten or deleted, so writes
    made since the backup stay, updated rows keep their production values, and running it twice copies nothing
    the second time.
  - Before anything is read into production, both databases' tables are compared and the whole run is refused,
    naming each table, when O(side_database) is O(database), a table is missing on either side, a table has no
    primary key (or a different one on each side), or its column names or types differ. Generated columns are
    left to the server.
  - C(postgresql) streams each side table (C(COPY ... TO STDOUT)) into a temporary table of one session on
    production, then in one transaction inserts the missing rows (C(INSERT ... SELECT ... WHERE NOT EXISTS), parents
    before the tables that reference them, C(ON CONFLICT DO NOTHING)) and advances each serial or identity sequence
    to at least the largest copied value, so new inserts do not collide. Any error rolls the transaction back and
    nothing is copied. The temporary tables end with the session.
  - The copied rows are inserted like any other (production's triggers and constraints apply to them); a failing
    constraint fails the whole copy.
  - A missing row whose other unique value (an e-mail, say) production has since given to another row is not
    copied; RV(tables) counts it under C(rows_conflicting).
  - The login needs SELECT on the side database's tables, SELECT and INSERT on production's, UPDATE on their
    sequences and TEMPORARY on production (PUBLIC has it by default). The password goes in C(PGPASSWORD), never on
    a command line.
author:
  - Lifeboat contributors (@lifeboat-dr)
options:
  engine:
    description: Engine. Required, here or in O(definition).
    type: str
    choices: [postgresql]
  database:
    description: The production database the missing rows are copied into. Required, here or in O(definition).
    type: str
  path:
    description: Not used by the engines that have this capability (a file or directory service has no rows).
    type: path
  side_database:
    description:
      - The database on the same server that holds the rows to copy back, usually a backup restored into
        C(<database>_staging). Never O(database).
    type: str
    required: true
  tables:
    description:
      - The tables to copy, C(schema.table) or C(table) (in C(public)), as the tables' names read (not quoted).
      - Default every table of O(side_database) that O(database) also has; tables only the side has are listed in
        RV(tables_skipped). Every table must have a primary key, so name the tables when one has none.
    type: list
    elements: str
attributes:
  check_mode:
    support: full
    details:
      - Reads the side tables into temporary tables on production and counts the rows that would be copied; no row
        or sequence of production changes.
  diff_mode:
    support: none
    details:
      - Copies data, not configuration; the result counts the rows per table.
extends_documentation_fragment:
  - lifeboat.dr.attributes
  - lifeboat.dr.service
  - lifeboat.dr.connection
notes:
  - The side database is read, never changed; drop it when done (the C(restore) role's C(copy_missing_rows) entry
    point does unless C(restore_keep_side_database)).
  - Rows are matched by primary key only; a row both databases have with different content keeps production's
    (RV(tables) counts them under C(rows_differing)).
seealso:
  - module: lifeboat.dr.db_restore
"""

EXAMPLES = r"""
- name: Restore the newest backup of appdb beside production
  lifeboat.dr.db_restore:
    engine: postgresql
    service: appdb
    database: appdb_staging
    login_user: lifeboat
    login_password: "{{ vault_appdb_password }}"

- name: Copy the deleted orders back, keeping everything written since
  lifeboat.dr.db_copy_missing_rows:
    engine: postgresql
    database: appdb
    side_database: appdb_staging
    tables: [orders]
    login_user: lifeboat
    login_password: "{{ vault_appdb_password }}"
  register: copied

- name: Count only (check mode), for the service as the inventory defines it
  lifeboat.dr.db_copy_missing_rows:
    definition: "{{ lifeboat_services | selectattr('name', 'eq', 'appdb') | first }}"
    side_database: appdb_staging
    tables: [public.orders, public.customers]
  check_mode: true
"""

RETURN = r"""
database:
  description: The production database.
  returned: always
  type: str
side_database:
  description: The database the rows came from.
  returned: always
  type: str
tables:
  description:
    - Per table (C(schema.table)), C(rows_in_side), C(rows_missing) (side rows whose key production lacks),
      C(rows_copied) (0 in check mode), C(rows_conflicting) (missing rows not copied because production holds one of
      their other unique values) and C(rows_differing) (rows both have with other content; production's kept).
  returned: always
  type: dict
  sample: {"public.orders": {"rows_in_side": 20000, "rows_missing": 10, "rows_copied": 10, "rows_conflicting": 0,
                             "rows_differing": 1}}
order:
  description: The tables in the order they were copied (parents before the tables that reference them).
  returned: always
  type: list
  elements: str
tables_skipped:
  description: Tables of the side database left out by default because production does not have them, with why.
  returned: always
  type: dict
sequences_advanced:
  description: The sequences set forward to the largest copied value, with that value.
  returned: always
  type: dict
  sample: {"public.orders_id_seq": 20010}
rows_copied:
  description: Rows copied in all, 0 in check mode.
  returned: always
  type: int
summary:
  description: One sentence saying what was (or would be) copied.
  returned: always
  type: str
  sample: 10 of 10 missing row(s) copied back
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
    module = AnsibleModule(argument_spec=service_argument_spec("copy_missing_rows",
                                                               side_database=dict(type="str", required=True),
                                                               tables=dict(type="list", elements="str")),
                           supports_check_mode=True)
    spec, runner = service_spec(module, required=("engine", "database"))
    try:
        result = engines.get(spec["engine"]).copy_missing_rows(runner, spec, check_mode=module.check_mode)
    except LifeboatError as exc:
        module.fail_json(msg=str(exc), executed_commands=runner.executed)
    module.exit_json(executed_commands=runner.executed, **result)


if __name__ == "__main__":
    main()
