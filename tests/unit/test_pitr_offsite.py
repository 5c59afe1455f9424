"""The PITR repository offsite (pitr/offsite.py) against the filesystem store: shipping, expiry held back
until offsite, the offsite catalog and plan, base backup download, restore_command with prefetch."""
import datetime
import json
import os
import subprocess

import pytest

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf
from ansible_collections.lifeboat.dr.plugins.module_utils import signing
from ansible_collections.lifeboat.dr.plugins.module_utils.offsite.filesystem import FilesystemProvider
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import archive
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import base_backups
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import cli
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import metrics
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import offsite
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import recovery
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import repository
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import window
from ansible_collections.lifeboat.dr.plugins.module_utils.process import Runner

UTC = datetime.timezone.utc
PREFIX = "pitr/app1/15-main"
SEGMENTS = ["0000000100000000000000%02X" % number for number in range(2, 9)]


def _segment_bytes(name):
    return (name.encode("ascii") * 700)[:16384]


def _archive(repo, tmp_path, name, when=None, signer=None):
    source = tmp_path / ("pg_wal-" + name)
    source.write_bytes(_segment_bytes(name))
    archive.archive_wal(Runner(), repo, str(source), name, signer=signer)
    if when is not None:
        for suffix in (".zst", ".sha256"):
            os.utime(os.path.join(repo, "wal", name + suffix), (when.timestamp(), when.timestamp()))


def _base(repo, base_id, finished, start_wal, payload=b"base data"):
    path = os.path.join(repo, "base", base_id)
    os.makedirs(path)
    files = {}
    for name, data in (("base.tar.zst", payload), ("backup_manifest", b"{}")):
        with open(os.path.join(path, name), "wb") as handle:
            handle.write(data)
        files[name] = {"size": len(data), "sha256": bf.sha256_file(os.path.join(path, name))}
    info = {"base_id": base_id, "finished_at": finished.isoformat(), "start_wal": start_wal, "files": files,
            "size": sum(entry["size"] for entry in files.values())}
    with open(os.path.join(path, repository.BASE_INFO), "w") as handle:
        json.dump(info, handle)


@pytest.fixture
def t0():
    return datetime.datetime(2026, 1, 1, 1, 0, tzinfo=UTC)


@pytest.fixture
def repo(tmp_path, t0):
    root = str(tmp_path / "repo")
    _base(root, "base_20260101_010000", t0, SEGMENTS[0])
    for index, name in enumerate(SEGMENTS):
        _archive(root, tmp_path, name, t0 + datetime.timedelta(minutes=10 * (index + 1)))
    return root


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "store"
    path.mkdir()
    return FilesystemProvider(str(path))


def _remote(store, *parts):
    return os.path.join(store.root, PREFIX, *parts)


def test_ship_uploads_everything_in_order_marks_it_and_then_has_nothing_to_do(repo, store, t0):
    done = offsite.ship(store, repo, PREFIX)
    assert done["wal"] == SEGMENTS and done["base_backups"] == ["base_20260101_010000"]
    for name in SEGMENTS:
        for suffix in (".zst", ".sha256"):
            local = os.path.join(repo, "wal", name + suffix)
            with open(_remote(store, "wal", name + suffix), "rb") as there, open(local, "rb") as here:
                assert there.read() == here.read()
        assert os.path.exists(os.path.join(repo, "wal", name + repository.SHIPPED_SUFFIX))
    assert os.path.exists(_remote(store, "base", "base_20260101_010000", repository.BASE_INFO))
    with open(_remote(store, "status.json")) as handle:
        status = json.load(handle)
    assert status["newest_wal"] == SEGMENTS[-1]
    assert datetime.datetime.fromisoformat(status["newest_wal_archived_at"]) == t0 + datetime.timedelta(minutes=70)
    assert offsite.pending_wal(repo) == [] and offsite.held_back(repo) == set()
    assert offsite.ship(store, repo, PREFIX) == {"wal": [], "base_backups": [], "pruned": None}
    assert offsite.shipping_status(repo)["last_success_time"] > 0


