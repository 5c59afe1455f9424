# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a service definition (an item of ``lifeboat_services``) may hold: the one schema.

Every part of Lifeboat reads the same inventory item: the backup agent (its role's
argument spec must accept every key here, which a unit test checks), the playbooks'
roles, and the modules they call. Keys are listed in Ansible's argument-spec form,
grouped by what they are about; ``SECRET_KEYS`` are never put in loop items, logs
or the agent's world-readable configuration.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lifeboat.dr.plugins.module_utils import engines

IDENTITY = dict(
    name=dict(type="str", required=True),
    engine=dict(type="str", required=True, choices=list(engines.names())),
    database=dict(type="str"),
    path=dict(type="str"),
)

CONNECTION = dict(
    login_host=dict(type="str"),
    login_port=dict(type="int"),
    login_user=dict(type="str"),
    login_password=dict(type="str", no_log=True),
    login_unix_socket=dict(type="str"),
    auth_database=dict(type="str"),
    maintenance_db=dict(type="str"),
)

BACKUP = dict(
    schedule=dict(type="str"),
    cron=dict(type="str"),
    backup_type=dict(type="str", choices=["auto", "daily", "weekly", "monthly", "yearly"]),
    format=dict(type="str", choices=["custom", "directory"]),
    jobs=dict(type="int"),
    compression=dict(type="str", choices=["zstd", "gzip", "none"]),
    compression_level=dict(type="int"),
    consistency=dict(type="str", choices=["stop", "snapshot", "none"]),
    stop_services=dict(type="list", elements="str"),
    run_as=dict(type="str"),
    retention=dict(type="dict"),
    offsite=dict(type="bool"),
)

ENCRYPTION = dict(
    encryption=dict(type="str", choices=["none", "age", "gpg"]),
    age_recipients=dict(type="list", elements="str"),
    age_identity=dict(type="str", no_log=True),
    age_identity_file=dict(type="str"),
    gpg_recipient=dict(type="str"),
    gpg_homedir=dict(type="str"),
    encryption_passphrase=dict(type="str", no_log=True),
)

RESTORE = dict(
    app_services=dict(type="list", elements="str"),
    staging_database=dict(type="str"),
    staging_path=dict(type="str"),
    redis_unit=dict(type="str"),
    redis_restore_type=dict(type="str", choices=["rdb", "aof"]),
)

VERIFY = dict(
    max_backup_age_hours=dict(type="float"),
)

GROUPS = (IDENTITY, CONNECTION, BACKUP, ENCRYPTION, RESTORE, VERIFY)


def service_options():
    """Every key a service definition may hold, as argument-spec options."""
    options = {}
    for group in GROUPS:
        options.update(group)
    return options


SECRET_KEYS = tuple(sorted(name for name, option in service_options().items() if option.get("no_log")))
