# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where offsite copies go: a mounted path, S3, Azure Blob, Google Cloud Storage.

Each provider moves bytes and nothing else: ``put_file`` (bounded memory,
whatever the size), ``put_bytes``, ``chunks`` (a streamed read), ``list``
(``{key: size}`` under a prefix), ``size``, ``delete`` (``LockedObject``
when retention forbids it), ``stored_checksum`` and ``describe`` (never
with credentials).

S3 uses boto3 (Debian: python3-boto3). Azure Blob and GCS speak their REST
APIs with the standard library only, so hosts need no SDK that their
distribution does not package (Debian has no google-cloud-storage, and its
Azure SDK bundle is over 500 MB).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import datetime
import hashlib
import hmac
import json
import os
import shutil
import time

# The standard library, not ansible.module_utils: lifeboat-backup runs this on hosts without Ansible.
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlencode, urlsplit
from urllib.request import Request, urlopen

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf


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
                yield from iter(lambda: handle.read(bf.CHUNK), b"")
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
            yield from body.iter_chunks(bf.CHUNK)
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


RETRY_STATUSES = (408, 429, 500, 502, 503, 504)


class HttpError(bf.LifeboatError):
    def __init__(self, message, status=None, code=None):
        super(HttpError, self).__init__(message)
        self.status = status
        self.code = code


def http(method, url, what, headers=None, body=None, retries=5, timeout=60, passing=(308,)):
    """One HTTP exchange, retried with exponential backoff on connection errors and transient statuses.

    Returns the open response; a status in ``passing`` is returned as a response too.
    """
    delay = 0.5
    for attempt in range(retries):
        try:
            return urlopen(Request(url, data=body, method=method, headers=headers or {}), timeout=timeout)
        except HTTPError as exc:
            if exc.code in passing:
                return exc
            detail = exc.read()[:400].decode("utf-8", "replace").strip()
            if exc.code in RETRY_STATUSES and attempt < retries - 1:
                time.sleep(delay)
                delay *= 2
                continue
            raise HttpError("%s failed: HTTP %d %s" % (what, exc.code, detail), status=exc.code,
                            code=exc.headers.get("x-ms-error-code") or detail)
        except (URLError, OSError) as exc:
            if attempt < retries - 1:
                time.sleep(delay)
                delay *= 2
                continue
            raise HttpError("%s failed: %s" % (what, getattr(exc, "reason", exc)))
    raise HttpError("%s failed after %d attempts" % (what, retries))


def _stream(response):
    """The body of an HTTP response in chunks; the response is closed however the reader stops."""
    try:
        yield from iter(lambda: response.read(bf.CHUNK), b"")
    finally:
        response.close()


def _read_blocks(path, size):
    with open(path, "rb") as handle:
        yield from iter(lambda: handle.read(size), b"")


def parse_connection_string(text):
    settings = {}
    for part in (text or "").split(";"):
        if "=" in part:
            name, value = part.split("=", 1)
            settings[name.strip()] = value.strip()
    return settings


