# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The option ``definition`` of the modules that act on one service.

    Its suboptions are the service schema (plugins/module_utils/service_schema.py);
    tests/unit/test_service_schema.py checks that they agree key by key.
    """

    DOCUMENTATION = r"""
options:
  definition:
    description:
      - The service as written in the inventory (an item of C(lifeboat_services)), for example
        C("{{ lifeboat_services | lifeboat.dr.services | first }}"). Every key of the service schema is accepted,
        with its type and choices checked.
      - The module takes from it every field it has an option for (C(name) fills C(service); C(retention) fills
        M(lifeboat.dr.backup_rotate)'s C(keep_*) options) and ignores the others, which other parts of Lifeboat
        read (the agent's C(schedule), C(restore.yml)'s C(app_services) ...).
      - An option given to the task wins over the field, so C(service), C(backup_root), C(database) or C(path)
        can point the module elsewhere (a staging database, a scratch copy). Options set by C(module_defaults)
        count as given.
      - Secrets in it are masked (no_log), but the roles pass definitions without them
        (C(lifeboat.dr.services), C(lifeboat.dr.service_definition)) and the secrets as the module's own options
        (C(login_password), C(encryption_passphrase)). C(age_identity) (the key itself) is not used; give
        C(age_identity_file).
    type: dict
    suboptions:
      name:
        description: Service name; fills C(service).
        type: str
        required: true
      engine:
        description: Engine; fills C(engine).
        type: str
        required: true
        choices: [postgresql, mysql, sqlite, directory, redis, mongodb]
      database:
        description: PostgreSQL, MariaDB or MongoDB database; fills C(database).
        type: str
      path:
        description: SQLite file or data directory; fills C(path).
        type: str
      login_host:
        description: Fills C(login_host).
        type: str
      login_port:
        description: Fills C(login_port).
        type: int
      login_user:
        description: Fills C(login_user).
        type: str
      login_password:
        description: Fills C(login_password) (no_log). The roles pass definitions without secrets and the password as its own option.
        type: str
      login_unix_socket:
        description: Fills C(login_unix_socket).
        type: str
      auth_database:
        description: Fills C(auth_database).
        type: str
      maintenance_db:
        description: Fills C(maintenance_db).
        type: str
      schedule:
        description: When the agent backs the service up (systemd OnCalendar); no module uses it.
        type: str
      cron:
        description: The agent's cron schedule; no module uses it.
        type: str
      backup_type:
        description: Fills C(backup_type).
        type: str
        choices: [auto, daily, weekly, monthly, yearly]
      format:
        description: Fills C(format).
        type: str
        choices: [custom, directory]
      jobs:
        description: Fills C(jobs).
        type: int
      compression:
        description: Fills C(compression).
        type: str
        choices: [zstd, gzip, none]
      compression_level:
        description: Fills C(compression_level).
        type: int
      consistency:
        description: Fills C(consistency).
        type: str
        choices: [stop, snapshot, none]
      stop_services:
        description: Fills C(stop_services).
        type: list
        elements: str
      run_as:
        description: User the agent backs the service up as; no module uses it.
        type: str
      retention:
        description: GFS policy (C(daily), C(weekly), C(monthly), C(yearly)); fills M(lifeboat.dr.backup_rotate)'s C(keep_daily) ... C(keep_yearly).
        type: dict
      offsite:
        description: Whether the agent and C(backup.yml) copy the service offsite; no module uses it.
        type: bool
      app_key_file:
        description:
          - The application's encryption key file; M(lifeboat.dr.db_dump) records its fingerprint (C(sha256:) and 16 hex
            digits) as C(app_key_fingerprint) in the backup's metadata, and fails when the file cannot be read.
          - C(rebuild.yml) refuses to restore the data under a restored key with another fingerprint.
        type: str
      encryption:
        description: Fills C(encryption).
        type: str
        choices: [none, age, gpg]
      age_recipients:
        description: Fills C(age_recipients).
        type: list
        elements: str
      age_identity:
        description:
          - The age private key (no_log), which the agent keeps in a 0600 file.
          - Modules read an identity from C(age_identity_file) only and ignore this field.
        type: str
      age_identity_file:
        description: Fills C(age_identity_file).
        type: str
      gpg_recipient:
        description: Fills C(gpg_recipient).
        type: str
      gpg_homedir:
        description: Fills C(gpg_homedir).
        type: str
      encryption_passphrase:
        description: Fills C(encryption_passphrase) (no_log).
        type: str
      signing_key:
        description: Fills C(signing_key), the path of the private signing key on the host.
        type: str
      signing_public_keys:
        description: Fills C(signing_public_keys).
        type: list
        elements: str
      signature:
        description: Fills C(signature).
        type: str
        choices: [auto, required, optional, ignore]
      app_services:
        description: Units C(restore.yml) stops for a restore; no module uses it.
        type: list
        elements: str
      staging_database:
        description: Database of C(restore.yml -e lifeboat_target=staging); no module uses it.
        type: str
      staging_path:
        description: Path of C(restore.yml -e lifeboat_target=staging); no module uses it.
        type: str
      redis_unit:
        description: Fills C(redis_unit).
        type: str
      redis_restore_type:
        description: Fills C(redis_restore_type).
        type: str
        choices: [rdb, aof]
      safety_copy_keep:
        description: Fills C(safety_copy_keep).
        type: int
      safety_copy_max_age_days:
        description: Fills C(safety_copy_max_age_days).
        type: int
      max_backup_age_hours:
        description: Fills C(max_backup_age_hours).
        type: float
"""
