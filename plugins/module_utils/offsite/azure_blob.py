# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Azure Blob Storage (and Azurite) through azure-storage-blob, with azure-identity for Azure AD.

Credentials (``azure_auth: auto``, the default), the first that is given:
the ``connection_string``, ``account_key`` or ``sas_token`` option; then the
same from the environment (``AZURE_STORAGE_CONNECTION_STRING``,
``AZURE_STORAGE_KEY``, ``AZURE_STORAGE_SAS_TOKEN``); else Azure AD through
``DefaultAzureCredential`` (a managed identity, workload identity, the
``AZURE_CLIENT_*`` variables, an Azure CLI login). The account comes from
``account_name``, the connection string or ``AZURE_STORAGE_ACCOUNT``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import os
from urllib.parse import urlsplit, urlunsplit

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf
from ansible_collections.lifeboat.dr.plugins.module_utils.offsite import base

AUTH_CHOICES = ("auto", "connection_string", "shared_key", "sas", "default_credential")
# Each secret kind: its module option and its standard environment variable, in the order ``auto`` tries them.
_SECRETS = (("connection_string", "connection_string", "AZURE_STORAGE_CONNECTION_STRING"),
            ("shared_key", "account_key", "AZURE_STORAGE_KEY"),
            ("sas", "sas_token", "AZURE_STORAGE_SAS_TOKEN"))


def parse_connection_string(text):
    settings = {}
    for part in (text or "").split(";"):
        if "=" in part:
            name, value = part.split("=", 1)
            settings[name.strip()] = value.strip()
    return settings


class AzureAuth:
    """The credential chosen for a store: its kind (``shared_key``, ``sas`` or ``default_credential``), where it
    came from (an option or an environment variable), the account, its blob endpoint and the secret."""

    def __init__(self, kind, origin, account_name, account_url, secret=None):
        self.kind = kind
        self.origin = origin
        self.account_name = account_name
        self.account_url = account_url
        self.secret = secret


def select_auth(params, environ=None):
    """The credential and endpoint for ``params`` (module options): explicit options win over the environment."""
    environ = os.environ if environ is None else environ
    wanted = params.get("azure_auth") or "auto"
    if wanted not in AUTH_CHOICES:
        raise bf.LifeboatError("azure_auth must be one of %s, not %r" % (", ".join(AUTH_CHOICES), wanted))
    kind, secret, origin = wanted, None, "azure-identity DefaultAzureCredential"
    if wanted == "auto":
        # Every option before any environment variable: an explicit setting is never overridden.
        given = ([(name, params[option], option) for name, option, _var in _SECRETS if params.get(option)]
                 + [(name, environ[var], var) for name, _option, var in _SECRETS if environ.get(var)])
        if given:
            kind, secret, origin = given[0]
        else:
            kind = "default_credential"
    elif wanted != "default_credential":
        option, variable = [(option, var) for name, option, var in _SECRETS if name == wanted][0]
        secret, origin = (params[option], option) if params.get(option) else (environ.get(variable), variable)
        if not secret:
            raise bf.LifeboatError("azure_auth=%s needs %s (or %s in the environment)" % (wanted, option, variable))
    settings = {}
    if kind == "connection_string":
        settings = parse_connection_string(secret)
        if settings.get("AccountKey"):
            kind, secret = "shared_key", settings["AccountKey"]
        elif settings.get("SharedAccessSignature"):
            kind, secret = "sas", settings["SharedAccessSignature"]
        else:
            raise bf.LifeboatError("the Azure connection string (%s) has neither AccountKey nor "
                                   "SharedAccessSignature" % origin)
    account = params.get("account_name") or settings.get("AccountName") or environ.get("AZURE_STORAGE_ACCOUNT")
    endpoint = params.get("endpoint_url") or settings.get("BlobEndpoint")
    if not endpoint:
        if not account:
            raise bf.LifeboatError("azure_blob needs account_name (or AZURE_STORAGE_ACCOUNT), endpoint_url or a "
                                   "connection string")
        endpoint = "%s://%s.blob.%s" % (settings.get("DefaultEndpointsProtocol", "https"), account,
                                        settings.get("EndpointSuffix", "core.windows.net"))
    if kind == "shared_key" and not account:
        raise bf.LifeboatError("azure_blob needs account_name (or AZURE_STORAGE_ACCOUNT) to sign with the key from "
                               "%s" % origin)
    if kind == "sas":
        secret = secret.lstrip("?")
    return AzureAuth(kind, origin, account, endpoint.rstrip("/"), secret)