class AzureBlobProvider:
    """Azure Blob Storage (and Azurite) over its REST API: Shared Key or SAS auth, block uploads."""

    name = "azure_blob"
    API_VERSION = "2021-12-02"

    def __init__(self, container, account_name=None, account_key=None, sas_token=None, connection_string=None,
                 endpoint_url=None, encryption_scope=None, block_mb=8, retries=5):
        settings = parse_connection_string(connection_string)
        self.account = account_name or settings.get("AccountName")
        self.key = account_key or settings.get("AccountKey")
        self.sas = (sas_token or settings.get("SharedAccessSignature") or "").lstrip("?")
        endpoint = endpoint_url or settings.get("BlobEndpoint")
        if not endpoint:
            if not self.account:
                raise bf.LifeboatError("azure_blob needs account_name, endpoint_url or a connection string")
            endpoint = "%s://%s.blob.%s" % (settings.get("DefaultEndpointsProtocol", "https"), self.account,
                                            settings.get("EndpointSuffix", "core.windows.net"))
        if not (self.key or self.sas):
            raise bf.LifeboatError("azure_blob needs account_key, sas_token, or a connection string with either")
        if self.key and not self.account:
            raise bf.LifeboatError("azure_blob needs account_name to sign with account_key")
        self.endpoint = endpoint.rstrip("/")
        self.container = container
        self.encryption_scope = encryption_scope
        self.block_size = block_mb * 1024 * 1024
        self.retries = retries
        self.timeout = 60

    def describe(self):
        return "%s/%s" % (self.endpoint, self.container)

    def _request(self, method, key, what, query=None, headers=None, body=None):
        query = dict(query or {})
        path = urlsplit(self.endpoint).path + "/" + self.container + ("/" + quote(key, safe="/") if key else "")
        url = self.endpoint[: len(self.endpoint) - len(urlsplit(self.endpoint).path)] + path
        query_text = urlencode(sorted(query.items()))
        if self.sas and not self.key:
            query_text = "&".join(part for part in (query_text, self.sas) if part)
        if query_text:
            url += "?" + query_text
        headers = dict(headers or {})
        headers["x-ms-version"] = self.API_VERSION
        headers["x-ms-date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")
        if self.encryption_scope and method == "PUT":
            headers["x-ms-encryption-scope"] = self.encryption_scope
        if body is not None:
            headers["Content-Length"] = str(len(body))
            headers.setdefault("Content-Type", "application/octet-stream")
        if self.key:
            headers["Authorization"] = "SharedKey %s:%s" % (self.account, self.signature(method, path, query, headers))
        return http(method, url, "%s %s in %s" % (what, key or "", self.describe()), headers, body, self.retries,
                    self.timeout)

    def signature(self, method, path, query, headers):
        """Shared Key signature of a request (the Blob service's string-to-sign, version 2015-02-21 and later)."""
        lower = dict((name.lower(), value) for name, value in headers.items())
        length = lower.get("content-length", "")
        fields = [method, lower.get("content-encoding", ""), lower.get("content-language", ""),
                  "" if length == "0" else length, lower.get("content-md5", ""), lower.get("content-type", ""), "",
                  lower.get("if-modified-since", ""), lower.get("if-match", ""), lower.get("if-none-match", ""),
                  lower.get("if-unmodified-since", ""), lower.get("range", "")]
        canonical_headers = "".join("%s:%s\n" % (name, lower[name].strip()) for name in sorted(lower)
                                    if name.startswith("x-ms-"))
        resource = "/%s%s" % (self.account, path) + "".join(
            "\n%s:%s" % (name.lower(), query[name]) for name in sorted(query, key=str.lower))
        to_sign = "\n".join(fields) + "\n" + canonical_headers + resource
        digest = hmac.new(base64.b64decode(self.key), to_sign.encode("utf-8"), hashlib.sha256).digest()
        return base64.b64encode(digest).decode("ascii")

    def put_file(self, key, local_path, checksum):
        ids = []
        for index, block in enumerate(_read_blocks(local_path, self.block_size)):
            block_id = base64.b64encode(("%032d" % index).encode("ascii")).decode("ascii")
            # Content-MD5: the service refuses a block that arrives different from what was sent.
            md5 = base64.b64encode(hashlib.md5(block).digest()).decode("ascii")
            self._request("PUT", key, "upload of a block of", {"comp": "block", "blockid": block_id}, body=block,
                          headers={"Content-MD5": md5}).close()
            ids.append(block_id)
        xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>%s</BlockList>" % "".join(
            "<Latest>%s</Latest>" % block_id for block_id in ids)
        self._request("PUT", key, "commit of", {"comp": "blocklist"}, body=xml.encode("utf-8"), headers={
            "Content-Type": "application/xml", "x-ms-meta-sha256": checksum.split(":", 1)[-1],
            "x-ms-blob-content-type": "application/octet-stream"}).close()

    def put_bytes(self, key, data):
        self._request("PUT", key, "upload of", body=data, headers={"x-ms-blob-type": "BlockBlob"}).close()

    def chunks(self, key):
        return _stream(self._request("GET", key, "download of"))

    def list(self, prefix):
        import xml.etree.ElementTree as ET
        found, marker = {}, None
        while True:
            query = {"restype": "container", "comp": "list", "prefix": prefix}
            if marker:
                query["marker"] = marker
            response = self._request("GET", None, "listing of %s in" % (prefix or "/"), query)
            root = ET.fromstring(response.read())
            response.close()
            for blob in root.iter("Blob"):
                found[blob.findtext("Name")] = int(blob.findtext("Properties/Content-Length") or 0)
            marker = root.findtext("NextMarker")
            if not marker:
                return found

    def _head(self, key):
        try:
            response = self._request("HEAD", key, "inspection of")
        except HttpError as exc:
            if exc.status == 404:
                return None
            raise
        response.close()
        return response.headers

    def size(self, key):
        headers = self._head(key)
        return int(headers["Content-Length"]) if headers is not None else None

    def stored_checksum(self, key):
        headers = self._head(key)
        value = headers.get("x-ms-meta-sha256") if headers is not None else None
        return "sha256:" + value if value else None

    def delete(self, key):
        try:
            self._request("DELETE", key, "delete of").close()
        except HttpError as exc:
            if exc.status == 404:
                return
            if exc.status == 409 and "Immutable" in (exc.code or ""):
                raise LockedObject("%s is under an immutability policy or legal hold (%s)" % (key, exc.code))
            raise