def test_an_object_offsite_with_other_content_is_refused_not_overwritten(repo, store):
    os.makedirs(_remote(store, "wal"))
    for suffix, data in ((".zst", b"another cluster's segment"), (".sha256", b"sha256:theirs\n")):
        with open(_remote(store, "wal", SEGMENTS[0] + suffix), "wb") as handle:
            handle.write(data)
    with pytest.raises(bf.LifeboatError, match="already exists with other content.*refusing to overwrite"):
        offsite.ship(store, repo, PREFIX)
    for suffix, data in ((".zst", b"another cluster's segment"), (".sha256", b"sha256:theirs\n")):
        with open(_remote(store, "wal", SEGMENTS[0] + suffix), "rb") as handle:
            assert handle.read() == data  # theirs, untouched
    assert len(offsite.pending_wal(repo)) == len(SEGMENTS)
    status = offsite.shipping_status(repo)
    assert status["failed_count"] == 1 and "other content" in status["last_error"]


def test_a_store_that_is_down_fails_the_shipping_run_never_the_archiving(repo, store, tmp_path):
    os.rename(store.root, store.root + ".unmounted")
    with open(store.root, "w"):
        pass  # nothing can be written under it
    with pytest.raises(OSError):
        offsite.ship(store, repo, PREFIX)
    assert offsite.shipping_status(repo)["failed_count"] == 1
    _archive(repo, tmp_path, "000000010000000000000009")  # archive_command does not care
    assert offsite.pending_wal(repo)[-1][0] == "000000010000000000000009"
    os.unlink(store.root)
    os.rename(store.root + ".unmounted", store.root)
    assert offsite.ship(store, repo, PREFIX)["wal"] == SEGMENTS + ["000000010000000000000009"]  # the queue drains


def test_expiry_keeps_what_is_not_offsite_yet(repo, store, t0):
    _base(repo, "base_20260101_020000", t0 + datetime.timedelta(hours=1), SEGMENTS[4])
    held = offsite.held_back(repo)
    removed = base_backups.expire(repo, 1, dry_run=True, held=held)
    assert removed["base_backups"] == [] and removed["wal"] == []
    assert removed["held"] == ["base_20260101_010000"] + SEGMENTS[:4]
    offsite.ship(store, repo, PREFIX)
    removed = base_backups.expire(repo, 1, held=offsite.held_back(repo))
    assert removed == {"base_backups": ["base_20260101_010000"], "wal": SEGMENTS[:4], "held": []}
    assert not os.path.exists(os.path.join(repo, "wal", SEGMENTS[0] + repository.SHIPPED_SUFFIX))


def test_offsite_retention_keeps_the_newest_base_backups_and_the_wal_they_need(repo, store, t0):
    offsite.ship(store, repo, PREFIX)
    _base(repo, "base_20260101_020000", t0 + datetime.timedelta(hours=1), SEGMENTS[4])
    done = offsite.ship(store, repo, PREFIX, keep=1)
    assert done["pruned"] == {"base_backups": ["base_20260101_010000"], "wal": SEGMENTS[:4]}
    assert store.list(PREFIX + "/base/base_20260101_010000/") == {}
    assert not os.path.exists(_remote(store, "wal", SEGMENTS[0] + ".sha256"))
    assert os.path.exists(_remote(store, "wal", SEGMENTS[4] + ".zst"))


def test_the_offsite_catalog_plans_like_the_repository(repo, store, t0):
    offsite.ship(store, repo, PREFIX)
    found = offsite.remote_catalog(store, PREFIX)
    assert window.window_of(found) == window.window(repo)
    chosen = window.plan_from(found, "latest")
    assert chosen["base_backup"]["base_id"] == "base_20260101_010000"
    with pytest.raises(bf.LifeboatError, match="outside the recoverable window"):
        window.plan_from(found, (t0 + datetime.timedelta(hours=5)).isoformat())
    os.unlink(_remote(store, "wal", SEGMENTS[3] + ".zst"))
    with pytest.raises(bf.LifeboatError, match="misses %s after base backup" % SEGMENTS[3]):
        window.plan_from(offsite.remote_catalog(store, PREFIX), "latest")
    with pytest.raises(bf.LifeboatError, match="no complete base backup in .*store"):
        window.plan_from(offsite.remote_catalog(store, "pitr/elsewhere"), "latest")


