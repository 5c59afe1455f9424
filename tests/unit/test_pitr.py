"""PITR logic without a server: WAL names, the window, the plan, retention, archive/restore commands."""
import datetime
import json
import os

import pytest
from hypothesis import given, strategies as st

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import archive
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import base_backups
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import recovery
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import repository
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import window
from ansible_collections.lifeboat.dr.plugins.module_utils.process import Runner

UTC = datetime.timezone.utc


def test_segment_names_match_postgresql():
    # pg_walfile_name('0/1A0005C0') on timeline 1 is 00000001000000000000001A.
    assert repository.segment_name(1, "0/1A0005C0") == "00000001000000000000001A"
    assert repository.segment_name(2, "1/FF000000") == "0000000200000001000000FF"
    assert repository.segment_name(3, "2/00000028") == "000000030000000200000000"


@given(st.integers(0, 2 ** 40), st.integers(1, 20))
def test_segment_number_orders_like_the_wal_stream(lsn, timeline):
    text = "%X/%X" % (lsn >> 32, lsn & 0xFFFFFFFF)
    name = repository.segment_name(timeline, text)
    assert repository.segment_number(name) == lsn // repository.DEFAULT_SEGMENT_SIZE
    assert repository.WAL_SEGMENT_RE.match(name)


def test_parse_target_zones():
    assert window.parse_target("latest") is None
    assert window.parse_target("2025-12-27 14:30:00") == datetime.datetime(2025, 12, 27, 14, 30, tzinfo=UTC)
    assert window.parse_target("2025-12-27 14:30:00 UTC") == datetime.datetime(2025, 12, 27, 14, 30, tzinfo=UTC)
    assert window.parse_target("2025-12-27T15:30:00+01:00") == datetime.datetime(2025, 12, 27, 14, 30, tzinfo=UTC)
    assert window.parse_target("2025-12-27 14:30:00Z").tzinfo is not None
    with pytest.raises(bf.LifeboatError, match="neither 'latest' nor a time"):
        window.parse_target("yesterday")


def test_wal_gaps_per_timeline():
    names = ["000000010000000000000003", "000000010000000000000004", "000000010000000000000006",
             "000000020000000000000006", "000000020000000000000007", "00000002.history"]
    assert window.wal_gaps(names, "000000010000000000000003") == ["000000010000000000000005"]
    assert window.wal_gaps(names[:2] + names[3:], "000000010000000000000003") == []
    assert window.wal_gaps(names, "000000010000000000000002") == ["000000010000000000000002", "000000010000000000000005"]


def _base(repo, base_id, finished, start_wal):
    path = os.path.join(repo, "base", base_id)
    os.makedirs(path)
    with open(os.path.join(path, "base.tar.zst"), "wb") as handle:
        handle.write(b"data")
    info = {"base_id": base_id, "finished_at": finished.isoformat(), "start_wal": start_wal, "size": 4,
            "files": {"base.tar.zst": {"size": 4, "sha256": bf.sha256_file(os.path.join(path, "base.tar.zst"))}}}
    with open(os.path.join(path, repository.BASE_INFO), "w") as handle:
        json.dump(info, handle)


def _wal(repo, name, when):
    os.makedirs(os.path.join(repo, "wal"), exist_ok=True)
    for suffix in (".zst", ".sha256"):
        path = os.path.join(repo, "wal", name + suffix)
        open(path, "w").close()
        os.utime(path, (when.timestamp(), when.timestamp()))


@pytest.fixture
def repo(tmp_path):
    root = str(tmp_path)
    t0 = datetime.datetime(2026, 1, 1, 1, 0, tzinfo=UTC)
    _base(root, "base_20260101_010000", t0, "000000010000000000000002")
    _base(root, "base_20260102_010000", t0 + datetime.timedelta(days=1), "000000010000000000000005")
    for number in range(2, 9):
        _wal(root, "0000000100000000000000%02X" % number, t0 + datetime.timedelta(hours=6 * (number - 2)))
    return root, t0


def test_window_and_plan_choose_the_newest_base_before_the_target(repo):
    root, t0 = repo
    win = window.window(root)
    assert win["earliest"] == t0 and win["latest"] == t0 + datetime.timedelta(hours=36)
    plan = window.plan(root, (t0 + datetime.timedelta(hours=12)).isoformat())
    assert plan["base_backup"]["base_id"] == "base_20260101_010000"
    plan = window.plan(root, (t0 + datetime.timedelta(hours=30)).isoformat())
    assert plan["base_backup"]["base_id"] == "base_20260102_010000"
    assert window.plan(root, "latest")["base_backup"]["base_id"] == "base_20260102_010000"


@pytest.mark.parametrize("offset", [-1, 37])
def test_targets_outside_the_window_are_refused_with_the_window(repo, offset):
    root, t0 = repo
    with pytest.raises(bf.LifeboatError, match="outside the recoverable window 2026-01-01 01:00:00"):
        window.plan(root, (t0 + datetime.timedelta(hours=offset)).isoformat())


