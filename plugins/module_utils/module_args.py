# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs shared by Lifeboat modules, and turning parameters into specs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lifeboat.dr.plugins.module_utils import engines, service_schema
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils.engines.postgresql import Connection
from ansible_collections.lifeboat.dr.plugins.module_utils.process import Runner

# The one default of the local backup repository: the modules', the agent's, and the roles' (through
# the filter lifeboat.dr.backup_root, for an unset inventory-wide lifeboat_backup_root).
DEFAULT_BACKUP_ROOT = "/var/backups/lifeboat"
ENGINES = engines.names()


# Argument specs are built by adding the parts a module needs, each documented by
# the doc fragment of the same name (lifeboat.dr.connection and its sub-fragments,
# lifeboat.dr.service for the definition).

def definition_spec():
    """The service definition as written in the inventory: every key of the schema, secrets no_log."""
    return dict(definition=dict(type="dict", options=service_schema.service_options()))


# engine and service may come from the definition, so the modules require them after the merge
# (params_for), not in the argument spec.

def target_spec(choices=ENGINES):
    """What to act on: the engine and its database or path."""
    return dict(engine=dict(type="str", choices=list(choices)), database=dict(type="str"), path=dict(type="path"))


def repository_spec():
    """Which service's backups, and where the repository is."""
    return dict(service=dict(type="str"), backup_root=dict(type="path", default=DEFAULT_BACKUP_ROOT))


def connection_spec():
    return dict(
        login_host=dict(type="str", default="127.0.0.1"),
        login_port=dict(type="int"),
        login_user=dict(type="str"),
        login_password=dict(type="str", no_log=True),
        login_unix_socket=dict(type="path"),
        maintenance_db=dict(type="str", default="postgres"),
    )


def mongodb_spec():
    return dict(auth_database=dict(type="str", default="admin"))


def jobs_spec():
    return dict(jobs=dict(type="int", default=1))


def lock_spec():
    return dict(lock_timeout=dict(type="int", default=60))


def encryption_spec():
    return dict(
        encryption=dict(type="str", default="none", choices=["none", "age", "gpg"]),
        age_recipients=dict(type="list", elements="str"),
        age_identity_file=dict(type="path"),
        gpg_recipient=dict(type="str"),
        gpg_homedir=dict(type="path"),
        encryption_passphrase_file=dict(type="path", no_log=False),
        encryption_passphrase=dict(type="str", no_log=True),
    )


def signing_spec():
    """Signed backups (module_utils/signing.py): sign with signing_key, verify with signing_public_keys."""
    return dict(
        signing_key=dict(type="path", no_log=False),
        signing_public_keys=dict(type="list", elements="str", no_log=False),
        signature=dict(type="str", default="auto", choices=["auto", "required", "optional", "ignore"]),
        state_dir=dict(type="path", default="/var/lib/lifeboat/state"),
    )


def argument_spec(*parts, **own):
    """One module's argument spec: the shared ``parts`` plus its ``own`` options."""
    spec = {}
    for part in parts:
        spec.update(part)
    spec.update(own)
    return spec


def backup_argument_spec(**own):
    """db_dump and db_restore: every shared part."""
    return argument_spec(definition_spec(), target_spec(), repository_spec(), jobs_spec(), connection_spec(),
                         mongodb_spec(), lock_spec(), encryption_spec(), signing_spec(), **own)


def dump_argument_spec():
    """db_dump's options, which the host agent (cli.py) reads its configuration with too."""
    return backup_argument_spec(
        backup_type=dict(type="str", default="auto", choices=["auto", "daily", "weekly", "monthly", "yearly"]),
        format=dict(type="str", default="custom", choices=["custom", "directory"]),
        compression=dict(type="str", default="zstd", choices=["zstd", "gzip", "none"]),
        compression_level=dict(type="int"),
        threads=dict(type="int", default=0),
        owner=dict(type="str"),
        group=dict(type="str"),
        verify=dict(type="bool", default=True),
        metrics_dir=dict(type="path"),
        consistency=dict(type="str", default="stop", choices=["stop", "snapshot", "none"]),
        stop_services=dict(type="list", elements="str", default=[]),
        app_key_file=dict(type="path"),
    )


# What each engine cannot work without: database for the servers, path for files and directories.
COMMON_REQUIRED_IF = [("engine", name, list(engines.get(name).required_params))
                      for name in ENGINES if engines.get(name).required_params]


def params_for(module, raw, required=("engine", "service")):
    """``module.params`` with its ``definition`` merged in (``service_schema.module_params``).

    ``raw``: the arguments as the task gave them (``ansible.module_utils.basic._load_params()``, read
    before defaults are filled in); an option set there, to anything but null, wins over the definition's
    field. Fails the module when a required option is in neither.
    """
    given = set(key for key, value in raw.items() if value is not None)
    try:
        return service_schema.module_params(module.params, given, module.argument_spec, required, COMMON_REQUIRED_IF)
    except LifeboatError as exc:
        module.fail_json(msg=str(exc))


def connection_from_params(params):
    return Connection(host=params.get("login_host"), port=params.get("login_port"), user=params.get("login_user"),
                      password=params.get("login_password"), maintenance_db=params.get("maintenance_db", "postgres"))


def service_argument_spec(capability, **own):
    """The argument spec of a module that acts on one service through an engine ``capability``: the definition,
    the target (the engines that have it), the connection and its ``own`` options."""
    return argument_spec(definition_spec(), target_spec(engines.names(supporting=capability)), connection_spec(), own)


def service_spec(module, required=("engine",)):
    """``(spec, runner)`` of such a module: its parameters merged with the definition, and its command runner."""
    from ansible.module_utils.basic import _load_params  # modules only: the host agent has no Ansible
    return spec_from_params(params_for(module, _load_params(), required=required)), runner_for(module)


def runner_for(module):
    """A Runner that finds programs with ``module.get_bin_path(name, required)``."""
    return Runner(bin_path=module.get_bin_path)


def redis_from_params(params):
    return {"host": params.get("login_host"), "port": params.get("login_port") or 6379,
            "user": params.get("login_user"), "password": params.get("login_password")}


def mongodb_from_params(params):
    return {"host": params.get("login_host"), "port": params.get("login_port") or 27017,
            "user": params.get("login_user"), "password": params.get("login_password"),
            "auth_db": params.get("auth_database")}


def mysql_from_params(params):
    return {"host": params.get("login_host"), "port": params.get("login_port") or 3306,
            "user": params.get("login_user"), "password": params.get("login_password"),
            "socket": params.get("login_unix_socket")}


def spec_from_params(params):
    spec = {key: value for key, value in params.items() if not key.startswith("login_")}
    spec["connection"] = connection_from_params(params)
    spec["redis"] = redis_from_params(params)
    spec["mongodb"] = mongodb_from_params(params)
    spec["mysql"] = mysql_from_params(params)
    return spec


def listing_diff(before, after, where):
    """Ansible's ``diff`` of a set of backups: one path per line, before and after the change."""
    return {"before": "".join(item + "\n" for item in sorted(before)),
            "after": "".join(item + "\n" for item in sorted(after)),
            "before_header": "%s (before)" % where, "after_header": "%s (after)" % where}
