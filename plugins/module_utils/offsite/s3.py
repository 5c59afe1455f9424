# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""S3 and S3-compatible stores (MinIO, Backblaze B2, Wasabi) through boto3.

Credentials: ``access_key``/``secret_key``/``session_token`` or ``profile`` when
given, else boto3's own chain (``AWS_*`` environment variables, the shared
credentials file, an instance or container role).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf
from ansible_collections.lifeboat.dr.plugins.module_utils.offsite import base


class S3Provider(base.Provider):
    """Uploads are multipart above ``multipart_mb`` with ``concurrency`` parts in flight, so memory stays near
    ``multipart_mb * concurrency`` whatever the file size; botocore retries transient errors with backoff and
    sends a checksum with every part. The sha256 of each backup travels as object metadata (``x-amz-meta-sha256``).
    """

    name = "s3"
    # From pip into the agent's virtualenv, like every other provider's library (not Debian's python3-boto3).
    PYTHON_REQUIREMENTS = ("boto3>=1.26,<2",)
    REQUIRED_PARAMS = ("bucket",)

    def __init__(self, bucket, endpoint_url=None, region=None, access_key=None, secret_key=None,
                 session_token=None, profile=None, sse=None, kms_key_id=None, object_lock_mode=None,
                 object_lock_days=0, storage_class=None, multipart_mb=16, concurrency=4, retries=5, timeout=60):
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        self._session_args = dict(profile=profile, region=region, access_key=access_key, secret_key=secret_key,
                                  session_token=session_token)
        self.part_size = multipart_mb * 1024 * 1024
        self.concurrency = concurrency
        self.retries = retries
        self.timeout = timeout
        self.extra = {}
        if sse:
            self.extra["ServerSideEncryption"] = sse
        if kms_key_id:
            self.extra["SSEKMSKeyId"] = kms_key_id
        if storage_class:
            self.extra["StorageClass"] = storage_class
        self.object_lock_mode = object_lock_mode
        self.object_lock_days = object_lock_days
        self._client = None

    @classmethod
    def from_params(cls, params):
        return cls(params["bucket"], endpoint_url=params.get("endpoint_url"), region=params.get("region"),
                   access_key=params.get("access_key"), secret_key=params.get("secret_key"),
                   session_token=params.get("session_token"), profile=params.get("profile"), sse=params.get("sse"),
                   kms_key_id=params.get("kms_key_id"), object_lock_mode=params.get("object_lock_mode"),
                   object_lock_days=params.get("object_lock_days") or 0, storage_class=params.get("storage_class"),
                   multipart_mb=params.get("multipart_mb") or 16, concurrency=params.get("concurrency") or 4)

    @property
    def client(self):
        """The boto3 client, made on first use (so that describe() and the host tooling need no boto3)."""
        if self._client is None:
            try:
                import boto3
                from botocore.config import Config
            except ImportError as exc:
                raise base.sdk_missing(self, exc)
            args = self._session_args
            session = boto3.session.Session(profile_name=args["profile"]) if args["profile"] else boto3.session.Session()
            self._client = session.client(
                "s3", endpoint_url=self.endpoint_url or None, region_name=args["region"] or None,
                aws_access_key_id=args["access_key"] or None, aws_secret_access_key=args["secret_key"] or None,
                aws_session_token=args["session_token"] or None,
                config=Config(retries={"max_attempts": self.retries, "mode": "standard"}, connect_timeout=10,
                              read_timeout=self.timeout))
        return self._client

    def describe(self):
        return "s3://%s%s" % (self.bucket, " at %s" % self.endpoint_url if self.endpoint_url else "")

    def _call(self, what, key, function, *args, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError
        missing_ok = kwargs.pop("missing_ok", False)
        secrets = (self._session_args["secret_key"], self._session_args["session_token"])
        try:
            return function(*args, **kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if missing_ok and error.get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise self.failure(what, key, "%s %s" % (error.get("Code"), error.get("Message", "")), secrets)
        except BotoCoreError as exc:
            raise self.failure(what, key, exc, secrets)

    def _extra(self, checksum=None):
        extra = dict(self.extra)
        if checksum:
            extra["Metadata"] = {"sha256": base.sha256_hex(checksum)}
        if self.object_lock_mode and self.object_lock_days:
            extra["ObjectLockMode"] = self.object_lock_mode
            extra["ObjectLockRetainUntilDate"] = (datetime.datetime.now(datetime.timezone.utc)
                                                  + datetime.timedelta(days=self.object_lock_days))
        return extra

    def put_file(self, key, local_path, checksum):
        from boto3.s3.transfer import TransferConfig
        transfer = TransferConfig(multipart_threshold=self.part_size, multipart_chunksize=self.part_size,
                                  max_concurrency=self.concurrency, use_threads=self.concurrency > 1)
        self._call("upload of", key, self.client.upload_file, local_path, self.bucket, key,
                   ExtraArgs=self._extra(checksum), Config=transfer)

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
        for page in self._call("listing of", prefix, list, pages):
            for item in page.get("Contents", []):
                found[item["Key"]] = item["Size"]
        return found

    def delete(self, key):
        if self.object_lock_mode:
            head = self._call("inspection of", key, self.client.head_object, Bucket=self.bucket, Key=key)
            until = head.get("ObjectLockRetainUntilDate")
            if until and until > datetime.datetime.now(datetime.timezone.utc):
                raise base.LockedObject("%s is locked (%s) until %s" % (key, head.get("ObjectLockMode"),
                                                                        until.isoformat()))
        self._call("delete of", key, self.client.delete_object, Bucket=self.bucket, Key=key)

    def size(self, key):
        head = self._call("inspection of", key, self.client.head_object, Bucket=self.bucket, Key=key, missing_ok=True)
        return head["ContentLength"] if head else None

    def stored_checksum(self, key):
        head = self._call("inspection of", key, self.client.head_object, Bucket=self.bucket, Key=key)
        return base.from_metadata(head.get("Metadata", {}).get("sha256"))


PROVIDER = S3Provider