def test_a_gap_in_the_archive_is_refused(repo):
    root, t0 = repo
    for suffix in (".zst", ".sha256"):
        os.unlink(os.path.join(root, "wal", "000000010000000000000006" + suffix))
    with pytest.raises(bf.LifeboatError, match="misses 000000010000000000000006"):
        window.plan(root, "latest")


def test_no_base_backup_is_a_clear_error(tmp_path):
    with pytest.raises(bf.LifeboatError, match="no complete base backup"):
        window.plan(str(tmp_path), "latest")


def test_expire_keeps_the_newest_and_the_wal_they_need(repo):
    root = repo[0]
    _wal(root, "00000002.history", datetime.datetime(2026, 1, 1, tzinfo=UTC))
    dry = base_backups.expire(root, 1, dry_run=True)
    assert dry == {"base_backups": ["base_20260101_010000"], "held": [],
                   "wal": ["000000010000000000000002", "000000010000000000000003", "000000010000000000000004"]}
    assert len(repository.list_base_backups(root)) == 2
    assert base_backups.expire(root, 1) == dry
    assert [b["base_id"] for b in repository.list_base_backups(root)] == ["base_20260102_010000"]
    left = sorted(repository.archived_wal(root))
    assert left[0] == "000000010000000000000005" and "00000002.history" in left
    with pytest.raises(bf.LifeboatError):
        base_backups.expire(root, 0)


def test_verify_base_backup_names_the_damaged_file(repo):
    root = repo[0]
    info = repository.list_base_backups(root)[0]
    base_backups.verify_base_backup(info)
    with open(os.path.join(info["path"], "base.tar.zst"), "wb") as handle:
        handle.write(b"dat!")
    with pytest.raises(bf.LifeboatError, match="base.tar.zst does not match its recorded sha256"):
        base_backups.verify_base_backup(info)
    with open(os.path.join(info["path"], "base.tar.zst"), "wb") as handle:
        handle.write(b"da")
    with pytest.raises(bf.LifeboatError, match="is 2 bytes, the base backup recorded 4"):
        base_backups.verify_base_backup(info)


def test_archive_and_restore_round_trip_and_refusals(tmp_path):
    runner = Runner()
    repo = str(tmp_path / "repo")
    segment = tmp_path / "000000010000000000000009"
    segment.write_bytes(os.urandom(1000) * 50)
    name = segment.name
    assert archive.archive_wal(runner, repo, str(segment), name) == "archived"
    assert archive.archive_wal(runner, repo, str(segment), name) == "already archived"
    other = tmp_path / "other"
    other.write_bytes(b"different")
    with pytest.raises(bf.LifeboatError, match="different content"):
        archive.archive_wal(runner, repo, str(other), name)
    with pytest.raises(bf.LifeboatError, match="not a WAL segment"):
        archive.archive_wal(runner, repo, str(other), "../etc/passwd")
    out = tmp_path / "restored"
    assert archive.restore_wal(runner, repo, name, str(out)) is True
    assert out.read_bytes() == segment.read_bytes()
    assert archive.restore_wal(runner, repo, "00000001000000000000000A", str(tmp_path / "x")) is False
    with open(os.path.join(repo, "wal", name + ".sha256"), "w") as handle:
        handle.write("sha256:" + "0" * 64)
    with pytest.raises(repository.CorruptWal, match="does not match its checksum"):
        archive.restore_wal(runner, repo, name, str(tmp_path / "y"))
    assert not (tmp_path / "y").exists()


def test_cli_exit_codes_tell_postgresql_what_happened(tmp_path):
    from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import cli as pitr_cli
    repo = str(tmp_path / "repo")
    segment = tmp_path / "00000001000000000000000B"
    segment.write_bytes(b"wal" * 1000)
    assert pitr_cli.main(["archive-wal", "--repository", repo, str(segment), segment.name]) == 0
    assert pitr_cli.main(["restore-wal", "--repository", repo, "00000001000000000000000C", str(tmp_path / "n")]) == 1
    with open(os.path.join(repo, "wal", segment.name + ".zst"), "wb") as handle:
        handle.write(b"not zstd")
    # Above 125: PostgreSQL aborts recovery instead of promoting a shortened history.
    assert pitr_cli.main(["restore-wal", "--repository", repo, segment.name, str(tmp_path / "r")]) == 255
    status = json.load(open(os.path.join(repo, repository.STATUS_FILE)))
    assert status["last_archived_wal"] == segment.name


def test_recovery_settings_and_log_parsing():
    text = recovery.recovery_settings("lifeboat-pitr restore-wal --repository /r %f %p",
                                      datetime.datetime(2026, 1, 1, 15, 30, 0, 250000, tzinfo=datetime.timezone(
                                          datetime.timedelta(hours=1))))
    assert "recovery_target_time = '2026-01-01 14:30:00.250000+00'" in text
    assert "recovery_target_action = 'promote'" in text
    assert "recovery_target_time =" not in recovery.recovery_settings("x", None)
    lines = ["LOG:  recovery stopping before commit of transaction 1290, time 2026-11-23 06:56:26.633164+00",
             "LOG:  last completed transaction was at log time 2026-11-23 06:56:26.332553+00"]
    assert recovery.last_transaction(lines) == "2026-11-23 06:56:26.332553+00"
    assert recovery.last_transaction([]) is None
