# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Recovery: replace the data directory by a base backup replayed to the target, keep the old one."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf
from ansible_collections.lifeboat.dr.plugins.module_utils import signing
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import archive
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import base_backups
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import repository
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import window

RECOVERY_SETTINGS = ("restore_command", "recovery_target_time", "recovery_target_action", "recovery_target_timeline")

# Where the postgresql_pitr role keeps a cluster's signing settings (postgresql_pitr_signing_public_keys
# and postgresql_pitr_signature): <name>.public-keys and <name>.signature, root's, readable by postgres.
HOST_CONF_DIR = "/etc/lifeboat-pitr"

# A file no archive holds (there is no timeline 0): restore_command must answer "not archived" for it.
PROBE_WAL = "00000000.history"


def signing_settings(name, public_keys=None, policy=None, conf_dir=HOST_CONF_DIR):
    """``(public keys, policy)`` of a recovery of cluster ``name``: the task's, else what the role wrote."""
    if public_keys is None:
        path = os.path.join(conf_dir, name + ".public-keys")
        if os.path.exists(path):
            public_keys = signing.read_public_keys_file(path)
    if policy is None:
        policy = repository.read_text(os.path.join(conf_dir, name + ".signature")) or "auto"
    return public_keys or [], policy


def check_wal_signed(signer, found, base):
    """Before recovery: what the WAL signature check will do, and refuse early what it would refuse midway.

    Only looks for ``.sig`` files (restore-wal verifies each one as PostgreSQL fetches it). Returns
    ``(description, warnings)``; raises LifeboatError under ``required`` when files a recovery from
    ``base`` may fetch are unsigned. ``found`` is a repository path or a catalog (``window.catalog``,
    ``offsite.remote_catalog``).
    """
    if not signer.verifies:
        why = "signature: ignore" if signer.policy == "ignore" else "no signing_public_keys configured"
        return "not checked (%s)" % why, []
    if not isinstance(found, dict):
        found = window.catalog(found)
    unsigned = archive.unsigned_in(found["wal"], found["wal_entries"], base["start_wal"])
    shown = ", ".join(unsigned[:5]) + (" and %d more" % (len(unsigned) - 5) if len(unsigned) > 5 else "")
    if unsigned and signer.mode == "required":
        if all(name.endswith(".history") for name in unsigned):
            how = ("they are timeline histories: apply lifeboat.dr.postgresql_pitr with postgresql_pitr_signing_key "
                   "(it signs those still in pg_wal); those of abandoned timelines are signed as archived, after "
                   "reading them, by lifeboat-pitr sign-archived --trust-archived-history")
        else:
            how = "recover from a base backup taken after signing was turned on"
        raise bf.LifeboatError(
            "%d archived WAL files a recovery from base backup %s may fetch are unsigned (%s) and signatures are "
            "required, so recovery would stop there: %s, or set signature: optional to accept unsigned WAL (wrong "
            "signatures are still refused)" % (len(unsigned), base["base_id"], shown, how))
    text = "every archived WAL file fetched is verified (signature: %s)" % signer.mode
    if not unsigned:
        return text, []
    return text + "; %d unsigned ones are accepted" % len(unsigned), [
        "%d archived WAL files after base backup %s are unsigned (%s): accepted because signature is optional"
        % (len(unsigned), base["base_id"], shown)]


def write_public_keys(public_keys, parent="/run"):
    """A directory (0755) with ``public-keys`` (0644) for restore-wal, readable by postgres; return both paths.

    Outside the repository (whoever writes it must not choose the trusted keys); remove the directory
    after the recovery.
    """
    directory = tempfile.mkdtemp(prefix="lifeboat-pitr-", dir=parent if os.path.isdir(parent) else None)
    os.chmod(directory, 0o755)
    path = os.path.join(directory, "public-keys")
    with bf.atomic_file(path, 0o644) as handle:
        handle.write(("# Trusted for the WAL of this recovery (lifeboat.dr.pitr_restore); removed after it.\n"
                      + "".join(line.strip() + "\n" for line in public_keys)).encode("ascii"))
    return directory, path