def test_a_base_backup_is_downloaded_checked_and_a_damaged_object_named(repo, store, tmp_path):
    offsite.ship(store, repo, PREFIX)
    info = offsite.remote_catalog(store, PREFIX)["bases"][-1]
    fetched = offsite.fetch_base_backup(store, PREFIX, info, str(tmp_path / "staging"))
    base_backups.verify_base_backup(fetched)
    assert repository.list_base_backups(str(tmp_path / "staging"))[0]["base_id"] == info["base_id"]
    with open(_remote(store, "base", info["base_id"], "base.tar.zst"), "wb") as handle:
        handle.write(b"base dat4")
    with pytest.raises(bf.LifeboatError, match=r"offsite object .*base.tar.zst is corrupt"):
        offsite.fetch_base_backup(store, PREFIX, info, str(tmp_path / "staging2"))
    assert not os.path.exists(tmp_path / "staging2" / "base" / info["base_id"] / "base.tar.zst")


@pytest.mark.parametrize("source", ["local", "offsite"])
def test_restore_command_prefetches_the_next_segments_and_checks_each(repo, store, tmp_path, source):
    offsite.ship(store, repo, PREFIX)
    spool = tmp_path / "spool"
    spool.mkdir()
    wal_source = offsite.LocalWal(repo) if source == "local" else offsite.OffsiteWal(store, PREFIX)
    fetcher = offsite.WalFetcher(wal_source, str(spool), prefetch=4)
    target = tmp_path / "pg_wal"
    target.mkdir()
    assert fetcher.restore(SEGMENTS[0], str(target / "RECOVERYXLOG"))
    assert (target / "RECOVERYXLOG").read_bytes() == _segment_bytes(SEGMENTS[0])
    assert sorted(os.listdir(spool)) == SEGMENTS[1:4]  # checked and decompressed, waiting
    for name in SEGMENTS[1:]:
        assert fetcher.restore(name, str(target / name))
        assert (target / name).read_bytes() == _segment_bytes(name)
    assert not fetcher.restore("000000010000000000000009", str(target / "next"))  # the end of the archive
    assert not fetcher.restore("00000002.history", str(target / "history"))
    assert os.listdir(spool) == []


def test_a_damaged_offsite_segment_stops_recovery(repo, store, tmp_path):
    offsite.ship(store, repo, PREFIX)
    with open(_remote(store, "wal", SEGMENTS[2] + ".sha256"), "w") as handle:
        handle.write("sha256:" + "0" * 64 + "\n")
    spool = tmp_path / "spool"
    spool.mkdir()
    fetcher = offsite.WalFetcher(offsite.OffsiteWal(store, PREFIX), str(spool), prefetch=4)
    assert fetcher.restore(SEGMENTS[1], str(tmp_path / "one"))  # its prefetch of SEGMENTS[2] failed quietly
    with pytest.raises(repository.CorruptWal, match="does not match its checksum"):
        fetcher.restore(SEGMENTS[2], str(tmp_path / "two"))
    assert not os.path.exists(tmp_path / "two")


def _keypair(tmp_path):
    path = str(tmp_path / "signing")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path], check=True)
    with open(path + ".pub") as handle:
        return path, handle.read().strip()


