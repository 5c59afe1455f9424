# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backup file layout: names, metadata, checksums and atomic writes.

Pure standard library so the same code runs inside Ansible modules, in the
``lifeboat-backup`` command on hosts, and in unit tests.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import datetime
import hashlib
import json
import os
import re
import tempfile

BACKUP_TYPES = ("daily", "weekly", "monthly", "yearly")
METADATA_SUFFIX = ".metadata.json"
PARTIAL_PREFIX = ".partial-"
METADATA_VERSION = 1
CHUNK = 1 << 20

_NAME_RE = re.compile(
    r"^(?P<backup_id>backup_(?P<type>daily|weekly|monthly|yearly)_"
    r"(?P<stamp>\d{8}_\d{6})(?:_(?P<seq>\d+))?)\.(?P<ext>[a-z0-9.]+)$"
)


class LifeboatError(Exception):
    """An error whose message is safe and useful to show an operator."""


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def auto_backup_type(when):
    """The GFS class of a run on ``when``: monthly beats weekly beats daily."""
    if when.day == 1:
        return "monthly"
    if when.weekday() == 6:
        return "weekly"
    return "daily"


def resolve_backup_type(requested, when):
    if requested in (None, "", "auto"):
        return auto_backup_type(when)
    if requested not in BACKUP_TYPES:
        raise LifeboatError("unknown backup type %r (expected auto or one of %s)" % (requested, ", ".join(BACKUP_TYPES)))
    return requested


def backup_id_for(backup_type, when, seq=0):
    stamp = when.strftime("%Y%m%d_%H%M%S")
    base = "backup_%s_%s" % (backup_type, stamp)
    return base if not seq else "%s_%d" % (base, seq)


def parse_backup_name(name):
    """Split a backup file name into its parts, or return None if it is not one."""
    match = _NAME_RE.match(os.path.basename(name))
    if not match or match.group("ext").endswith("metadata.json"):
        return None
    stamp = datetime.datetime.strptime(match.group("stamp"), "%Y%m%d_%H%M%S")
    return {
        "backup_id": match.group("backup_id"),
        "type": match.group("type"),
        "timestamp": stamp.replace(tzinfo=datetime.timezone.utc),
        "seq": int(match.group("seq") or 0),
        "ext": match.group("ext"),
    }


def service_dir(root, service):
    if not service or "/" in service or service.startswith("."):
        raise LifeboatError("invalid service name %r: use letters, digits, '-' or '_'" % (service,))
    return os.path.join(root, service)


def backup_dir(root, service, backup_type):
    return os.path.join(service_dir(root, service), backup_type)


def metadata_path_for(backup_path):
    parsed = parse_backup_name(backup_path)
    if parsed is None:
        raise LifeboatError("%s is not a Lifeboat backup file name (backup_<type>_<YYYYMMDD_HHMMSS>.<ext>)" % backup_path)
    return os.path.join(os.path.dirname(backup_path), parsed["backup_id"] + METADATA_SUFFIX)


def allocate_backup_path(directory, backup_type, when, ext):
    """A path for a new backup that collides with no existing backup of that second."""
    seq = 0
    while True:
        backup_id = backup_id_for(backup_type, when, seq)
        path = os.path.join(directory, "%s.%s" % (backup_id, ext))
        if not os.path.exists(path) and not os.path.exists(os.path.join(directory, backup_id + METADATA_SUFFIX)):
            return backup_id, path
        seq += 1


def human_size(size):
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return ("%d%s" % (value, unit)) if unit == "B" else ("%.1f%s" % (value, unit))
        value /= 1024.0
    return "%dB" % size  # pragma: no cover


def ensure_dir(path, mode=0o700, uid=-1, gid=-1):
    """Create ``path`` and parents; set mode/owner on the ones created here and on ``path``."""
    missing = []
    probe = path
    while probe and not os.path.isdir(probe):
        missing.append(probe)
        probe = os.path.dirname(probe)
    for directory in reversed(missing):
        try:
            os.mkdir(directory, mode)
        except FileExistsError:
            pass
        _apply_mode_owner(directory, mode, uid, gid)
    _apply_mode_owner(path, mode, uid, gid)


def _apply_mode_owner(path, mode, uid, gid):
    os.chmod(path, mode)
    if uid != -1 or gid != -1:
        os.chown(path, uid, gid)


def fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class HashingWriter:
    """File-like sink that hashes and counts what passes through it."""

    def __init__(self, fileobj):
        self._file = fileobj
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data):
        self._hash.update(data)
        self.size += len(data)
        self._file.write(data)

    @property
    def checksum(self):
        return "sha256:" + self._hash.hexdigest()


