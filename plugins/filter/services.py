# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters over ``lifeboat_services`` that keep secrets out of loop items.

A failed loop iteration prints its whole item, whatever ``loop_control.label``
says, so playbooks loop over ``lifeboat_services | lifeboat.dr.services`` (no
secrets) and fetch a password with ``lifeboat.dr.service_secret`` inside the
module arguments, where the module's ``no_log`` masks it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: services
short_description: Protected services without their secrets, optionally limited to some names
version_added: "0.1.0"
description:
  - Returns the items of O(_input) whose C(name) is in O(only) (all when O(only) is empty), with the
    secret keys (C(login_password)) removed.
options:
  _input:
    description: The C(lifeboat_services) list. C(login_password), C(encryption_passphrase) and C(age_identity) are removed.
    type: list
    elements: dict
    required: true
  only:
    description: Service names to keep.
    type: list
    elements: str
    default: []
"""

from ansible_collections.lifeboat.dr.plugins.module_utils import engines, service_schema
from ansible_collections.lifeboat.dr.plugins.module_utils.module_args import DEFAULT_BACKUP_ROOT
# The schema names the secrets (login_password, encryption_passphrase, age_identity).
from ansible_collections.lifeboat.dr.plugins.module_utils.service_schema import SECRET_KEYS


def _without_secrets(item):
    return dict((key, value) for key, value in item.items() if key not in SECRET_KEYS)


def services(items, only=None):
    wanted = set(only or [])
    unknown = wanted - set(item["name"] for item in items or [])
    if unknown:
        from ansible.errors import AnsibleFilterError
        raise AnsibleFilterError("unknown service(s) %s; defined: %s" % (
            ", ".join(sorted(unknown)), ", ".join(item["name"] for item in items or [])))
    return [_without_secrets(item) for item in items or [] if not wanted or item["name"] in wanted]


def service_definition(item, items=None, config_dir=None, identity_dir=None):
    """``item`` as a module's ``definition``: without secrets, and with the age identity file to use.

    When the service (``item``, or its entry in ``items``, the full ``lifeboat_services``) holds an
    ``age_identity``, ``age_identity_file`` becomes the copy this run placed in ``identity_dir``, else
    the service's own ``age_identity_file``, else the agent's file under ``config_dir``. One function
    names those files (service_schema.secret_file), for the agent, the roles and restores elsewhere.
    """
    definition = _without_secrets(item)
    full = next((entry for entry in items or [] if entry.get("name") == item["name"]), item)
    if full.get("age_identity") is not None:
        if identity_dir:
            definition["age_identity_file"] = service_schema.secret_file(identity_dir, item["name"], "age_identity")
        elif config_dir and not definition.get("age_identity_file"):
            definition["age_identity_file"] = service_schema.secret_file(
                service_schema.services_dir(config_dir), item["name"], "age_identity")
    return definition


def service_problems(items):
    """What is wrong with ``lifeboat_services`` (names, engines, the fields each engine needs), as sentences."""
    return service_schema.definition_problems(items)


def backup_root(root=None):
    """The local backup repository: ``root`` (the inventory-wide ``lifeboat_backup_root``), else the modules' default."""
    return root or DEFAULT_BACKUP_ROOT


def secret_file(name, directory, key):
    """Where secret ``key`` of service ``name`` is kept in ``directory`` (``<name>.secret``, ``.age-identity`` ...)."""
    return service_schema.secret_file(directory, name, key)


def service_secret(items, name, key="login_password"):
    for item in items or []:
        if item["name"] == name:
            return item.get(key)
    return None


def failure_line(failure):
    return "FAILED %s: %s (%s)" % (failure["service"], failure["message"], failure["task"])


def success_line(result):
    meta = result.get("metadata", {})
    return "ok %s: %s %s in %ss" % (result["item"]["name"], result.get("backup_id"), meta.get("size_readable"),
                                    result.get("duration_seconds"))


def backup_artifact(result):
    """What a job runner publishes of one backup (``set_stats``): which, where, and its checksum."""
    return {"service": result["item"]["name"], "backup_id": result.get("backup_id"), "checksum": result.get("checksum"),
            "size_bytes": result.get("size_bytes"), "path": result.get("path"),
            "duration_seconds": result.get("duration_seconds")}


def restore_artifact(result):
    """What a job runner publishes of one restore (``set_stats``): which backup went where, and what came back."""
    return {"service": result["item"]["name"], "backup_id": result.get("backup_id"), "target": result.get("target"),
            "restored_rows": result.get("restored_rows"), "safety_copy": result.get("safety_copy"),
            "duration_seconds": result.get("duration_seconds")}


def restore_target(service, target="production", hosts=None):
    """Where ``restore.yml`` puts a service's data for ``-e lifeboat_target=...``.

    ``production``: the service's own database or path. ``staging``: ``staging_database``/``staging_path``,
    by default ``<database>_staging`` or ``<path>.staging``, on the same host. An inventory host: the same
    names on that host. Anything else: that database name (PostgreSQL, MariaDB) or absolute path (SQLite,
    directory). Returns ``{"database", "path", "host", "production", "error"}``.
    """
    target = target or "production"
    engine = service.get("engine")
    # database: a name on a server; path: a file or directory; instance: one dataset per server.
    kind = engines.get(engine).target_kind if engines.known(engine) else "path"
    result = {"database": service.get("database"), "path": service.get("path"), "host": None,
              "production": target == "production", "error": None}
    if target == "production":
        return result
    if target in (hosts or []):
        result["host"] = target
        return result
    if kind == "instance":
        result["error"] = ("%s keeps one dataset per instance: restore %s onto another host "
                           "(-e lifeboat_target=HOST) or run restore_test.yml" % (engine, service.get("name")))
        return result
    if target == "staging":
        if kind == "database":
            result["database"] = service.get("staging_database") or "%s_staging" % service["database"]
        else:
            result["path"] = service.get("staging_path") or "%s.staging" % service["path"].rstrip("/")
        return result
    if kind == "database":
        result["database"] = target
    elif target.startswith("/"):
        result["path"] = target
    else:
        result["error"] = "lifeboat_target %r is not an inventory host, and %s needs an absolute path" % (
            target, service.get("name"))
    return result


def check_line(entry):
    """One row of the verification table: ``[PASS] app1 appdb: accepts connections - detail``."""
    detail = (entry.get("detail") or "").replace("\n", " ")
    return "[%s] %s %s%s" % (entry["status"], entry.get("host", ""), entry["check"],
                             (" - " + detail[:160]) if detail else "")


def restore_test_line(test):
    """One row of the restore-test table."""
    failed = [entry["check"] for entry in test.get("checks") or [] if entry["status"] == "FAIL"]
    detail = test.get("error") or ("; ".join(failed) if failed else "%s restored in %s s, %d checks passed" % (
        test.get("backup_id"), test.get("restore_seconds"), len(test.get("checks") or [])))
    return "[%s] %s %s on %s - %s" % (test["result"], test["host"], test["service"], test["test_host"], detail[:300])


class FilterModule(object):
    def filters(self):
        return {"services": services, "service_secret": service_secret, "service_definition": service_definition,
                "secret_file": secret_file, "backup_root": backup_root, "service_problems": service_problems, "failure_line": failure_line,
                "success_line": success_line, "check_line": check_line, "restore_target": restore_target,
                "restore_test_line": restore_test_line, "backup_artifact": backup_artifact,
                "restore_artifact": restore_artifact}
