# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PITR repository offsite: ship archived WAL and base backups, and read them back for a recovery.

The remote mirrors the repository under a prefix (``postgresql_pitr_offsite_prefix``)::

    <prefix>/wal/<name>.sha256, <name>.sig   uploaded first (small objects)
    <prefix>/wal/<name>.zst                  then the data: a WAL file is offsite once its .zst is
    <prefix>/base/<base_id>/<file>           every file a base backup's lifeboat.json lists,
    <prefix>/base/<base_id>/lifeboat.json    then its record, last: a base backup is offsite once this is
    <prefix>/status.json                     the newest WAL shipped, when PostgreSQL archived it, and the
                                             PostgreSQL system identifier the copy belongs to

``ship`` (the ``lifeboat-pitr ship`` timer, never PostgreSQL's archive_command, so a store that is
down never holds up archiving) checks each WAL file against its checksum (a file damaged in the
repository is refused, not copied), uploads what is not offsite yet, oldest first, and marks each file
shipped in the local repository (``<name>.offsite``, ``base/<id>/.offsite``); the base backup timer
expires only marked files (``base_backups.expire(held=...)``). Every object carries its sha256;
an object already offsite with other content is refused, never overwritten.

``remote_catalog`` gives a recovery the same view of the offsite copy as ``window.catalog`` gives of
the local one; ``fetch_base_backup`` downloads a base backup checked against its record, and
``WalFetcher`` serves PostgreSQL's restore_command from either repository with a prefetch: when a
segment is asked for that is not spooled yet, it and the next ones are fetched in parallel, checked
(signature, sha256) and decompressed into the spool, so the next requests are a rename.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import concurrent.futures
import datetime
import json
import os
import shutil
import struct
import tempfile

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf
from ansible_collections.lifeboat.dr.plugins.module_utils import signing
from ansible_collections.lifeboat.dr.plugins.module_utils.offsite import transfer
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import archive
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import base_backups
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import repository
from ansible_collections.lifeboat.dr.plugins.module_utils.process import Runner

STATUS_FILE = ".offsite_status.json"
STATUS_KEY = "status.json"
# Uploaded before the data object, so a .zst offsite always has its checksum (and signature) beside it.
WAL_SIDE_FILES = (".sha256", repository.SIG_SUFFIX)


def default_prefix(store, host, version=15, cluster="main"):
    """Where ``host``'s cluster is shipped in ``store`` unless configured: ``[<store prefix>/]pitr/<host>/<version>-<cluster>``.

    The role's default and a recovery onto another host (which knows the lost host's name) agree on it.
    """
    return join((store or {}).get("prefix") or "", "pitr", host, "%s-%s" % (version, cluster))


def join(*parts):
    return "/".join(part.strip("/") for part in parts if part and part.strip("/"))


def wal_key(prefix, name):
    return join(prefix, "wal", name)


def base_key(prefix, base_id, name=""):
    return join(prefix, "base", base_id, name)


# -- shipping ------------------------------------------------------------------------------------


def _mtime(path):
    return os.stat(path).st_mtime_ns


def pending_wal(repo):
    """Archived WAL files not yet offsite, oldest archived first: ``[(name, mtime_ns)]``."""
    directory = repository.wal_dir(repo)
    if not os.path.isdir(directory):
        return []
    names = set(os.listdir(directory))
    pending = []
    for name in repository.archived_wal(repo):
        if name + repository.SHIPPED_SUFFIX not in names:
            pending.append((name, _mtime(os.path.join(directory, name + ".zst"))))
    return sorted(pending, key=lambda item: (item[1], item[0]))


def pending_base_backups(repo):
    return [info for info in repository.list_base_backups(repo)
            if not os.path.exists(os.path.join(info["path"], repository.SHIPPED_SUFFIX))]


def held_back(repo):
    """Names the base backup timer must not expire: not offsite yet (``base_backups.expire(held=...)``)."""
    return set(name for name, _when in pending_wal(repo)) | set(info["base_id"] for info in pending_base_backups(repo))


