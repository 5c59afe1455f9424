"""The offsite providers without a store: the registry and its contract, credential selection (options, then the
standard environment variables), and that no secret reaches describe() or an error message."""
import glob
import io
import os
import re

import pytest

from ansible_collections.lifeboat.dr.plugins.module_utils import offsite
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils.offsite import azure_blob, base, gcs, transfer
from ansible_collections.lifeboat.dr.plugins.module_utils.offsite.filesystem import FilesystemProvider
from ansible_collections.lifeboat.dr.plugins.module_utils.offsite.s3 import S3Provider

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KEY = "c2VjcmV0IGFjY291bnQga2V5IG9mIHRoZSB0ZXN0"
SAS = "sv=2022-11-02&ss=b&sig=c2VjcmV0IHNpZ25hdHVyZQ%3D%3D"
NO_ENV = {}


def test_the_registry_lists_every_provider_and_each_keeps_the_contract():
    assert offsite.names() == ("s3", "azure_blob", "gcs", "filesystem")
    for name in offsite.names():
        provider = offsite.get(name)
        assert provider.name == name and issubclass(provider, base.Provider)
        for method in base.METHODS + ("from_params",):
            assert getattr(provider, method) is not getattr(base.Provider, method, None), (name, method)
        assert isinstance(provider.HOST_PACKAGES, tuple) and isinstance(provider.PYTHON_REQUIREMENTS, tuple)
        assert provider.REQUIRED_PARAMS
        for requirement in provider.PYTHON_REQUIREMENTS:
            assert re.match(r"^[a-z0-9-]+>=[0-9.]+,<[0-9]+$", requirement), requirement


def test_an_unknown_provider_is_named_with_the_known_ones():
    with pytest.raises(LifeboatError) as err:
        offsite.provider_from_params({"provider": "ftp"})
    assert "'ftp'" in str(err.value) and "azure_blob" in str(err.value)


def test_only_a_providers_own_file_names_it():
    """The registry answers for providers: no ``== "s3"`` anywhere else in the code that runs."""
    pattern = re.compile(r"""(==|!=|\bin)\s*\(?["'](%s)["']""" % "|".join(offsite.names()))
    for path in glob.glob(os.path.join(ROOT, "plugins", "**", "*.py"), recursive=True):
        if os.path.dirname(path).endswith(os.path.join("module_utils", "offsite")):
            continue
        with open(path) as handle:
            assert not pattern.search(handle.read()), path


def test_filesystem_needs_nothing_and_the_clouds_need_their_libraries():
    assert FilesystemProvider.PYTHON_REQUIREMENTS == () and FilesystemProvider.HOST_PACKAGES == ()
    assert S3Provider.PYTHON_REQUIREMENTS == ("boto3>=1.26,<2",)

    def names(provider):
        return [requirement.partition(">=")[0] for requirement in provider.PYTHON_REQUIREMENTS]
    assert names(azure_blob.PROVIDER) == ["azure-identity", "azure-storage-blob"]
    assert names(gcs.PROVIDER) == ["google-auth", "google-cloud-storage"]


def test_connection_string_gives_account_key_and_endpoint():
    auth = azure_blob.select_auth({"connection_string": (
        "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=%s;EndpointSuffix=core.windows.net" % KEY)},
        NO_ENV)
    assert (auth.kind, auth.account_name, auth.secret) == ("shared_key", "acme", KEY)
    assert auth.account_url == "https://acme.blob.core.windows.net"


