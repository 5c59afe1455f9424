"""Offsite copies against the object-store stand-ins on loopback (moto for S3, Azurite for Azure
Blob, gcp-storage-emulator for GCS) and a filesystem store.

The repository is made of real SQLite backups taken by Lifeboat on this machine; the
same tests run against both providers, since every guarantee lives above them.
"""
import datetime
import json
import os
import signal
import socket
import sqlite3
import subprocess
import time

import boto3
import pytest
import requests

from ansible_collections.lifeboat.dr.plugins.module_utils.offsite import transfer
from ansible_collections.lifeboat.dr.plugins.module_utils.offsite.azure_blob import AzureBlobProvider
from ansible_collections.lifeboat.dr.plugins.module_utils.offsite.filesystem import FilesystemProvider
from ansible_collections.lifeboat.dr.plugins.module_utils.offsite.gcs import GCSProvider
from ansible_collections.lifeboat.dr.plugins.module_utils.offsite.s3 import S3Provider
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError, list_backups
from ansible_collections.lifeboat.dr.plugins.module_utils.dump import run_dump
from ansible_collections.lifeboat.dr.plugins.module_utils.restore import run_restore

from labhost import BIN, ROOT

UTC = datetime.timezone.utc
AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's published development key (the same in every installation, not a secret).
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
MOTO_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def free_port(host="127.0.0.1"):
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def start_server(argv, host, port):
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/tmp")
    for _ in range(300):
        try:
            socket.create_connection((host, port), timeout=0.2).close()
            return proc
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("%s did not start on %s:%d" % (argv[0], host, port))


def stop_server(proc):
    proc.kill()  # Azurite ignores SIGTERM
    proc.wait()


def start_moto(host):
    port = free_port(host)
    proc = start_server([os.path.join(BIN, "moto_server"), "-H", host, "-p", str(port)], host, port)
    return proc, "http://%s:%d" % (host, port)


@pytest.fixture(scope="module")
def azurite(tmp_path_factory):
    port = free_port()
    proc = start_server([os.path.join(ROOT, ".lab", "node", "node_modules", ".bin", "azurite-blob"), "--blobHost",
                         "127.0.0.1", "--blobPort", str(port), "--skipApiVersionCheck", "--silent", "--location",
                         str(tmp_path_factory.mktemp("azurite"))], "127.0.0.1", port)
    yield {"url": "http://127.0.0.1:%d/%s" % (port, AZURITE_ACCOUNT)}
    stop_server(proc)


@pytest.fixture(scope="module")
def gcs_emulator():
    port = free_port()
    proc = start_server([os.path.join(BIN, "gcp-storage-emulator"), "start", "--host", "127.0.0.1", "--port",
                         str(port), "--in-memory"], "127.0.0.1", port)
    yield {"url": "http://127.0.0.1:%d" % port}
    stop_server(proc)


def azure_store(url, container, **options):
    store = AzureBlobProvider(container, account_name=AZURITE_ACCOUNT, account_key=AZURITE_KEY, endpoint_url=url,
                              block_mb=1, **options)
    store.container.create_container()
    return store


def gcs_store(url, bucket, **options):
    """A new bucket on the emulator (plain HTTP: the store itself only handles objects)."""
    requests.post("%s/storage/v1/b" % url, json={"name": bucket}, timeout=10).raise_for_status()
    return GCSProvider(bucket, endpoint_url=url, chunk_mb=1, **options)


@pytest.fixture(scope="module")
def moto():
    proc, url = start_moto("127.0.0.1")
    yield {"proc": proc, "url": url}
    proc.kill()
    proc.wait()


@pytest.fixture
def s3_env(monkeypatch):
    for key, value in MOTO_ENV.items():
        monkeypatch.setenv(key, value)


@pytest.fixture(params=["filesystem", "s3", "azure_blob", "gcs"])
def store(request, tmp_path, s3_env):
    if request.param == "filesystem":
        path = tmp_path / "offsite"
        path.mkdir()
        return FilesystemProvider(str(path))
    if request.param == "azure_blob":
        return azure_store(request.getfixturevalue("azurite")["url"], "lifeboat-%s" % os.urandom(4).hex())
    if request.param == "gcs":
        return gcs_store(request.getfixturevalue("gcs_emulator")["url"], "lifeboat-%s" % os.urandom(4).hex())
    url = request.getfixturevalue("moto")["url"]
    bucket = "lifeboat-%s" % os.urandom(4).hex()
    boto3.client("s3", endpoint_url=url).create_bucket(Bucket=bucket)
    return S3Provider(bucket, endpoint_url=url, multipart_mb=5, concurrency=2)