def _mark(path):
    with open(path, "w"):
        pass


def _same_object(provider, key, checksum):
    """True when ``key`` is offsite with ``checksum``, False when absent; raise when it holds other content."""
    if provider.size(key) is None:
        return False
    stored = provider.stored_checksum(key) or transfer.stream_checksum(provider, key)[0]
    if stored != checksum:
        raise bf.LifeboatError("offsite object %s already exists with other content (%s, the repository has %s): "
                               "refusing to overwrite; does another cluster ship to the same prefix?"
                               % (key, stored, checksum))
    return True


def _put_checked(provider, key, path, checksum):
    provider.put_file(key, path, checksum)
    size, expected = provider.size(key), os.path.getsize(path)
    if size != expected:
        raise bf.LifeboatError("offsite object %s has %s bytes after upload, the file has %d" % (key, size, expected))


class _Head:
    """A sink that keeps only the first bytes written (a WAL segment's page header)."""

    def __init__(self, size=40):
        self.size = size
        self.data = b""

    def write(self, data):
        if len(self.data) < self.size:
            self.data += data[:self.size - len(self.data)]


# A segment's first page has PostgreSQL's long header (xlogdefs/xlog_internal.h): xlp_magic (2), xlp_info
# (2), xlp_tli (4), xlp_pageaddr (8), xlp_rem_len (4), padding (4), xlp_sysid (8), xlp_seg_size (4),
# xlp_xlog_blcksz (4), little-endian on the hosts Lifeboat supports.
_XLP_LONG_HEADER = 0x0002


def wal_system_identifier(head):
    """The PostgreSQL system identifier in a WAL segment's first bytes, or None when they are no long page header."""
    if len(head) < 40:
        return None
    info, = struct.unpack_from("<H", head, 2)
    sysid, seg_size, block_size = struct.unpack_from("<QII", head, 24)
    if not info & _XLP_LONG_HEADER or seg_size & (seg_size - 1) or not 1 << 20 <= seg_size <= 1 << 30 \
            or block_size not in (1024, 2048, 4096, 8192, 16384, 32768):
        return None
    return str(sysid)


def check_archived(runner, repo, name):
    """Decompress archived ``name`` and compare it with its ``.sha256``: a file damaged in the repository after it
    was archived is not shipped (its copy offsite would look whole, checksum and all). Returns its first bytes."""
    directory = repository.wal_dir(repo)
    expected = repository.read_text(os.path.join(directory, name + ".sha256"))
    head = _Head()
    hasher = bf.HashingWriter(head)
    try:
        runner.pipeline([[runner.binary("zstd"), "-q", "-d", "-c", "--", os.path.join(directory, name + ".zst")]],
                        sink=hasher.write)
    except bf.LifeboatError as exc:
        raise repository.CorruptWal("archived WAL %s in %s cannot be decompressed, not shipped: %s" % (name, directory, exc))
    if hasher.checksum != expected:
        raise repository.CorruptWal("archived WAL %s in %s does not match its checksum (%s, recorded %s): damaged after it "
                                    "was archived, not shipped" % (name, directory, hasher.checksum, expected))
    return head.data


def ship_wal(provider, repo, prefix, name, runner=None, system=None):
    """Check one archived WAL file, upload it (side files first, then its data) and mark it shipped.

    An existing data object with other content is refused before anything is written, so the side
    files of whatever it belongs to stay as they are; so is a segment of another PostgreSQL system
    than ``system``, the one the offsite copy belongs to. Returns the segment's system identifier
    (None for history and backup label files).
    """
    found = wal_system_identifier(check_archived(runner or Runner(), repo, name)) \
        if repository.WAL_SEGMENT_RE.match(name) else None
    if system is not None and found is not None and found != system:
        raise bf.LifeboatError("%s comes from PostgreSQL system %s, but the offsite copy at %s belongs to system %s: "
                               "another cluster ships there (a new initdb, or a copy of another server). Nothing was "
                               "written; give this cluster its own postgresql_pitr_offsite_prefix"
                               % (name, found, prefix or "/", system))
    directory = repository.wal_dir(repo)
    data = os.path.join(directory, name + ".zst")
    checksum = bf.sha256_file(data)
    there = _same_object(provider, wal_key(prefix, name + ".zst"), checksum)
    for suffix in WAL_SIDE_FILES:
        path = os.path.join(directory, name + suffix)
        if os.path.exists(path):
            with open(path, "rb") as handle:
                provider.put_bytes(wal_key(prefix, name + suffix), handle.read())
    if not there:
        _put_checked(provider, wal_key(prefix, name + ".zst"), data, checksum)
    _mark(os.path.join(directory, name + repository.SHIPPED_SUFFIX))
    return found


