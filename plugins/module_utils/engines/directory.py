# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Any data directory (a vector store, uploads, configuration) as a tar stream.

Consistency, chosen by ``consistency``:
- ``stop``: the systemd units in ``stop_services`` are stopped for the copy and
  started again afterwards, whatever happens;
- ``snapshot``: a read-only btrfs snapshot of the subvolume is archived, the
  service keeps running;
- ``none``: a live copy; only for data nothing writes to.
Owners, modes, ACLs and extended attributes are kept. Restore unpacks into a
scratch directory beside the target, checks file count and bytes against the
metadata, then moves the current directory aside (never deletes it).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import hashlib
import os
import re
import shutil
import stat

from ansible_collections.lifeboat.dr.plugins.module_utils import safety as safety_copies
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils.engines.base import Engine

# Debian packages a host needs for this engine (tar).
HOST_PACKAGES = ("tar",)

CONSISTENCY = ("stop", "snapshot", "none")


def tree_stats(path):
    """File count (every entry below ``path``) and total bytes of regular files."""
    entries, total = 0, 0
    for top, dirs, files in os.walk(path):
        for name in dirs + files:
            entries += 1
            full = os.path.join(top, name)
            if name in files and os.path.isfile(full) and not os.path.islink(full):
                total += os.lstat(full).st_size
    return {"entries": entries, "bytes": total}


@contextlib.contextmanager
def services_stopped(runner, units):
    """Stop ``units`` (only those running) and start them again on the way out."""
    systemctl = runner.binary("systemctl") if units else None
    stopped = []
    try:
        for unit in units or []:
            state = _active(runner, systemctl, unit)
            if state == "active":
                runner.run([systemctl, "stop", unit])
                stopped.append(unit)
        yield stopped
    finally:
        for unit in reversed(stopped):
            runner.run([systemctl, "start", unit])


def _active(runner, systemctl, unit):
    try:
        return runner.run([systemctl, "is-active", unit]).decode().strip()
    except LifeboatError:
        return "inactive"


@contextlib.contextmanager
def readonly_snapshot(runner, path, work_dir):
    btrfs = runner.binary("btrfs")
    snap = os.path.join(work_dir, "snapshot")
    try:
        runner.run([btrfs, "subvolume", "snapshot", "-r", path, snap])
    except LifeboatError as exc:
        raise LifeboatError("cannot take a btrfs snapshot of %s (it must be a btrfs subvolume): %s" % (path, exc))
    try:
        yield snap
    finally:
        runner.run([btrfs, "subvolume", "delete", snap])


def dump(runner, path, sink, work_dir, tail, consistency="stop", stop_services=None):
    """Archive ``path`` into ``sink``; return the content record for metadata."""
    if consistency not in CONSISTENCY:
        raise LifeboatError("unknown consistency %r (expected one of %s)" % (consistency, ", ".join(CONSISTENCY)))
    if not os.path.isdir(path):
        raise LifeboatError("directory %s does not exist" % path)
    if consistency == "stop" and not stop_services:
        raise LifeboatError("consistency 'stop' needs stop_services: the units that write to %s" % path)
    path = os.path.abspath(path)
    if consistency == "snapshot":
        with readonly_snapshot(runner, path, work_dir) as snap:
            stats = _archive(runner, snap, sink, tail)
        stopped = []
    else:
        with services_stopped(runner, stop_services if consistency == "stop" else []) as stopped:
            stats = _archive(runner, path, sink, tail)
    return {"directory": dict(stats, path=path, consistency=consistency, stopped_services=stopped)}


def _archive(runner, source, sink, tail):
    stats = tree_stats(source)
    tar = [runner.binary("tar"), "--create", "--file=-", "--directory", source, "--numeric-owner",
           "--acls", "--xattrs", "--sparse", "."]
    runner.pipeline([tar] + tail, sink=sink.write)
    return stats


def check_archive(runner, head):
    """List the whole archive (reads every member header through to the end)."""
    runner.pipeline(head + [[runner.binary("tar"), "--list", "--file=-"]])


