# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Taking one backup: the engine dump, atomic publication, metadata.

Used by the ``db_dump`` module and by ``lifeboat-backup`` on hosts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import os
import pwd
import shutil
import tempfile
import time

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf
from ansible_collections.lifeboat.dr.plugins.module_utils import crypto
from ansible_collections.lifeboat.dr.plugins.module_utils import engines
from ansible_collections.lifeboat.dr.plugins.module_utils import safety
from ansible_collections.lifeboat.dr.plugins.module_utils import signing
from ansible_collections.lifeboat.dr.plugins.module_utils.locking import service_lock
from ansible_collections.lifeboat.dr.plugins.module_utils.process import (
    EXTENSIONS, Runner, check_level, reader_stages, writer_stages)


def extension(engine, fmt, compression):
    return engines.get(engine).extension(fmt) + EXTENSIONS[compression]


def plan(spec, when=None):
    """Where a backup of ``spec`` taken ``when`` would go, without touching anything."""
    when = when or bf.utcnow()
    backup_type = bf.resolve_backup_type(spec.get("backup_type"), when)
    compression = spec.get("compression", "zstd")
    directory = bf.backup_dir(spec["backup_root"], spec["service"], backup_type)
    ext = extension(spec["engine"], spec.get("format", "custom"), compression) + crypto.EXTENSIONS.get(
        spec.get("encryption") or "none", "")
    backup_id, path = bf.allocate_backup_path(directory, backup_type, when, ext)
    return {"when": when, "type": backup_type, "directory": directory, "backup_id": backup_id, "path": path,
            "metadata_path": os.path.join(directory, backup_id + bf.METADATA_SUFFIX), "compression": compression}


def owner_ids(spec):
    uid = pwd.getpwnam(spec["owner"]).pw_uid if spec.get("owner") else -1
    gid = grp.getgrnam(spec["group"]).gr_gid if spec.get("group") else -1
    return uid, gid


def run_dump(spec, runner=None, when=None):
    """Take the backup described by ``spec`` and return the result dict.

    ``spec`` keys: engine, service, backup_root, backup_type, compression,
    compression_level, threads, owner, group, verify; postgresql: database,
    format, jobs, connection (engines.postgresql.Connection); sqlite: path.
    """
    runner = runner or Runner()
    engines.get(spec["engine"])  # an unknown engine fails before anything is created
    compression = spec.get("compression", "zstd")
    level = check_level(compression, spec.get("compression_level"))
    threads = spec.get("threads", 0)
    where = plan(spec, when)
    uid, gid = owner_ids(spec)
    safety.ensure_backup_dir(spec["backup_root"], bf.service_dir(spec["backup_root"], spec["service"]), uid, gid)
    safety.ensure_backup_dir(spec["backup_root"], where["directory"], uid, gid)
    with service_lock(spec["backup_root"], spec["service"], spec.get("lock_timeout", 60), uid, gid):
        # Holding the lock proves no other run is live: what is unfinished here was left by a killed one.
        removed = safety.remove_stale_partials(spec["backup_root"], spec["service"])
        result = _locked_dump(spec, runner, where, compression, level, threads, uid, gid)
    result["removed_partials"] = removed
    return result


def _locked_dump(spec, runner, where, compression, level, threads, uid, gid):
    engine = spec["engine"]
    with crypto.from_spec(runner, spec) as encryption, signing.from_spec(runner, spec) as signer:
        probe = encryption.probe()  # a wrong key fails here, before anything is written
        if spec.get("app_key_file"):
            bf.app_key_fingerprint(spec["app_key_file"])  # so does an application key file that cannot be read
        signed_by = signer.probe()  # so does a signing key that cannot sign, or that nobody trusts
        backup_id, path = bf.allocate_backup_path(where["directory"], where["type"], where["when"], extension(
            engine, spec.get("format", "custom"), compression) + encryption.extension)
        tail = writer_stages(runner, compression, level, threads, encryption)
        started = time.monotonic()
        work_dir = tempfile.mkdtemp(prefix=bf.PARTIAL_PREFIX + "work-", dir=where["directory"])
        try:
            with bf.atomic_file(path, 0o600, uid, gid) as handle:
                sink = bf.HashingWriter(handle)
                content = engines.get(engine).dump(runner, spec, sink, work_dir, tail)
                duration = time.monotonic() - started
                meta = bf.build_metadata(backup_id, engine, spec["service"], where["type"], where["when"], duration,
                                         path, sink.size, sink.checksum, compression, content,
                                         extra={"compression_level": level, "verified": False,
                                                "encryption": encryption.method, "encryption_probe": probe})
                if spec.get("app_key_file"):
                    meta["app_key_fingerprint"] = bf.app_key_fingerprint(spec["app_key_file"])
                handle.flush()
                if spec.get("verify", True) and encryption.can_decrypt():
                    # Before the rename: a backup that cannot be read back is never published.
                    verify_archive(runner, handle.name, meta, encryption, shown_as=path)
                    meta["verified"] = True
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
        signer.sign(meta)  # the metadata as written, with the content's sha256: what the backup is
        bf.write_json_atomic(os.path.join(where["directory"], backup_id + bf.METADATA_SUFFIX), meta, 0o600, uid, gid)
        signer.record_newest(meta, uid, gid)  # outside the backup store: a later rollback of the store shows
    return {"signed_by": signed_by, "path": path, "metadata_path": bf.metadata_path_for(path), "backup_id": backup_id,
            "size_bytes": sink.size, "checksum": sink.checksum, "duration_seconds": meta["duration_seconds"],
            "type": where["type"], "tables": content.get("tables", {}), "metadata": bf.shown(meta),
            "executed_commands": runner.executed}


def verify_archive(runner, path, meta, encryption=None, shown_as=None):
    """Prove the file decrypts, decompresses and holds what its engine can read; raise naming the file."""
    engine = meta["engine"]
    try:
        head = reader_stages(runner, meta.get("compression", "none"), path, encryption)
        engines.get(engine).check_archive(runner, head, meta, path)
    except bf.LifeboatError as exc:
        raise bf.LifeboatError("backup %s is unreadable: %s" % (shown_as or path, exc))
