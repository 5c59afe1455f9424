# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL point-in-time recovery: WAL archive, base backups, recoverable window, recovery.

Repository layout (owned by the postgres user, 0700)::

    <repo>/wal/<segment>.zst       zstd-compressed WAL segment or history file
    <repo>/wal/<segment>.sha256    sha256 of the uncompressed file, written first
    <repo>/base/<base_id>/         base.tar.zst, pg_wal.tar.zst, backup_manifest, lifeboat.json (written last)
    <repo>/.archive_status.json    last archive success and failure, for the metrics

Standard library plus the ``zstd``, ``tar`` and PostgreSQL binaries, so the
same code runs as PostgreSQL's archive/restore command, in the base backup
timer, in the ``postgresql_pitr_restore`` module and in unit tests.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import errno
import glob
import json
import os
import re
import shutil
import subprocess
import time

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf

UTC = datetime.timezone.utc
WAL_SEGMENT_RE = re.compile(r"^[0-9A-F]{24}$")
WAL_FILE_RE = re.compile(r"^([0-9A-F]{24}(\.partial|\.[0-9A-F]{8}\.backup)?|[0-9A-F]{8}\.history)$")
BASE_ID_RE = re.compile(r"^base_\d{8}_\d{6}$")
STATUS_FILE = ".archive_status.json"
BASE_INFO = "lifeboat.json"
DEFAULT_SEGMENT_SIZE = 16 * 1024 * 1024
# restore_command exit codes above 125 make PostgreSQL abort recovery instead of
# taking "not there" for the end of the archive and promoting a shortened history.
ABORT_RECOVERY = 255


class CorruptWal(bf.LifeboatError):
    """An archived WAL file that exists but cannot be trusted."""


def wal_dir(repo):
    return os.path.join(repo, "wal")


def base_dir(repo):
    return os.path.join(repo, "base")


def _digest(path):
    return bf.sha256_file(path)


def _read_text(path):
    try:
        with open(path) as handle:
            return handle.read().strip()
    except FileNotFoundError:
        return None


def _write_text_atomic(path, text, mode=0o600):
    with bf.atomic_file(path, mode) as handle:
        handle.write(text.encode("utf-8"))


# --- archive_command / restore_command --------------------------------------------------------

def archive_wal(runner, repo, source, name, level=3, now=None):
    """Copy one WAL file into the archive with its checksum. Returns ``archived`` or ``already archived``.

    PostgreSQL retries while this raises (the CLI exits non-zero), so no segment is ever dropped;
    an existing archive file with other content is refused, never overwritten.
    """
    if not WAL_FILE_RE.match(name):
        raise bf.LifeboatError("refusing to archive %r: not a WAL segment, history or backup label name" % name)
    directory = wal_dir(repo)
    bf.ensure_dir(directory, 0o700)
    digest = _digest(source)
    target = os.path.join(directory, name + ".zst")
    sums = os.path.join(directory, name + ".sha256")
    if os.path.exists(target):
        stored = _read_text(sums)
        if stored == digest:
            return "already archived"
        raise bf.LifeboatError("%s is already archived in %s with different content (sha256 %s, new %s): "
                               "refusing to overwrite; is another cluster archiving into this repository?"
                               % (name, directory, stored, digest))
    _write_text_atomic(sums, digest + "\n")
    with bf.atomic_file(target, 0o600) as handle:
        runner.pipeline([[runner.binary("zstd"), "-q", "-%d" % level, "-c", "--", source]], sink=handle.write)
    return "archived"


