# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Collecting the evidence of a compromised host into a new set directory on it (``lifeboat.dr.breach_evidence``).

Every item is a file in the set; a command that fails or is missing (a breached host may lack tools, or have
them removed) is recorded in ``commands.json`` with its exit code and error output, and the collection goes on.
The set is made 0700, every file 0600, owned by the user running it (root on a host), and ``manifest.sha256``
covers everything else in it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import time

from ansible_collections.lifeboat.dr.plugins.module_utils import breach

DEFAULT_EVIDENCE_ROOT = "/var/lib/lifeboat/evidence"
DEFAULT_JOURNAL_LINES = 100000
COMMANDS_FILE = "commands.json"
CRON_SOURCES = ("/etc/crontab", "/etc/cron.d", "/etc/cron.hourly", "/etc/cron.daily", "/etc/cron.weekly",
                "/etc/cron.monthly", "/etc/cron.allow", "/etc/cron.deny", "/var/spool/cron")
ACCOUNT_FILES = ("/etc/passwd", "/etc/group")
STDERR_KEPT = 4000


def commands(journal_lines=DEFAULT_JOURNAL_LINES):
    """``(file name, program, arguments)`` of each command whose output is collected, in order."""
    journal = ["--no-pager", "-o", "short-iso-precise"] + (["-n", str(journal_lines)] if journal_lines else [])
    return [
        ("journal.txt", "journalctl", journal),
        ("processes.txt", "ps", ["auxww"]),
        ("connections.txt", "ss", ["-tanpu"]),
        ("who.txt", "who", []),
        ("last.txt", "last", []),
        ("timers.txt", "systemctl", ["list-timers", "--all", "--no-pager"]),
        ("units.txt", "systemctl", ["list-units", "--all", "--no-pager"]),
    ]


def plan(spec, bin_path):
    """What a collection would gather, for check mode: commands (with the program found or not), files, paths."""
    items = []
    for name, program, args in commands(spec.get("journal_lines", DEFAULT_JOURNAL_LINES)):
        found = bin_path(program)
        items.append({"file": name, "command": " ".join([found or program] + args),
                      "available": bool(found)})
    copies = [path for path in ACCOUNT_FILES + CRON_SOURCES if os.path.lexists(path)]
    paths = spec.get("paths") or []
    return {"commands": items, "copies": copies, "paths": paths,
            "missing_paths": [path for path in paths if not os.path.lexists(path)],
            "tarball": "data.tar.gz" if paths else None,
            # The path is checked as a run would make it (an absolute store, a valid host name).
            "set_under": os.path.dirname(breach.evidence_set_path(spec["evidence_root"], spec["host"]))}