def ship_base_backup(provider, prefix, info):
    """Check a base backup against its record, upload every file, the record last, and mark it shipped.

    A resumed upload skips the files already there; a damaged base backup is refused, not copied.
    """
    base_backups.verify_base_backup(info)
    for name, expected in sorted(info["files"].items()):
        key = base_key(prefix, info["base_id"], name)
        if not _same_object(provider, key, expected["sha256"]):
            _put_checked(provider, key, os.path.join(info["path"], name), expected["sha256"])
    record = os.path.join(info["path"], repository.BASE_INFO)
    _put_checked(provider, base_key(prefix, info["base_id"], repository.BASE_INFO), record, bf.sha256_file(record))
    _mark(os.path.join(info["path"], repository.SHIPPED_SUFFIX))


def ship(provider, repo, prefix, keep=None, now=None):
    """Ship every pending WAL file (oldest first), then each pending base backup; return what was done.

    WAL goes first, and again after each base backup, so a large base backup delays the newest WAL
    by one upload at most. With ``keep``, offsite base backups beyond the newest ``keep`` (and the WAL
    only they need) are deleted after a new one is offsite. Raises on the first failure, after
    recording it (``.offsite_status.json``) for the metrics; what was shipped before stays marked.
    """
    now = now or bf.utcnow()
    done = {"wal": [], "base_backups": [], "pruned": None}
    try:
        status = remote_status(provider, prefix) if pending_wal(repo) else {}
        newest = _ship_pending_wal(provider, repo, prefix, done, status)
        for info in pending_base_backups(repo):
            ship_base_backup(provider, prefix, info)
            done["base_backups"].append(info["base_id"])
            newest = _ship_pending_wal(provider, repo, prefix, done, status) or newest
        if newest:
            newest["system_identifier"] = status.get("system_identifier")
            provider.put_bytes(join(prefix, STATUS_KEY), json.dumps(newest, sort_keys=True).encode("utf-8"))
        if keep and done["base_backups"]:
            done["pruned"] = prune(provider, prefix, keep)
    except (bf.LifeboatError, OSError) as exc:
        record_status(repo, False, now, exc)
        raise
    record_status(repo, True, now)
    return done


def _ship_pending_wal(provider, repo, prefix, done, status):
    newest = None
    for name, mtime_ns in pending_wal(repo):
        system = ship_wal(provider, repo, prefix, name, system=status.get("system_identifier"))
        if system is not None:
            status.setdefault("system_identifier", system)
        done["wal"].append(name)
        if repository.WAL_SEGMENT_RE.match(name):
            newest = {"newest_wal": name, "newest_wal_archived_at":
                      datetime.datetime.fromtimestamp(mtime_ns / 1e9, repository.UTC).isoformat()}
    return newest


def record_status(repo, ok, now, error=None):
    path = os.path.join(repo, STATUS_FILE)
    try:
        with open(path) as handle:
            status = json.load(handle)
    except (OSError, ValueError):
        status = {}
    if ok:
        status["last_success_time"] = now.timestamp()
    else:
        status.update(last_failure_time=now.timestamp(), last_error=str(error)[:500],
                      failed_count=status.get("failed_count", 0) + 1)
    bf.write_json_atomic(path, status)
    return status


