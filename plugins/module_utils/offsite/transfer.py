# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offsite copies of a backup repository: push, pull, list, verify, prune.

The remote mirrors the local layout under an optional prefix:
``<prefix>/<service>/<type>/<backup file>`` and its ``.metadata.json``.
The metadata object is written last and deleted first, so a backup is
listed as complete remotely only once its data object is whole; a data
object without metadata is reported as incomplete and never pulled.

Providers (one module each in this package, see ``base.py``) only move
bytes; every guarantee lives in the functions below, the same for all of them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import contextlib
import time

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf
from ansible_collections.lifeboat.dr.plugins.module_utils import rotation
from ansible_collections.lifeboat.dr.plugins.module_utils import signing
from ansible_collections.lifeboat.dr.plugins.module_utils.locking import owner_of, service_lock
from ansible_collections.lifeboat.dr.plugins.module_utils.offsite.base import LockedObject
from ansible_collections.lifeboat.dr.plugins.module_utils.process import Runner


def remote_key(prefix, service, backup_type, name):
    return "/".join(part for part in (prefix.strip("/") if prefix else "", service, backup_type, name) if part)


def get_bytes(provider, key):
    return b"".join(provider.chunks(key))


def remote_backups(provider, prefix, service):
    """Complete remote backups of ``service`` (data + readable metadata), newest first, and incomplete keys."""
    base = remote_key(prefix, service, "", "") + "/"
    objects = provider.list(base)
    found, incomplete = [], []
    for key, size in sorted(objects.items()):
        parsed = bf.parse_backup_name(key.rsplit("/", 1)[-1])
        if parsed is None:
            continue
        meta_key = bf.metadata_path_for(key)
        if meta_key not in objects:
            incomplete.append({"path": key, "reason": "no metadata object (upload never finished)"})
            continue
        try:
            meta = json.loads(get_bytes(provider, meta_key).decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            incomplete.append({"path": key, "reason": "metadata object unreadable: %s" % exc})
            continue
        found.append(dict(parsed, path=key, metadata_key=meta_key, size=size, metadata=meta))
    found.sort(key=lambda item: (item["timestamp"], item["seq"]), reverse=True)
    return found, incomplete


def remote_services(provider, prefix):
    """Service names that have objects under ``prefix``."""
    base = prefix.strip("/") + "/" if prefix and prefix.strip("/") else ""
    return sorted(set(key[len(base):].split("/", 1)[0] for key in provider.list(base) if "/" in key[len(base):]))


def local_services(root):
    try:
        return sorted(name for name in os.listdir(root) if os.path.isdir(os.path.join(root, name))
                      and not name.startswith("."))
    except FileNotFoundError:
        return []


def _local_key(prefix, root, entry):
    rel = os.path.relpath(entry["path"], root).replace(os.sep, "/")
    return remote_key(prefix, "", "", rel)


def push(provider, root, service, prefix="", check_mode=False):
    """Upload every complete local backup of ``service`` not yet offsite with the same checksum."""
    local, _incomplete = bf.list_backups(root, service)
    remote = dict((entry["path"], entry) for entry in remote_backups(provider, prefix, service)[0])
    pushed, present = [], []
    for entry in sorted(local, key=lambda item: (item["timestamp"], item["seq"])):
        key = _local_key(prefix, root, entry)
        meta = entry["metadata"]
        there = remote.get(key)
        if there and there["metadata"].get("checksum") == meta["checksum"] and there["size"] == meta["size_bytes"]:
            present.append(key)
            continue
        pushed.append(key)
        if check_mode:
            continue
        provider.put_file(key, entry["path"], meta["checksum"])
        size = provider.size(key)
        if size != meta["size_bytes"]:
            raise bf.LifeboatError("offsite object %s has %s bytes after upload, the backup has %d; metadata not "
                                   "written, the copy is not listed as complete" % (key, size, meta["size_bytes"]))
        # The metadata object last: only now is the remote copy complete.
        provider.put_bytes(bf.metadata_path_for(key), json.dumps(meta, indent=2, sort_keys=True).encode("utf-8"))
    return {"pushed": pushed, "present": present, "changed": bool(pushed)}


def stream_checksum(provider, key):
    digest, size = hashlib.sha256(), 0
    for chunk in provider.chunks(key):
        digest.update(chunk)
        size += len(chunk)
    return "sha256:" + digest.hexdigest(), size


def _signature_problem(signer, entry, service):
    if signer is None or not signer.verifies:
        return None
    try:
        signer.verify(entry["metadata"], entry["backup_id"], service, shown_as="offsite " + entry["path"])
    except bf.LifeboatError as exc:
        return str(exc)
    return None


def verify(provider, prefix, service, deep=True, signer=None):
    """Check every remote backup of ``service`` against its metadata (and its signature); return ok and problems."""
    backups, incomplete = remote_backups(provider, prefix, service)
    ok, problems = [], [dict(item, problem=item["reason"]) for item in incomplete]
    for entry in backups:
        meta = entry["metadata"]
        problem = _signature_problem(signer, entry, service)
        if problem:
            pass  # a forged or unsigned copy: its checksums prove nothing
        elif entry["size"] != meta.get("size_bytes"):
            problem = "size %d, metadata says %s" % (entry["size"], meta.get("size_bytes"))
        else:
            stored = provider.stored_checksum(entry["path"])
            if stored and stored != meta.get("checksum"):
                problem = "stored checksum %s, metadata says %s" % (stored, meta.get("checksum"))
            elif deep or not stored:
                actual, _size = stream_checksum(provider, entry["path"])
                if actual != meta.get("checksum"):
                    problem = "content checksum %s, metadata says %s" % (actual, meta.get("checksum"))
        if problem:
            problems.append({"path": entry["path"], "problem": problem})
        else:
            ok.append(entry["path"])
    return {"ok": ok, "problems": problems}


def authenticate(signer, entry, service, select="latest"):
    """The signature of a remote backup and its identity (and, for ``latest``, no rollback), before it is fetched."""
    if signer is None:
        return {"signature": "not checked", "signed": False, "warnings": []}
    verdict = signer.verify(entry["metadata"], entry["backup_id"], service, shown_as="offsite " + entry["path"])
    if (select or "latest") == "latest":
        signer.check_not_rolled_back(service, entry["backup_id"])
    return verdict


# A download that breaks off mid-object (the store restarts, the network drops) is started again this many
# times, after these pauses; the SDKs retry failed requests, not a body that stops arriving.
DOWNLOAD_ATTEMPTS = 3
DOWNLOAD_PAUSES = (1, 3)


def download(provider, key, local, meta, uid=None, gid=None, pause=time.sleep):
    """Fetch ``key`` into ``local`` (atomically, mode 0600), checked against the metadata's size and sha256; a
    transfer that breaks off is tried again from the start, up to DOWNLOAD_ATTEMPTS times, then fails naming the
    object. Nothing partial or corrupt is ever left at ``local``."""
    for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
        received = 0
        try:
            with bf.atomic_file(local, 0o600, uid, gid) as handle:
                sink = bf.HashingWriter(handle)
                for chunk in provider.chunks(key):
                    sink.write(chunk)
                    received += len(chunk)
                if sink.checksum != meta["checksum"] or sink.size != meta["size_bytes"]:
                    # Raising inside atomic_file removes the partial file: nothing corrupt lands locally.
                    raise bf.LifeboatError("offsite backup %s is corrupt: %d bytes with %s, its metadata records %d "
                                           "bytes with %s; nothing was written locally" % (
                                               key, sink.size, sink.checksum, meta["size_bytes"], meta["checksum"]))
            return attempt
        except (bf.LifeboatError, TypeError, AttributeError, KeyError, NameError):
            raise  # a corrupt object, or a mistake in the code: trying again changes nothing
        except Exception as exc:  # the SDKs' and the network's own errors while the body streams
            if attempt == DOWNLOAD_ATTEMPTS:
                raise bf.LifeboatError("download of offsite backup %s from %s broke off %d times (the last after %d of "
                                       "%d bytes: %s: %s); nothing was written locally" % (
                                           key, provider.describe(), attempt, received, meta["size_bytes"],
                                           type(exc).__name__, exc))
            pause(DOWNLOAD_PAUSES[min(attempt, len(DOWNLOAD_PAUSES)) - 1])


def pull(provider, prefix, service, root, select="latest", check_mode=False, signer=None):
    """Fetch the selected remote backup of ``service`` into the local repository ``root``, checksum-verified.

    With ``signer`` (signing.Signing), the backup's signature is checked before a byte of it is fetched.
    """
    backups, _incomplete = remote_backups(provider, prefix, service)
    if not backups:
        raise bf.LifeboatError("no complete offsite backup of %s at %s" % (service, provider.describe()))
    entry, reason = bf.select_backup(backups, select)
    meta = entry["metadata"]
    verdict = authenticate(signer, entry, service, select)
    directory = bf.backup_dir(root, service, entry["type"])
    local = os.path.join(directory, entry["path"].rsplit("/", 1)[-1])
    result = {"remote": entry["path"], "path": local, "backup_id": entry["backup_id"], "selected_because": reason,
              "checksum": meta["checksum"], "size_bytes": meta["size_bytes"], "signature": verdict["signature"],
              "warnings": verdict["warnings"]}
    if os.path.exists(local) and os.path.exists(bf.metadata_path_for(local)):
        if bf.sha256_file(local) == meta["checksum"]:
            return dict(result, changed=False)
    if check_mode:
        return dict(result, changed=True)
    # Pulled files belong to whoever owns the repository (the agent user), not to the root running the pull.
    uid, gid = owner_of(root)
    bf.ensure_dir(bf.service_dir(root, service), 0o700, uid, gid)
    bf.ensure_dir(directory, 0o700, uid, gid)
    attempts = download(provider, entry["path"], local, meta, uid, gid)
    bf.write_json_atomic(bf.metadata_path_for(local), meta, 0o600, uid, gid)
    return dict(result, changed=True, attempts=attempts)


def prune(provider, prefix, service, policy, check_mode=False):
    """Apply the GFS ``policy`` to the remote backups of ``service``; locked objects are reported."""
    backups, incomplete = remote_backups(provider, prefix, service)
    kept, deleted = rotation.plan(backups, policy)
    by_key = dict((entry["path"], entry) for entry in backups)
    locked = []
    if not check_mode:
        for item in deleted:
            entry = by_key[item["path"]]
            try:
                # Data first: a locked object stays whole, and metadata alone is never listed.
                provider.delete(entry["path"])
                provider.delete(entry["metadata_key"])
            except LockedObject as exc:
                locked.append({"path": entry["path"], "reason": str(exc)})
    gone = [item for item in deleted if item["path"] not in set(lock["path"] for lock in locked)]
    return {"kept": kept, "deleted": gone, "locked": locked,
            "incomplete": [dict(path=i["path"], reason="not deleted: %s" % i["reason"]) for i in incomplete],
            "changed": bool(gone)}


ACTIONS = ("push", "pull", "list", "verify", "prune")


def run(action, provider, params, check_mode=False):
    """Carry out ``action`` for ``params["service"]`` (or every service); return the module result."""
    root, prefix = params["backup_root"], params.get("prefix") or ""
    with signing.from_spec(params.get("runner") or Runner(), params) as signer:
        return _run(action, provider, params, check_mode, root, prefix, signer)


def _run(action, provider, params, check_mode, root, prefix, signer):
    if action == "pull":
        with service_lock(root, params["service"], params.get("lock_timeout", 60)) if os.path.isdir(
                bf.service_dir(root, params["service"])) else contextlib.nullcontext():
            return pull(provider, prefix, params["service"], root, params.get("select") or "latest", check_mode,
                        signer=signer)
    if params.get("service"):
        services = [params["service"]]
    elif action == "push":
        services = local_services(root)
    else:
        services = remote_services(provider, prefix)
    results = {}
    for service in services:
        if action == "push":
            # The local lock keeps rotation from deleting a file while it uploads.
            with service_lock(root, service, params.get("lock_timeout", 60)):
                results[service] = push(provider, root, service, prefix, check_mode)
        elif action == "list":
            backups, incomplete = remote_backups(provider, prefix, service)
            results[service] = {"backups": [_listed(entry) for entry in backups], "incomplete": incomplete}
        elif action == "verify":
            results[service] = verify(provider, prefix, service, deep=params.get("deep", True), signer=signer)
        else:
            results[service] = prune(provider, prefix, service, params["policy"], check_mode)
    changed = any(result.get("changed") for result in results.values())
    return {"changed": changed, "services": results, "target": provider.describe()}


def _listed(entry):
    meta = entry["metadata"]
    return {"key": entry["path"], "backup_id": entry["backup_id"], "type": entry["type"], "size_bytes": entry["size"],
            "timestamp": meta.get("timestamp"), "checksum": meta.get("checksum"), "verified": meta.get("verified"),
            "signed": bool(meta.get(signing.FIELD)),
            # What a rebuild checks before restoring: the server version the backup needs at least, and the
            # fingerprint of the application key the data was written with.
            "server_version": ((meta.get("content") or {}).get("database") or {}).get("server_version"),
            "app_key_fingerprint": meta.get("app_key_fingerprint")}
