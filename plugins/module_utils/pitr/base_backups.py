# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Base backups: taken with a manifest, checked against it, expired with the WAL only they need."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import time

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import repository


def manifest_wal_range(manifest_path, segment_size=repository.DEFAULT_SEGMENT_SIZE):
    with open(manifest_path) as handle:
        ranges = json.load(handle)["WAL-Ranges"]
    first, last = ranges[0], ranges[-1]
    return {"timeline": last["Timeline"], "start_lsn": first["Start-LSN"], "end_lsn": last["End-LSN"],
            "start_wal": repository.segment_name(first["Timeline"], first["Start-LSN"], segment_size),
            "end_wal": repository.segment_name(last["Timeline"], last["End-LSN"], segment_size)}


def base_backup(runner, repo, bin_dir, level=3, now=None, segment_size=repository.DEFAULT_SEGMENT_SIZE, connection=None,
                signer=None):
    """Take a compressed base backup with a manifest; the directory appears complete or not at all.

    With ``signer`` (signing.Signing with a signing key), ``lifeboat.json`` (every file's size and sha256)
    is signed, so a recovery can prove who took the base backup.
    """
    started = now or bf.utcnow()
    base_id = started.strftime("base_%Y%m%d_%H%M%S")
    parent = repository.base_dir(repo)
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
            files[name] = {"size": os.path.getsize(path), "sha256": repository.sha256_of(path)}
        finished = bf.utcnow()
        info.update(base_id=base_id, started_at=started.isoformat(), finished_at=finished.isoformat(),
                    duration_seconds=round(time.monotonic() - clock, 3), files=files,
                    size=sum(entry["size"] for entry in files.values()))
        if signer is not None:
            signer.sign(info)
        bf.write_json_atomic(os.path.join(work, repository.BASE_INFO), info)
        os.rename(work, final)
        bf.fsync_dir(parent)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    info["path"] = final
    return info


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
        if repository.sha256_of(path) != expected["sha256"]:
            raise bf.LifeboatError("%s does not match its recorded sha256 (corrupt)" % path)


def check_signature(signer, info):
    """The signature of a base backup's ``lifeboat.json`` as written (listing adds fields), bound to its id.

    The id is the name of the directory (or offsite prefix) the record was found in, so a valid record
    copied under another base backup's name is refused. An offsite base backup (``offsite.remote_catalog``)
    carries its record as read (``raw``) and its ``key``.
    """
    if "raw" in info:
        raw, where = info["raw"], info["key"].rsplit("/", 1)[0]
    else:
        where = info["path"].rstrip("/")
        path = os.path.join(where, repository.BASE_INFO)
        try:
            with open(path) as handle:
                raw = json.load(handle)
        except (OSError, ValueError) as exc:
            raise bf.LifeboatError("base backup %s: %s is unreadable: %s" % (where, path, exc))
    return signer.verify(raw, None, None, shown_as="base backup %s" % where,
                         identity={"base_id": where.rsplit("/", 1)[-1]})


def expire(repo, keep, dry_run=False, held=()):
    """Keep the newest ``keep`` base backups and the WAL they need; return what was (or would be) removed.

    Names in ``held`` (base ids and WAL files not offsite yet: ``offsite.held_back``) are never removed,
    and are listed in ``held``.
    """
    if keep < 1:
        raise bf.LifeboatError("keep at least one base backup (got %d)" % keep)
    bases = repository.list_base_backups(repo)
    removed = {"base_backups": [], "wal": [], "held": []}
    if not bases:
        return removed
    doomed, kept = bases[:-keep], bases[-keep:]
    oldest_needed = repository.segment_number(kept[0]["start_wal"])
    for info in doomed:
        if info["base_id"] in held:
            removed["held"].append(info["base_id"])
            continue
        removed["base_backups"].append(info["base_id"])
        if not dry_run:
            shutil.rmtree(info["path"])
    for name in sorted(repository.archived_wal(repo)):
        # History files are tiny and every later timeline needs them: never expire.
        if name.endswith(".history") or repository.segment_number(name) >= oldest_needed:
            continue
        if name in held:
            removed["held"].append(name)
            continue
        removed["wal"].append(name)
        if not dry_run:
            for suffix in (".zst", ".sha256", repository.SIG_SUFFIX, repository.SHIPPED_SUFFIX):
                try:
                    os.unlink(os.path.join(repository.wal_dir(repo), name + suffix))
                except FileNotFoundError:
                    pass
    return removed