def restore_command_for(command, repo, signer=None, keys_file=None, spool=None, prefetch=None, offsite_config=None,
                        prefix=None, python=None):
    """PostgreSQL's restore_command: restore-wal, with the WAL signature check when ``signer`` verifies.

    With ``spool`` a miss fetches ``prefetch`` segments in parallel; with ``offsite_config`` (and
    ``prefix``) they come from the offsite copy, and ``python`` (the Lifeboat virtualenv's, which
    holds the store's client library) runs the command.
    """
    argv = ([python] if python else []) + [command, "restore-wal", "--repository", repo]
    if signer is not None and signer.verifies:
        argv += ["--public-keys-file", keys_file, "--signature", signer.mode]
    if spool:
        argv += ["--spool", spool, "--prefetch", str(prefetch or 1)]
    if offsite_config:
        argv += ["--offsite-config", offsite_config, "--prefix", prefix or ""]
    return " ".join(shlex.quote(arg) for arg in argv) + " %f %p"


def check_restore_command(runner, restore_command, user="postgres"):
    """Run ``restore_command`` as PostgreSQL will, for a file no archive holds: it must exit 1 ("not archived").

    Catches before the data directory is touched what would stop recovery at its first file (public
    keys postgres cannot read) and, worse, an older lifeboat-pitr that does not know an option: its
    exit status 2 reads as the end of the archive, and PostgreSQL would promote right after the base backup.
    """
    argv = shlex.split(restore_command.replace("%f", PROBE_WAL).replace("%p", os.devnull))
    if user:
        argv = ["runuser", "-u", user, "--"] + argv
    runner.record([argv])
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
    if proc.returncode != 1:
        raise bf.LifeboatError("the restore_command %s does not work as %s (exit status %d for a file that is not "
                               "archived; 1 expected): %s. Apply lifeboat.dr.postgresql_pitr to install the current "
                               "lifeboat-pitr" % (restore_command, user or "this user", proc.returncode,
                                                  (proc.stderr or proc.stdout).strip()[-500:] or "no output"))


def recovery_settings(restore_command, target):
    lines = ["# Added by Lifeboat for point-in-time recovery; reset after promotion.",
             "restore_command = '%s'" % restore_command.replace("'", "''"),
             "recovery_target_timeline = 'latest'"]
    if target is not None:
        lines += ["recovery_target_time = '%s'" % target.astimezone(repository.UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00"),
                  "recovery_target_action = 'promote'"]
    return "\n".join(lines) + "\n"


def recover(runner, chosen, data_dir, unit, cluster, bin_dir, restore_command, stamp, owner, timeout=900, log_file=None):
    """Replace ``data_dir`` by the base backup replayed to the target and promote.

    The current data directory is moved to ``<data_dir>.pre-pitr-<stamp>``, never deleted. If recovery
    fails, the attempt is kept as ``<data_dir>.failed-pitr-<stamp>`` and the original is put back.
    """
    base = chosen["base_backup"]
    base_backups.verify_base_backup(base)
    kept = "%s.pre-pitr-%s" % (data_dir.rstrip("/"), stamp)
    failed = "%s.failed-pitr-%s" % (data_dir.rstrip("/"), stamp)
    log_offset = os.path.getsize(log_file) if log_file and os.path.exists(log_file) else 0
    runner.run(["systemctl", "stop", unit])
    moved = os.path.exists(data_dir)
    if moved:
        _set_aside(runner, data_dir, kept)
    else:
        os.mkdir(data_dir, 0o700)
    try:
        _unpack(runner, os.path.join(base["path"], "base.tar.zst"), data_dir)
        _unpack(runner, os.path.join(base["path"], "pg_wal.tar.zst"), os.path.join(data_dir, "pg_wal"))
        runner.run([os.path.join(bin_dir, "pg_verifybackup"), "--no-parse-wal", "--quiet",
                    "--manifest-path", os.path.join(base["path"], "backup_manifest"), data_dir])
        with open(os.path.join(data_dir, "postgresql.auto.conf"), "a") as handle:
            handle.write(recovery_settings(restore_command, chosen["target"]))
        open(os.path.join(data_dir, "recovery.signal"), "w").close()
        runner.run(["chown", "-R", "%d:%d" % owner, data_dir])
        runner.run(["systemctl", "start", unit])
        _wait_promoted(runner, unit, cluster, timeout)
        for setting in RECOVERY_SETTINGS:
            psql(runner, cluster, "ALTER SYSTEM RESET %s" % setting)
        psql(runner, cluster, "SELECT pg_reload_conf()")
    except BaseException as exc:
        runner.record([["systemctl", "stop", unit]])
        # Best effort: the original goes back whatever the unit's state.
        subprocess.run(["systemctl", "stop", unit], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        _set_aside(runner, data_dir, failed)
        if moved:
            _put_back(runner, kept, data_dir)
        raise bf.LifeboatError("point-in-time recovery from %s failed: %s. The original data directory is back in "
                               "%s (not started); the failed attempt is kept in %s%s" % (
                                   base["path"], exc, data_dir, failed, _log_tail(log_file, log_offset)))
    lines = _recovery_lines(log_file, log_offset)
    return {"kept_data_directory": kept if moved else None, "recovery_log": lines,
            "last_transaction": last_transaction(lines)}


def _set_aside(runner, data_dir, kept):
    """Move ``data_dir`` to ``kept`` and leave an empty ``data_dir`` (0700) behind.

    A data directory that is a mount point (or a lower overlay layer) cannot be renamed:
    it is copied, then emptied, so the safety copy always exists before anything is removed.
    """
    try:
        os.rename(data_dir, kept)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        runner.run(["cp", "-a", "--reflink=auto", data_dir, kept])
        _empty(data_dir)
    else:
        os.mkdir(data_dir, 0o700)


def _put_back(runner, kept, data_dir):
    """Bring ``kept`` back into the (empty) ``data_dir``."""
    try:
        os.rmdir(data_dir)
        os.rename(kept, data_dir)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EBUSY):
            raise
        os.makedirs(data_dir, 0o700, exist_ok=True)
        runner.run(["cp", "-a", "--reflink=auto", kept + "/.", data_dir])


def _empty(directory):
    for entry in os.listdir(directory):
        path = os.path.join(directory, entry)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)