def shipping_status(repo):
    try:
        with open(os.path.join(repo, STATUS_FILE)) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def prune(provider, prefix, keep):
    """Delete offsite base backups beyond the newest ``keep`` (record first), and the WAL older than all kept ones."""
    bases = remote_base_backups(provider, prefix)
    removed = {"base_backups": [], "wal": []}
    if len(bases) <= keep:
        return removed
    doomed, kept = bases[:-keep], bases[-keep:]
    for info in doomed:
        provider.delete(base_key(prefix, info["base_id"], repository.BASE_INFO))  # no longer listed as complete
        for key in provider.list(base_key(prefix, info["base_id"]) + "/"):
            provider.delete(key)
        removed["base_backups"].append(info["base_id"])
    oldest_needed = repository.segment_number(kept[0]["start_wal"])
    for key in sorted(provider.list(join(prefix, "wal") + "/")):
        name = key.rsplit("/", 1)[-1]
        # History files are tiny and every later timeline needs them: never pruned.
        if repository.WAL_SEGMENT_RE.match(name[:24]) and repository.segment_number(name[:24]) < oldest_needed:
            provider.delete(key)
            if name.endswith(".zst"):
                removed["wal"].append(name[:-4])
    return removed


# -- reading the offsite copy --------------------------------------------------------------------


def remote_base_backups(provider, prefix):
    """Complete offsite base backups (their record is there and readable), oldest first, as ``list_base_backups``."""
    found = []
    for key in provider.list(join(prefix, "base") + "/"):
        parts = key.rsplit("/", 2)
        if len(parts) != 3 or parts[2] != repository.BASE_INFO or not repository.BASE_ID_RE.match(parts[1]):
            continue
        try:
            raw = json.loads(transfer.get_bytes(provider, key).decode("utf-8"))
            info = dict(raw, raw=raw, key=key, finished=datetime.datetime.fromisoformat(raw["finished_at"]))
        except (ValueError, KeyError, UnicodeDecodeError):
            continue
        found.append(info)
    return sorted(found, key=lambda info: info["finished"])


def remote_status(provider, prefix):
    """``status.json`` of the offsite copy (newest WAL, its time, the system identifier), or {} when there is none."""
    try:
        status = json.loads(transfer.get_bytes(provider, join(prefix, STATUS_KEY)).decode("utf-8"))
    except (bf.LifeboatError, ValueError, UnicodeDecodeError):
        return {}
    return status if isinstance(status, dict) else {}


def remote_catalog(provider, prefix):
    """The offsite copy as ``window.catalog`` describes a repository: base backups, WAL and the files beside it."""
    entries = set(key.rsplit("/", 1)[-1] for key in provider.list(join(prefix, "wal") + "/"))
    wal = dict((entry[:-4], None) for entry in entries
               if entry.endswith(".zst") and repository.WAL_FILE_RE.match(entry[:-4]) and entry[:-4] + ".sha256" in entries)
    status = remote_status(provider, prefix)
    if status.get("newest_wal") in wal:
        wal[status["newest_wal"]] = datetime.datetime.fromisoformat(status["newest_wal_archived_at"])
    return {"bases": remote_base_backups(provider, prefix), "wal": wal, "wal_entries": entries,
            "where": "%s (prefix %s)" % (provider.describe(), prefix or "/")}


def _download(provider, key, path, checksum=None, size=None):
    """``key`` into ``path`` (atomically); with ``checksum``/``size`` the bytes must match them."""
    with bf.atomic_file(path, 0o600) as handle:
        sink = bf.HashingWriter(handle)
        for chunk in provider.chunks(key):
            sink.write(chunk)
        if checksum and (sink.checksum != checksum or (size is not None and sink.size != size)):
            raise bf.LifeboatError("offsite object %s is corrupt: %d bytes with %s, the base backup recorded %s bytes "
                                   "with %s" % (key, sink.size, sink.checksum, size, checksum))