def restore_wal(runner, repo, name, destination):
    """Put archived ``name`` at ``destination``. False when it is not archived (the end of the archive).

    A file that is archived but damaged raises CorruptWal: recovery must stop there, not promote.
    """
    if not WAL_FILE_RE.match(name):
        return False
    directory = wal_dir(repo)
    source = os.path.join(directory, name + ".zst")
    if not os.path.exists(source):
        return False
    expected = _read_text(os.path.join(directory, name + ".sha256"))
    if not expected:
        raise CorruptWal("archived WAL %s has no checksum file %s.sha256" % (source, name))
    partial = destination + ".lifeboat-partial"
    try:
        with open(partial, "wb") as handle:
            hasher = bf.HashingWriter(handle)
            try:
                runner.pipeline([[runner.binary("zstd"), "-q", "-d", "-c", "--", source]], sink=hasher.write)
            except bf.LifeboatError as exc:
                raise CorruptWal("archived WAL %s cannot be decompressed: %s" % (source, exc))
        if hasher.checksum != expected:
            raise CorruptWal("archived WAL %s does not match its checksum (%s, expected %s)"
                             % (source, hasher.checksum, expected))
        os.rename(partial, destination)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return True


def record_archive(repo, name, ok, now, error=None):
    """Remember the last success and failure of the archive command for the metrics."""
    path = os.path.join(repo, STATUS_FILE)
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


# --- base backups ---------------------------------------------------------------------------

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


def manifest_wal_range(manifest_path, segment_size=DEFAULT_SEGMENT_SIZE):
    with open(manifest_path) as handle:
        ranges = json.load(handle)["WAL-Ranges"]
    first, last = ranges[0], ranges[-1]
    return {"timeline": last["Timeline"], "start_lsn": first["Start-LSN"], "end_lsn": last["End-LSN"],
            "start_wal": segment_name(first["Timeline"], first["Start-LSN"], segment_size),
            "end_wal": segment_name(last["Timeline"], last["End-LSN"], segment_size)}


def base_backup(runner, repo, bin_dir, level=3, now=None, segment_size=DEFAULT_SEGMENT_SIZE, connection=None):
    """Take a compressed base backup with a manifest; the directory appears complete or not at all."""
    started = now or bf.utcnow()
    base_id = started.strftime("base_%Y%m%d_%H%M%S")
    parent = base_dir(repo)
    bf.ensure_dir(parent, 0o700)
    final = os.path.join(parent, base_id)
    if os.path.exists(final):
        raise bf.LifeboatError("base backup %s already exists" % final)
    work = os.path.join(parent, bf.PARTIAL_PREFIX + base_id)
    shutil.rmtree(work, ignore_errors=True)
    argv = [os.path.join(bin_dir, "pg_basebackup"), "-D", work, "-Ft", "-X", "stream", "--checkpoint=fast",
            "--compress=client-zstd:%d" % level, "--label=lifeboat " + base_id, "--no-password"]
    clock = time.monotonic()
    try:
        runner.run(argv + list(connection or []))
        info = manifest_wal_range(os.path.join(work, "backup_manifest"), segment_size)
        wal_tar = os.path.join(work, "pg_wal.tar")
        if os.path.exists(wal_tar):  # PostgreSQL 15 compresses only base.tar on the client
            runner.run([runner.binary("zstd"), "-q", "--rm", "-%d" % level, wal_tar, "-o", wal_tar + ".zst"])
        files = {}
        for name in sorted(os.listdir(work)):
            path = os.path.join(work, name)
            files[name] = {"size": os.path.getsize(path), "sha256": _digest(path)}
        finished = bf.utcnow()
        info.update(base_id=base_id, started_at=started.isoformat(), finished_at=finished.isoformat(),
                    duration_seconds=round(time.monotonic() - clock, 3), files=files,
                    size=sum(entry["size"] for entry in files.values()))
        bf.write_json_atomic(os.path.join(work, BASE_INFO), info)
        os.rename(work, final)
        bf.fsync_dir(parent)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    info["path"] = final
    return info


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


def verify_base_backup(info):
    """Compare every file of a base backup with the sizes and checksums recorded when it was taken."""
    for name, expected in sorted(info["files"].items()):
        path = os.path.join(info["path"], name)
        if not os.path.exists(path):
            raise bf.LifeboatError("base backup %s is missing %s" % (info["path"], name))
        size = os.path.getsize(path)
        if size != expected["size"]:
            raise bf.LifeboatError("%s is %d bytes, the base backup recorded %d (truncated or replaced)"
                                   % (path, size, expected["size"]))
        if _digest(path) != expected["sha256"]:
            raise bf.LifeboatError("%s does not match its recorded sha256 (corrupt)" % path)


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