class AzureBlobProvider(base.PropertiesProvider):
    """Block blobs: ``upload_blob`` of the open file with its length, in blocks of ``block_mb`` with at most
    ``concurrency`` in flight (memory stays near ``block_mb * concurrency`` whatever the size), each block with a
    Content-MD5 the service checks (``validate_content``). azure-core retries with backoff."""

    name = "azure_blob"
    PYTHON_REQUIREMENTS = ("azure-identity>=1.15,<2", "azure-storage-blob>=12.19,<13")
    REQUIRED_PARAMS = ("container",)

    def __init__(self, container, account_name=None, account_key=None, sas_token=None, connection_string=None,
                 endpoint_url=None, encryption_scope=None, azure_auth="auto", block_mb=8, concurrency=4, retries=5,
                 timeout=60, environ=None):
        self.auth = select_auth(dict(account_name=account_name, account_key=account_key, sas_token=sas_token,
                                     connection_string=connection_string, endpoint_url=endpoint_url,
                                     azure_auth=azure_auth), environ)
        self.container_name = container
        self.encryption_scope = encryption_scope
        self.block_size = block_mb * 1024 * 1024
        self.concurrency = concurrency
        self.retries = retries
        self.timeout = timeout
        self._container = None

    @classmethod
    def from_params(cls, params):
        return cls(params["container"], account_name=params.get("account_name"),
                   account_key=params.get("account_key"), sas_token=params.get("sas_token"),
                   connection_string=params.get("connection_string"), endpoint_url=params.get("endpoint_url"),
                   encryption_scope=params.get("encryption_scope"), azure_auth=params.get("azure_auth") or "auto",
                   block_mb=params.get("multipart_mb") or 16, concurrency=params.get("concurrency") or 4)

    def describe(self):
        # Without a query: an endpoint given as a SAS URL would carry the signature there.
        scheme, netloc, path = urlsplit(self.auth.account_url)[:3]
        return "%s/%s" % (urlunsplit((scheme, netloc, path, "", "")), self.container_name)

    @property
    def container(self):
        """The SDK's container client, made on first use (describe() and the host tooling need no SDK)."""
        if self._container is None:
            try:
                from azure.storage.blob import BlobServiceClient, ExponentialRetry
            except ImportError as exc:
                raise base.sdk_missing(self, exc)
            service = BlobServiceClient(
                self.auth.account_url, credential=self._credential(), max_block_size=self.block_size,
                max_single_put_size=self.block_size, max_single_get_size=bf.CHUNK * 4, max_chunk_get_size=bf.CHUNK * 4,
                retry_policy=ExponentialRetry(initial_backoff=base.BACKOFF_INITIAL, increment_base=base.BACKOFF_FACTOR,
                                              retry_total=self.retries, random_jitter_range=base.BACKOFF_INITIAL),
                connection_timeout=self.timeout, read_timeout=self.timeout)
            self._container = service.get_container_client(self.container_name)
        return self._container

    def _credential(self):
        if self.auth.kind == "shared_key":
            return {"account_name": self.auth.account_name, "account_key": self.auth.secret}
        if self.auth.kind == "sas":
            return self.auth.secret
        try:
            from azure.identity import DefaultAzureCredential
        except ImportError as exc:
            raise base.sdk_missing(self, exc)
        return DefaultAzureCredential()

    @contextlib.contextmanager
    def _errors(self, what, key):
        """The SDK's errors, once its retries are spent, as one ``LifeboatError`` naming the object and store."""
        from azure.core.exceptions import AzureError, HttpResponseError
        try:
            yield
        except HttpResponseError as exc:
            raise self.failure(what, key, "HTTP %s %s" % (exc.status_code, exc.error_code or exc.reason),
                               [self.auth.secret])
        except AzureError as exc:
            raise self.failure(what, key, exc.message, [self.auth.secret])

    def _blob(self, key):
        return self.container.get_blob_client(key)

    def put_file(self, key, local_path, checksum):
        from azure.storage.blob import ContentSettings
        with open(local_path, "rb") as handle, self._errors("upload of", key):
            self._blob(key).upload_blob(
                handle, length=os.fstat(handle.fileno()).st_size, overwrite=True, validate_content=True,
                max_concurrency=self.concurrency, metadata={"sha256": base.sha256_hex(checksum)},
                encryption_scope=self.encryption_scope,
                content_settings=ContentSettings(content_type="application/octet-stream"))

    def put_bytes(self, key, data):
        with self._errors("upload of", key):
            self._blob(key).upload_blob(data, overwrite=True, validate_content=True,
                                        encryption_scope=self.encryption_scope)

    def chunks(self, key):
        from azure.core.exceptions import ResourceNotFoundError
        with self._errors("download of", key):
            try:
                downloader = self._blob(key).download_blob(max_concurrency=1)
            except ResourceNotFoundError:
                raise bf.LifeboatError("offsite object %s is missing in %s" % (key, self.describe()))
            yield from downloader.chunks()

    def list(self, prefix):
        with self._errors("listing of", prefix):
            return dict((blob.name, blob.size) for blob in self.container.list_blobs(name_starts_with=prefix or None))

    def properties(self, key):
        from azure.core.exceptions import ResourceNotFoundError
        with self._errors("inspection of", key):
            try:
                return self._blob(key).get_blob_properties()
            except ResourceNotFoundError:
                return None

    def delete(self, key):
        from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
        with self._errors("delete of", key):
            try:
                self._blob(key).delete_blob()
            except ResourceNotFoundError:
                return
            except HttpResponseError as exc:
                if exc.status_code == 409 and "Immutable" in (exc.error_code or ""):
                    raise base.LockedObject("%s is under an immutability policy or legal hold (%s)" % (
                        key, exc.error_code))
                raise


PROVIDER = AzureBlobProvider
