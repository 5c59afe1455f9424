# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL's archive_command and restore_command, and the archive's last outcome."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import repository


# restore_command exit codes above 125 make PostgreSQL abort recovery instead of
# taking "not there" for the end of the archive and promoting a shortened history.
ABORT_RECOVERY = 255


def archive_wal(runner, repo, source, name, level=3, now=None):
    """Copy one WAL file into the archive with its checksum. Returns ``archived`` or ``already archived``.

    PostgreSQL retries while this raises (the CLI exits non-zero), so no segment is ever dropped;
    an existing archive file with other content is refused, never overwritten.
    """
    if not repository.WAL_FILE_RE.match(name):
        raise bf.LifeboatError("refusing to archive %r: not a WAL segment, history or backup label name" % name)
    directory = repository.wal_dir(repo)
    bf.ensure_dir(directory, 0o700)
    digest = repository.sha256_of(source)
    target = os.path.join(directory, name + ".zst")
    sums = os.path.join(directory, name + ".sha256")
    if os.path.exists(target):
        stored = repository.read_text(sums)
        if stored == digest:
            return "already archived"
        raise bf.LifeboatError("%s is already archived in %s with different content (sha256 %s, new %s): "
                               "refusing to overwrite; is another cluster archiving into this repository?"
                               % (name, directory, stored, digest))
    repository.write_text_atomic(sums, digest + "\n")
    with bf.atomic_file(target, 0o600) as handle:
        runner.pipeline([[runner.binary("zstd"), "-q", "-%d" % level, "-c", "--", source]], sink=handle.write)
    return "archived"


def restore_wal(runner, repo, name, destination):
    """Put archived ``name`` at ``destination``. False when it is not archived (the end of the archive).

    A file that is archived but damaged raises CorruptWal: recovery must stop there, not promote.
    """
    if not repository.WAL_FILE_RE.match(name):
        return False
    directory = repository.wal_dir(repo)
    source = os.path.join(directory, name + ".zst")
    if not os.path.exists(source):
        return False
    expected = repository.read_text(os.path.join(directory, name + ".sha256"))
    if not expected:
        raise repository.CorruptWal("archived WAL %s has no checksum file %s.sha256" % (source, name))
    partial = destination + ".lifeboat-partial"
    try:
        with open(partial, "wb") as handle:
            hasher = bf.HashingWriter(handle)
            try:
                runner.pipeline([[runner.binary("zstd"), "-q", "-d", "-c", "--", source]], sink=hasher.write)
            except bf.LifeboatError as exc:
                raise repository.CorruptWal("archived WAL %s cannot be decompressed: %s" % (source, exc))
        if hasher.checksum != expected:
            raise repository.CorruptWal("archived WAL %s does not match its checksum (%s, expected %s)"
                                        % (source, hasher.checksum, expected))
        os.rename(partial, destination)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return True


def record_archive(repo, name, ok, now, error=None):
    """Remember the last success and failure of the archive command for the metrics."""
    path = os.path.join(repo, repository.STATUS_FILE)
    try:
        with open(path) as handle:
            status = json.load(handle)
    except (OSError, ValueError):
        status = {}
    stamp = now.timestamp()
    if ok:
        status.update(last_archived_wal=name, last_archived_time=stamp)
    else:
        status.update(last_failed_wal=name, last_failed_time=stamp, last_error=str(error)[:500],
                      failed_count=status.get("failed_count", 0) + 1)
    bf.write_json_atomic(path, status)
    return status


def archive_status(repo):
    try:
        with open(os.path.join(repo, repository.STATUS_FILE)) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}