@pytest.fixture
def repo(tmp_path):
    """Three real SQLite backups of service ``app`` on three days."""
    db = tmp_path / "app.db"
    conn = sqlite3.connect(str(db))
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    spec = {"engine": "sqlite", "service": "app", "backup_root": str(tmp_path / "backups"), "path": str(db),
            "backup_type": "daily"}
    for day in (1, 2, 3):
        conn.executemany("INSERT INTO notes (body) VALUES (?)", [("day %d note %d" % (day, i),) for i in range(300)])
        conn.commit()
        run_dump(spec, when=datetime.datetime(2026, 11, day, 2, 0, tzinfo=UTC))
    conn.close()
    return spec


def test_push_is_complete_and_idempotent(store, repo):
    first = transfer.push(store, repo["backup_root"], "app")
    assert len(first["pushed"]) == 3 and first["changed"]
    again = transfer.push(store, repo["backup_root"], "app")
    assert again["pushed"] == [] and len(again["present"]) == 3 and not again["changed"]
    remote, incomplete = transfer.remote_backups(store, "", "app")
    local, _ = list_backups(repo["backup_root"], "app")
    assert [(r["backup_id"], r["metadata"]["checksum"]) for r in remote] == [
        (l["backup_id"], l["metadata"]["checksum"]) for l in local]
    assert incomplete == []
    assert transfer.verify(store, "", "app")["problems"] == []


def test_check_mode_push_uploads_nothing(store, repo):
    planned = transfer.push(store, repo["backup_root"], "app", check_mode=True)
    assert len(planned["pushed"]) == 3
    assert store.list("") == {}


def test_pull_into_an_empty_host_restores_the_same_data(store, repo, tmp_path):
    transfer.push(store, repo["backup_root"], "app", prefix="db1")
    new_root = str(tmp_path / "rebuilt")
    pulled = transfer.pull(store, "db1", "app", new_root, select="latest")
    assert pulled["changed"] and pulled["backup_id"] == "backup_daily_20261103_020000"
    assert transfer.pull(store, "db1", "app", new_root)["changed"] is False  # already here, same checksum
    target = str(tmp_path / "restored.db")
    run_restore({"engine": "sqlite", "service": "app", "backup_root": new_root, "path": target})
    assert sqlite3.connect(target).execute("SELECT count(*) FROM notes").fetchone()[0] == 900
    assert oct(os.stat(pulled["path"]).st_mode & 0o777) == "0o600"


