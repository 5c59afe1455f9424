# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SQLite backups through the online backup API, never a file copy.

The backup API copies a consistent snapshot while writers carry on; restore
writes through the same API into the live file, so WAL and locks stay right
for applications that have it open.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import grp
import hashlib
import os
import pwd
import re
import shutil
import sqlite3
import tempfile

from ansible_collections.lifeboat.dr.plugins.module_utils import safety as safety_copies
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError, fsync_dir
from ansible_collections.lifeboat.dr.plugins.module_utils.engines.base import HASH_MODULUS, Engine

# Debian packages a host needs for this engine (sqlite3 for integrity checks).
HOST_PACKAGES = ("sqlite3",)

SIDE_FILES = ("-wal", "-shm", "-journal")
HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_S = 30


def _connect(path, mode="rwc"):
    uri = "file:%s?mode=%s" % (path, mode)
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S)
    except sqlite3.Error as exc:
        raise LifeboatError("cannot open SQLite database %s: %s" % (path, exc))
    return conn


def table_counts(conn):
    names = [row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    return {name: conn.execute('SELECT count(*) FROM "%s"' % name.replace('"', '""')).fetchone()[0] for name in names}


def integrity_check(conn, path):
    result = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    if result != ["ok"]:
        raise LifeboatError("SQLite integrity check of %s failed: %s" % (path, "; ".join(result[:5])))


def file_identity(path):
    info = os.stat(path)
    return {
        "owner": _name(pwd.getpwuid, info.st_uid),
        "group": _name(grp.getgrgid, info.st_gid),
        "mode": "%04o" % (info.st_mode & 0o7777),
    }


def _name(lookup, ident):
    try:
        return lookup(ident)[0]
    except KeyError:
        return str(ident)


def snapshot(source, dest):
    """Copy ``source`` into a new file ``dest`` with the backup API; return content for metadata."""
    if not os.path.isfile(source):
        raise LifeboatError("SQLite database %s does not exist" % source)
    # Read-write, not read-only: a WAL reader needs the -shm file, and only a
    # read-write connection removes the -wal/-shm it created when it closes,
    # instead of leaving files owned by the agent that lock the app out.
    src = _connect(source, mode="rw")
    try:
        out = sqlite3.connect(dest)
        try:
            try:
                src.backup(out)  # one step: a single read transaction, so one consistent snapshot
            except sqlite3.Error as exc:
                raise LifeboatError("SQLite backup of %s failed: %s" % (source, exc))
            out.execute("PRAGMA journal_mode=DELETE")  # the copy must not depend on a -wal file
            integrity_check(out, dest)
            counts = table_counts(out)
        finally:
            out.close()
    finally:
        src.close()
    return {"tables": counts, "source": dict(file_identity(source), path=source)}


def check_header(first_bytes, path):
    if not first_bytes.startswith(HEADER):
        raise LifeboatError("backup %s decompresses but is not an SQLite database" % path)


def validate_copy(path):
    """Integrity-check an unpacked backup and return its row counts."""
    with contextlib.closing(_connect(path, mode="ro")) as conn:
        try:
            integrity_check(conn, path)
            return table_counts(conn)
        except sqlite3.DatabaseError as exc:
            raise LifeboatError("unpacked backup %s is not a usable SQLite database: %s" % (path, exc))


def orphan_side_files(target):
    """-wal/-shm/-journal files left without their database: replaying them onto a new file corrupts it."""
    return [target + suffix for suffix in SIDE_FILES if os.path.exists(target + suffix)]


def apply(copy_path, target, identity=None):
    """Write the validated ``copy_path`` into ``target`` through the backup API.

    A missing ``target`` is created with the recorded owner, group and mode.
    """
    created = not os.path.exists(target)
    src = _connect(copy_path, mode="ro")
    try:
        dst = _connect(target)
        try:
            src.backup(dst)
            counts = table_counts(dst)
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise LifeboatError("writing the restored data into %s failed: %s" % (target, exc))
    finally:
        src.close()
    if created and identity:
        uid = _lookup_id(pwd.getpwnam, identity.get("owner"))
        gid = _lookup_id(grp.getgrnam, identity.get("group"))
        os.chown(target, uid, gid)
        os.chmod(target, int(identity.get("mode", "0600"), 8))
    fsync_dir(os.path.dirname(target) or ".")
    return counts


def _lookup_id(lookup, name):
    if not name:
        return -1
    try:
        return lookup(name)[2]
    except KeyError:
        return int(name) if name.isdigit() else -1


def safety_copy(target, dest):
    """Keep the current ``target`` at ``dest`` before it is overwritten.

    The backup API gives a consistent copy of a live database; a damaged
    database (the usual reason to restore) can refuse it, so then the file and
    its side files are copied byte for byte. Returns the paths written.
    """
    try:
        src = _connect(target, mode="rw")
        try:
            out = sqlite3.connect(dest)
            try:
                src.backup(out)
            finally:
                out.close()
        finally:
            src.close()
        written = [dest]
    except (sqlite3.Error, LifeboatError):
        written = []
        for suffix in ("",) + SIDE_FILES:
            if os.path.exists(target + suffix):
                shutil.copyfile(target + suffix, dest + suffix)
                written.append(dest + suffix)
    for path in written:
        safety_copies.restrict(path, like=target, mode_mask=0o600)  # the database's owner, at most 0600
    return written


def safety_patterns(target):
    """Names of ``target``'s safety copies (with their side files) and of the side files moved aside."""
    base = re.escape(os.path.basename(target))
    sides = "|".join(re.escape(suffix) for suffix in SIDE_FILES)
    return (r"^%s\.pre-restore-%s(?:%s)?$" % (base, safety_copies.STAMP_PATTERN, sides),
            r"^%s(?:%s)\.orphan-%s$" % (base, sides, safety_copies.STAMP_PATTERN))


def safety_files(target):
    """One entry per restore: its safety copy with its side files, and the orphaned side files it moved aside."""
    directory = os.path.dirname(target) or "."
    groups = {}
    for pattern in safety_patterns(target):
        for item in safety_copies.matching_files(directory, pattern):
            match = re.match(pattern, item["name"])
            groups.setdefault((match.group("stamp"), match.group("seq") or ""), []).append(item)
    found = []
    for (stamp, dummy), items in sorted(groups.items()):
        items.sort(key=lambda item: (len(item["name"]), item["name"]))  # the copy itself before its side files
        size = sum(item["size_bytes"] or 0 for item in items)
        found.append(safety_copies.entry(items[0]["name"], items[0]["path"], "file", stamp, size,
                                         [item["path"] for item in items]))
    return found


def fingerprint(path):
    """Per table: row count and the sum of 64-bit prefixes of sha256 over each row's repr."""
    try:
        conn = sqlite3.connect("file:%s?mode=rw" % path, uri=True, timeout=30)  # rw: see snapshot
    except sqlite3.Error as exc:
        raise LifeboatError("cannot open SQLite database %s: %s" % (path, exc))
    tables = {}
    with contextlib.closing(conn):
        try:
            names = [row[0] for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
            for name in names:
                rows, total = 0, 0
                for row in conn.execute('SELECT * FROM "%s"' % name.replace('"', '""')):
                    rows += 1
                    total += int.from_bytes(hashlib.sha256(repr(row).encode("utf-8")).digest()[:8], "big")
                tables[name] = {"rows": rows, "hash": "%x" % (total % HASH_MODULUS)}
        except sqlite3.Error as exc:
            raise LifeboatError("cannot read SQLite database %s: %s" % (path, exc))
    return tables


class SQLite(Engine):
    """The contract (engines/base.py) over the functions above; ``spec["path"]`` is the database file."""

    name = "sqlite"
    host_packages = HOST_PACKAGES
    required_params = ("path",)
    target_kind = "path"

    def extension(self, fmt):
        return "sqlite3"

    def dump(self, runner, spec, sink, work_dir, tail):
        copy = os.path.join(work_dir, "snapshot.sqlite3")
        content = snapshot(spec["path"], copy)
        if tail:
            runner.pipeline([[runner.binary("cat"), copy]] + tail, sink=sink.write)
        else:
            with open(copy, "rb") as src:
                shutil.copyfileobj(src, sink)
        return content

    def check_archive(self, runner, head, meta, path):
        first = []

        def keep_first(chunk):
            if not first:
                first.append(chunk[:16])
        runner.pipeline(head, sink=keep_first)
        check_header(first[0] if first else b"", path)

    def describe_target(self, spec):
        return spec.get("path")

    def target_exists(self, runner, spec, target, meta):
        return os.path.exists(target)

    def restore(self, runner, spec, head, meta, target, job):
        """Unpack beside the target and check it; then a safety copy, and the backup API writes it in."""
        directory = os.path.dirname(target) or "."
        if not os.path.isdir(directory):
            raise LifeboatError("directory %s of the SQLite target does not exist" % directory)
        work_dir = tempfile.mkdtemp(prefix=".lifeboat-restore-", dir=directory)
        try:
            copy = os.path.join(work_dir, "restore.sqlite3")
            with open(copy, "wb") as handle:
                runner.pipeline(head, sink=handle.write)
            counts = validate_copy(copy)
            job.check_rows(counts, "the unpacked copy of backup %s" % meta["backup_id"])
            kept = []
            if job.safety:
                kept = safety_copy(target, safety_copies.unique_path(
                    directory, "%s.pre-restore-%s" % (os.path.basename(target), job.stamp)))
            # Side files of a database that is gone would be replayed into the new one.
            for orphan in ([] if job.exists else orphan_side_files(target)):
                moved = "%s.orphan-%s" % (orphan, job.stamp)
                os.rename(orphan, moved)
                safety_copies.restrict(moved, mode_mask=0o600)
                kept.append(moved)
            restored = apply(copy, target, meta["content"].get("source"))
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
        job.check_rows(restored, target, untouched=False)
        return {"safety_copy": kept[0] if kept else None, "kept_files": kept, "restored_rows": restored}

    def safety_copies(self, runner, spec, target):
        return safety_files(target)

    def drop_safety_copy(self, runner, spec, copy):
        target = spec["path"]
        safety_copies.drop_file(copy, [os.path.dirname(target) or "."], safety_patterns(target))

    def safety_copy_space(self, runner, spec, target, meta):
        # The copy is written beside the database: as large as the file and its side files.
        return (os.path.dirname(target) or ".", sum(os.path.getsize(target + suffix) for suffix in ("",) + SIDE_FILES
                                                    if os.path.exists(target + suffix)))

    def connect(self, runner, spec):
        if not os.path.exists(spec["path"]):
            return False, "%s does not exist" % spec["path"]
        with contextlib.closing(sqlite3.connect("file:%s?mode=ro" % spec["path"], uri=True)) as conn:
            tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
        return True, "%s opens, %d tables" % (spec["path"], tables)

    def live_counts(self, runner, spec):
        return {name: entry["rows"] for name, entry in fingerprint(spec["path"]).items()}

    def fingerprint(self, runner, spec):
        return fingerprint(spec["path"])

    def integrity(self, runner, spec):
        with contextlib.closing(sqlite3.connect("file:%s?mode=ro" % spec["path"], uri=True)) as conn:
            result = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        return result == ["ok"], "integrity_check: %s" % "; ".join(result[:5])


ENGINE = SQLite()
