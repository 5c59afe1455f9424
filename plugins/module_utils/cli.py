# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``lifeboat-backup``: the command the systemd timers (or cron) run on hosts.

It reads what the backup_agent role wrote: ``<config_dir>/services/<name>.json``
(the service's ``definition`` as written in the inventory, without secrets, and the
agent's own settings: backup_root, owner, metrics_dir ...) and the secrets beside it
(``<name>.secret``, the password, and the encryption secrets; mode 0600, owned by the
agent user; ``service_schema.SECRET_FILES``), merges them with db_dump's options as the
module does (``service_schema.module_params``) and runs the same code as the ``db_dump`` module.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import sys

from ansible_collections.lifeboat.dr.plugins.module_utils import engines, health, module_args, safety, service_schema
from ansible_collections.lifeboat.dr.plugins.module_utils.agent import backup_cycle
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import (
    LifeboatError, human_size, list_backups, utcnow)
from ansible_collections.lifeboat.dr.plugins.module_utils.process import Runner

DEFAULT_CONFIG_DIR = "/etc/lifeboat"


def load_service(config_dir, name):
    base = os.path.join(config_dir, "services", name)
    try:
        with open(base + ".json") as handle:
            config = json.load(handle)
    except FileNotFoundError:
        raise LifeboatError("service %r is not configured here (%s.json is missing)" % (name, base))
    except ValueError as exc:
        raise LifeboatError("%s.json is not valid JSON: %s" % (base, exc))
    # Written by an older role, the file holds the module's options themselves, no definition.
    definition = config.pop("definition", None) or {}
    options = module_args.dump_argument_spec()
    params = dict((key, option.get("default")) for key, option in options.items())
    params.update(config, definition=definition)
    given = set(config)
    directory = service_schema.services_dir(config_dir)
    for key, (suffix, option) in service_schema.SECRET_FILES.items():
        path = service_schema.secret_file(directory, name, key)
        if not os.path.exists(path) or (option and params.get(option)) or definition.get(option):
            continue
        if option:
            params[option] = path
        else:
            with open(path) as handle:
                params[key] = handle.read().rstrip("\n")
        given.add(option or key)
    spec = module_args.spec_from_params(service_schema.module_params(
        params, given, options, ("engine", "service"), module_args.COMMON_REQUIRED_IF))
    # The agent's own: rotation after each run (retention null: never) and the offsite copy.
    spec["retention"] = definition.get("retention", config.get("retention"))
    spec["offsite"] = load_offsite(config_dir) if definition.get("offsite", config.get("offsite", True)) else None
    return spec


def load_offsite(config_dir):
    """The host's offsite settings (``offsite.json``) with their secrets (``offsite.secret.json``, 0600), or None."""
    settings = None
    for name in ("offsite.json", "offsite.secret.json"):
        path = os.path.join(config_dir, name)
        if not os.path.exists(path):
            continue
        try:
            with open(path) as handle:
                settings = dict(settings or {}, **json.load(handle))
        except ValueError as exc:
            raise LifeboatError("%s is not valid JSON: %s" % (path, exc))
    return settings if settings and settings.get("provider") else None


def configured_services(config_dir):
    directory = os.path.join(config_dir, "services")
    try:
        return sorted(name[:-5] for name in os.listdir(directory) if name.endswith(".json"))
    except FileNotFoundError:
        return []


def main(argv=None, out=sys.stdout, now=None):
    parser = argparse.ArgumentParser(prog="lifeboat-backup", description="Run, list and check Lifeboat backups.")
    parser.add_argument("--config-dir", default=os.environ.get("LIFEBOAT_CONFIG_DIR", DEFAULT_CONFIG_DIR))
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="back up a configured service now (then rotate and publish metrics)")
    run.add_argument("service")
    run.add_argument("--type", choices=["auto", "daily", "weekly", "monthly", "yearly"], default=None)
    show = sub.add_parser("list", help="list the complete backups of a service, newest first")
    show.add_argument("service")
    check = sub.add_parser("status", help="newest backup per class, age, size, verified, stale partial files, safety "
                                          "copies; exit 1 on any problem")
    check.add_argument("services", nargs="*", help="default: every configured service")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    current = getattr(args, "service", None) or "status"
    try:
        if args.command == "status":
            return _status(args, out, now or utcnow())
        spec = load_service(args.config_dir, args.service)
        if args.command == "run":
            if args.type:
                spec["backup_type"] = args.type
            result = backup_cycle(spec)
            summary = {key: result[key] for key in ("backup_id", "path", "size_bytes", "checksum",
                                                    "duration_seconds", "tables")}
            summary["deleted_by_rotation"] = [d["path"] for d in result.get("rotation", {}).get("deleted", [])]
            summary["removed_partials"] = result.get("removed_partials", [])
            if result.get("offsite"):
                summary["offsite"] = result["offsite"]
            out.write(json.dumps(dict(summary, service=args.service, status="ok"), sort_keys=True) + "\n")
        else:
            backups, incomplete = list_backups(spec["backup_root"], args.service)
            for entry in backups:
                meta = entry["metadata"]
                out.write("%s  %-8s %10s  %s\n" % (meta["timestamp"], entry["type"], meta["size_readable"], entry["path"]))
            for entry in incomplete:
                out.write("INCOMPLETE  %s: %s\n" % (entry["path"], entry["reason"]))
    except LifeboatError as exc:
        sys.stderr.write("lifeboat-backup: %s: %s\n" % (current, exc))
        return 1
    return 0


def _status(args, out, now):
    names = args.services or configured_services(args.config_dir)
    if not names:
        raise LifeboatError("no service is configured in %s/services" % args.config_dir)
    reports = []
    for name in names:
        spec = load_service(args.config_dir, name)
        kept = safety.report(engines.get(spec["engine"]), Runner(), spec)
        stale_hours = spec.get("stale_hours", health.DEFAULT_STALE_HOURS)
        reports.append(health.status(spec["backup_root"], name, now, stale_hours, safety_copies=kept))
    if args.json:
        out.write(json.dumps(reports, indent=2, sort_keys=True) + "\n")
    else:
        for report in reports:
            out.write("%s %s\n" % ("OK  " if report["ok"] else "FAIL", report["service"]))
            for kind, info in report["classes"].items():
                out.write("     %-8s %s  age %6.1f h  %9s  %s\n" % (
                    kind, info["backup_id"], info["age_hours"], info["size"],
                    "verified" if info["verified"] else "NOT VERIFIED"))
            for copy in report.get("safety_copies", []):
                out.write("     safety   %s  %s  %9s  %s\n" % (copy["created"], copy["kind"], copy["size"] or "?",
                                                               copy["path"]))
            if report.get("safety_copies_error"):
                out.write("     safety   %s\n" % report["safety_copies_error"])
            partials = report["stale_partials"]
            if partials["count"]:
                out.write("     partial  %d stale (%s)\n" % (partials["count"], human_size(partials["bytes"])))
            for problem in report["problems"]:
                out.write("     problem: %s\n" % problem)
    return 0 if all(report["ok"] for report in reports) else 1