def corrupt(store, key):
    """Overwrite the object with one flipped byte, through the store's own API (as bit rot or a bad copy would)."""
    data = bytearray(transfer.get_bytes(store, key))
    data[len(data) // 2] ^= 0xFF
    if isinstance(store, S3Provider):
        store.client.put_object(Bucket=store.bucket, Key=key, Body=bytes(data))
    else:
        store.put_bytes(key, bytes(data))


def test_corrupt_remote_object_is_found_by_verify_and_refused_by_pull(store, repo, tmp_path):
    transfer.push(store, repo["backup_root"], "app")
    newest = transfer.remote_backups(store, "", "app")[0][0]
    corrupt(store, newest["path"])
    problems = transfer.verify(store, "", "app")["problems"]
    assert [p["path"] for p in problems] == [newest["path"]] and "checksum" in problems[0]["problem"]
    new_root = str(tmp_path / "rebuilt")
    with pytest.raises(LifeboatError) as err:
        transfer.pull(store, "", "app", new_root)
    assert newest["path"] in str(err.value) and "corrupt" in str(err.value)
    assert not os.path.exists(os.path.join(new_root, "app", "daily", newest["path"].rsplit("/", 1)[-1]))


class Interrupted(Exception):
    pass


def test_upload_interrupted_before_metadata_is_never_listed_and_a_rerun_completes(store, repo):
    real_put_bytes = store.put_bytes

    def fail_metadata(key, data):
        raise Interrupted("endpoint went away")
    store.put_bytes = fail_metadata
    with pytest.raises(Interrupted):
        transfer.push(store, repo["backup_root"], "app")
    store.put_bytes = real_put_bytes
    complete, incomplete = transfer.remote_backups(store, "", "app")
    assert complete == [] and len(incomplete) == 1
    rerun = transfer.push(store, repo["backup_root"], "app")
    assert len(rerun["pushed"]) == 3
    assert len(transfer.remote_backups(store, "", "app")[0]) == 3


def test_prune_keeps_its_own_policy(store, repo):
    transfer.push(store, repo["backup_root"], "app")
    planned = transfer.prune(store, "", "app", {"daily": 1, "weekly": 0, "monthly": 0, "yearly": 0}, check_mode=True)
    assert len(planned["deleted"]) == 2 and len(transfer.remote_backups(store, "", "app")[0]) == 3
    done = transfer.prune(store, "", "app", {"daily": 1, "weekly": 0, "monthly": 0, "yearly": 0})
    left = transfer.remote_backups(store, "", "app")[0]
    assert [entry["backup_id"] for entry in left] == ["backup_daily_20261103_020000"] and done["changed"]
    assert len(list_backups(repo["backup_root"], "app")[0]) == 3  # local copies untouched


def test_s3_endpoint_stopped_mid_run_fails_clearly_and_a_rerun_completes(repo, s3_env):
    proc, url = start_moto("127.0.0.1")
    try:
        boto3.client("s3", endpoint_url=url).create_bucket(Bucket="lifeboat-outage")
        store = S3Provider("lifeboat-outage", endpoint_url=url, retries=2)
        store.put_file = _stop_after_first_upload(store.put_file, proc)
        with pytest.raises(LifeboatError) as err:
            transfer.push(store, repo["backup_root"], "app")
        assert "lifeboat-outage" in str(err.value)
    finally:
        proc.kill()
        proc.wait()
    assert len(list_backups(repo["backup_root"], "app")[0]) == 3  # the local backups are kept
    # A fresh endpoint (the old one lost its in-memory state): the rerun pushes everything.
    proc, url = start_moto("127.0.0.1")
    try:
        boto3.client("s3", endpoint_url=url).create_bucket(Bucket="lifeboat-outage")
        store = S3Provider("lifeboat-outage", endpoint_url=url)
        assert len(transfer.push(store, repo["backup_root"], "app")["pushed"]) == 3
        assert transfer.verify(store, "", "app")["problems"] == []
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("kind", ["azure_blob", "gcs"])
def test_endpoint_hanging_mid_push_leaves_nothing_complete_and_a_rerun_completes(kind, repo, tmp_path):
    """The endpoint stops answering (SIGSTOP) after the first data upload; once it is back, nothing is listed."""
    port, data = free_port(), tmp_path / "store-data"
    data.mkdir()
    if kind == "azure_blob":
        argv = [os.path.join(ROOT, ".lab", "node", "node_modules", ".bin", "azurite-blob"), "--blobHost", "127.0.0.1",
                "--blobPort", str(port), "--skipApiVersionCheck", "--silent", "--location", str(data)]
        url = "http://127.0.0.1:%d/%s" % (port, AZURITE_ACCOUNT)
        make = lambda: AzureBlobProvider("outage", account_name=AZURITE_ACCOUNT, account_key=AZURITE_KEY,
                                         endpoint_url=url, retries=2, timeout=2)
    else:
        argv = [os.path.join(BIN, "gcp-storage-emulator"), "--data-dir", str(data), "start", "--host", "127.0.0.1",
                "--port", str(port)]
        url = "http://127.0.0.1:%d" % port
        make = lambda: GCSProvider("outage", endpoint_url=url, retries=2, timeout=2)
    proc = start_server(argv, "127.0.0.1", port)
    try:
        (azure_store if kind == "azure_blob" else gcs_store)(url, "outage")
        store = make()
        real_put_file = store.put_file

        def hang_after_first_upload(key, path, checksum):
            real_put_file(key, path, checksum)
            proc.send_signal(signal.SIGSTOP)
        store.put_file = hang_after_first_upload
        with pytest.raises(LifeboatError) as err:
            transfer.push(store, repo["backup_root"], "app")
        assert "outage" in str(err.value)
        assert len(list_backups(repo["backup_root"], "app")[0]) == 3  # the local backups are kept
        proc.send_signal(signal.SIGCONT)
        store = make()
        complete, incomplete = transfer.remote_backups(store, "", "app")
        # The push stopped early. Whatever is listed as complete is whole (a request the client gave up
        # on may still land once the endpoint wakes up); a data object without metadata is only "incomplete".
        assert len(complete) < 3 and len(complete) + len(incomplete) >= 1
        assert all(transfer.stream_checksum(store, entry["path"])[0] == entry["metadata"]["checksum"]
                   for entry in complete)
        # A request given up on may still complete a copy while the endpoint wakes: present, not pushed again.
        rerun = transfer.push(store, repo["backup_root"], "app")
        assert len(rerun["pushed"]) + len(rerun["present"]) == 3
        assert len(transfer.remote_backups(store, "", "app")[0]) == 3
        assert transfer.verify(store, "", "app")["problems"] == []
    finally:
        stop_server(proc)


def _stop_after_first_upload(put_file, proc):
    def wrapped(key, path, checksum):
        put_file(key, path, checksum)
        proc.kill()
        proc.wait()
    return wrapped


def test_azure_rejects_a_wrong_account_key(azurite):
    good = azure_store(azurite["url"], "lifeboat-auth")
    good.put_bytes("probe", b"x")
    wrong = AzureBlobProvider("lifeboat-auth", account_name=AZURITE_ACCOUNT, endpoint_url=azurite["url"],
                                      account_key="V3Jvbmcga2V5IGZvciB0aGUgdGVzdA==")
    with pytest.raises(LifeboatError) as err:
        wrong.list("")
    assert "403" in str(err.value) and "V3Jvbmc" not in str(err.value)
    assert good.list("") == {"probe": 1}


def test_azure_credentials_from_the_environment_and_explicit_options_winning(azurite, monkeypatch):
    good = azure_store(azurite["url"], "lifeboat-env")
    good.put_bytes("probe", b"xy")
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", "AccountName=%s;AccountKey=%s;BlobEndpoint=%s" % (
        AZURITE_ACCOUNT, AZURITE_KEY, azurite["url"]))
    from_env = AzureBlobProvider("lifeboat-env")
    assert from_env.auth.origin == "AZURE_STORAGE_CONNECTION_STRING" and from_env.list("") == {"probe": 2}
    assert AZURITE_KEY not in from_env.describe()
    # A wrong key given as an option wins over the good one in the environment, and is refused.
    wrong = AzureBlobProvider("lifeboat-env", account_name=AZURITE_ACCOUNT, endpoint_url=azurite["url"],
                              account_key="V3Jvbmcga2V5IGZvciB0aGUgdGVzdA==")
    with pytest.raises(LifeboatError) as err:
        wrong.list("")
    assert "403" in str(err.value)


