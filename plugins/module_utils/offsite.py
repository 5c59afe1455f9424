# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offsite copies of a backup repository: push, pull, list, verify, prune.

The remote mirrors the local layout under an optional prefix:
``<prefix>/<service>/<type>/<backup file>`` and its ``.metadata.json``.
The metadata object is written last and deleted first, so a backup is
listed as complete remotely only once its data object is whole; a data
object without metadata is reported as incomplete and never pulled.

Providers only move bytes (``filesystem``, ``s3``); every guarantee lives
in the functions below, the same for all of them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import contextlib
import datetime
import shutil

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf
from ansible_collections.lifeboat.dr.plugins.module_utils import rotation
from ansible_collections.lifeboat.dr.plugins.module_utils.locking import service_lock


class LockedObject(bf.LifeboatError):
    """The store refused a delete because the object is under retention (S3 Object Lock)."""


class FilesystemProvider:
    """A mounted path (NFS, a second disk): files written under a temporary name, fsynced, renamed."""

    name = "filesystem"

    def __init__(self, root):
        if not root or not os.path.isdir(root):
            raise bf.LifeboatError("offsite path %s does not exist or is not a directory (is it mounted?)" % root)
        self.root = root

    def describe(self):
        return self.root

    def _path(self, key):
        return os.path.join(self.root, *key.split("/"))

    def put_file(self, key, local_path, checksum):
        target = self._path(key)
        bf.ensure_dir(os.path.dirname(target), 0o700)
        with bf.atomic_file(target, 0o600) as handle, open(local_path, "rb") as source:
            shutil.copyfileobj(source, handle, bf.CHUNK)

    def put_bytes(self, key, data):
        target = self._path(key)
        bf.ensure_dir(os.path.dirname(target), 0o700)
        with bf.atomic_file(target, 0o600) as handle:
            handle.write(data)

    def chunks(self, key):
        try:
            with open(self._path(key), "rb") as handle:
                for chunk in iter(lambda: handle.read(bf.CHUNK), b""):
                    yield chunk
        except FileNotFoundError:
            raise bf.LifeboatError("offsite object %s is missing" % key)

    def list(self, prefix):
        """``{key: size}`` of every object under ``prefix``."""
        found = {}
        base = self._path(prefix) if prefix else self.root
        for top, _dirs, files in os.walk(base):
            for name in files:
                if name.startswith("."):
                    continue  # temporary files of a write in progress
                full = os.path.join(top, name)
                found[os.path.relpath(full, self.root).replace(os.sep, "/")] = os.path.getsize(full)
        return found

    def size(self, key):
        try:
            return os.path.getsize(self._path(key))
        except FileNotFoundError:
            return None

    def delete(self, key):
        try:
            os.unlink(self._path(key))
        except FileNotFoundError:
            pass

    def stored_checksum(self, key):
        return None  # a plain file carries no checksum: verify streams it