@pytest.mark.parametrize("params, environ, kind, origin", [
    # Options first, in the order connection string, key, SAS.
    ({"account_name": "a", "account_key": KEY, "sas_token": SAS}, {}, "shared_key", "account_key"),
    ({"account_name": "a", "sas_token": "?" + SAS}, {"AZURE_STORAGE_KEY": KEY}, "sas", "sas_token"),
    # Then the standard environment variables.
    ({"account_name": "a"}, {"AZURE_STORAGE_KEY": KEY, "AZURE_STORAGE_SAS_TOKEN": SAS}, "shared_key",
     "AZURE_STORAGE_KEY"),
    ({}, {"AZURE_STORAGE_ACCOUNT": "a", "AZURE_STORAGE_SAS_TOKEN": SAS}, "sas", "AZURE_STORAGE_SAS_TOKEN"),
    ({}, {"AZURE_STORAGE_CONNECTION_STRING": "AccountName=a;AccountKey=%s" % KEY}, "shared_key",
     "AZURE_STORAGE_CONNECTION_STRING"),
    # Nothing given: Azure AD (a managed identity, ...).
    ({"account_name": "a"}, {}, "default_credential", "azure-identity DefaultAzureCredential"),
    ({"account_name": "a", "azure_auth": "default_credential"}, {"AZURE_STORAGE_KEY": KEY}, "default_credential",
     "azure-identity DefaultAzureCredential"),
    ({"account_name": "a", "azure_auth": "sas", "account_key": KEY}, {"AZURE_STORAGE_SAS_TOKEN": SAS}, "sas",
     "AZURE_STORAGE_SAS_TOKEN"),
])
def test_azure_credentials_options_win_over_the_environment(params, environ, kind, origin):
    auth = azure_blob.select_auth(params, environ)
    assert (auth.kind, auth.origin) == (kind, origin)
    assert auth.account_name == "a" and auth.account_url == "https://a.blob.core.windows.net"
    if kind == "sas":
        assert auth.secret == SAS  # without the leading "?"


def test_azure_explicit_auth_without_its_secret_names_what_is_missing():
    with pytest.raises(LifeboatError) as err:
        azure_blob.select_auth({"account_name": "a", "azure_auth": "shared_key", "sas_token": SAS}, NO_ENV)
    assert "account_key" in str(err.value) and "AZURE_STORAGE_KEY" in str(err.value)
    with pytest.raises(LifeboatError) as err:
        azure_blob.select_auth({"account_key": KEY}, NO_ENV)
    assert "account_name" in str(err.value) and KEY not in str(err.value)


@pytest.mark.parametrize("store, secrets", [
    (azure_blob.AzureBlobProvider("backups", connection_string="AccountName=acme;AccountKey=%s" % KEY,
                                  environ=NO_ENV), [KEY]),
    (azure_blob.AzureBlobProvider("backups", endpoint_url="https://acme.blob.core.windows.net/?" + SAS,
                                  sas_token=SAS, environ=NO_ENV), [SAS, "sig="]),
    (azure_blob.AzureBlobProvider("backups", account_name="acme", environ={"AZURE_STORAGE_KEY": KEY}), [KEY]),
    (gcs.GCSProvider("bucket", access_token="ya29.secret-token", environ=NO_ENV), ["ya29"]),
    (S3Provider("bucket", access_key="AKIAEXAMPLE", secret_key="secret/key", session_token="token"),
     ["AKIAEXAMPLE", "secret/key", "token"]),
])
def test_describe_never_shows_credentials(store, secrets):
    described = store.describe()
    assert described and not any(secret in described for secret in secrets), described


def test_errors_are_scrubbed_of_secrets_and_signatures():
    store = azure_blob.AzureBlobProvider("backups", account_name="acme", sas_token=SAS, environ=NO_ENV)
    error = store.failure("upload of", "k", "HTTPSConnectionPool: Max retries exceeded with url: /backups/k?%s&comp=block"
                          % SAS.replace("%3D", "="), [store.auth.secret])
    assert "c2VjcmV0IHNpZ25hdHVyZQ" not in str(error) and "sig=***" in str(error)
    assert str(error).startswith("upload of k in https://acme.blob.core.windows.net/backups failed: ")


@pytest.mark.parametrize("params, environ, kind", [
    ({"access_token": "t", "credentials_file": "/k.json"}, {}, "access_token"),
    ({"credentials_file": "/k.json", "anonymous": True}, {}, "credentials_file"),
    ({"anonymous": True}, {"GOOGLE_APPLICATION_CREDENTIALS": "/k.json"}, "anonymous"),
    # An emulator: an endpoint and no credentials at all is anonymous, as before.
    ({"endpoint_url": "http://127.0.0.1:9023"}, {}, "anonymous"),
    ({"endpoint_url": "https://storage.example"}, {"GOOGLE_APPLICATION_CREDENTIALS": "/k.json"}, "default"),
    ({"endpoint_url": "https://storage.example", "anonymous": False}, {}, "default"),
    ({}, {}, "default"),
])
def test_gcs_credentials_explicit_then_anonymous_then_application_default(params, environ, kind):
    assert gcs.select_credentials(params, environ)[0] == kind