def restore(runner, head, target, content, stamp):
    """Unpack beside ``target``, check it, then swap it in; return (previous directory kept, stats)."""
    parent = os.path.dirname(os.path.abspath(target)) or "/"
    if not os.path.isdir(parent):
        raise LifeboatError("parent directory %s of %s does not exist" % (parent, target))
    scratch = os.path.join(parent, ".lifeboat-restore-" + os.path.basename(target))
    shutil.rmtree(scratch, ignore_errors=True)
    os.mkdir(scratch, 0o700)
    try:
        tar = [runner.binary("tar"), "--extract", "--file=-", "--directory", scratch, "--numeric-owner",
               "--same-owner", "--preserve-permissions", "--acls", "--xattrs"]
        runner.pipeline(head + [tar])
        stats = tree_stats(scratch)
        expected = content.get("directory", {})
        if (stats["entries"], stats["bytes"]) != (expected.get("entries"), expected.get("bytes")):
            raise LifeboatError(
                "unpacked directory has %d entries and %d bytes but the metadata records %s and %s, target left untouched"
                % (stats["entries"], stats["bytes"], expected.get("entries"), expected.get("bytes")))
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    kept = None
    if os.path.lexists(target):
        kept = safety_copies.unique_path(parent, "%s.pre-restore-%s" % (os.path.basename(target.rstrip("/")), stamp))
        os.rename(target, kept)
    os.rename(scratch, target)
    if kept and os.path.isdir(kept) and not os.path.islink(kept):
        try:
            safety_copies.restrict(kept)  # the owner's access only: the entries inside keep theirs
        except OSError:
            pass  # not ours to change (a non-root restore of another user's directory): it keeps its mode
    return kept, stats


def safety_pattern(target):
    return r"^%s\.pre-restore-%s$" % (re.escape(os.path.basename(os.path.abspath(target))), safety_copies.STAMP_PATTERN)


def safety_dirs(target):
    """The ``<path>.pre-restore-<stamp>`` directories restores moved the previous data to."""
    return safety_copies.matching_files(os.path.dirname(os.path.abspath(target)), safety_pattern(target), "directory")


def fingerprint(path):
    """One "table" for a directory tree: entry count and a hash of every path, mode, owner and content."""
    if not os.path.isdir(path):
        raise LifeboatError("directory %s does not exist" % path)
    digest, entries = hashlib.sha256(), 0
    for top, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(dirs + files):
            full = os.path.join(top, name)
            info = os.lstat(full)
            entries += 1
            line = "%s\0%o\0%d:%d\0" % (os.path.relpath(full, path), info.st_mode, info.st_uid, info.st_gid)
            digest.update(line.encode("utf-8", "surrogateescape"))
            if stat.S_ISREG(info.st_mode):
                with open(full, "rb") as handle:
                    for chunk in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(chunk)
            elif stat.S_ISLNK(info.st_mode):
                digest.update(os.readlink(full).encode("utf-8", "surrogateescape"))
    return {".": {"rows": entries, "hash": digest.hexdigest()[:16]}}


class Directory(Engine):
    """The contract (engines/base.py) over the functions above; ``spec["path"]`` is the directory."""

    name = "directory"
    host_packages = HOST_PACKAGES
    required_params = ("path",)
    target_kind = "path"
    item_noun = "entries"
    always_safety_copy = True  # the current directory is moved aside, never deleted
    count_unit = "counts"
    runs_as_root = True  # it stops units and reads every file

    def extension(self, fmt):
        return "tar"

    def dump(self, runner, spec, sink, work_dir, tail):
        return dump(runner, spec["path"], sink, work_dir, tail,
                    consistency=spec.get("consistency", "stop"), stop_services=spec.get("stop_services"))

    def check_archive(self, runner, head, meta, path):
        check_archive(runner, head)

    def describe_target(self, spec):
        return spec.get("path")

    def target_exists(self, runner, spec, target, meta):
        return os.path.exists(target)

    def restore(self, runner, spec, head, meta, target, job):
        kept, stats = restore(runner, head, target, meta["content"], job.stamp)
        return {"safety_copy": kept, "restored": stats}

    def safety_copies(self, runner, spec, target):
        return safety_dirs(target)

    def drop_safety_copy(self, runner, spec, copy):
        safety_copies.drop_file(copy, [os.path.dirname(os.path.abspath(spec["path"]))], safety_pattern(spec["path"]))

    def expected_counts(self, content):
        return {"entries": content["directory"]["entries"]}

    def connect(self, runner, spec):
        return os.path.isdir(spec["path"]), spec["path"]

    def live_counts(self, runner, spec):
        return {"entries": fingerprint(spec["path"])["."]["rows"]}

    def fingerprint(self, runner, spec):
        return fingerprint(spec["path"])


ENGINE = Directory()
