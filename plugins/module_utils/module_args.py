# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs shared by Lifeboat modules, and turning parameters into specs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lifeboat.dr.plugins.module_utils import engines
from ansible_collections.lifeboat.dr.plugins.module_utils.engines.postgresql import Connection
from ansible_collections.lifeboat.dr.plugins.module_utils.process import Runner

DEFAULT_BACKUP_ROOT = "/var/backups/lifeboat"
ENGINES = engines.names()


# Argument specs are built by adding the parts a module needs, each documented by
# the doc fragment of the same name (lifeboat.dr.connection and its sub-fragments).

def target_spec(choices=ENGINES, required=True):
    """What to act on: the engine and its database or path."""
    engine = dict(type="str", choices=list(choices))
    if required:
        engine["required"] = True
    return dict(engine=engine, database=dict(type="str"), path=dict(type="path"))


def repository_spec():
    """Which service's backups, and where the repository is."""
    return dict(service=dict(type="str", required=True), backup_root=dict(type="path", default=DEFAULT_BACKUP_ROOT))


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


def argument_spec(*parts, **own):
    """One module's argument spec: the shared ``parts`` plus its ``own`` options."""
    spec = {}
    for part in parts:
        spec.update(part)
    spec.update(own)
    return spec


def backup_argument_spec(**own):
    """db_dump and db_restore: every shared part."""
    return argument_spec(target_spec(), repository_spec(), jobs_spec(), connection_spec(), mongodb_spec(),
                         lock_spec(), encryption_spec(), **own)


# What each engine cannot work without: database for the servers, path for files and directories.
COMMON_REQUIRED_IF = [("engine", name, list(engines.get(name).required_params))
                      for name in ENGINES if engines.get(name).required_params]


def connection_from_params(params):
    return Connection(host=params.get("login_host"), port=params.get("login_port"), user=params.get("login_user"),
                      password=params.get("login_password"), maintenance_db=params.get("maintenance_db", "postgres"))


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
