# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Google Cloud Storage (and gcp-storage-emulator) through google-cloud-storage and google-auth.

Credentials, the first that applies: the ``access_token`` option; the
``credentials_file`` option (a service-account key, or any credentials file
google-auth reads); anonymous with ``anonymous: true``, or when an
``endpoint_url`` (an emulator) is given without any credentials; else
application default credentials (``GOOGLE_APPLICATION_CREDENTIALS``, a gcloud
login, the metadata server of a Compute Engine or GKE host).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import contextlib
import os

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf
from ansible_collections.lifeboat.dr.plugins.module_utils.offsite import base

SCOPE = "https://www.googleapis.com/auth/devstorage.read_write"
PUBLIC_ENDPOINT = "https://storage.googleapis.com"
# Resumable upload chunks must be multiples of 256 KiB.
CHUNK_UNIT = 256 * 1024


def select_credentials(params, environ=None):
    """``(kind, origin)``: ``access_token``, ``credentials_file``, ``anonymous`` or ``default`` (google-auth's
    application default credentials), and the option or variable that decided it."""
    environ = os.environ if environ is None else environ
    for option in ("access_token", "credentials_file"):
        if params.get(option):
            return option, option
    if params.get("anonymous"):
        return "anonymous", "anonymous"
    if params.get("anonymous") is None and params.get("endpoint_url") \
            and not environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
        return "anonymous", "endpoint_url without credentials"
    if environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
        return "default", "GOOGLE_APPLICATION_CREDENTIALS"
    return "default", "application default credentials"


