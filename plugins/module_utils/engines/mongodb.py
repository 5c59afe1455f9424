# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""MongoDB through mongodump/mongorestore archives.

NOT RUN AGAINST A SERVER IN CI: no MongoDB server can be installed on the
project's machines. Argument building, secret handling, output parsing and
error paths are unit-tested with stand-in programs; treat a first real use as
a test and run a restore drill.

The password reaches the tools in a 0600 YAML ``--config`` file in a private
directory, removed afterwards; never on a command line. Document counts per
collection come from mongodump's own report, and a restore must report the
same total with no failures.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import shutil
import tempfile

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf
from ansible_collections.lifeboat.dr.plugins.module_utils import safety as safety_copies
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils.engines.base import Engine
from ansible_collections.lifeboat.dr.plugins.module_utils.process import writer_stages

# Debian packages a host needs for this engine (mongodump, mongorestore: from MongoDB's own apt repository, which the host must have).
HOST_PACKAGES = ("mongodb-database-tools",)

ARCHIVE_MAGIC = b"\x6d\xe2\x99\x81"  # mongodump archive header, little-endian 0x8199e26d
_DUMPED = re.compile(r"done dumping (\S+) \((\d+) documents?\)")
_RESTORED = re.compile(r"(\d+) document\(s\) restored successfully\. (\d+) document\(s\) failed to restore")


class Tools:
    """Connection arguments for mongodump/mongorestore; use as a context manager (owns the config file)."""

    def __init__(self, conn):
        self.conn = conn
        self._dir = None

    def __enter__(self):
        self._dir = tempfile.mkdtemp(prefix="lifeboat-mongo-")
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self._dir, ignore_errors=True)

    def args(self):
        conn = self.conn
        argv = ["--host", conn.get("host") or "127.0.0.1", "--port", str(conn.get("port") or 27017)]
        if conn.get("user"):
            argv += ["--username", conn["user"], "--authenticationDatabase", conn.get("auth_db") or "admin"]
        if conn.get("password") is not None:
            path = os.path.join(self._dir, "config.yaml")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write("password: %s\n" % json.dumps(conn["password"]))  # JSON strings are YAML strings
            argv += ["--config", path]
        return argv


def dumped_counts(stderr):
    counts = {}
    for name, number in _DUMPED.findall(stderr):
        counts[name] = int(number)
    return counts


def dump(runner, conn, database, sink, tail):
    """``mongodump --archive`` (one database, or all when ``database`` is empty) into ``sink``."""
    reports = {}
    with Tools(conn) as tools:
        argv = [runner.binary("mongodump")] + tools.args() + (["--db", database] if database else []) + ["--archive"]
        runner.pipeline([argv] + tail, sink=sink.write, stderr_sink=reports.setdefault)
    counts = dumped_counts(reports.get(0, ""))
    if not counts:
        raise LifeboatError("mongodump reported no collection; nothing would be restorable")
    return {"tables": counts, "mongodb": {"database": database or None}}


def check_archive(runner, head, path):
    """Decrypt/decompress the whole stream; it must start with the mongodump archive header."""
    first = []

    def keep_first(chunk):
        if not first:
            first.append(chunk[:4])
    runner.pipeline(head, sink=keep_first)
    if not first or first[0] != ARCHIVE_MAGIC:
        raise LifeboatError("backup %s decompresses but is not a mongodump archive" % path)