def expire(repo, keep, dry_run=False):
    """Keep the newest ``keep`` base backups and the WAL they need; return what was (or would be) removed."""
    if keep < 1:
        raise bf.LifeboatError("keep at least one base backup (got %d)" % keep)
    bases = list_base_backups(repo)
    removed = {"base_backups": [], "wal": []}
    if not bases:
        return removed
    doomed, kept = bases[:-keep], bases[-keep:]
    oldest_needed = segment_number(kept[0]["start_wal"])
    for info in doomed:
        removed["base_backups"].append(info["base_id"])
        if not dry_run:
            shutil.rmtree(info["path"])
    for name in sorted(archived_wal(repo)):
        # History files are tiny and every later timeline needs them: never expire.
        if name.endswith(".history") or segment_number(name) >= oldest_needed:
            continue
        removed["wal"].append(name)
        if not dry_run:
            for suffix in (".zst", ".sha256"):
                try:
                    os.unlink(os.path.join(wal_dir(repo), name + suffix))
                except FileNotFoundError:
                    pass
    return removed


# --- the recoverable window and the plan ----------------------------------------------------------

def parse_target(text):
    """``latest`` -> None; a time with or without zone (none means UTC) -> aware datetime."""
    value = (text or "latest").strip()
    if value.lower() == "latest":
        return None
    if value.upper().endswith(" UTC"):
        value = value[:-4] + "+00:00"
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    try:
        when = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise bf.LifeboatError("recovery target %r is neither 'latest' nor a time like '2025-12-27 14:30:00+01:00'"
                               % text)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def window(repo):
    """The span a recovery can reach: from the end of the oldest base backup to the newest archived WAL."""
    bases = list_base_backups(repo)
    wal = archived_wal(repo)
    if not bases:
        return {"base_backups": 0, "earliest": None, "latest": None, "wal_files": len(wal)}
    newest_wal = max([when for name, when in wal.items() if not name.endswith(".history")] or [bases[-1]["finished"]])
    return {"base_backups": len(bases), "earliest": bases[0]["finished"],
            "latest": max(newest_wal, bases[-1]["finished"]), "wal_files": len(wal)}


def _describe(win):
    return "%s .. %s" % (win["earliest"].isoformat(sep=" "), win["latest"].isoformat(sep=" "))