def test_gcs_anonymous_on_request(gcs_emulator):
    store = gcs_store(gcs_emulator["url"], "lifeboat-anon", anonymous=True)
    store.put_bytes("probe", b"{}")
    assert store.auth == "anonymous" and store.list("") == {"probe": 2} and store.size("missing") is None


@pytest.mark.parametrize("kind", ["azure_blob", "gcs"])
def test_data_damaged_on_the_way_up_is_caught_by_the_store_checksum(kind, repo, request, s3_env, monkeypatch):
    """A byte flipped after the client library read and hashed it, as it leaves for the wire (both SDKs send
    through requests): Azure refuses the block (Content-MD5), GCS's MD5 of the stored object differs."""
    store = (
        azure_store(request.getfixturevalue("azurite")["url"], "lifeboat-damage") if kind == "azure_blob"
        else gcs_store(request.getfixturevalue("gcs_emulator")["url"], "lifeboat-damage"))
    real_send = requests.adapters.HTTPAdapter.send

    def damaging(adapter, prepared, *args, **kwargs):
        body = prepared.body
        if prepared.method == "PUT" and isinstance(body, bytes) and len(body) > 100:
            prepared.body = body[:50] + bytes([body[50] ^ 0xFF]) + body[51:]
        return real_send(adapter, prepared, *args, **kwargs)
    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", damaging)
    with pytest.raises(LifeboatError) as err:
        transfer.push(store, repo["backup_root"], "app")
    assert ("400" in str(err.value)) if kind == "azure_blob" else ("arrived damaged" in str(err.value))
    monkeypatch.undo()
    assert transfer.remote_backups(store, "", "app")[0] == []


def test_object_lock_keeps_copies_and_prune_reports_them(repo, s3_env, moto):
    client = boto3.client("s3", endpoint_url=moto["url"])
    client.create_bucket(Bucket="lifeboat-locked", ObjectLockEnabledForBucket=True)
    store = S3Provider("lifeboat-locked", endpoint_url=moto["url"], sse="AES256",
                               object_lock_mode="GOVERNANCE", object_lock_days=1)
    transfer.push(store, repo["backup_root"], "app")
    newest = transfer.remote_backups(store, "", "app")[0][0]["path"]
    head = client.head_object(Bucket="lifeboat-locked", Key=newest)
    assert head["ObjectLockMode"] == "GOVERNANCE" and head["ServerSideEncryption"] == "AES256"
    result = transfer.prune(store, "", "app", {"daily": 1, "weekly": 0, "monthly": 0, "yearly": 0})
    assert len(result["locked"]) == 2 and result["deleted"] == [] and not result["changed"]
    assert all("locked (GOVERNANCE) until" in item["reason"] for item in result["locked"])
    assert len(transfer.remote_backups(store, "", "app")[0]) == 3