def _unpack(runner, archive, directory):
    if not os.path.isdir(directory):
        os.mkdir(directory, 0o700)
    runner.pipeline([[runner.binary("zstd"), "-q", "-d", "-c", "--", archive],
                     [runner.binary("tar"), "-xf", "-", "-C", directory]])


def psql(runner, cluster, sql, database="postgres"):
    """Run ``sql`` as postgres in cluster ``VERSION/NAME`` (Debian's psql wrapper finds its port)."""
    return runner.run(["runuser", "-u", "postgres", "--", "psql", "--cluster", cluster, "-XAtq", "-v", "ON_ERROR_STOP=1",
                       "-d", database, "-c", sql]).decode("utf-8", "replace").strip()


def _wait_promoted(runner, unit, cluster, timeout):
    poller = type(runner)()  # the polls stay out of executed_commands
    runner.record([["psql", "--cluster", cluster, "-c", "SELECT pg_is_in_recovery()"]])
    deadline = time.monotonic() + timeout
    while True:
        try:
            if psql(poller, cluster, "SELECT pg_is_in_recovery()") == "f":
                return
        except bf.LifeboatError:
            state = subprocess.run(["systemctl", "is-active", unit], capture_output=True, text=True, check=False)
            if state.stdout.strip() in ("failed", "inactive"):
                raise bf.LifeboatError("PostgreSQL (%s) stopped during recovery" % unit)
        if time.monotonic() > deadline:
            raise bf.LifeboatError("recovery did not finish within %d s" % timeout)
        time.sleep(1)


def _read_log(log_file, offset):
    if not log_file or not os.path.exists(log_file):
        return ""
    with open(log_file, "rb") as handle:
        handle.seek(offset)
        return handle.read().decode("utf-8", "replace")


def _recovery_lines(log_file, offset):
    keys = ("recovery stopping", "last completed transaction", "selected new timeline", "archive recovery complete",
            "redo done", "starting point-in-time recovery", "consistent recovery state")
    return [line.strip() for line in _read_log(log_file, offset).splitlines() if any(key in line for key in keys)]


def last_transaction(lines):
    """Commit time of the last transaction replayed, from PostgreSQL's recovery log lines."""
    for line in reversed(lines):
        match = re.search(r"last completed transaction was at log time (.+)$", line)
        if match:
            return match.group(1).strip()
    return None


def _log_tail(log_file, offset):
    text = _read_log(log_file, offset).strip().splitlines()[-8:]
    return (". Server log:\n" + "\n".join(text)) if text else ""
