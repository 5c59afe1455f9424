# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``lifeboat-pitr``: PostgreSQL's archive and restore commands, base backups, window and metrics.

    archive_command = 'lifeboat-pitr archive-wal --repository R [--signing-key KEY] %p %f'
    restore_command = 'lifeboat-pitr restore-wal --repository R [--public-keys-file F --signature required] %f %p'
    lifeboat-pitr sign-archived --repository R --signing-key KEY --wal-dir D/pg_wal [--trust-archived-history]
    lifeboat-pitr basebackup --repository R --bin-dir /usr/lib/postgresql/15/bin --keep 7 [--hold-until-offsite]
    lifeboat-pitr ship --repository R --offsite-config F --prefix P --keep 7
    restore_command = 'PYTHON lifeboat-pitr restore-wal --repository R --spool S [--offsite-config F --prefix P] %f %p'
    lifeboat-pitr status --repository R --data-dir D --name 15-main --metrics-dir /var/lib/prometheus/node-exporter
    lifeboat-pitr window --repository R
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import shutil
import sys
import tempfile

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf
from ansible_collections.lifeboat.dr.plugins.module_utils import offsite as offsite_stores
from ansible_collections.lifeboat.dr.plugins.module_utils import signing
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import archive
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import base_backups
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import metrics
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import offsite
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import window
from ansible_collections.lifeboat.dr.plugins.module_utils.process import Runner


def _parser():
    parser = argparse.ArgumentParser(prog="lifeboat-pitr", description=__doc__.split("\n", maxsplit=1)[0])
    commands = parser.add_subparsers(dest="command", required=True)
    archive = commands.add_parser("archive-wal", help="archive one WAL file (PostgreSQL's archive_command)")
    archive.add_argument("path")
    archive.add_argument("name")
    archive.add_argument("--level", type=int, default=3)
    archive.add_argument("--signing-key", help="private Ed25519 key (0600) that signs each segment's name and sha256")
    restore = commands.add_parser("restore-wal", help="fetch one WAL file (PostgreSQL's restore_command)")
    restore.add_argument("name")
    restore.add_argument("path")
    restore.add_argument("--public-keys-file", help="OpenSSH public key lines trusted to have signed the segments")
    restore.add_argument("--signature", choices=signing.POLICIES, default="auto",
                         help="required: refuse unsigned and wrongly signed segments; optional: refuse wrongly "
                              "signed ones; ignore: check nothing; auto: required when public keys are given")
    restore.add_argument("--spool", help="directory (postgres's) where fetched segments wait, checked and "
                                         "decompressed: a miss fetches the next --prefetch ones in parallel")
    restore.add_argument("--prefetch", type=int, default=8, help="segments fetched at a miss (with --spool)")
    restore.add_argument("--offsite-config", help="JSON of the offsite store (provider and credentials, 0600): "
                                                  "fetch from the offsite copy instead of --repository")
    restore.add_argument("--prefix", default="", help="prefix of the offsite copy")
    ship = commands.add_parser("ship", help="upload archived WAL and base backups not offsite yet, oldest first")
    ship.add_argument("--offsite-config", required=True, help="JSON of the offsite store (provider and credentials)")
    ship.add_argument("--prefix", default="", help="prefix of the copy in the store")
    ship.add_argument("--keep", type=int, help="offsite base backups to keep (with the WAL they need)")
    resign = commands.add_parser("sign-archived",
                                 help="sign the archived WAL files without a signature that pg_wal still holds "
                                      "(history files archived before signing)")
    resign.add_argument("--signing-key", required=True)
    resign.add_argument("--wal-dir", required=True, help="the cluster's pg_wal: the copies to sign from")
    resign.add_argument("--trust-archived-history", action="store_true",
                        help="also sign the unsigned history files pg_wal does not hold (abandoned timelines) as the "
                             "repository holds them: once, when signing is turned on, after reading them")
    base = commands.add_parser("basebackup", help="take a base backup and expire old ones with the WAL only they need")
    base.add_argument("--bin-dir", required=True)
    base.add_argument("--keep", type=int, default=7)
    base.add_argument("--level", type=int, default=3)
    base.add_argument("--port", help="port of the cluster (through the default socket directory)")
    base.add_argument("--signing-key", help="private Ed25519 key (0600) that signs the base backup's lifeboat.json")
    base.add_argument("--hold-until-offsite", action="store_true",
                      help="expire no base backup or WAL file that is not offsite yet (ship marks them)")
    status = commands.add_parser("status", help="write the archive and window metrics")
    commands.add_parser("window", help="print the recoverable window as JSON")
    status.add_argument("--data-dir")
    status.add_argument("--name", default="main")
    status.add_argument("--metrics-dir")
    for sub in commands.choices.values():
        sub.add_argument("--repository", required=True)
    return parser