def restore(runner, head, conn, meta, database, safety_path, tail_for_safety, uid=-1, gid=-1):
    """Keep a safety dump of the target, then ``mongorestore --drop``; the restored total must match."""
    expected = sum(meta["content"].get("tables", {}).values())
    reports = {}
    with Tools(conn) as tools:
        if safety_path:
            with bf.atomic_file(safety_path, 0o600, uid, gid) as handle:  # published only when whole
                dump_argv = [runner.binary("mongodump")] + tools.args() + (["--db", database] if database else []) + [
                    "--archive"]
                runner.pipeline([dump_argv] + tail_for_safety, sink=handle.write)
        argv = [runner.binary("mongorestore")] + tools.args() + ["--archive", "--drop", "--stopOnError"]
        if database:
            argv += ["--nsInclude", "%s.*" % database]
        runner.pipeline(head + [argv], stderr_sink=reports.setdefault)
    match = _RESTORED.search(reports.get(len(head), ""))
    if not match:
        raise LifeboatError("mongorestore did not report how many documents it restored")
    restored, failed = int(match.group(1)), int(match.group(2))
    if failed or restored != expected:
        raise LifeboatError("mongorestore restored %d documents (%d failed), the backup's metadata records %d; "
                            "previous data kept in %s" % (restored, failed, expected, safety_path))
    return restored


class MongoDB(Engine):
    """The contract (engines/base.py) over the functions above; ``spec["mongodb"]`` holds the connection.

    No live checks yet (connect, counts, fingerprint): without a client library there is nothing to ask.
    """

    name = "mongodb"
    host_packages = HOST_PACKAGES
    target_kind = "instance"
    item_noun = "documents"
    always_safety_copy = True  # a safety dump is always kept beside the backups

    def extension(self, fmt):
        return "mongo.archive"

    def dump(self, runner, spec, sink, work_dir, tail):
        return dump(runner, spec["mongodb"], spec.get("database"), sink, tail)

    def check_archive(self, runner, head, meta, path):
        check_archive(runner, head, path)

    def describe_target(self, spec):
        return "mongodb database %s" % (spec.get("database") or "(all)")

    def target_exists(self, runner, spec, target, meta):
        return True  # no client to look inside: a MongoDB restore always needs confirm

    def restore(self, runner, spec, head, meta, target, job):
        # <backup_root>/<service>/safety/pre-restore-<database or all>-<stamp>.mongo.archive.zst[.age|.gpg]
        directory, uid, gid = job.safety_dir()
        with safety_copies.encryption(runner, spec, meta) as encryption:
            try:
                tail = writer_stages(runner, "zstd", 3, 0, encryption)
            except LifeboatError as exc:
                raise LifeboatError("the safety dump of %s cannot be encrypted like the service's backups (%s): %s; "
                                    "the target was not touched" % (target, encryption.method, exc))
            kept = safety_copies.unique_path(directory, "pre-restore-%s-%s" % (_safety_label(spec), job.stamp),
                                             ".mongo.archive.zst" + encryption.extension)
            restored = restore(runner, head, spec["mongodb"], meta, spec.get("database"), kept, tail, uid, gid)
        return {"safety_copy": kept, "restored": {"documents": restored}}

    def safety_copies(self, runner, spec, target):
        # Also the dumps versions before the safety directory kept in the service directory (no database in the name).
        return (safety_copies.matching_files(safety_copies.safety_dir(spec["backup_root"], spec["service"]),
                                             _safety_pattern(spec))
                + safety_copies.matching_files(bf.service_dir(spec["backup_root"], spec["service"]),
                                               r"^pre-restore-%s\.mongo\.archive" % safety_copies.STAMP_PATTERN))

    def drop_safety_copy(self, runner, spec, copy):
        safety_copies.drop_file(copy, [safety_copies.safety_dir(spec["backup_root"], spec["service"]),
                                       bf.service_dir(spec["backup_root"], spec["service"])], r"^pre-restore-")

    def safety_copy_space(self, runner, spec, target, meta):
        return (safety_copies.safety_dir(spec["backup_root"], spec["service"]),
                int(meta.get("size_bytes", 0) * safety_copies.DUMP_MARGIN))


def _safety_label(spec):
    return spec.get("database") or "all"


def _safety_pattern(spec):
    return r"^pre-restore-%s-%s\.mongo\.archive(?:\.[a-z0-9]+)*$" % (re.escape(_safety_label(spec)),
                                                                     safety_copies.STAMP_PATTERN)


ENGINE = MongoDB()
