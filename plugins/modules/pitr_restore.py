#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: pitr_restore
short_description: Recover a PostgreSQL cluster to a point in time from Lifeboat's WAL archive
version_added: "0.2.0"
description:
  - Recovers a whole PostgreSQL cluster set up with the M(lifeboat.dr.postgresql_pitr) role to a chosen
    time, or to the newest archived WAL (V(latest)).
  - Chooses the newest base backup that ended before the target and refuses a target outside the recoverable
    window (end of the oldest base backup .. newest archived WAL), naming that window. It also refuses when the
    WAL archive has a gap after the chosen base backup, since recovery would stop there silently.
  - Before anything is touched, every file of the base backup is compared with its recorded size and sha256,
    and with O(signing_public_keys) the signature of that record is checked.
  - Then the cluster is stopped, its data directory moved to C(<data_directory>.pre-pitr-<YYYYMMDD_HHMMSS>)
    (never deleted), the base backup unpacked and checked against its manifest with C(pg_verifybackup),
    C(restore_command), C(recovery_target_time) and C(recovery_target_action=promote) set, and the server
    started. It replays the archived WAL (each file checked against its sha256 and, with O(signing_public_keys),
    its signature; a damaged, forged or wrongly named file aborts recovery rather than promoting a shortened
    history), stops at the target and promotes. The recovery settings are reset afterwards.
  - If recovery fails, the attempt is kept as C(<data_directory>.failed-pitr-<stamp>) and the original data
    directory is put back (not started).
  - With O(offsite_config), recovery runs from the offsite copy alone (what the role's C(postgresql_pitr_offsite) ships),
    onto this host or any other. The offsite base backups and WAL are listed, the chosen base backup is downloaded
    into O(staging_directory) (every file checked against its recorded sha256 and, with signatures, its record's
    signature), and PostgreSQL's C(restore_command) fetches the WAL from the store. The store's settings and
    credentials are written for that to a file only postgres can read, removed with the staging directory.
  - C(restore_command) fetches O(prefetch) WAL files at a time in parallel, each checked and decompressed into a
    spool in O(staging_directory), so most requests are answered by a rename.
  - Take a new base backup after a recovery; the role's timer does at its next run.
author:
  - Lifeboat contributors (@lifeboat-dr)
options:
  until:
    description:
      - Recovery target. V(latest) replays every archived WAL file.
      - A time C(YYYY-MM-DD HH:MM:SS) with an optional zone (C(+01:00), C(Z), C( UTC)); without a zone it is UTC.
      - Transactions committed at or before the target are kept, later ones are not.
    type: str
    default: latest
  version:
    description: PostgreSQL major version of the cluster.
    type: int
    default: 15
  cluster:
    description: Cluster name (Debian's C(pg_lsclusters)).
    type: str
    default: main
  repository:
    description: The PITR repository; defaults to the role's C(/var/backups/lifeboat-pitr/<version>-<cluster>).
    type: path
  data_directory:
    description: Data directory of the cluster; defaults to C(/var/lib/postgresql/<version>/<cluster>).
    type: path
  confirm:
    description: Recovery replaces the whole cluster's data; it only runs with V(true).
    type: bool
    default: false
  timeout:
    description: Seconds to wait for replay and promotion.
    type: int
    default: 900
  signing_public_keys:
    description:
      - OpenSSH public keys trusted to have signed base backups and WAL (C(lifeboat-pitr basebackup --signing-key)
        and C(archive-wal --signing-key), the role's C(postgresql_pitr_signing_key)). The chosen base backup's
        C(lifeboat.json), which holds every file's size and sha256, must carry a valid signature bound to its id
        before anything is touched.
      - Every archived WAL file PostgreSQL fetches must carry a valid C(<name>.sig) over its name and sha256,
        checked before it is decompressed (C(restore-wal --public-keys-file --signature)); the keys are written
        for that to a file under C(/run), readable by postgres, removed after the recovery. Before anything is
        touched, the WAL after the base backup is searched for files without C(.sig).
      - When not given, the keys the M(lifeboat.dr.postgresql_pitr) role wrote for the cluster
        (C(postgresql_pitr_signing_public_keys), C(/etc/lifeboat-pitr/<version>-<cluster>.public-keys)), else none.
    type: list
    elements: str
  offsite_config:
    description:
      - A JSON file on the host with the offsite store holding the cluster's copy, written like C(lifeboat_offsite)
        (C(provider) and its options as M(lifeboat.dr.backup_offsite) takes them, credentials included; root's,
        0600). Recover from that copy instead of the local O(repository). The lifeboat.dr.postgresql_pitr role
        keeps one as C(/etc/lifeboat-pitr/<version>-<cluster>.offsite.json); the restore role's C(pitr) entry point
        writes one for the recovery and removes it. A file keeps the credentials out of the module's arguments.
      - The module must then run with the Lifeboat virtualenv's Python (C(ansible_python_interpreter)
        C(/opt/lifeboat/venv/bin/python), which the lifeboat.dr.host_tools role makes with the store's client library);
        C(restore_command) uses the same interpreter.
    type: path
  offsite_prefix:
    description:
      - Prefix of the copy in the store, as the role's C(postgresql_pitr_offsite_prefix) shipped it.
      - Required with O(offsite_config).
    type: str
  prefetch:
    description: WAL files C(restore_command) fetches in parallel when one is asked for that is not spooled yet.
    type: int
    default: 8
  staging_directory:
    description:
      - Directory (created for postgres, 0700, removed afterwards) for the spool of prefetched WAL and, with
        O(offsite_config), the downloaded base backup. It needs room for the base backup and O(prefetch) WAL files.
      - Defaults to C(/var/lib/postgresql/lifeboat-pitr-<version>-<cluster>).
    type: path
  signature:
    description:
      - V(required) refuses unsigned and wrongly signed base backups and WAL files; V(optional) accepts unsigned
        ones with a warning but refuses wrong signatures; V(ignore) checks nothing. V(auto) is V(required) when
        public keys are configured, else checks nothing (and warns).
      - When not given, the role's C(postgresql_pitr_signature) for the cluster
        (C(/etc/lifeboat-pitr/<version>-<cluster>.signature)), else V(auto).
    type: str
    choices: [auto, required, optional, ignore]
attributes:
  check_mode:
    support: full
    details:
      - Reads the repository (or the offsite copy), chooses the base backup and checks the window; changes nothing.
  diff_mode:
    support: none
    details:
      - Replaces the data of the cluster; the recovery settings it sets are reset afterwards, so no configuration changes.
  platform:
    platforms: debian
    details:
      - Debian's PostgreSQL cluster layout (C(/var/lib/postgresql/<version>/<cluster>)) run by systemd as
        C(postgresql@<version>-<cluster>).
extends_documentation_fragment:
  - lifeboat.dr.attributes
notes:
  - Check mode reads the repository, chooses the base backup and checks the window; it changes nothing.
  - The server's log file (C(/var/log/postgresql/postgresql-<version>-<cluster>.log)) supplies RV(recovery_log).
seealso:
  # Module documentation cannot name a role in seealso; link to its README instead.
  - name: The lifeboat.dr.postgresql_pitr role
    link: https://github.com/lifeboat-dr/lifeboat/blob/main/roles/postgresql_pitr/README.md
    description: Sets up the WAL archive and the base backups that this module recovers from.
"""

EXAMPLES = r"""
- name: Show the recoverable window and what a recovery to 14:30 would use
  lifeboat.dr.pitr_restore:
    until: "2025-12-27 14:30:00+00:00"
  check_mode: true

- name: Recover the cluster to just before the accidental DELETE
  lifeboat.dr.pitr_restore:
    until: "2025-12-27 14:29:59 UTC"
    confirm: true

- name: Recover everything that was archived (the server and its disk are gone)
  lifeboat.dr.pitr_restore:
    until: latest
    confirm: true

- name: Recover onto a new host from the offsite copy alone
  lifeboat.dr.pitr_restore:
    until: latest
    offsite_config: /etc/lifeboat-pitr/15-main.offsite.json
    offsite_prefix: pitr/app1/15-main
    confirm: true
  vars:
    ansible_python_interpreter: /opt/lifeboat/venv/bin/python
"""

RETURN = r"""
signature:
  description: What the signature check of the base backup found, for example C(verified (SHA256:...)).
  returned: always
  type: str
wal_signature:
  description: What the recovery checks of the archived WAL files' signatures.
  returned: always
  type: str
  sample: "every archived WAL file fetched is verified (signature: required)"
source:
  description: Where the base backup and WAL come from, the repository's WAL directory or the store and prefix.
  returned: always
  type: str
window:
  description: The recoverable window.
  returned: always
  type: dict
  sample: {"earliest": "2026-11-23T07:01:12+00:00", "latest": "2026-11-23T08:40:03+00:00", "base_backups": 2}
base_backup:
  description: Id of the base backup used.
  returned: always
  type: str
  sample: base_20261123_070110
target:
  description: The recovery target as understood (UTC), or C(latest archived WAL).
  returned: always
  type: str
plan:
  description: What is (or would be) done.
  returned: always
  type: str
kept_data_directory:
  description: Where the previous data directory was moved.
  returned: when not in check mode
  type: str
recovery_log:
  description: PostgreSQL's log lines about where recovery stopped.
  returned: when not in check mode
  type: list
  elements: str
last_transaction:
  description: Commit time of the last transaction replayed (PostgreSQL's log), or null when none was.
  returned: when not in check mode
  type: str
  sample: "2026-11-23 06:56:26.332553+00"
duration_seconds:
  description: Time the recovery took.
  returned: when not in check mode
  type: float
executed_commands:
  description: Commands run.
  returned: always
  type: list
  elements: str
"""

import os
import pwd
import shutil
import sys
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf
from ansible_collections.lifeboat.dr.plugins.module_utils import offsite as offsite_stores
from ansible_collections.lifeboat.dr.plugins.module_utils import signing
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import base_backups
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import offsite as pitr_offsite
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import recovery
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import window
from ansible_collections.lifeboat.dr.plugins.module_utils.module_args import runner_for

PITR_COMMAND = "/usr/local/bin/lifeboat-pitr"


def _offsite_config(params, staging, owner):
    """The store's settings for restore_command, in a file only postgres reads (removed with the staging directory)."""
    path = os.path.join(staging, "offsite.json")
    bf.write_json_atomic(path, params, 0o600, *owner)
    return path


def main():
    module = AnsibleModule(argument_spec=dict(
        until=dict(type="str", default="latest"),
        version=dict(type="int", default=15),
        cluster=dict(type="str", default="main"),
        repository=dict(type="path"),
        data_directory=dict(type="path"),
        confirm=dict(type="bool", default=False),
        timeout=dict(type="int", default=900),
        offsite_config=dict(type="path"),
        offsite_prefix=dict(type="str"),
        prefetch=dict(type="int", default=8),
        staging_directory=dict(type="path"),
        signing_public_keys=dict(type="list", elements="str", no_log=False),
        signature=dict(type="str", choices=["auto", "required", "optional", "ignore"]),
    ), required_by={"offsite_config": "offsite_prefix"}, supports_check_mode=True)
    params = module.params
    name = "%d-%s" % (params["version"], params["cluster"])
    repo = params["repository"] or "/var/backups/lifeboat-pitr/%s" % name
    data_dir = params["data_directory"] or "/var/lib/postgresql/%d/%s" % (params["version"], params["cluster"])
    staging = params["staging_directory"] or "/var/lib/postgresql/lifeboat-pitr-%s" % name
    runner = runner_for(module)
    provider = None
    try:
        if params["offsite_config"]:
            store = offsite_stores.params_from_file(params["offsite_config"])
            provider = offsite_stores.provider_from_params(store)
            found = pitr_offsite.remote_catalog(provider, params["offsite_prefix"])
        else:
            found = window.catalog(repo)
        chosen = window.plan_from(found, params["until"])
        public_keys, policy = recovery.signing_settings(name, params["signing_public_keys"], params["signature"])
        # Who took the base backup and wrote the WAL, before the plan is shown or anything is touched.
        with signing.Signing(runner, public_keys=public_keys, policy=policy) as signer:
            authenticity = base_backups.check_signature(signer, chosen["base_backup"])
            wal_signature, wal_warnings = recovery.check_wal_signed(signer, found, chosen["base_backup"])
    except bf.LifeboatError as exc:
        module.fail_json(msg=str(exc), executed_commands=runner.executed)
    win = chosen["window"]
    base = chosen["base_backup"]
    source = found["where"]
    result = dict(
        changed=True, base_backup=base["base_id"], target=chosen["target_text"], executed_commands=runner.executed,
        signature=authenticity["signature"], wal_signature=wal_signature, source=source,
        warnings=authenticity["warnings"] + wal_warnings,
        window={"earliest": win["earliest"].isoformat(), "latest": win["latest"].isoformat(),
                "base_backups": win["base_backups"]},
        plan="recover cluster %s from base backup %s (ended %s) and archived WAL up to %s, from %s; move %s aside" % (
            name, base["base_id"], base["finished_at"], chosen["target_text"], source, data_dir))
    if module.check_mode:
        module.exit_json(**result)
    if not params["confirm"]:
        module.fail_json(msg="point-in-time recovery replaces all data of cluster %s: set confirm: true "
                             "(playbooks: -e lifeboat_confirm=yes)" % name, **result)
    if not os.access(PITR_COMMAND, os.X_OK):
        module.fail_json(msg="%s is missing: apply the lifeboat.dr.postgresql_pitr role first" % PITR_COMMAND, **result)
    postgres = pwd.getpwnam("postgres")
    owner = (postgres.pw_uid, postgres.pw_gid)
    started = time.monotonic()
    keys_dir = None
    try:
        # Left over from an interrupted recovery: nothing in it may be served to this one.
        shutil.rmtree(staging, ignore_errors=True)
        bf.ensure_dir(staging, 0o700, *owner)
        spool = os.path.join(staging, "spool")
        bf.ensure_dir(spool, 0o700, *owner)
        remote = {}
        if provider is not None:
            runner.record([["lifeboat-pitr", "fetch", "base", base["base_id"], "from", found["where"]]])
            chosen["base_backup"] = pitr_offsite.fetch_base_backup(provider, params["offsite_prefix"], base,
                                                                   os.path.join(staging, "repository"))
            remote = dict(offsite_config=_offsite_config(store, staging, owner),
                          prefix=params["offsite_prefix"], python=sys.executable)
        if signer.verifies:
            keys_dir, keys_file = recovery.write_public_keys(public_keys)
        else:
            keys_file = None
        restore_command = recovery.restore_command_for(
            PITR_COMMAND, os.path.join(staging, "repository") if provider is not None else repo, signer, keys_file,
            spool=spool, prefetch=params["prefetch"], **remote)
        recovery.check_restore_command(runner, restore_command)
        outcome = recovery.recover(
            runner, chosen, data_dir, "postgresql@%s" % name, "%d/%s" % (params["version"], params["cluster"]),
            "/usr/lib/postgresql/%d/bin" % params["version"], restore_command, bf.utcnow().strftime("%Y%m%d_%H%M%S"),
            owner, params["timeout"], "/var/log/postgresql/postgresql-%s.log" % name)
    except (bf.LifeboatError, OSError) as exc:
        module.fail_json(msg=str(exc), **result)
    finally:
        if keys_dir:
            shutil.rmtree(keys_dir, ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)
    result.update(outcome, duration_seconds=round(time.monotonic() - started, 3))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
