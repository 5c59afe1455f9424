# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a service definition (an item of ``lifeboat_services``) may hold: the one schema.

Every part of Lifeboat reads the same inventory item: the backup agent (its role's
argument spec must accept every key here, which a unit test checks), the playbooks'
roles, and the modules they call, which take the item as written in their option
``definition`` (its ``options`` are ``service_options()``; ``module_params`` merges it
with the module's own options). Keys are listed in Ansible's argument-spec form,
grouped by what they are about; ``SECRET_KEYS`` are never put in loop items, logs
or the agent's world-readable configuration: the agent keeps each in a 0600 file
beside the service's configuration (``secret_file``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os
import re

from ansible_collections.lifeboat.dr.plugins.module_utils import engines, rotation
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError

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
    # The application's encryption key (a file on the host): its fingerprint goes into every backup's
    # metadata, and rebuild.yml refuses to restore the data under a key with another fingerprint.
    app_key_file=dict(type="str"),
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

# Signed backups: the private key's path on the host (the agent's role places it), the public keys
# trusted to have signed, and the policy (module_utils/signing.py).
SIGNING = dict(
    signing_key=dict(type="str", no_log=False),
    signing_public_keys=dict(type="list", elements="str"),
    signature=dict(type="str", choices=["auto", "required", "optional", "ignore"]),
)

RESTORE = dict(
    app_services=dict(type="list", elements="str"),
    staging_database=dict(type="str"),
    staging_path=dict(type="str"),
    redis_unit=dict(type="str"),
    redis_restore_type=dict(type="str", choices=["rdb", "aof"]),
    safety_copy_keep=dict(type="int"),
    safety_copy_max_age_days=dict(type="int"),
)

VERIFY = dict(
    max_backup_age_hours=dict(type="float"),
)

GROUPS = (IDENTITY, CONNECTION, BACKUP, ENCRYPTION, SIGNING, RESTORE, VERIFY)


def service_options():
    """Every key a service definition may hold, as argument-spec options (a copy: callers may change it)."""
    options = {}
    for group in GROUPS:
        options.update(copy.deepcopy(group))
    return options


SECRET_KEYS = tuple(sorted(name for name, option in service_options().items() if option.get("no_log")))

# Where the agent keeps a service's secrets: <config_dir>/services/<name><suffix>, mode 0600, owned by
# the agent user; the option that names the file to the modules, or None when the secret is read into
# the option of its own name (the password).
SECRET_FILES = {
    "login_password": (".secret", None),
    "encryption_passphrase": (".passphrase", "encryption_passphrase_file"),
    "age_identity": (".age-identity", "age_identity_file"),
}


def services_dir(config_dir):
    """The agent's directory of per-service configuration and secrets."""
    return os.path.join(config_dir, "services")


def secret_file(directory, name, key):
    """The file holding secret ``key`` of service ``name`` in ``directory`` (the agent's: ``services_dir``)."""
    return os.path.join(directory, name + SECRET_FILES[key][0])


# The fields whose module option has another name. retention is a GFS policy {daily, weekly,
# monthly, yearly}: backup_rotate takes it as keep_daily ... keep_yearly.
RENAMED = {"name": "service"}


def module_fields(definition):
    """A service definition's fields under the names of the modules' options (unset fields left out)."""
    fields = {}
    for key, value in (definition or {}).items():
        if value is None:
            continue
        if key == "retention":
            # The agent's rotation reads the same policy: unknown classes and bad counts fail alike.
            fields.update(("keep_" + kind, count) for kind, count in rotation.check_policy(value).items())
        else:
            fields[RENAMED.get(key, key)] = value
    return fields


def module_params(params, given, options, required=(), required_if=()):
    """The parameters a module acts on: ``params`` with the fields of ``params["definition"]``.

    ``params`` are the module's validated parameters (defaults filled in), ``given`` the names of
    the options the task set, ``options`` the module's argument spec. A field of the definition
    fills the option of its name (``module_fields``) unless the task gave that option; fields the
    module has no option for are ignored (they belong to the schema: schedules, restore targets...).
    ``required`` options and ``required_if`` (Ansible's form) are checked after the merge, since
    either side may hold them. Raises LifeboatError naming what is missing or wrong.
    """
    merged = dict((key, value) for key, value in params.items() if key != "definition")
    for key, value in module_fields(params.get("definition")).items():
        option = options.get(key)
        if option is None or key in given:
            continue
        if option.get("type") == "path":
            value = os.path.expanduser(os.path.expandvars(value))
        if option.get("choices") and value not in option["choices"]:
            raise LifeboatError("definition: %s is %r; this module takes one of %s" % (
                key, value, ", ".join(str(choice) for choice in option["choices"])))
        merged[key] = value
    missing = [key for key in required if merged.get(key) is None]
    if missing:
        named = dict((option, field) for field, option in RENAMED.items())
        raise LifeboatError("missing required arguments: %s (options, or fields of definition)" % ", ".join(
            key + (" (definition: %s)" % named[key] if key in named else "") for key in missing))
    for key, value, needed in required_if:
        absent = [name for name in needed if merged.get(name) is None]
        if merged.get(key) == value and absent:
            raise LifeboatError("%s is %s but all of the following are missing: %s" % (key, value, ", ".join(absent)))
    return merged


# A service's name names files (<name>.json, <name>.secret) and systemd units: no separators, no dots first.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


def definition_problems(definitions):
    """What is wrong with a list of service definitions, as sentences (empty when nothing is).

    Checks what a role's argument spec cannot: unique names that are safe in file and unit names,
    a known engine, and the fields that engine cannot work without (its ``required_params``).
    """
    problems = []
    seen = set()
    for index, definition in enumerate(definitions or []):
        name = (definition or {}).get("name")
        label = "service %r" % name if name else "service #%d" % (index + 1)
        if not name or not NAME_PATTERN.match(str(name)):
            problems.append("%s: the name must be letters, digits, '-' and '_', starting with a letter or digit" % label)
        elif name in seen:
            problems.append("%s: the name is used by more than one service" % label)
        seen.add(name)
        engine = definition.get("engine")
        if not engines.known(engine):
            problems.append("%s: engine %r is not one of %s" % (label, engine, ", ".join(engines.names())))
            continue
        missing = [key for key in engines.get(engine).required_params if definition.get(key) in (None, "")]
        if missing:
            problems.append("%s: engine %s needs %s" % (label, engine, ", ".join(missing)))
    return problems