def test_signatures_travel_offsite_and_a_forged_segment_is_refused(tmp_path, store):
    key, public = _keypair(tmp_path)
    repo = str(tmp_path / "signed")
    with signing.Signing(Runner(), signing_key=key, policy="optional") as signer:
        for name in SEGMENTS[:3]:
            _archive(repo, tmp_path, name, signer=signer)
    offsite.ship(store, repo, PREFIX)
    found = offsite.remote_catalog(store, PREFIX)
    assert archive.unsigned_in(found["wal"], found["wal_entries"], SEGMENTS[0]) == []
    # Someone with write access to the store replaces a segment and its checksum.
    forged = tmp_path / "forged"
    forged.write_bytes(b"forged" * 1000)
    subprocess.run(["zstd", "-q", "-f", str(forged), "-o", _remote(store, "wal", SEGMENTS[1] + ".zst")], check=True)
    with open(_remote(store, "wal", SEGMENTS[1] + ".sha256"), "w") as handle:
        handle.write(bf.sha256_file(str(forged)) + "\n")
    spool = tmp_path / "spool"
    spool.mkdir()
    fetcher = offsite.WalFetcher(offsite.OffsiteWal(store, PREFIX), str(spool), 2, [public], "required")
    assert fetcher.restore(SEGMENTS[0], str(tmp_path / "first"))
    with pytest.raises(repository.CorruptWal, match="forged, altered or signed under another name"):
        fetcher.restore(SEGMENTS[1], str(tmp_path / "second"))


def test_signing_an_archived_history_ships_its_signature_again(tmp_path, store):
    key, _public = _keypair(tmp_path)
    repo = str(tmp_path / "history")
    _archive(repo, tmp_path, "00000002.history")
    offsite.ship(store, repo, PREFIX)
    assert not os.path.exists(_remote(store, "wal", "00000002.history.sig"))
    with signing.Signing(Runner(), signing_key=key, policy="optional") as signer:
        archive.sign_archived(Runner(), repo, str(tmp_path / "nowhere"), signer, trust_history=True)
    assert offsite.ship(store, repo, PREFIX)["wal"] == ["00000002.history"]
    assert os.path.exists(_remote(store, "wal", "00000002.history.sig"))


def test_a_damaged_base_backup_is_not_shipped(repo, store):
    path = os.path.join(repo, "base", "base_20260101_010000", "base.tar.zst")
    with open(path, "wb") as handle:
        handle.write(b"base dat4")
    with pytest.raises(bf.LifeboatError, match="does not match its recorded sha256"):
        offsite.ship(store, repo, PREFIX)
    assert store.list(PREFIX + "/base/") == {}
    assert offsite.pending_base_backups(repo)


def test_metrics_show_the_offsite_lag(repo, store, t0):
    now = t0 + datetime.timedelta(minutes=80)
    assert "offsite" not in metrics.render_metrics("15-main", repo, None, now)  # not shipping: no offsite metrics
    offsite.record_status(repo, False, now, "the store did not answer")  # a failed shipping run
    text = metrics.render_metrics("15-main", repo, None, now)
    assert 'lifeboat_pitr_offsite_pending_files{cluster="15-main"} 7' in text
    assert 'lifeboat_pitr_offsite_lag_seconds{cluster="15-main"} 4200.0' in text
    assert 'lifeboat_pitr_offsite_failures_total{cluster="15-main"} 1' in text
    offsite.ship(store, repo, PREFIX)
    text = metrics.render_metrics("15-main", repo, None, now)
    assert 'lifeboat_pitr_offsite_pending_files{cluster="15-main"} 0' in text
    assert 'lifeboat_pitr_offsite_lag_seconds{cluster="15-main"} 0' in text