def wal_gaps(names, start_wal):
    """Missing segments between ``start_wal`` and the newest archived one, per timeline."""
    start = segment_number(start_wal)
    by_timeline = {}
    for name in names:
        if WAL_SEGMENT_RE.match(name) and segment_number(name) >= start:
            by_timeline.setdefault(name[:8], []).append(segment_number(name))
    gaps = []
    for timeline, numbers in sorted(by_timeline.items()):
        numbers.sort()
        first = start if timeline == start_wal[:8] else numbers[0]
        expected = set(range(first, numbers[-1] + 1))
        for number in sorted(expected - set(numbers)):
            gaps.append("%s%08X%08X" % (timeline, number // 256, number % 256))
    return gaps


def plan(repo, until):
    """Choose the base backup for ``until`` and check the window; raises with the window when out of it."""
    target = parse_target(until)
    win = window(repo)
    if not win["base_backups"]:
        raise bf.LifeboatError("no complete base backup in %s: point-in-time recovery needs one "
                               "(run lifeboat-pitr basebackup)" % base_dir(repo))
    bases = list_base_backups(repo)
    if target is None:
        base = bases[-1]
    else:
        if target < win["earliest"] or target > win["latest"]:
            raise bf.LifeboatError("recovery target %s is outside the recoverable window %s (end of the oldest "
                                   "base backup .. newest archived WAL)" % (target.isoformat(sep=" "), _describe(win)))
        base = [info for info in bases if info["finished"] <= target][-1]
    gaps = wal_gaps(archived_wal(repo), base["start_wal"])
    if gaps:
        raise bf.LifeboatError("the WAL archive %s misses %s after base backup %s: recovery would stop early "
                               "and lose every later write" % (wal_dir(repo), ", ".join(gaps[:5]), base["base_id"]))
    return {"base_backup": base, "target": target, "window": win,
            "target_text": "latest archived WAL" if target is None else target.isoformat(sep=" ")}


# --- recovery ---------------------------------------------------------------------------------

RECOVERY_SETTINGS = ("restore_command", "recovery_target_time", "recovery_target_action", "recovery_target_timeline")


def recovery_settings(restore_command, target):
    lines = ["# Added by Lifeboat for point-in-time recovery; reset after promotion.",
             "restore_command = '%s'" % restore_command.replace("'", "''"),
             "recovery_target_timeline = 'latest'"]
    if target is not None:
        lines += ["recovery_target_time = '%s'" % target.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00"),
                  "recovery_target_action = 'promote'"]
    return "\n".join(lines) + "\n"


def recover(runner, chosen, data_dir, unit, cluster, bin_dir, restore_command, stamp, owner, timeout=900, log_file=None):
    """Replace ``data_dir`` by the base backup replayed to the target and promote.

    The current data directory is moved to ``<data_dir>.pre-pitr-<stamp>``, never deleted. If recovery
    fails, the attempt is kept as ``<data_dir>.failed-pitr-<stamp>`` and the original is put back.
    """
    base = chosen["base_backup"]
    verify_base_backup(base)
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


# --- status and metrics ---------------------------------------------------------------------------

def archive_status(repo):
    try:
        with open(os.path.join(repo, STATUS_FILE)) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def ready_segments(data_dir):
    """WAL segments PostgreSQL has finished but not archived yet, and the age of the oldest."""
    ready = glob.glob(os.path.join(data_dir, "pg_wal", "archive_status", "*.ready"))
    oldest = min((os.path.getmtime(path) for path in ready), default=None)
    return len(ready), oldest


def render_metrics(name, repo, data_dir, now):
    status = archive_status(repo)
    bases = list_base_backups(repo)
    win = window(repo)
    count, oldest = ready_segments(data_dir) if data_dir else (0, None)
    label = '{cluster="%s"}' % name.replace("\\", "\\\\").replace('"', '\\"')
    values = [
        ("lifeboat_wal_archive_last_success_timestamp_seconds", "Time of the last WAL file archived.",
         status.get("last_archived_time", 0)),
        ("lifeboat_wal_archive_last_failure_timestamp_seconds", "Time of the last failed archive attempt.",
         status.get("last_failed_time", 0)),
        ("lifeboat_wal_archive_failures_total", "Failed archive attempts (PostgreSQL retries each).",
         status.get("failed_count", 0)),
        ("lifeboat_wal_archive_ready_segments", "WAL segments waiting to be archived.", count),
        ("lifeboat_wal_archive_lag_seconds", "Age of the oldest WAL segment waiting to be archived.",
         round(now.timestamp() - oldest, 3) if oldest else 0),
        ("lifeboat_pitr_base_backups", "Complete base backups in the repository.", len(bases)),
        ("lifeboat_pitr_last_base_backup_timestamp_seconds", "End of the newest base backup.",
         bases[-1]["finished"].timestamp() if bases else 0),
        ("lifeboat_pitr_window_start_timestamp_seconds", "Earliest recoverable time.",
         win["earliest"].timestamp() if win["earliest"] else 0),
        ("lifeboat_pitr_window_end_timestamp_seconds", "Latest recoverable time (newest archived WAL).",
         win["latest"].timestamp() if win["latest"] else 0),
    ]
    lines = []
    for metric, text, value in values:
        kind = "counter" if metric.endswith("_total") else "gauge"
        lines += ["# HELP %s %s" % (metric, text), "# TYPE %s %s" % (metric, kind), "%s%s %s" % (metric, label, value)]
    return "\n".join(lines) + "\n"


def window_report(repo):
    win = window(repo)
    return {"base_backups": [{key: info[key] for key in ("base_id", "finished_at", "start_wal", "size")}
                             for info in list_base_backups(repo)],
            "earliest": win["earliest"].isoformat() if win["earliest"] else None,
            "latest": win["latest"].isoformat() if win["latest"] else None,
            "wal_files": win["wal_files"]}