def test_s3_sse_kms_settings_reach_the_objects(repo, s3_env, moto):
    client = boto3.client("s3", endpoint_url=moto["url"])
    client.create_bucket(Bucket="lifeboat-kms")
    key_id = "arn:aws:kms:us-east-1:123456789012:key/lifeboat-test"
    store = S3Provider("lifeboat-kms", endpoint_url=moto["url"], sse="aws:kms", kms_key_id=key_id,
                               storage_class="STANDARD_IA")
    transfer.push(store, repo["backup_root"], "app")
    for entry in transfer.remote_backups(store, "", "app")[0]:
        head = client.head_object(Bucket="lifeboat-kms", Key=entry["path"])
        assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == key_id
        assert head["StorageClass"] == "STANDARD_IA"


# VmHWM, not ru_maxrss: ru_maxrss survives exec and would report pytest's own size.
UPLOAD_SCRIPT = """
import sys
def peak_kib():
    with open("/proc/self/status") as handle:
        return int(next(line for line in handle if line.startswith("VmHWM:")).split()[1])
sys.path.insert(0, sys.argv[1])
from ansible_collections.lifeboat.dr.plugins.module_utils import offsite
kind, url, path = sys.argv[2:5]
store = offsite.provider_from_params({
    "provider": kind, "bucket": "lifeboat-big", "container": "lifeboat-big", "endpoint_url": url,
    "account_name": sys.argv[5], "account_key": sys.argv[6], "multipart_mb": 16, "concurrency": 4})
store.size("big.bin")  # the client (and its library) exists before the measurement, as for a real push
before = peak_kib()
store.put_file("big.bin", path, "sha256:00")
print(before, peak_kib(), store.size("big.bin"))
"""


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    """1 GiB of zeros on disk (sparse): what is measured is the uploader's memory, not the data."""
    path = tmp_path_factory.mktemp("big") / "big.bin"
    with open(path, "wb") as handle:
        handle.truncate(1 << 30)
    return path


@pytest.fixture(scope="module")
def memory_report():
    path = os.path.join(ROOT, ".lab", "offsite-upload-memory.txt")
    with open(path, "w") as handle:
        handle.write("Peak memory of one process uploading 1 GiB (VmHWM), per provider, against the stand-ins:\n")
    return path


@pytest.mark.parametrize("kind", ["s3", "azure_blob", "gcs"])
def test_a_1_gib_upload_keeps_memory_bounded(kind, big_file, memory_report, request, s3_env):
    """Peak RSS of the uploading process, recorded per provider in .lab/offsite-upload-memory.txt."""
    if kind == "s3":
        url = request.getfixturevalue("moto")["url"]
        boto3.client("s3", endpoint_url=url).create_bucket(Bucket="lifeboat-big")
    elif kind == "azure_blob":
        url = request.getfixturevalue("azurite")["url"]
        azure_store(url, "lifeboat-big")
    else:
        url = request.getfixturevalue("gcs_emulator")["url"]
        gcs_store(url, "lifeboat-big")
    out = subprocess.run([os.path.join(BIN, "python"), "-c", UPLOAD_SCRIPT, os.path.join(ROOT, ".collections"), kind,
                          url, str(big_file), AZURITE_ACCOUNT, AZURITE_KEY], capture_output=True, text=True, check=True,
                         env=dict(os.environ, **MOTO_ENV), timeout=600).stdout.split()
    before_kib, peak_kib, size = int(out[0]), int(out[1]), int(out[2])
    assert size == 1 << 30
    growth_mib = (peak_kib - before_kib) / 1024.0
    with open(memory_report, "a") as handle:
        handle.write("%s: 1 GiB upload in 16 MiB parts, peak RSS %.0f MiB (grew %.0f MiB during the upload)\n" % (
            kind, peak_kib / 1024.0, growth_mib))
    assert growth_mib < 256  # a quarter of the file at most; the file itself is never held in memory
