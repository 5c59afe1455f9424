# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Safety copies (what a restore keeps of the data it replaces) and stale partial files.

Where each engine keeps its safety copies is the engine's (``Engine.safety_copies``
lists them, ``Engine.drop_safety_copy`` removes one); what is common lives here:

- names: every copy carries the restore's UTC stamp ``YYYYMMDD_HHMMSS``, which is
  also its creation time;
- the safety directory ``<backup_root>/<service>/safety/`` (0700, owned like the
  service's backups) for copies that are dumps (MariaDB, MongoDB), written
  encrypted with the service's encryption, 0600;
- retention after a successful restore: the newest ``safety_copy_keep`` copies of
  the target are kept, none older than ``safety_copy_max_age_days`` (0: no age
  limit), and never the copy the restore just made;
- the disk-space preflight before a copy that takes space;
- stale partial files: what a killed backup run leaves (``.partial-*`` files and
  work directories, unpack directories) in the service's backup directories. Every
  run that writes there holds the service's lock, so a run that holds the lock
  itself may remove them; ``status`` counts them when no run holds it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import datetime
import os
import re
import shutil
import stat

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf
from ansible_collections.lifeboat.dr.plugins.module_utils import crypto

SAFETY_DIR = "safety"
STAMP_FORMAT = "%Y%m%d_%H%M%S"
STAMP_PATTERN = r"(?P<stamp>\d{8}_\d{6})(?P<seq>_\d+)?"  # _1, _2 ...: a second restore in the same second
DEFAULT_KEEP = 2
DEFAULT_MAX_AGE_DAYS = 0
# Names of unfinished work in a backup directory: atomic_file's temporary files and dump's work directory
# (.partial-), unpacked archives of a read-through or restore (postgresql, redis).
STALE_PREFIXES = (bf.PARTIAL_PREFIX, ".lifeboat-unpack-", ".lifeboat-redis-")
# A dump of a live database is smaller than its last backup only by luck: room for that much and a tenth more.
DUMP_MARGIN = 1.1


def safety_dir(root, service):
    """The one directory of a service's dump-type safety copies."""
    return os.path.join(bf.service_dir(root, service), SAFETY_DIR)


def ensure_safety_dir(root, service):
    """Create the safety directory 0700, owned like the service's directory (the agent user can list it)."""
    service_dir = bf.service_dir(root, service)
    try:
        info = os.stat(service_dir)
        uid, gid = info.st_uid, info.st_gid
    except OSError:
        uid, gid = -1, -1
    directory = safety_dir(root, service)
    ensure_backup_dir(root, directory, uid, gid)
    return directory, uid, gid


def ensure_backup_dir(root, path, uid=-1, gid=-1):
    """``ensure_dir(path, 0700)`` below the backup root; an error names the setting and the cause."""
    try:
        bf.ensure_dir(path, 0o700, uid, gid)
    except OSError as exc:
        failed = exc.filename or path
        cause = "%s: %s" % (failed, exc.strerror or exc)
        if not os.path.isdir(root):
            raise bf.LifeboatError("backup root %s cannot be created: %s (set backup_root, in playbooks "
                                   "lifeboat_backup_root, to a directory that can be created)" % (root, cause))
        raise bf.LifeboatError("directory %s in the backup root %s cannot be created: %s" % (path, root, cause))


def unique_path(directory, stem, suffix=""):
    """``directory/<stem><suffix>``, or with ``_1``, ``_2`` ... after the stem when that name is taken."""
    seq = 0
    while True:
        path = os.path.join(directory, stem + ("_%d" % seq if seq else "") + suffix)
        if not os.path.lexists(path):
            return path
        seq += 1


def encryption(runner, spec, meta):
    """The encryption of a dump-type safety copy: the service's own (``encryption`` and its keys), else the
    method of the backup being restored, with the keys given for it. A context manager (crypto.Encryption)."""
    method = spec.get("encryption") or "none"
    if method == "none":
        method = (meta or {}).get("encryption") or "none"
    return crypto.from_spec(runner, spec, method=method)


def restrict(path, like=None, mode_mask=0o700):
    """Give a safety copy the data's own permissions or stricter: mode ``like``'s & ``mode_mask`` (never group or
    other access), and, when root, ``like``'s owner."""
    info = os.stat(like or path)
    os.chmod(path, (stat.S_IMODE(info.st_mode) & mode_mask) or (mode_mask & 0o600))
    if like and os.geteuid() == 0:
        os.chown(path, info.st_uid, info.st_gid)


def parse_stamp(text):
    """The UTC time of a ``YYYYMMDD_HHMMSS`` stamp, or None."""
    try:
        return datetime.datetime.strptime(text, STAMP_FORMAT).replace(tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return None


def entry(name, path, kind, stamp, size_bytes=None, files=None):
    """One safety copy as ``safety_copies`` reports it (``path``: a file, a directory or a database name)."""
    when = parse_stamp(stamp)
    item = {"name": name, "path": path, "kind": kind, "created": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "epoch": int(when.timestamp()), "size_bytes": size_bytes,
            "size": bf.human_size(size_bytes) if size_bytes is not None else None}
    if files is not None:
        item["files"] = list(files)
    return item


def path_size(path):
    """Bytes of a file, or of every regular file below a directory (0 for what cannot be read)."""
    try:
        if not os.path.isdir(path) or os.path.islink(path):
            return os.lstat(path).st_size
    except OSError:
        return 0
    total = 0
    for top, dirs, files in os.walk(path):
        for name in files:
            try:
                info = os.lstat(os.path.join(top, name))
            except OSError:
                continue
            total += info.st_size
    return total


def remove_path(path):
    """Remove a file or a whole directory; a missing one is already gone."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def drop_file(copy, directories, name_patterns):
    """Remove a file-type safety copy (and its ``files``), refusing anything outside ``directories`` or whose
    name matches none of ``name_patterns`` (one or a tuple): retention never removes what is not a safety copy."""
    patterns = (name_patterns,) if isinstance(name_patterns, str) else tuple(name_patterns)
    for path in copy.get("files") or [copy["path"]]:
        name = os.path.basename(path)
        if os.path.dirname(path) not in directories or not any(re.match(pattern, name) for pattern in patterns):
            raise bf.LifeboatError("%s is not a safety copy; not removed" % path)
    for path in copy.get("files") or [copy["path"]]:
        remove_path(path)


def matching_files(directory, pattern, kind="file"):
    """Safety copies in ``directory`` whose names match ``pattern`` (a regex with a ``stamp`` group)."""
    found = []
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return found
    for name in names:
        match = re.match(pattern, name)
        if match and parse_stamp(match.group("stamp")):
            path = os.path.join(directory, name)
            found.append(entry(name, path, kind, match.group("stamp"), path_size(path)))
    return found


def newest_first(copies):
    return sorted(copies, key=lambda item: (item["epoch"], item["name"]), reverse=True)


def free_bytes(path):
    """Bytes an unprivileged writer may still use on the filesystem of ``path`` (or its nearest parent)."""
    probe = path
    while probe and not os.path.exists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    info = os.statvfs(probe or "/")
    return info.f_bavail * info.f_frsize


def preflight(directory, needed, what):
    """Refuse a safety copy of about ``needed`` bytes that would not fit in ``directory``."""
    if needed is None:
        return None
    free = free_bytes(directory)
    if free < needed:
        raise bf.LifeboatError(
            "not enough disk space for the safety copy of %s in %s: it needs about %d bytes (%s), %d bytes (%s) are "
            "free; the target was not touched (free space there, or restore with safety_copy: false)"
            % (what, directory, needed, bf.human_size(needed), free, bf.human_size(free)))
    return {"directory": directory, "needed_bytes": int(needed), "free_bytes": free}


def check_policy(keep, max_age_days):
    """``(keep, max_age_days)`` as ints; None is the default. Raises LifeboatError naming a bad setting."""
    keep = DEFAULT_KEEP if keep is None else keep
    if int(keep) < 1:
        raise bf.LifeboatError("safety_copy_keep is %r: at least 1 (the copy a restore makes is always kept)" % (keep,))
    if max_age_days is not None and int(max_age_days) < 0:
        raise bf.LifeboatError("safety_copy_max_age_days is %r: 0 (no age limit) or more" % (max_age_days,))
    return int(keep), int(max_age_days or 0)


def is_copy(item, made):
    return bool(made) and (item["path"] == made or made in item.get("files", ()))


def retention_plan(copies, keep, max_age_days, now, made=None):
    """``(kept, removed)``: the newest ``keep`` copies stay, none older than ``max_age_days`` (0: no limit);
    the copy ``made`` (its path or database name) always stays and counts."""
    keep, max_age_days = check_policy(keep, max_age_days)
    kept, removed = [], []
    for item in newest_first(copies):
        old = max_age_days and now.timestamp() - item["epoch"] > max_age_days * 86400
        if is_copy(item, made) or not (len(kept) >= keep or old):
            kept.append(item)
        else:
            removed.append(item)
    return kept, removed


def apply_retention(engine, runner, spec, target, made, now, check_mode=False):
    """Apply the retention to the target's safety copies; return ``(kept, removed, warnings)``.

    A copy that cannot be removed is kept and named in a warning: the restore itself succeeded.
    In check mode ``made`` is a placeholder for the copy the restore would make.
    """
    try:
        copies = engine.safety_copies(runner, spec, target)
    except (bf.LifeboatError, OSError) as exc:
        return [], [], ["the safety copies of %s were not listed, so none was removed: %s" % (target, exc)]
    if check_mode and made:
        copies = copies + [made]
        made = made["path"]
    kept, removed = retention_plan(copies, spec.get("safety_copy_keep", DEFAULT_KEEP),
                                   spec.get("safety_copy_max_age_days", DEFAULT_MAX_AGE_DAYS), now, made)
    warnings, gone = [], []
    for item in removed:
        if check_mode:
            gone.append(item)
            continue
        try:
            engine.drop_safety_copy(runner, spec, item)
            gone.append(item)
        except (bf.LifeboatError, OSError) as exc:
            kept.append(item)
            warnings.append("safety copy %s was kept: removing it failed: %s" % (item["path"], exc))
    return newest_first(kept), gone, warnings


def report(engine, runner, spec):
    """The safety copies of the service's own target, for ``status``: ``{"copies": [...]}`` or ``{"error": ...}``."""
    try:
        copies = engine.safety_copies(runner, spec, engine.describe_target(spec))
    except (bf.LifeboatError, OSError) as exc:
        return {"copies": [], "error": "cannot list the safety copies: %s" % exc}
    return {"copies": newest_first(copies), "error": None}


# --- stale partial files ------------------------------------------------------------------------------

def work_dirs(root, service):
    """The directories of a service that only runs holding its lock write into."""
    base = bf.service_dir(root, service)
    return [os.path.join(base, kind) for kind in bf.BACKUP_TYPES] + [os.path.join(base, SAFETY_DIR)]


def partial_files(root, service):
    """Unfinished files and directories in the service's backup directories: ``[{"path", "size_bytes"}]``."""
    found = []
    for directory in work_dirs(root, service):
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        for name in names:
            if name.startswith(STALE_PREFIXES):
                path = os.path.join(directory, name)
                found.append({"path": path, "size_bytes": path_size(path),
                              "kind": "directory" if os.path.isdir(path) else "file"})
    return found


def remove_stale_partials(root, service):
    """Remove what killed runs left; the caller must hold the service's lock (no other run is live)."""
    removed = []
    for item in partial_files(root, service):
        try:
            remove_path(item["path"])
        except OSError:
            continue  # reported again by status, and tried again by the next run
        removed.append(item)
    return removed
