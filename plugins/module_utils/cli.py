# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``lifeboat-backup``: the command the systemd timers (or cron) run on hosts.

It reads what the backup_agent role wrote: ``<config_dir>/services/<name>.json``
(no secrets) and ``<name>.secret`` (the password, mode 0600, owned by the agent
user), and runs the same code as the ``db_dump`` module.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import sys

from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError, list_backups
from ansible_collections.lifeboat.dr.plugins.module_utils.dump import run_dump
from ansible_collections.lifeboat.dr.plugins.module_utils.engine_postgresql import Connection

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
    password = None
    if os.path.exists(base + ".secret"):
        with open(base + ".secret") as handle:
            password = handle.read().rstrip("\n")
    config["connection"] = Connection(host=config.get("login_host"), port=config.get("login_port", 5432),
                                      user=config.get("login_user"), password=password,
                                      maintenance_db=config.get("maintenance_db", "postgres"))
    return config


def main(argv=None, out=sys.stdout):
    parser = argparse.ArgumentParser(prog="lifeboat-backup", description="Run or list Lifeboat backups.")
    parser.add_argument("--config-dir", default=os.environ.get("LIFEBOAT_CONFIG_DIR", DEFAULT_CONFIG_DIR))
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="take a backup of a configured service now")
    run.add_argument("service")
    run.add_argument("--type", choices=["auto", "daily", "weekly", "monthly", "yearly"], default=None)
    show = sub.add_parser("list", help="list the complete backups of a service, newest first")
    show.add_argument("service")
    args = parser.parse_args(argv)
    try:
        spec = load_service(args.config_dir, args.service)
        if args.command == "run":
            if args.type:
                spec["backup_type"] = args.type
            result = run_dump(spec)
            summary = {key: result[key] for key in ("backup_id", "path", "size_bytes", "checksum",
                                                    "duration_seconds", "tables")}
            out.write(json.dumps(dict(summary, service=args.service, status="ok"), sort_keys=True) + "\n")
        else:
            backups, incomplete = list_backups(spec["backup_root"], args.service)
            for entry in backups:
                meta = entry["metadata"]
                out.write("%s  %-8s %10s  %s\n" % (meta["timestamp"], entry["type"], meta["size_readable"], entry["path"]))
            for entry in incomplete:
                out.write("INCOMPLETE  %s: %s\n" % (entry["path"], entry["reason"]))
    except LifeboatError as exc:
        sys.stderr.write("lifeboat-backup: %s: %s\n" % (args.service, exc))
        return 1
    return 0