class GCSProvider(base.PropertiesProvider):
    """Resumable uploads in chunks of ``chunk_mb`` (one chunk in memory whatever the size); the MD5 the store
    computed over what it received must equal the MD5 of the bytes read. google-api-core retries with backoff."""

    name = "gcs"
    PYTHON_REQUIREMENTS = ("google-auth>=2.23,<3", "google-cloud-storage>=2.14,<4")
    REQUIRED_PARAMS = ("bucket",)

    def __init__(self, bucket, endpoint_url=None, access_token=None, credentials_file=None, anonymous=None,
                 chunk_mb=8, retries=5, timeout=60, environ=None):
        self.bucket_name = bucket
        self.endpoint = (endpoint_url or PUBLIC_ENDPOINT).rstrip("/")
        self.access_token = access_token
        self.credentials_file = credentials_file
        self.auth, self.auth_origin = select_credentials(dict(
            access_token=access_token, credentials_file=credentials_file, anonymous=anonymous,
            endpoint_url=endpoint_url), environ)
        self.chunk_size = max(1, chunk_mb * 4) * CHUNK_UNIT
        self.retries = retries
        self.timeout = timeout
        self._bucket = None

    @classmethod
    def from_params(cls, params):
        return cls(params["bucket"], endpoint_url=params.get("endpoint_url"), access_token=params.get("access_token"),
                   credentials_file=params.get("credentials_file"), anonymous=params.get("anonymous"),
                   chunk_mb=params.get("multipart_mb") or 16)

    def describe(self):
        return "gs://%s%s" % (self.bucket_name, "" if self.endpoint == PUBLIC_ENDPOINT else " at " + self.endpoint)

    @property
    def bucket(self):
        """The library's bucket handle, made on first use (describe() and the host tooling need no library)."""
        if self._bucket is None:
            try:
                from google.cloud import storage
            except ImportError as exc:
                raise base.sdk_missing(self, exc)
            options = {"api_endpoint": self.endpoint} if self.endpoint != PUBLIC_ENDPOINT else None
            # project=None: objects need none, and looking one up would ask the metadata server.
            client = storage.Client(project=None, credentials=self._credentials(), client_options=options)
            self._bucket = client.bucket(self.bucket_name)
        return self._bucket

    def _credentials(self):
        import google.auth
        from google.auth.exceptions import GoogleAuthError
        try:
            if self.auth == "access_token":
                from google.oauth2.credentials import Credentials
                return Credentials(self.access_token)
            if self.auth == "credentials_file":
                return google.auth.load_credentials_from_file(self.credentials_file, scopes=[SCOPE])[0]
            if self.auth == "anonymous":
                from google.auth.credentials import AnonymousCredentials
                return AnonymousCredentials()
            return google.auth.default(scopes=[SCOPE])[0]
        except GoogleAuthError as exc:
            raise bf.LifeboatError("gcs credentials (%s) for %s are not usable: %s" % (
                self.auth_origin, self.describe(), base.scrub(str(exc), [self.access_token])))

    @property
    def retry(self):
        """google-api-core's retry for storage calls: backoff as the other providers, a deadline for all attempts."""
        from google.cloud.storage.retry import DEFAULT_RETRY
        return DEFAULT_RETRY.with_delay(initial=base.BACKOFF_INITIAL, multiplier=base.BACKOFF_FACTOR,
                                        maximum=30).with_timeout(self.retries * (self.timeout + 2))

    @contextlib.contextmanager
    def _errors(self, what, key):
        """The library's errors, once its retries are spent, as one ``LifeboatError`` naming the object and store."""
        import requests
        from google.api_core.exceptions import GoogleAPICallError, RetryError
        from google.auth.exceptions import GoogleAuthError
        try:
            yield
        except GoogleAPICallError as exc:
            raise self.failure(what, key, "HTTP %s %s" % (exc.code, exc.message), [self.access_token])
        except (RetryError, GoogleAuthError, requests.RequestException) as exc:
            raise self.failure(what, key, exc, [self.access_token])

    def put_file(self, key, local_path, checksum):
        blob = self.bucket.blob(key, chunk_size=self.chunk_size)
        blob.metadata = {"sha256": base.sha256_hex(checksum)}
        with open(local_path, "rb") as handle, self._errors("upload of", key):
            read = base.HashingReader(handle)
            # checksum=None: the comparison below covers it, and emulators need not return a CRC32C.
            blob.upload_from_file(read, size=None, content_type="application/octet-stream",
                                  checksum=None, retry=self.retry, timeout=self.timeout)
        sent = base64.b64encode(read.md5.digest()).decode("ascii")
        if blob.md5_hash and blob.md5_hash != sent:
            raise bf.LifeboatError("upload of %s to %s arrived damaged: the store computed MD5 %s, %s was sent" % (
                key, self.describe(), blob.md5_hash, sent))

    def put_bytes(self, key, data):
        with self._errors("upload of", key):
            self.bucket.blob(key).upload_from_string(data, content_type="application/json", checksum=None,
                                                     retry=self.retry, timeout=self.timeout)

    def chunks(self, key):
        from google.api_core.exceptions import NotFound
        with self._errors("download of", key):
            try:
                with self.bucket.blob(key).open("rb", chunk_size=bf.CHUNK * 4, retry=self.retry,
                                                timeout=self.timeout) as reader:
                    yield from iter(lambda: reader.read(bf.CHUNK), b"")
            except NotFound:
                raise bf.LifeboatError("offsite object %s is missing in %s" % (key, self.describe()))

    def list(self, prefix):
        with self._errors("listing of", prefix):
            return dict((blob.name, blob.size) for blob in self.bucket.list_blobs(
                prefix=prefix or None, retry=self.retry, timeout=self.timeout))

    def properties(self, key):
        with self._errors("inspection of", key):
            return self.bucket.get_blob(key, retry=self.retry, timeout=self.timeout)

    def delete(self, key):
        from google.api_core.exceptions import Forbidden, NotFound
        with self._errors("delete of", key):
            try:
                self.bucket.delete_blob(key, retry=self.retry, timeout=self.timeout)
            except NotFound:
                return
            except Forbidden as exc:
                if "retention" in str(exc).lower() or "hold" in str(exc).lower():
                    raise base.LockedObject("%s is under a retention policy or hold: %s" % (key, exc.message))
                raise


PROVIDER = GCSProvider