class GCSProvider:
    """Google Cloud Storage over its JSON API: resumable uploads in chunks, OAuth2 bearer tokens."""

    name = "gcs"
    SCOPE = "https://www.googleapis.com/auth/devstorage.read_write"

    def __init__(self, bucket, endpoint_url=None, access_token=None, credentials_file=None, chunk_mb=8, retries=5,
                 runner=None):
        self.bucket = bucket
        self.base = (endpoint_url or "https://storage.googleapis.com").rstrip("/")
        self.chunk_size = max(1, chunk_mb * 4) * 256 * 1024  # resumable chunks are multiples of 256 KiB
        self.retries = retries
        self.timeout = 60
        self.token = access_token
        if not self.token and credentials_file:
            self.token = service_account_token(credentials_file, runner, self.SCOPE, retries)
        if not self.token and not endpoint_url:
            raise bf.LifeboatError("gcs needs access_token or credentials_file (a service account key)")

    def describe(self):
        return "gs://%s%s" % (self.bucket, "" if self.base == "https://storage.googleapis.com" else " at " + self.base)

    def _request(self, method, url, what, headers=None, body=None, passing=(308,)):
        headers = dict(headers or {})
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        if body is not None:
            headers.setdefault("Content-Type", "application/octet-stream")
        return http(method, url, "%s in %s" % (what, self.describe()), headers, body, self.retries, self.timeout,
                    passing=passing)

    def _object_url(self, key, **query):
        url = "%s/storage/v1/b/%s/o/%s" % (self.base, quote(self.bucket, safe=""), quote(key, safe=""))
        return url + ("?" + urlencode(query) if query else "")

    def put_file(self, key, local_path, checksum):
        total = os.path.getsize(local_path)
        start = self._request("POST", "%s/upload/storage/v1/b/%s/o?%s" % (
            self.base, quote(self.bucket, safe=""), urlencode({"uploadType": "resumable", "name": key})),
            "start of the upload of %s" % key, headers={"Content-Type": "application/json; charset=UTF-8",
                                                        "X-Upload-Content-Length": str(total)},
            body=json.dumps({"name": key, "metadata": {"sha256": checksum.split(":", 1)[-1]}}).encode("utf-8"))
        session = start.headers["Location"]
        start.close()
        offset, md5 = 0, hashlib.md5()
        for block in _read_blocks(local_path, self.chunk_size):
            end = offset + len(block) - 1
            md5.update(block)
            self._request("PUT", session, "upload of %s" % key, body=block,
                          headers={"Content-Range": "bytes %d-%d/%d" % (offset, end, total)}).close()
            offset = end + 1
        if total == 0:
            self._request("PUT", session, "upload of %s" % key, body=b"",
                          headers={"Content-Range": "bytes */0"}).close()
        # The service computes the object's MD5 from what it stored: it must be what was read here.
        stored = (self._metadata(key) or {}).get("md5Hash")
        sent = base64.b64encode(md5.digest()).decode("ascii")
        if stored and stored != sent:
            raise bf.LifeboatError("upload of %s to %s arrived damaged: the store computed MD5 %s, %s was sent" % (
                key, self.describe(), stored, sent))

    def put_bytes(self, key, data):
        self._request("POST", "%s/upload/storage/v1/b/%s/o?%s" % (
            self.base, quote(self.bucket, safe=""), urlencode({"uploadType": "media", "name": key})),
            "upload of %s" % key, body=data).close()

    def chunks(self, key):
        return _stream(self._request("GET", self._object_url(key, alt="media"), "download of %s" % key))

    def list(self, prefix):
        found, token = {}, None
        while True:
            query = {"prefix": prefix}
            if token:
                query["pageToken"] = token
            response = self._request("GET", "%s/storage/v1/b/%s/o?%s" % (
                self.base, quote(self.bucket, safe=""), urlencode(query)), "listing of %s" % (prefix or "/"))
            page = json.loads(response.read().decode("utf-8"))
            response.close()
            for item in page.get("items", []):
                found[item["name"]] = int(item.get("size", 0))
            token = page.get("nextPageToken")
            if not token:
                return found

    def _metadata(self, key):
        try:
            response = self._request("GET", self._object_url(key), "inspection of %s" % key)
        except HttpError as exc:
            if exc.status == 404:
                return None
            raise
        doc = json.loads(response.read().decode("utf-8"))
        response.close()
        return doc

    def size(self, key):
        doc = self._metadata(key)
        return int(doc["size"]) if doc is not None else None

    def stored_checksum(self, key):
        doc = self._metadata(key) or {}
        value = (doc.get("metadata") or {}).get("sha256")
        return "sha256:" + value if value else None

    def delete(self, key):
        try:
            self._request("DELETE", self._object_url(key), "delete of %s" % key).close()
        except HttpError as exc:
            if exc.status == 404:
                return
            if exc.status == 403 and ("retention" in str(exc).lower() or "hold" in str(exc).lower()):
                raise LockedObject("%s is under a retention policy or hold: %s" % (key, exc))
            raise


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def service_account_jwt(info, scope, runner, now=None):
    """A signed JWT asserting the service account in ``info``; the key is signed by openssl from a 0600 file."""
    import tempfile
    now = int(now if now is not None else time.time())
    header = _b64url(json.dumps({"alg": "RS256", "typ": "JWT"}).encode("utf-8"))
    claims = _b64url(json.dumps({"iss": info["client_email"], "scope": scope, "aud": info["token_uri"],
                                 "iat": now, "exp": now + 3600}).encode("utf-8"))
    signing_input = header + b"." + claims
    directory = tempfile.mkdtemp(prefix="lifeboat-gcs-")
    try:
        key_path = os.path.join(directory, "key.pem")
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(info["private_key"])
        signature = runner.run([runner.binary("openssl"), "dgst", "-sha256", "-sign", key_path],
                               input_bytes=signing_input)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return (signing_input + b"." + _b64url(signature)).decode("ascii")


def service_account_token(credentials_file, runner, scope, retries=5):
    from ansible_collections.lifeboat.dr.plugins.module_utils.process import Runner
    try:
        with open(credentials_file) as handle:
            info = json.load(handle)
    except (OSError, ValueError) as exc:
        raise bf.LifeboatError("cannot read the GCS credentials file %s: %s" % (credentials_file, exc))
    if info.get("type") != "service_account":
        raise bf.LifeboatError("GCS credentials file %s is not a service account key" % credentials_file)
    assertion = service_account_jwt(info, scope, runner or Runner())
    body = urlencode({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion})
    response = http("POST", info["token_uri"], "token request for %s" % info["client_email"],
                    {"Content-Type": "application/x-www-form-urlencoded"}, body.encode("ascii"), retries)
    token = json.loads(response.read().decode("utf-8"))["access_token"]
    response.close()
    return token