@contextlib.contextmanager
def atomic_file(path, mode=0o600, uid=-1, gid=-1):
    """Yield a temporary file beside ``path``; publish it under ``path`` only on success.

    The temporary name starts with ``.partial-`` so listings never take an
    unfinished file for a backup. Data and directory are fsynced before and
    after the rename, so a crash leaves either no file or a complete one.
    """
    directory = os.path.dirname(path) or "."
    fd, tmp_path = tempfile.mkstemp(prefix=PARTIAL_PREFIX + os.path.basename(path) + ".", dir=directory)
    os.close(fd)
    try:
        with open(tmp_path, "wb") as handle:  # handle.name is the temporary path, for checks before publishing
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        _apply_mode_owner(tmp_path, mode, uid, gid)
        os.rename(tmp_path, path)
        fsync_dir(directory)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_path)
        raise


def write_json_atomic(path, data, mode=0o600, uid=-1, gid=-1):
    payload = (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8")
    with atomic_file(path, mode, uid, gid) as handle:
        handle.write(payload)


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def app_key_fingerprint(path):
    """``sha256:<16 hex>`` of the application's key file ``path`` (the service's ``app_key_file``): recorded with
    each backup, so a rebuild can prove the key it restores is the one the data was written with, without the
    key itself ever leaving the host."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except (IOError, OSError) as exc:
        raise LifeboatError("the application key file %s (app_key_file) cannot be read: %s; its fingerprint is "
                            "recorded with every backup" % (path, exc.strerror or exc))
    return "sha256:" + hashlib.sha256(data).hexdigest()[:16]


def build_metadata(backup_id, engine, service, backup_type, started, duration, path, size, checksum,
                   compression, content, extra=None):
    """The metadata document written beside every backup.

    ``content`` is what restore checks the result against (``tables`` with
    row counts for databases).
    """
    meta = {
        "metadata_version": METADATA_VERSION,
        "backup_id": backup_id,
        "engine": engine,
        "service": service,
        "type": backup_type,
        "timestamp": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "size_bytes": size,
        "size_readable": human_size(size),
        "duration_seconds": round(duration, 3),
        "files": [os.path.basename(path)],
        "checksum": checksum,
        "compression": compression,
        "content": content,
    }
    meta.update(extra or {})
    return meta


def shown(doc):
    """``doc`` (metadata or its content) as results may show it: every ``sealed`` value (encrypted
    secrets an engine keeps in the metadata, such as password hashes) replaced by its size."""
    if isinstance(doc, dict):
        return dict((key, "<%d characters, not shown>" % len(value) if key == "sealed" and isinstance(value, str)
                     else shown(value)) for key, value in doc.items())
    if isinstance(doc, list):
        return [shown(item) for item in doc]
    return doc


def load_metadata(backup_path):
    """Read and sanity-check the metadata of ``backup_path``; raise LifeboatError naming the cause."""
    meta_path = metadata_path_for(backup_path)
    try:
        with open(meta_path, "rb") as handle:
            meta = json.loads(handle.read().decode("utf-8"))
    except FileNotFoundError:
        raise LifeboatError("metadata %s for backup %s is missing: cannot verify the backup" % (meta_path, backup_path))
    except (ValueError, UnicodeDecodeError) as exc:
        raise LifeboatError("metadata %s is unreadable (%s)" % (meta_path, exc))
    for key in ("backup_id", "engine", "checksum", "size_bytes", "files"):
        if key not in meta:
            raise LifeboatError("metadata %s lacks the field %r" % (meta_path, key))
    if os.path.basename(backup_path) not in meta["files"]:
        raise LifeboatError("metadata %s describes %s, not %s" % (meta_path, meta["files"], os.path.basename(backup_path)))
    return meta


def verify_checksum(backup_path, meta):
    """Compare size and sha256 of ``backup_path`` with its metadata."""
    try:
        size = os.path.getsize(backup_path)
    except FileNotFoundError:
        raise LifeboatError("backup file %s does not exist" % backup_path)
    if size != meta["size_bytes"]:
        raise LifeboatError(
            "backup %s is %d bytes but its metadata records %d: the file is truncated or was altered"
            % (backup_path, size, meta["size_bytes"]))
    actual = sha256_file(backup_path)
    if actual != meta["checksum"]:
        raise LifeboatError(
            "backup %s fails its checksum (file %s, metadata %s): the file is corrupt"
            % (backup_path, actual, meta["checksum"]))
    return actual


def list_backups(root, service):
    """Every complete backup of ``service`` (a data file with readable metadata), newest first.

    Files without metadata are reported under ``incomplete`` rather than
    listed, so nothing ever restores from a half-written backup.
    """
    found, incomplete = [], []
    base = service_dir(root, service)
    for backup_type in BACKUP_TYPES:
        directory = os.path.join(base, backup_type)
        if not os.path.isdir(directory):
            continue
        for name in sorted(os.listdir(directory)):
            parsed = parse_backup_name(name)
            if parsed is None or name.startswith("."):
                continue
            path = os.path.join(directory, name)
            try:
                meta = load_metadata(path)
            except LifeboatError as exc:
                incomplete.append({"path": path, "reason": str(exc)})
                continue
            entry = dict(parsed, path=path, metadata=meta)
            found.append(entry)
    found.sort(key=lambda item: (item["timestamp"], item["seq"]), reverse=True)
    return found, incomplete


BEFORE_PREFIX = "before:"
_BEFORE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def before_time(selector):
    """The instant of a ``before:<ISO 8601 time with a zone>`` selector (aware), None for other selectors."""
    if not isinstance(selector, str) or not selector.startswith(BEFORE_PREFIX):
        return None
    text = selector[len(BEFORE_PREFIX):].strip()
    if not _BEFORE_RE.match(text):
        raise LifeboatError("%r: give the time in ISO 8601 with a zone, e.g. before:2026-12-07T03:15:00Z" % selector)
    return datetime.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)


def select_backup(backups, selector, incomplete=()):
    """Pick one backup from ``list_backups`` output.

    ``selector``: ``latest``; a class (``daily``/``weekly``/``monthly``/``yearly``)
    for the newest of that class; ``YYYYMMDD`` for the newest taken that day
    (UTC); ``before:<time>`` for the newest started strictly before an ISO 8601
    time with a zone (a security breach's compromise time); or a backup id. Returns ``(entry, reason)``. ``incomplete`` (the
    second list ``list_backups`` returns) is never chosen, but a newer one the
    selector would have matched is named in the reason, with its cause.
    """
    entry, reason = _select(backups, selector, incomplete)
    skipped = skipped_backups(entry, selector, incomplete)
    if skipped:
        reason += "; skipped %s" % "; ".join("%s (newer, but incomplete: %s)" % (item["backup_id"], item["reason"])
                                             for item in skipped)
    return entry, reason


def _matches(parsed, selector):
    if selector in (None, "", "latest"):
        return True
    if selector in BACKUP_TYPES:
        return parsed["type"] == selector
    if re.match(r"^\d{8}$", selector):
        return parsed["timestamp"].strftime("%Y%m%d") == selector
    if selector.startswith(BEFORE_PREFIX):
        return parsed["timestamp"] < before_time(selector)
    return parsed["backup_id"] == selector


def skipped_backups(chosen, selector, incomplete):
    """The incomplete backups newer than ``chosen`` that ``selector`` would have matched, newest first."""
    found = []
    for item in incomplete or ():
        parsed = parse_backup_name(item["path"])
        if parsed is None or not _matches(parsed, selector):
            continue
        if chosen is None or (parsed["timestamp"], parsed["seq"]) > (chosen["timestamp"], chosen["seq"]):
            found.append(dict(item, backup_id=parsed["backup_id"], timestamp=parsed["timestamp"], seq=parsed["seq"]))
    found.sort(key=lambda item: (item["timestamp"], item["seq"]), reverse=True)
    return [{"backup_id": item["backup_id"], "path": item["path"], "reason": item["reason"]} for item in found]


def _select(backups, selector, incomplete):
    if not backups:
        skipped = skipped_backups(None, selector, incomplete)
        raise LifeboatError("no complete backup found to select %r from%s" % (selector, "".join(
            "; %s is incomplete: %s" % (item["backup_id"], item["reason"]) for item in skipped)))
    if selector in (None, "", "latest"):
        return backups[0], "newest backup of any class"
    if selector in BACKUP_TYPES:
        for entry in backups:
            if entry["type"] == selector:
                return entry, "newest %s backup" % selector
        raise LifeboatError("no %s backup exists" % selector)
    if re.match(r"^\d{8}$", selector):
        for entry in backups:
            if entry["timestamp"].strftime("%Y%m%d") == selector:
                return entry, "newest backup taken on %s (UTC)" % selector
        raise LifeboatError("no backup was taken on %s (UTC)" % selector)
    before = before_time(selector)
    if before is not None:
        for entry in backups:
            if entry["timestamp"] < before:
                return entry, "newest backup started before %s" % selector[len(BEFORE_PREFIX):]
        raise LifeboatError("no complete backup was started before %s (the newest, %s, is later)" % (
            selector[len(BEFORE_PREFIX):], backups[0]["backup_id"]))
    for entry in backups:
        if entry["backup_id"] == selector:
            return entry, "backup id %s" % selector
    skipped = skipped_backups(None, selector, incomplete)
    if skipped:
        raise LifeboatError("backup %s is incomplete: %s" % (selector, skipped[0]["reason"]))
    raise LifeboatError("no backup with id %r" % (selector,))