class Collection:
    """One evidence set being filled. ``bin_path(name)`` finds a program (None when missing); ``record(argv)``
    keeps the command for ``executed_commands``."""

    def __init__(self, directory, bin_path, record, timeout=600):
        self.directory = directory
        self._bin_path = bin_path
        self._record = record
        self.timeout = timeout
        self.commands = []
        self.notes = []

    def _target(self, rel):
        path = os.path.join(self.directory, rel)
        parent = os.path.dirname(path)
        if not os.path.isdir(parent):
            os.makedirs(parent, 0o700)
        return path

    def _open(self, rel):
        fd = os.open(self._target(rel), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        return os.fdopen(fd, "wb")

    def run(self, rel, program, args):
        """Run ``program args`` with its output into ``rel``; record the exit code, never raise on failure."""
        found = self._bin_path(program)
        entry = {"file": rel, "command": " ".join([program] + list(args)), "rc": None, "stderr": "",
                 "seconds": 0.0}
        if not found:
            entry.update(rc=127, stderr="%s: not found on this host" % program)
            self.commands.append(entry)
            return entry
        argv = [found] + list(args)
        self._record(argv)
        started = time.time()
        with self._open(rel) as out:
            entry.update(self._execute(argv, out))
        entry.update(command=" ".join(argv), seconds=round(time.time() - started, 3))
        self.commands.append(entry)
        return entry

    def _execute(self, argv, out):
        """``{"rc", "stderr"}`` of ``argv`` run with its output to ``out``. It runs in a session of its own, so that a
        command that hangs is killed with everything it started (a left-over child would hold the collection)."""
        with tempfile.TemporaryFile() as err:
            try:
                proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True)
            except OSError as exc:
                return {"rc": 126, "stderr": "cannot run: %s" % (exc.strerror or exc)}
            try:
                code = proc.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(OSError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                return {"rc": 124, "stderr": "killed after %d seconds" % self.timeout}
            err.seek(0)
            return {"rc": code, "stderr": err.read().decode("utf-8", "replace")[-STDERR_KEPT:]}

    def copy(self, source, under):
        """Copy ``source`` (a file, or a directory's tree) below ``under`` at its own absolute path. Symbolic links
        are not followed but listed in ``<under>/symlinks.txt``; an unreadable source is noted, not fatal."""
        links = []
        if os.path.isdir(source) and not os.path.islink(source):
            for root, dirs, names in os.walk(source):
                for name in sorted(dirs + names):
                    path = os.path.join(root, name)
                    if os.path.islink(path):
                        links.append(path)
                    elif os.path.isfile(path):
                        self._copy_file(path, under)
        elif os.path.islink(source):
            links.append(source)
        elif os.path.isfile(source):
            self._copy_file(source, under)
        if links:
            with open(self._target(os.path.join(under, "symlinks.txt")), "ab") as handle:
                for path in links:
                    handle.write(("%s -> %s\n" % (path, os.readlink(path))).encode("utf-8", "surrogateescape"))
            os.chmod(os.path.join(self.directory, under, "symlinks.txt"), 0o600)

    def _copy_file(self, path, under):
        rel = os.path.join(under, path.lstrip("/"))
        try:
            with open(path, "rb") as source, self._open(rel) as target:
                shutil.copyfileobj(source, target)
        except (IOError, OSError) as exc:
            self.notes.append("%s: not copied (%s)" % (path, exc.strerror or exc))

    def tarball(self, paths, rel="data.tar.gz"):
        """``tar`` of ``paths`` (absolute), as numeric owners; the missing ones are noted and left out."""
        present = [path for path in paths if os.path.lexists(path)]
        for path in paths:
            if path not in present:
                self.notes.append("%s: not in the tarball (it does not exist)" % path)
        if not present:
            return None
        args = ["--create", "--gzip", "--file", os.path.join(self.directory, rel), "--numeric-owner",
                "--directory", "/"] + [os.path.relpath(path, "/") for path in present]
        # tar writes the archive itself; the file is made first so it is 0600 from the start.
        with self._open(rel):
            pass
        found = self._bin_path("tar")
        entry = {"file": rel, "command": " ".join(["tar"] + args), "rc": 127, "stderr": "tar: not found on this host",
                 "seconds": 0.0}
        if found:
            argv = [found] + args
            self._record(argv)
            started = time.time()
            # GNU tar exits 1 when a file changed while it was read: the archive is there, and says so.
            entry.update(self._execute(argv, subprocess.DEVNULL))
            entry.update(command=" ".join(argv), seconds=round(time.time() - started, 3))
        os.chmod(os.path.join(self.directory, rel), 0o600)
        self.commands.append(entry)
        return entry


def collect(spec, bin_path, record, now=None, token=None):
    """Collect into a new set ``<evidence_root>/<host>/<stamp>-<random>``; returns the module's result.

    ``spec``: ``evidence_root``, ``host``, ``paths``, ``journal_lines``, ``command_timeout``.
    """
    old_umask = os.umask(0o077)
    try:
        directory = breach.create_evidence_set(spec["evidence_root"], spec["host"], now=now, token=token)
        work = Collection(directory, bin_path, record, spec.get("command_timeout") or 600)
        for name, program, args in commands(spec.get("journal_lines", DEFAULT_JOURNAL_LINES)):
            work.run(name, program, args)
        for path in ACCOUNT_FILES:
            work.copy(path, "accounts")
        for path in CRON_SOURCES:
            work.copy(path, "cron")
        tar = work.tarball(spec.get("paths") or [])
        _write_json(os.path.join(directory, COMMANDS_FILE), {
            "host": spec["host"], "started": os.path.basename(directory).split("-")[0],
            "commands": work.commands, "notes": work.notes, "paths": spec.get("paths") or []})
        manifest_sha256 = breach.write_manifest(directory)
    finally:
        os.umask(old_umask)
    _own(directory)
    failed = [item for item in work.commands if item["rc"] != 0]
    return {"changed": True, "directory": directory, "set_name": os.path.basename(directory),
            "files": described(directory), "manifest_sha256": manifest_sha256, "commands": work.commands,
            "failed_commands": failed, "notes": work.notes, "tarball": tar["file"] if tar else None}


def _write_json(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write((json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8"))


def _own(directory):
    """Modes 0700/0600 on everything, owner root:root when running as root (a set nobody else may read)."""
    as_root = os.geteuid() == 0
    for root, dirs, names in os.walk(directory):
        for name in dirs + names:
            path = os.path.join(root, name)
            if os.path.islink(path):
                continue
            os.chmod(path, 0o700 if stat.S_ISDIR(os.lstat(path).st_mode) else 0o600)
            if as_root:
                os.chown(path, 0, 0)
    os.chmod(directory, 0o700)
    if as_root:
        os.chown(directory, 0, 0)


def described(directory):
    """``[{"name", "size", "sha256"}]`` of every file of the set, the manifest last."""
    files, _others = breach.evidence_files(directory, exclude=())
    found = [{"name": name, "size": os.path.getsize(os.path.join(directory, name)),
              "sha256": breach.sha256_hex(os.path.join(directory, name))} for name in files
             if name != breach.MANIFEST_NAME]
    if breach.MANIFEST_NAME in files:
        path = os.path.join(directory, breach.MANIFEST_NAME)
        found.append({"name": breach.MANIFEST_NAME, "size": os.path.getsize(path), "sha256": breach.sha256_hex(path)})
    return found