class S3Provider:
    """S3 and S3-compatible stores (MinIO, Backblaze B2, Wasabi) through boto3.

    Uploads are multipart above ``multipart_mb`` with ``concurrency`` parts in
    flight, so memory stays near ``multipart_mb * concurrency`` whatever the
    file size; botocore retries transient errors with backoff. The sha256 of
    each backup travels as object metadata (``x-amz-meta-sha256``).
    """

    name = "s3"

    def __init__(self, bucket, endpoint_url=None, region=None, access_key=None, secret_key=None,
                 session_token=None, profile=None, sse=None, kms_key_id=None, object_lock_mode=None,
                 object_lock_days=0, storage_class=None, multipart_mb=16, concurrency=4, retries=5):
        try:
            import boto3
            from boto3.s3.transfer import TransferConfig
            from botocore.config import Config
        except ImportError:
            raise bf.LifeboatError("the s3 provider needs boto3 on the host (Debian: python3-boto3)")
        session = boto3.session.Session(profile_name=profile) if profile else boto3.session.Session()
        self.client = session.client(
            "s3", endpoint_url=endpoint_url or None, region_name=region or None, aws_access_key_id=access_key or None,
            aws_secret_access_key=secret_key or None, aws_session_token=session_token or None,
            config=Config(retries={"max_attempts": retries, "mode": "standard"}, connect_timeout=10, read_timeout=60))
        part = multipart_mb * 1024 * 1024
        self.transfer = TransferConfig(multipart_threshold=part, multipart_chunksize=part, max_concurrency=concurrency,
                                       use_threads=concurrency > 1)
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        self.extra = {}
        if sse:
            self.extra["ServerSideEncryption"] = sse
        if kms_key_id:
            self.extra["SSEKMSKeyId"] = kms_key_id
        if storage_class:
            self.extra["StorageClass"] = storage_class
        self.object_lock_mode = object_lock_mode
        self.object_lock_days = object_lock_days

    def describe(self):
        return "s3://%s%s" % (self.bucket, " at %s" % self.endpoint_url if self.endpoint_url else "")

    def _call(self, what, key, function, *args, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError
        missing_ok = kwargs.pop("missing_ok", False)
        try:
            return function(*args, **kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if missing_ok and error.get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise bf.LifeboatError("%s %s in %s failed: %s %s" % (what, key, self.describe(), error.get("Code"),
                                                                  error.get("Message", "")))
        except BotoCoreError as exc:
            raise bf.LifeboatError("%s %s in %s failed: %s" % (what, key, self.describe(), exc))

    def _extra(self, checksum=None):
        extra = dict(self.extra)
        if checksum:
            extra["Metadata"] = {"sha256": checksum.split(":", 1)[-1]}
        if self.object_lock_mode and self.object_lock_days:
            extra["ObjectLockMode"] = self.object_lock_mode
            extra["ObjectLockRetainUntilDate"] = (datetime.datetime.now(datetime.timezone.utc)
                                                  + datetime.timedelta(days=self.object_lock_days))
        return extra

    def put_file(self, key, local_path, checksum):
        self._call("upload of", key, self.client.upload_file, local_path, self.bucket, key,
                   ExtraArgs=self._extra(checksum), Config=self.transfer)

    def put_bytes(self, key, data):
        self._call("upload of", key, self.client.put_object, Bucket=self.bucket, Key=key, Body=data, **self._extra())

    def chunks(self, key):
        body = self._call("download of", key, self.client.get_object, Bucket=self.bucket, Key=key)["Body"]
        try:
            for chunk in body.iter_chunks(bf.CHUNK):
                yield chunk
        finally:
            body.close()

    def list(self, prefix):
        found = {}
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        for page in self._call("listing of", prefix or "/", list, pages):
            for item in page.get("Contents", []):
                found[item["Key"]] = item["Size"]
        return found

    def delete(self, key):
        if self.object_lock_mode:
            head = self._call("inspection of", key, self.client.head_object, Bucket=self.bucket, Key=key)
            until = head.get("ObjectLockRetainUntilDate")
            if until and until > datetime.datetime.now(datetime.timezone.utc):
                raise LockedObject("%s is locked (%s) until %s" % (key, head.get("ObjectLockMode"), until.isoformat()))
        self._call("delete of", key, self.client.delete_object, Bucket=self.bucket, Key=key)

    def size(self, key):
        head = self._call("inspection of", key, self.client.head_object, Bucket=self.bucket, Key=key, missing_ok=True)
        return head["ContentLength"] if head else None

    def stored_checksum(self, key):
        head = self._call("inspection of", key, self.client.head_object, Bucket=self.bucket, Key=key)
        value = head.get("Metadata", {}).get("sha256")
        return "sha256:" + value if value else None


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


def verify(provider, prefix, service, deep=True):
    """Check every remote backup of ``service`` against its metadata; return ok and problem lists."""
    backups, incomplete = remote_backups(provider, prefix, service)
    ok, problems = [], [dict(item, problem=item["reason"]) for item in incomplete]
    for entry in backups:
        meta = entry["metadata"]
        problem = None
        if entry["size"] != meta.get("size_bytes"):
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


def pull(provider, prefix, service, root, select="latest", check_mode=False):
    """Fetch the selected remote backup of ``service`` into the local repository ``root``, checksum-verified."""
    backups, _incomplete = remote_backups(provider, prefix, service)
    if not backups:
        raise bf.LifeboatError("no complete offsite backup of %s at %s" % (service, provider.describe()))
    entry, reason = bf.select_backup(backups, select)
    meta = entry["metadata"]
    directory = bf.backup_dir(root, service, entry["type"])
    local = os.path.join(directory, entry["path"].rsplit("/", 1)[-1])
    result = {"remote": entry["path"], "path": local, "backup_id": entry["backup_id"], "selected_because": reason,
              "checksum": meta["checksum"], "size_bytes": meta["size_bytes"]}
    if os.path.exists(local) and os.path.exists(bf.metadata_path_for(local)):
        if bf.sha256_file(local) == meta["checksum"]:
            return dict(result, changed=False)
    if check_mode:
        return dict(result, changed=True)
    bf.ensure_dir(bf.service_dir(root, service), 0o700)
    bf.ensure_dir(directory, 0o700)
    with bf.atomic_file(local, 0o600) as handle:
        sink = bf.HashingWriter(handle)
        for chunk in provider.chunks(entry["path"]):
            sink.write(chunk)
        if sink.checksum != meta["checksum"] or sink.size != meta["size_bytes"]:
            # Raising inside atomic_file removes the partial file: nothing corrupt lands locally.
            raise bf.LifeboatError("offsite backup %s is corrupt: %d bytes with %s, its metadata records %d bytes "
                                   "with %s; nothing was written locally" % (entry["path"], sink.size, sink.checksum,
                                                                             meta["size_bytes"], meta["checksum"]))
    bf.write_json_atomic(bf.metadata_path_for(local), meta, 0o600)
    return dict(result, changed=True)


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


PROVIDERS = ("s3", "filesystem")
ACTIONS = ("push", "pull", "list", "verify", "prune")


def provider_from_params(params):
    if params["provider"] == "filesystem":
        return FilesystemProvider(params["path"])
    return S3Provider(params["bucket"], endpoint_url=params.get("endpoint_url"), region=params.get("region"),
                      access_key=params.get("access_key"), secret_key=params.get("secret_key"),
                      session_token=params.get("session_token"), profile=params.get("profile"),
                      sse=params.get("sse"), kms_key_id=params.get("kms_key_id"),
                      object_lock_mode=params.get("object_lock_mode"),
                      object_lock_days=params.get("object_lock_days") or 0,
                      storage_class=params.get("storage_class"), multipart_mb=params.get("multipart_mb") or 16,
                      concurrency=params.get("concurrency") or 4)


def run(action, provider, params, check_mode=False):
    """Carry out ``action`` for ``params["service"]`` (or every service); return the module result."""
    root, prefix = params["backup_root"], params.get("prefix") or ""
    if action == "pull":
        with service_lock(root, params["service"], params.get("lock_timeout", 60)) if os.path.isdir(
                bf.service_dir(root, params["service"])) else contextlib.nullcontext():
            return pull(provider, prefix, params["service"], root, params.get("select") or "latest", check_mode)
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
            results[service] = verify(provider, prefix, service, deep=params.get("deep", True))
        else:
            results[service] = prune(provider, prefix, service, params["policy"], check_mode)
    changed = any(result.get("changed") for result in results.values())
    return {"changed": changed, "services": results, "target": provider.describe()}


def _listed(entry):
    meta = entry["metadata"]
    return {"key": entry["path"], "backup_id": entry["backup_id"], "type": entry["type"], "size_bytes": entry["size"],
            "timestamp": meta.get("timestamp"), "checksum": meta.get("checksum"), "verified": meta.get("verified")}
