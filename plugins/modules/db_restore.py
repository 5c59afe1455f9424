#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: db_restore
short_description: Restore a Lifeboat backup without risking the target on bad input
version_added: "0.1.0"
requirements:
  - For O(engine=redis), redis-py on the host (Debian package C(python3-redis)); the C(lifeboat.dr.host_tools) role installs it.
description:
  - Restores one backup written by M(lifeboat.dr.db_dump) into a database of the same engine.
  - Before anything is touched, the backup's size and sha256 are compared with its metadata and the
    archive is decompressed and read. A missing, truncated, corrupt or foreign backup fails with a
    message naming the file and the cause, and the target is not touched. For C(postgresql) the read is the
    restore into the scratch database itself (one pass over the backup, not two); check mode reads it separately.
  - Before that, with O(signing_public_keys), the metadata's signature is checked and the signed backup id and
    service must be the ones the file was found as; an unsigned or wrongly signed backup is refused (see
    O(signature)), and V(latest) older than the newest backup this host signed (O(state_dir)) is refused. With a
    verified signature the sha256 is compared even with O(skip_verify), since it binds the content to the signature.
  - An existing target is only overwritten with O(confirm=true).
  - C(postgresql) restores into a scratch database, compares every table's row count with the metadata,
    and only then renames the scratch database into place. The previous database is kept, renamed to
    C(<database>_pre_restore_<YYYYMMDD_HHMMSS>), unless O(safety_copy=false).
  - C(mysql) (MariaDB) loads the dump into a scratch database C(<database>__lifeboat_restore) and compares its rows
    per table and its numbers of views, triggers, routines and events with the metadata; the target is not touched
    until that passes. Then the current database is dumped to
    C(<backup_root>/<service>/safety/pre-restore-<database>-<YYYYMMDD_HHMMSS>.sql.zst) (unless O(safety_copy=false)),
    encrypted like the service's backups (O(encryption), else the restored backup's method; C(.age) or C(.gpg) added),
    mode 0600, its sessions are ended, and it is recreated from the same verified dump and checked again.
    A MariaDB restore loads the dump twice (scratch, then target), the price of never touching the target with an
    unproven dump.
  - C(sqlite) unpacks and integrity-checks the backup, compares row counts, keeps the current file as
    C(<path>.pre-restore-<YYYYMMDD_HHMMSS>) (the database's owner, mode 0600 at most), and writes the data into
    the live file through SQLite's backup API so running readers see a consistent database. Orphaned
    C(-wal)/C(-shm) files of a deleted database are moved aside, never replayed.
  - C(mongodb) always needs O(confirm=true) (there is no client to look inside the target), keeps a
    C(mongodump) of the target in
    C(<backup_root>/<service>/safety/pre-restore-<database or all>-<stamp>.mongo.archive.zst) (encrypted and 0600
    like the MariaDB safety dump), runs C(mongorestore --archive --drop --stopOnError) and requires the restored
    document total to equal the metadata's. B(Never run against a MongoDB server in Lifeboat's CI); see
    M(lifeboat.dr.db_dump).
  - C(directory) unpacks beside the target, compares entry count and bytes with the metadata, then moves the
    current directory to C(<path>.pre-restore-<YYYYMMDD_HHMMSS>) (always; its top directory made 0700) and renames the
    restored one into place, with owners, modes, ACLs and extended attributes.
  - Safety copies are kept where a restore can put them back fastest (a rename, on the data's own filesystem) or,
    for dumps, in the service's safety directory. Before a copy that takes space (MariaDB, MongoDB, SQLite) the free
    space is checked (the MariaDB and MongoDB estimate is the restored backup's size plus a tenth); too little fails
    naming the directory, the bytes needed and free, and nothing is touched.
  - After a successful restore, the target's older safety copies are removed by O(safety_copy_keep) and
    O(safety_copy_max_age_days); the copy just made is never removed. RV(safety_copies) lists what remains.
  - When O(select) passes over newer backups that are incomplete (a data file without readable metadata), the
    result's RV(selected_because) and RV(skipped_backups) name them and why, and a warning is shown.
author:
  - Lifeboat contributors (@lifeboat-dr)
options:
  engine:
    description: Engine; must match the backup's. Required, here or in O(definition).
    type: str
    choices: [postgresql, mysql, sqlite, directory, redis, mongodb]
  service:
    description: Protected service whose backups O(select) chooses from. Required, here or in O(definition).
    type: str
  backup:
    description: Backup file to restore. Mutually exclusive with O(select).
    type: path
  select:
    description:
      - Which backup of O(service) under O(backup_root) to restore when O(backup) is not given.
      - V(latest), a class (V(daily), V(weekly), V(monthly), V(yearly)) for the newest of that class,
        V(YYYYMMDD) for the newest taken that day (UTC), V(before:<ISO 8601 time with a zone>) for the newest started strictly
        before that time (a security breach restores from before its compromise), or a backup id.
      - When neither O(backup) nor O(select) is given, V(latest) is restored.
    type: str
  backup_root:
    description: Root directory of the backup repository.
    type: path
    default: /var/backups/lifeboat
  database:
    description: Target PostgreSQL, MariaDB or MongoDB database. Required when O(engine=postgresql) or O(engine=mysql).
    type: str
  path:
    description: Target SQLite file, or target directory for O(engine=directory).
    type: path
  redis_unit:
    description: systemd unit of the Redis instance (O(engine=redis)); it is stopped for the restore and started again.
    type: str
    default: redis-server
  redis_restore_type:
    description:
      - V(rdb) restores the snapshot; with AOF on it becomes the AOF's base, since Redis 7 ignores a lone RDB
        then and would start empty. V(aof) restores the append-only files (the backup must have them).
      - The instance's current files are moved to C(<dir>/pre-restore-<YYYYMMDD_HHMMSS>/) (mode 0700).
    type: str
    default: rdb
    choices: [rdb, aof]
  confirm:
    description: Allow overwriting an existing target. Without it an existing target is refused.
    type: bool
    default: false
  safety_copy:
    description: Keep the current target before replacing it.
    type: bool
    default: true
  safety_copy_keep:
    description:
      - After a successful restore, keep this many safety copies of the target (the newest; the one the restore
        just made always stays and counts), and remove the older ones. At least V(1).
      - Retention looks only at the copies of this target, in its engine's place (see the description above).
    type: int
    default: 2
  safety_copy_max_age_days:
    description:
      - After a successful restore, also remove the target's safety copies older than this many days (never the one
        just made). V(0) sets no age limit.
    type: int
    default: 0
  skip_verify:
    description:
      - Skip the checksum comparison and the full read of the backup before restoring (the reference scripts'
        C(--skip-verify)), to save one pass over a large backup. Row counts are still compared before the target
        is touched where the engine restores into scratch space, but a damaged backup is found later and with a
        less precise message. C(restore.yml) refuses it for production targets without C(lifeboat_confirm=yes).
    type: bool
    default: false
  verify_rows:
    description: Compare the restored row counts with the metadata before putting the data in place.
    type: bool
    default: true
  restore_roles:
    description:
      - C(postgresql) and C(mysql) backups keep the server's roles (PostgreSQL, with C(pg_dumpall --roles-only)) or
        users and grants (MariaDB), encrypted like the backup. This says which the restore creates on the target
        before the data is loaded.
      - V(missing) creates the roles the database needs (its owner, object owners, grantees, roles with settings
        in it, definers, and the roles they belong to and that belong to them) that do not exist on the target,
        with their attributes, password hashes, settings and memberships. Existing roles are never changed.
      - V(all) also creates every other role of the backup that is missing, and gives existing ones the backup's
        attributes, password hash, settings and memberships (never the login running the restore, nor a superuser
        role unless the login is one).
      - V(none) leaves the server's roles alone; a restore then fails when a role it needs is missing.
      - Role names only appear in the result (RV(roles_created), RV(roles_updated)), never passwords or hashes.
    type: str
    choices: [missing, all, none]
    default: missing
  jobs:
    description:
      - Parallel C(pg_restore) workers. With V(1), a custom-format backup streams straight into the scratch
        database in one transaction. Above V(1), it is first decompressed into a private directory beside the
        backup (disk for the uncompressed archive needed; removed afterwards), because C(pg_restore -j) needs a
        seekable file. Directory-format backups are always unpacked. On two cores the benchmark measured little
        gain (see the README); on many cores it shortens the data load and index builds.
    type: int
    default: 1
attributes:
  check_mode:
    support: full
    details:
      - Verifies the backup (read only) and reports what would be restored and kept; changes nothing.
  diff_mode:
    support: none
    details:
      - Replaces data, not configuration; the result reports the safety copy and the counts checked.
extends_documentation_fragment:
  - lifeboat.dr.attributes
  - lifeboat.dr.service
  - lifeboat.dr.connection
  - lifeboat.dr.connection.mongodb
  - lifeboat.dr.connection.lock
  - lifeboat.dr.connection.encryption
  - lifeboat.dr.connection.signing
notes:
  - Check mode verifies the backup (read only) and reports what would be restored and kept; it changes nothing.
seealso:
  - module: lifeboat.dr.db_dump
"""

EXAMPLES = r"""
- name: Restore the newest backup of appdb over the damaged database
  lifeboat.dr.db_restore:
    engine: postgresql
    service: appdb
    database: appdb
    login_user: lifeboat
    login_password: "{{ vault_appdb_password }}"
    confirm: true

- name: Restore last Sunday's backup into a side database for selective recovery
  lifeboat.dr.db_restore:
    engine: postgresql
    service: appdb
    select: weekly
    database: appdb_recovery
    login_user: lifeboat
    login_password: "{{ vault_appdb_password }}"

- name: Restore a given SQLite backup file
  lifeboat.dr.db_restore:
    engine: sqlite
    service: bot
    backup: /var/backups/lifeboat/bot/daily/backup_daily_20251103_020000.sqlite3.zst
    path: /srv/bot/app.db
    confirm: true
"""

RETURN = r"""
backup:
  description: The backup file restored (or that would be).
  returned: always
  type: str
backup_id:
  description: Its id.
  returned: always
  type: str
signature:
  description:
    - What the signature check found, for example C(verified (SHA256:...)), C(unsigned, accepted ...)
      or C(not checked (no signing_public_keys configured)).
  returned: always
  type: str
selected_because:
  description: Why this backup was chosen.
  returned: always
  type: str
  sample: newest backup of any class
target:
  description: Database name or file restored into.
  returned: always
  type: str
target_existed:
  description: Whether the target existed before.
  returned: always
  type: bool
safety_copy:
  description: Where the previous target was kept (database name or file), or null.
  returned: when not in check mode
  type: str
expected_rows:
  description: Row counts per table recorded in the metadata.
  returned: always
  type: dict
restored_rows:
  description: Row counts per table in the restored data.
  returned: when not in check mode
  type: dict
restored_objects:
  description: Numbers of views, triggers, routines and events in the restored MariaDB database.
  returned: when O(engine=mysql) and not in check mode
  type: dict
  sample: {"views": 1, "triggers": 1, "routines": 2, "events": 1}
database_properties:
  description:
    - The database-level properties given to the restored PostgreSQL database and read back before it was put in
      place (owner, privileges, C(ALTER DATABASE ... SET) and per-role settings, comment, connection limit,
      locale provider, extension owners), or, for MariaDB, its character set, collation and object definers.
    - Null for a backup taken before Lifeboat recorded them.
  returned: when O(engine=postgresql) or O(engine=mysql) and not in check mode
  type: dict
  sample: {"owner": "sampleapp", "privileges": "reader CONNECT, sampleapp CONNECT, sampleapp CREATE",
           "settings": ["search_path"], "extension_owners": {"citext": "sampleapp"}}
roles_created:
  description: Names of the roles (MariaDB users and roles) the restore created on the target (see O(restore_roles)).
  returned: when O(engine=postgresql) or O(engine=mysql) and not in check mode
  type: list
  elements: str
roles_updated:
  description: Names of existing roles given the backup's attributes and passwords (O(restore_roles=all)).
  returned: when O(engine=postgresql) or O(engine=mysql) and not in check mode
  type: list
  elements: str
plan:
  description: What would be done, with the safety copies' retention.
  returned: in check mode
  type: str
safety_copies:
  description:
    - The target's safety copies after the retention (in check mode, before), newest first. Each has C(name), C(path)
      (a file, directory or database name), C(kind) (C(file), C(directory), C(database)), C(created), C(epoch),
      C(size_bytes), C(size), and for SQLite C(files) (the copy with its side files).
  returned: always
  type: list
  elements: dict
safety_copies_removed:
  description: The safety copies the retention removed, in the same form.
  returned: when not in check mode
  type: list
  elements: dict
safety_copies_to_remove:
  description: The safety copies the retention would remove after this restore.
  returned: in check mode
  type: list
  elements: dict
safety_copy_space:
  description: The disk-space preflight of a safety copy that takes room (C(directory), C(needed_bytes), C(free_bytes)).
  returned: when a safety copy that takes room is made
  type: dict
skipped_backups:
  description:
    - Newer backups O(select) matched but passed over because they are incomplete (C(backup_id), C(path), C(reason)).
  returned: always
  type: list
  elements: dict
duration_seconds:
  description: Time the restore took.
  returned: when not in check mode
  type: float
executed_commands:
  description: Commands run, without secrets.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule, _load_params

from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils.module_args import (
    backup_argument_spec, params_for, runner_for, spec_from_params)
from ansible_collections.lifeboat.dr.plugins.module_utils.restore import run_restore


def main():
    argument_spec = backup_argument_spec(
        backup=dict(type="path"),
        select=dict(type="str"),
        confirm=dict(type="bool", default=False),
        safety_copy=dict(type="bool", default=True),
        safety_copy_keep=dict(type="int", default=2),
        safety_copy_max_age_days=dict(type="int", default=0),
        verify_rows=dict(type="bool", default=True),
        skip_verify=dict(type="bool", default=False),
        redis_unit=dict(type="str", default="redis-server"),
        redis_restore_type=dict(type="str", default="rdb", choices=["rdb", "aof"]),
        restore_roles=dict(type="str", default="missing", choices=["missing", "all", "none"]),
    )
    module = AnsibleModule(argument_spec=argument_spec, mutually_exclusive=[("backup", "select")],
                           supports_check_mode=True)
    spec = spec_from_params(params_for(module, _load_params()))
    runner = runner_for(module)
    try:
        result = run_restore(spec, runner=runner, check_mode=module.check_mode)
    except LifeboatError as exc:
        module.fail_json(msg=str(exc), executed_commands=runner.executed)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
