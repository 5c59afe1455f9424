# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PITR repository: its layout, names of WAL segments and what it holds.

Layout (owned by the postgres user, 0700)::

    <repo>/wal/<segment>.zst       zstd-compressed WAL segment or history file
    <repo>/wal/<segment>.sha256    sha256 of the uncompressed file, written first
    <repo>/wal/<segment>.sig       with a signing key: sshsig of its name and sha256 (pitr.archive), before the .zst
    <repo>/wal/<segment>.offsite   with an offsite store: the file is offsite (pitr.offsite)
    <repo>/base/<base_id>/         base.tar.zst, pg_wal.tar.zst, backup_manifest, lifeboat.json (written last)
    <repo>/base/<base_id>/.offsite the base backup is offsite
    <repo>/.archive_status.json    last archive success and failure, for the metrics
    <repo>/.offsite_status.json    last shipping success and failure, for the metrics
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import glob
import json
import os
import re

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf

UTC = datetime.timezone.utc


WAL_SEGMENT_RE = re.compile(r"^[0-9A-F]{24}$")


WAL_FILE_RE = re.compile(r"^([0-9A-F]{24}(\.partial|\.[0-9A-F]{8}\.backup)?|[0-9A-F]{8}\.history)$")


BASE_ID_RE = re.compile(r"^base_\d{8}_\d{6}$")


STATUS_FILE = ".archive_status.json"


BASE_INFO = "lifeboat.json"


SIG_SUFFIX = ".sig"


# Beside a WAL file (and in a base backup's directory): it is offsite (pitr.offsite).
SHIPPED_SUFFIX = ".offsite"


DEFAULT_SEGMENT_SIZE = 16 * 1024 * 1024


class CorruptWal(bf.LifeboatError):
    """An archived WAL file that exists but cannot be trusted."""


def wal_dir(repo):
    return os.path.join(repo, "wal")


def base_dir(repo):
    return os.path.join(repo, "base")


def sha256_of(path):
    return bf.sha256_file(path)


def read_text(path):
    try:
        with open(path) as handle:
            return handle.read().strip()
    except FileNotFoundError:
        return None


def write_text_atomic(path, text, mode=0o600):
    with bf.atomic_file(path, mode) as handle:
        handle.write(text.encode("utf-8"))


def lsn_to_int(lsn):
    high, low = lsn.split("/")
    return (int(high, 16) << 32) | int(low, 16)


def segment_name(timeline, lsn, segment_size=DEFAULT_SEGMENT_SIZE):
    """WAL segment file holding ``lsn`` (``X/Y``) on ``timeline``."""
    number = lsn_to_int(lsn) // segment_size
    per_id = 0x100000000 // segment_size
    return "%08X%08X%08X" % (timeline, number // per_id, number % per_id)


def segment_number(name, segment_size=DEFAULT_SEGMENT_SIZE):
    """Position of a segment in the WAL stream, ignoring the timeline."""
    per_id = 0x100000000 // segment_size
    return int(name[8:16], 16) * per_id + int(name[16:24], 16)


def archived_wal(repo):
    """``{name: archive time}`` of every complete archived file (both the data and its checksum exist)."""
    directory = wal_dir(repo)
    found = {}
    if not os.path.isdir(directory):
        return found
    names = set(os.listdir(directory))
    for entry in names:
        if entry.endswith(".zst") and WAL_FILE_RE.match(entry[:-4]) and entry[:-4] + ".sha256" in names:
            found[entry[:-4]] = datetime.datetime.fromtimestamp(
                os.path.getmtime(os.path.join(directory, entry)), UTC).replace(microsecond=0)
    return found


def list_base_backups(repo):
    """Complete base backups, oldest first (a directory without lifeboat.json is not one)."""
    found = []
    for path in sorted(glob.glob(os.path.join(base_dir(repo), "base_*"))):
        if not BASE_ID_RE.match(os.path.basename(path)):
            continue
        try:
            with open(os.path.join(path, BASE_INFO)) as handle:
                info = json.load(handle)
        except (OSError, ValueError):
            continue
        info["path"] = path
        info["finished"] = datetime.datetime.fromisoformat(info["finished_at"])
        found.append(info)
    return sorted(found, key=lambda info: info["finished"])