def test_cli_ships_and_serves_restore_command_from_the_offsite_copy(repo, store, tmp_path, capsys):
    config = tmp_path / "offsite.json"
    config.write_text(json.dumps({"provider": "filesystem", "path": store.root}))
    assert cli.main(["ship", "--repository", repo, "--offsite-config", str(config), "--prefix", PREFIX,
                     "--keep", "2"]) == 0
    assert json.loads(capsys.readouterr().out)["wal"] == SEGMENTS
    assert cli.main(["ship", "--repository", repo, "--offsite-config", str(config), "--prefix", PREFIX]) == 0
    assert capsys.readouterr().out == ""  # nothing to do, nothing said (the timer runs it every few seconds)
    spool = tmp_path / "spool"
    spool.mkdir()
    args = ["restore-wal", "--repository", str(tmp_path / "empty"), "--offsite-config", str(config), "--prefix",
            PREFIX, "--spool", str(spool)]
    assert cli.main(args + [SEGMENTS[0], str(tmp_path / "first")]) == 0
    assert (tmp_path / "first").read_bytes() == _segment_bytes(SEGMENTS[0])
    assert cli.main(args + [recovery.PROBE_WAL, os.devnull]) == 1
    config.write_text("{not json")
    assert cli.main(args + [SEGMENTS[6], str(tmp_path / "last")]) == archive.ABORT_RECOVERY


def test_the_default_prefix_is_the_same_for_the_role_and_a_recovery_elsewhere():
    from ansible_collections.lifeboat.dr.plugins.filter.pitr import pitr_offsite_prefix
    assert pitr_offsite_prefix({"provider": "s3"}, "app1") == "pitr/app1/15-main"
    assert pitr_offsite_prefix({"prefix": "/prod/"}, "db1", 16, "main") == "prod/pitr/db1/16-main"
    assert offsite.default_prefix(None, "app1", "15", "other") == "pitr/app1/15-other"


def test_a_file_damaged_in_the_repository_is_not_shipped(repo, store):
    path = os.path.join(repo, "wal", SEGMENTS[2] + ".zst")
    with open(path, "rb") as handle:
        good = handle.read()
    archived = os.stat(path)
    with open(path, "wb") as handle:
        handle.write(good[:-8] + bytes(8))  # same size, other bytes: what a bad disk or a careless hand leaves
    os.utime(path, ns=(archived.st_atime_ns, archived.st_mtime_ns))
    with pytest.raises(repository.CorruptWal, match="%s .*not shipped" % SEGMENTS[2]):
        offsite.ship(store, repo, PREFIX)
    assert [name for name, _when in offsite.pending_wal(repo)] == SEGMENTS[2:]  # the ones before went
    assert not os.path.exists(_remote(store, "wal", SEGMENTS[2] + ".zst"))
    with open(path, "wb") as handle:
        handle.write(good)
    os.utime(path, ns=(archived.st_atime_ns, archived.st_mtime_ns))
    assert offsite.ship(store, repo, PREFIX)["wal"] == SEGMENTS[2:]


def _segment_of_system(tmp_path, repo, name, sysid):
    """A segment whose first page has PostgreSQL's long header with ``sysid`` (as a real one does)."""
    import struct
    header = struct.pack("<HHIQIIQII", 0xD110, 0x0007, 1, 0, 0, 0, sysid, 16 * 1024 * 1024, 8192)
    source = tmp_path / ("pg_wal-" + name)
    source.write_bytes(header + bytes(16384 - len(header)))
    archive.archive_wal(Runner(), repo, str(source), name)


def test_a_segment_of_another_postgresql_system_is_refused(tmp_path, store):
    ours = str(tmp_path / "ours")
    _segment_of_system(tmp_path, ours, SEGMENTS[0], 7443123456789012345)
    assert offsite.ship(store, ours, PREFIX)["wal"] == [SEGMENTS[0]]
    assert offsite.remote_status(store, PREFIX)["system_identifier"] == "7443123456789012345"
    # A new cluster (another initdb) under the same prefix: its first segment is refused, nothing written.
    theirs = str(tmp_path / "theirs")
    _segment_of_system(tmp_path, theirs, SEGMENTS[1], 7443999999999999999)
    refusal = "PostgreSQL system 7443999999999999999.*belongs to system 7443123456789012345"
    with pytest.raises(bf.LifeboatError, match=refusal):
        offsite.ship(store, theirs, PREFIX)
    assert store.list(PREFIX + "/wal/" + SEGMENTS[1]) == {}
    assert offsite.wal_system_identifier(_segment_bytes(SEGMENTS[0])[:40]) is None  # no long header: not read