def test_a_resent_part_is_hashed_once():
    import hashlib
    data = os.urandom(3000)
    reader = base.HashingReader(io.BytesIO(data))
    reader.read(1000)
    reader.read(1000)
    reader.seek(500)  # the library resumes from what the store acknowledged
    while reader.read(700):
        pass
    assert reader.md5.digest() == hashlib.md5(data).digest()


def test_pull_by_root_gives_the_files_to_the_repository_owner(tmp_path):
    import datetime
    import sqlite3

    from ansible_collections.lifeboat.dr.plugins.module_utils.dump import run_dump
    if os.geteuid() != 0:
        pytest.skip("needs root to hand files to another user")
    db = str(tmp_path / "a.db")
    sqlite3.connect(db).execute("CREATE TABLE t (x)").connection.commit()
    run_dump({"engine": "sqlite", "service": "a", "backup_root": str(tmp_path / "src"), "path": db},
             when=datetime.datetime(2026, 11, 2, tzinfo=datetime.timezone.utc))
    (tmp_path / "store").mkdir()
    store = offsite.provider_from_params({"provider": "filesystem", "path": str(tmp_path / "store")})
    transfer.push(store, str(tmp_path / "src"), "a")
    repo = tmp_path / "repo"
    repo.mkdir()
    os.chown(str(repo), 12345, 12345)  # the agent user of a rebuilt host
    pulled = transfer.pull(store, "", "a", str(repo))
    for path in (pulled["path"], os.path.dirname(pulled["path"]), os.path.dirname(os.path.dirname(pulled["path"]))):
        assert os.stat(path).st_uid == 12345, path
    metadata = [name for name in os.listdir(os.path.dirname(pulled["path"])) if name.endswith(".metadata.json")]
    assert metadata and os.stat(os.path.join(os.path.dirname(pulled["path"]), metadata[0])).st_uid == 12345


class _Breaking:
    """A store whose object's body breaks off after ``cut`` bytes for the first ``breaks`` downloads."""

    def __init__(self, data, breaks, cut=5):
        self.data, self.breaks, self.cut, self.calls = data, breaks, cut, 0

    def describe(self):
        return "s3://bucket at http://store"

    def chunks(self, key):
        self.calls += 1
        if self.calls <= self.breaks:
            yield self.data[:self.cut]
            raise ConnectionResetError("connection reset by peer")
        yield self.data


def _meta(data):
    import hashlib
    return {"checksum": "sha256:" + hashlib.sha256(data).hexdigest(), "size_bytes": len(data)}


def test_a_download_that_breaks_off_is_started_again_and_then_fails_naming_the_object(tmp_path):
    data = b"backup bytes " * 100
    local = str(tmp_path / "b.dump.zst")
    pauses = []
    store = _Breaking(data, breaks=2)
    ids = (os.getuid(), os.getgid())
    assert transfer.download(store, "app1/appdb/daily/b.dump.zst", local, _meta(data), *ids, pause=pauses.append) == 3
    assert open(local, "rb").read() == data and pauses == list(transfer.DOWNLOAD_PAUSES)
    os.unlink(local)
    with pytest.raises(LifeboatError) as err:
        transfer.download(_Breaking(data, breaks=3), "app1/appdb/daily/b.dump.zst", local, _meta(data), *ids,
                          pause=pauses.append)
    assert str(err.value) == (
        "download of offsite backup app1/appdb/daily/b.dump.zst from s3://bucket at http://store broke off 3 times "
        "(the last after 5 of 1300 bytes: ConnectionResetError: connection reset by peer); nothing was written locally")
    assert os.listdir(str(tmp_path)) == []


def test_a_corrupt_object_is_not_downloaded_again(tmp_path):
    data = b"backup bytes " * 100
    store = _Breaking(data, breaks=0)
    with pytest.raises(LifeboatError, match=r"offsite backup k is corrupt: 1300 bytes"):
        transfer.download(store, "k", str(tmp_path / "b"), _meta(b"other"), os.getuid(), os.getgid(),
                          pause=lambda seconds: None)
    assert store.calls == 1 and os.listdir(str(tmp_path)) == []
