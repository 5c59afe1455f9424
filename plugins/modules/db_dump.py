#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: db_dump
short_description: Take a verified, checksummed backup of a database
version_added: "0.1.0"
requirements:
  - For O(engine=redis), redis-py on the host (Debian package C(python3-redis)); the C(lifeboat.dr.host_tools) role installs it.
description:
  - Dumps one database into C(<backup_root>/<service>/<type>/backup_<type>_<YYYYMMDD_HHMMSS>.<ext>)
    and writes a metadata JSON beside it (C(backup_<type>_<YYYYMMDD_HHMMSS>.metadata.json)) with the
    backup id, engine, service, type, UTC timestamp, size, duration, files, sha256 checksum and the
    row count of every table.
  - C(postgresql) runs C(pg_dump) in custom format (or directory format with parallel O(jobs)) inside
    an exported REPEATABLE READ snapshot, so the row counts in the metadata describe exactly the dumped data.
  - C(mysql) (MariaDB 10.11, MySQL) runs C(mariadb-dump --single-transaction --quick --routines --triggers --events
    --hex-blob) of O(database). MariaDB cannot share the dump's snapshot with another session, so the row count of
    every table is read from the dump stream itself as it is written, and the dump must end with its completion
    line. The metadata also records the numbers of views, triggers, routines and events. The password reaches the
    tools in a 0600 C(--defaults-extra-file), never on a command line.
  - C(redis) runs C(BGSAVE), waits until C(LASTSAVE) moves past it, and archives the RDB and, when AOF is on,
    the append-only directory. The backup is loaded into a scratch C(redis-server) on a private socket to record
    keys per database and a sample of values (sha256 of C(DUMP)), which a restore checks.
  - C(mongodb) runs C(mongodump --archive) (O(database), or every database) and records the document count of
    each collection from mongodump's report. B(It has never run against a MongoDB server in Lifeboat's CI), since no
    server can be installed on the project's machines, so only argument building, secret handling, parsing
    and error paths are tested. Run a restore drill before relying on it.
  - C(sqlite) copies the database with SQLite's online backup API, which gives a consistent snapshot
    while the application keeps writing. It never copies the file directly.
  - Files are written under a temporary C(.partial-*) name, fsynced and renamed, so an interrupted run
    never leaves a file that looks like a complete backup. The metadata is written last. What a killed run
    (SIGKILL, the OOM killer, a reboot) leaves behind is removed at the start of the next run of the service,
    under its lock, and listed in RV(removed_partials).
  - A backup root that cannot be created fails naming the setting (C(backup root ...)) and the cause.
  - After writing, the backup is decompressed and read back (O(verify)) before it is reported as good.
  - With O(signing_key), the metadata (with the content's sha256) is signed with C(ssh-keygen -Y sign) and the
    backup recorded as the newest signed one of the service in O(state_dir), outside the backup store.
  - Backup files are mode 0600 and directories 0700, owned by O(owner)/O(group) when given.
author:
  - Lifeboat contributors (@lifeboat-dr)
options:
  engine:
    description: What to back up; V(directory) is any data directory (a vector store, uploads, configuration). Required, here or in O(definition).
    type: str
    choices: [postgresql, mysql, sqlite, directory, redis, mongodb]
  service:
    description: Name of the protected service; the backups live under O(backup_root)/O(service). Required, here or in O(definition).
    type: str
  backup_root:
    description: Root directory of the backup repository on the host.
    type: path
    default: /var/backups/lifeboat
  backup_type:
    description:
      - GFS class of this backup. V(auto) picks V(monthly) on the 1st of the month, V(weekly) on Sundays
        and V(daily) otherwise (UTC).
    type: str
    default: auto
    choices: [auto, daily, weekly, monthly, yearly]
  database:
    description: PostgreSQL or MariaDB database to dump (required for V(postgresql) and V(mysql)); MongoDB database
      (all when omitted).
    type: str
  path:
    description: SQLite database file, or the directory for O(engine=directory).
    type: path
  consistency:
    description:
      - How a O(engine=directory) copy is made consistent. V(stop) stops O(stop_services) for the copy and
        starts them again afterwards, whatever happens; V(snapshot) archives a read-only btrfs snapshot of the
        subvolume while the service runs; V(none) copies live, only for data nothing writes to.
      - Owners, modes, ACLs and extended attributes are kept; the metadata records the entry count and bytes.
    type: str
    default: stop
    choices: [stop, snapshot, none]
  stop_services:
    description: systemd units that write to the directory (O(consistency=stop)).
    type: list
    elements: str
    default: []
  app_key_file:
    description:
      - The application's encryption key file. Its fingerprint (C(sha256:) and 16 hex digits, never the key) is
        recorded as C(app_key_fingerprint) in the backup's metadata; C(rebuild.yml) refuses to restore the data under
        a restored key with another fingerprint.
      - The backup fails, before anything is written, when the file cannot be read.
    type: path
  format:
    description:
      - PostgreSQL archive format. V(custom) is one compressed stream; V(directory) lets O(jobs) dump
        and restore tables in parallel and is stored as one compressed tar.
    type: str
    default: custom
    choices: [custom, directory]
  jobs:
    description: Parallel pg_dump workers for O(format=directory).
    type: int
    default: 1
  compression:
    description: Compression program applied to the archive.
    type: str
    default: zstd
    choices: [zstd, gzip, none]
  compression_level:
    description: Compression level (zstd 1-19, default 3; gzip 1-9, default 6).
    type: int
  threads:
    description: Compression threads; V(0) lets zstd use every core. gzip uses C(pigz) when installed.
    type: int
    default: 0
  owner:
    description: Owner of the backup files and directories.
    type: str
  group:
    description: Group of the backup files and directories.
    type: str
  verify:
    description: Decompress and read back the new backup before reporting success.
    type: bool
    default: true
  metrics_dir:
    description:
      - node_exporter textfile-collector directory. When set, C(lifeboat_<service>.prom) is rewritten after
        the run, successful or not, with C(lifeboat_backup_last_success_timestamp_seconds),
        C(lifeboat_backup_last_duration_seconds), C(lifeboat_backup_last_size_bytes) and C(lifeboat_backup_success)
        labelled by service and type.
      - Every run is also recorded in C(<backup_root>/<service>/.last_runs.json), and successful ones in
        C(<backup_root>/<service>/size_trend.jsonl).
    type: path
attributes:
  check_mode:
    support: full
    details:
      - Reports the path the backup would get and touches nothing.
  diff_mode:
    support: none
    details:
      - Writes a new backup and changes no configuration; the result names the new files.
extends_documentation_fragment:
  - lifeboat.dr.attributes
  - lifeboat.dr.service
  - lifeboat.dr.connection
  - lifeboat.dr.connection.mongodb
  - lifeboat.dr.connection.lock
  - lifeboat.dr.connection.encryption
  - lifeboat.dr.connection.signing
notes:
  - Check mode reports the path the backup would get and touches nothing.
  - Needs the engine's client tools (C(pg_dump) and C(psql), C(mariadb-dump) and C(mariadb), C(redis-server)) and the
    compression program on the host; the backup_agent role installs them.
seealso:
  - module: lifeboat.dr.db_restore
"""

EXAMPLES = r"""
- name: Nightly PostgreSQL backup
  lifeboat.dr.db_dump:
    engine: postgresql
    service: appdb
    database: appdb
    login_user: lifeboat
    login_password: "{{ vault_appdb_password }}"
    owner: lifeboat
    group: lifeboat

- name: Parallel dump of a large database
  lifeboat.dr.db_dump:
    engine: postgresql
    service: warehouse
    database: warehouse
    format: directory
    jobs: 4
    login_user: lifeboat
    login_password: "{{ vault_warehouse_password }}"

- name: MariaDB database, encrypted to an age key kept off the host
  lifeboat.dr.db_dump:
    engine: mysql
    service: shop
    database: shop
    login_user: lifeboat
    login_password: "{{ vault_shop_password }}"
    encryption: age
    age_recipients: ["age1qlq..."]

- name: ChromaDB's directory, with the app stopped for the copy
  lifeboat.dr.db_dump:
    engine: directory
    service: chroma
    path: /app/data/chroma_db
    stop_services: [backend]

- name: SQLite database of a running application, gzip like the old script
  lifeboat.dr.db_dump:
    engine: sqlite
    service: bot
    path: /srv/bot/app.db
    compression: gzip
    compression_level: 9
    backup_type: daily
"""

RETURN = r"""
path:
  description: The backup file.
  returned: always
  type: str
  sample: /var/backups/lifeboat/appdb/daily/backup_daily_20251103_020000.dump.zst
signed_by:
  description: Fingerprint of the key that signed the metadata (O(signing_key)), or C(unsigned).
  returned: success
  type: str
metadata_path:
  description: The metadata JSON beside the backup.
  returned: always
  type: str
backup_id:
  description: Identifier of the backup (the file name without extension).
  returned: always
  type: str
  sample: backup_daily_20251103_020000
type:
  description: GFS class of the backup.
  returned: always
  type: str
size_bytes:
  description: Size of the backup file.
  returned: success
  type: int
checksum:
  description: C(sha256:<hex>) of the backup file.
  returned: success
  type: str
duration_seconds:
  description: Time the dump took.
  returned: success
  type: float
tables:
  description: Row count of every table at the moment of the dump.
  returned: success
  type: dict
  sample: {"public.orders": 1200}
metadata:
  description: The metadata document written beside the backup.
  returned: success
  type: dict
metrics_file:
  description: The Prometheus textfile written, or null.
  returned: success
  type: str
removed_partials:
  description:
    - What killed runs had left in the service's backup directories (C(.partial-*) files and work directories,
      unpack directories) and this run removed before it started, each with C(path), C(size_bytes) and C(kind).
      The run holds the service's lock, so nothing of a live run is among them.
  returned: success
  type: list
  elements: dict
executed_commands:
  description: Commands run, without secrets.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule, _load_params

from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils.agent import backup_cycle
from ansible_collections.lifeboat.dr.plugins.module_utils.dump import plan
from ansible_collections.lifeboat.dr.plugins.module_utils.module_args import (
    dump_argument_spec, params_for, runner_for, spec_from_params)


def main():
    module = AnsibleModule(argument_spec=dump_argument_spec(), supports_check_mode=True)
    spec = spec_from_params(params_for(module, _load_params()))
    runner = runner_for(module)
    try:
        if module.check_mode:
            where = plan(spec)
            module.exit_json(changed=True, path=where["path"], metadata_path=where["metadata_path"],
                             backup_id=where["backup_id"], type=where["type"], executed_commands=[],
                             msg="would write %s" % where["path"])
        result = backup_cycle(spec, runner=runner)
    except LifeboatError as exc:
        module.fail_json(msg=str(exc), executed_commands=runner.executed)
    module.exit_json(changed=True, **result)


if __name__ == "__main__":
    main()