def fetch_base_backup(provider, prefix, info, staging, workers=4):
    """Download base backup ``info`` (from ``remote_catalog``) into ``<staging>/base/<id>``, every file checked.

    Returns the info with ``path`` set, as ``repository.list_base_backups`` gives it.
    """
    target = os.path.join(repository.base_dir(staging), info["base_id"])
    bf.ensure_dir(target, 0o700)
    with open(os.path.join(target, repository.BASE_INFO), "w") as handle:
        json.dump(info["raw"], handle, indent=2, sort_keys=True)
    jobs = [(base_key(prefix, info["base_id"], name), os.path.join(target, name), entry["sha256"], entry["size"])
            for name, entry in sorted(info["files"].items())]
    with concurrent.futures.ThreadPoolExecutor(max(1, min(workers, len(jobs)))) as pool:
        for future in [pool.submit(_download, provider, *job) for job in jobs]:
            future.result()
    return dict(info, path=target)


# -- serving restore_command ---------------------------------------------------------------------


def following_segments(name, count, segment_size=repository.DEFAULT_SEGMENT_SIZE):
    """The ``count`` segment names after segment ``name`` on its timeline."""
    if not repository.WAL_SEGMENT_RE.match(name):
        return []
    per_id = 0x100000000 // segment_size
    number = repository.segment_number(name, segment_size)
    return ["%s%08X%08X" % (name[:8], (number + step) // per_id, (number + step) % per_id)
            for step in range(1, count + 1)]


class LocalWal:
    """Archived WAL in the local repository: served where it is."""

    def __init__(self, repo):
        self.repo = repo

    def materialize(self, name, scratch):
        return self.repo


class OffsiteWal:
    """Archived WAL offsite: each file's objects are downloaded into a scratch repository first."""

    def __init__(self, provider, prefix):
        self.provider = provider
        self.prefix = prefix

    def materialize(self, name, scratch):
        directory = repository.wal_dir(scratch)
        bf.ensure_dir(directory, 0o700)
        if self.provider.size(wal_key(self.prefix, name + ".zst")) is None:
            return None  # not offsite: the end of the archive
        for suffix in WAL_SIDE_FILES + (".zst",):
            key = wal_key(self.prefix, name + suffix)
            try:
                _download(self.provider, key, os.path.join(directory, name + suffix))
            except bf.LifeboatError:
                if suffix == repository.SIG_SUFFIX and self.provider.size(key) is None:
                    continue  # unsigned: the signature policy decides
                raise
        return scratch


class WalFetcher:
    """restore_command with a spool: a miss fetches the file and the next ``prefetch - 1`` in parallel."""

    def __init__(self, source, spool, prefetch=8, public_keys=None, policy="ignore", workers=4):
        self.source = source
        self.spool = spool
        self.prefetch = max(1, prefetch)
        self.public_keys = public_keys or []
        self.policy = policy
        self.workers = max(1, workers)

    def restore(self, name, destination):
        """Put ``name`` at ``destination``; False when it is not archived. Raise CorruptWal for a file that is."""
        if not repository.WAL_FILE_RE.match(name):
            return False
        spooled = os.path.join(self.spool, name)
        if not os.path.exists(spooled):
            batch = [name] + following_segments(name, self.prefetch - 1)
            with concurrent.futures.ThreadPoolExecutor(min(self.workers, len(batch))) as pool:
                futures = [pool.submit(self._fetch, each) for each in batch]
                # The file asked for decides; a prefetched one that fails is fetched again (and fails) when asked for.
                found = futures[0].result()
                concurrent.futures.wait(futures[1:])
            if not found:
                return False
        shutil.move(spooled, destination)
        return True

    def _fetch(self, name):
        target = os.path.join(self.spool, name)
        if os.path.exists(target):
            return True
        scratch = tempfile.mkdtemp(prefix=".fetch-", dir=self.spool)
        try:
            repo = self.source.materialize(name, scratch)
            if repo is None:
                return False
            runner = Runner()
            with signing.Signing(runner, public_keys=self.public_keys, policy=self.policy) as signer:
                partial = os.path.join(scratch, name)
                if not archive.restore_wal(runner, repo, name, partial, signer=signer):
                    return False
                os.rename(partial, target)
            return True
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