def _write_metrics(args):
    if not args.metrics_dir:
        return None
    if not os.path.isdir(args.metrics_dir):
        raise bf.LifeboatError("metrics directory %s does not exist" % args.metrics_dir)
    path = os.path.join(args.metrics_dir, "lifeboat_pitr_%s.prom" % args.name)
    with bf.atomic_file(path, 0o644) as handle:
        handle.write(metrics.render_metrics(args.name, args.repository, args.data_dir, bf.utcnow()).encode("utf-8"))
    return path


def _archive_wal(runner, args):
    if not args.signing_key:
        return archive.archive_wal(runner, args.repository, args.path, args.name, args.level)
    with signing.Signing(runner, signing_key=args.signing_key, policy="optional") as signer:
        return archive.archive_wal(runner, args.repository, args.path, args.name, args.level, signer=signer)


def _restore_wal(runner, args):
    """0 restored, 1 not archived (the end of the archive), ABORT_RECOVERY for anything else.

    Whatever goes wrong (a damaged or forged file, an unreadable public keys file, a bug) must
    stop recovery: any other exit status makes PostgreSQL promote a shortened history.
    """
    try:
        keys = signing.read_public_keys_file(args.public_keys_file) if args.public_keys_file else []
        if args.offsite_config or args.spool:
            source = (offsite.OffsiteWal(_provider(args.offsite_config), args.prefix) if args.offsite_config
                      else offsite.LocalWal(args.repository))
            spool = args.spool or tempfile.mkdtemp(prefix="lifeboat-pitr-spool-")
            try:
                fetcher = offsite.WalFetcher(source, spool, args.prefetch if args.spool else 1, keys, args.signature)
                return 0 if fetcher.restore(args.name, args.path) else 1
            finally:
                if not args.spool:
                    shutil.rmtree(spool, ignore_errors=True)
        with signing.Signing(runner, public_keys=keys, policy=args.signature) as signer:
            return 0 if archive.restore_wal(runner, args.repository, args.name, args.path, signer=signer) else 1
    except Exception as exc:  # pylint: disable=broad-except
        sys.stderr.write("lifeboat-pitr: %s; stopping recovery here rather than promoting a shortened history\n"
                         % (exc if isinstance(exc, (bf.LifeboatError, OSError)) else repr(exc)))
        return archive.ABORT_RECOVERY


def _provider(path):
    """The offsite store a JSON file describes (the role's ``<cluster>.offsite.json``, pitr_restore's copy)."""
    return offsite_stores.provider_from_params(offsite_stores.params_from_file(path))


def main(argv=None):
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        # A restore_command this version does not understand must not read as "not archived".
        if exc.code and "restore-wal" in (sys.argv[1:] if argv is None else argv):
            return archive.ABORT_RECOVERY
        raise
    runner = Runner()
    try:
        if args.command == "archive-wal":
            try:
                outcome = _archive_wal(runner, args)
            except (bf.LifeboatError, OSError) as exc:
                try:
                    archive.record_archive(args.repository, args.name, False, bf.utcnow(), exc)
                except OSError:
                    pass  # no repository to record in: the error below says what went wrong
                raise
            archive.record_archive(args.repository, args.name, True, bf.utcnow())
            if outcome != "archived":
                sys.stderr.write("lifeboat-pitr: %s was %s\n" % (args.name, outcome))
        elif args.command == "restore-wal":
            return _restore_wal(runner, args)
        elif args.command == "sign-archived":
            with signing.Signing(runner, signing_key=args.signing_key, policy="optional") as signer:
                done = archive.sign_archived(runner, args.repository, args.wal_dir, signer,
                                             trust_history=args.trust_archived_history)
            sys.stdout.write(json.dumps(done, sort_keys=True) + "\n")
        elif args.command == "basebackup":
            with signing.Signing(runner, signing_key=args.signing_key, policy="optional") as signer:
                signer.probe()  # a key that cannot sign fails before pg_basebackup runs
                info = base_backups.base_backup(runner, args.repository, args.bin_dir, args.level,
                                                connection=["-p", args.port] if args.port else None,
                                                signer=signer if args.signing_key else None)
            held = offsite.held_back(args.repository) if args.hold_until_offsite else ()
            removed = base_backups.expire(args.repository, args.keep, held=held)
            sys.stdout.write(json.dumps({"base_backup": info["base_id"], "size": info["size"],
                                         "start_wal": info["start_wal"], "removed": removed}) + "\n")
        elif args.command == "ship":
            done = offsite.ship(_provider(args.offsite_config), args.repository, args.prefix, keep=args.keep)
            if done["wal"] or done["base_backups"]:
                sys.stdout.write(json.dumps(done, sort_keys=True) + "\n")
        elif args.command == "status":
            text = _write_metrics(args) or metrics.render_metrics(args.name, args.repository, args.data_dir, bf.utcnow())
            sys.stdout.write(text + ("\n" if args.metrics_dir else ""))
        else:
            sys.stdout.write(json.dumps(window.window_report(args.repository), indent=2) + "\n")
    except (bf.LifeboatError, OSError) as exc:
        sys.stderr.write("lifeboat-pitr: %s\n" % exc)
        return 1
    return 0
