import datetime
import json
import os
import stat

import pytest
from hypothesis import given, strategies as st

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf

UTC = datetime.timezone.utc


def test_names_follow_the_reference_convention():
    when = datetime.datetime(2025, 11, 3, 2, 0, 0, tzinfo=UTC)
    assert bf.backup_id_for("daily", when) == "backup_daily_20251103_020000"
    parsed = bf.parse_backup_name("backup_daily_20251103_020000.sql.gz")
    assert parsed["type"] == "daily" and parsed["ext"] == "sql.gz"
    assert parsed["timestamp"] == when
    assert bf.parse_backup_name("backup_daily_20251103_020000.metadata.json") is None
    assert bf.parse_backup_name("notes.txt") is None
    assert bf.parse_backup_name("backup_hourly_20251103_020000.dump") is None


@given(st.datetimes(min_value=datetime.datetime(2000, 1, 1), max_value=datetime.datetime(2100, 1, 1)))
def test_auto_type_monthly_beats_weekly_beats_daily(when):
    kind = bf.auto_backup_type(when)
    if when.day == 1:
        assert kind == "monthly"
    elif when.weekday() == 6:
        assert kind == "weekly"
    else:
        assert kind == "daily"


@given(st.sampled_from(bf.BACKUP_TYPES), st.datetimes(min_value=datetime.datetime(2000, 1, 1),
                                                      max_value=datetime.datetime(2100, 1, 1)),
       st.integers(min_value=0, max_value=50))
def test_id_and_parse_round_trip(kind, when, seq):
    when = when.replace(microsecond=0, tzinfo=UTC)
    backup_id = bf.backup_id_for(kind, when, seq)
    parsed = bf.parse_backup_name(backup_id + ".dump.zst")
    assert (parsed["backup_id"], parsed["type"], parsed["timestamp"], parsed["seq"]) == (backup_id, kind, when, seq)


def test_forced_type_and_unknown_type():
    when = datetime.datetime(2025, 11, 2, tzinfo=UTC)  # a Sunday
    assert bf.resolve_backup_type("auto", when) == "weekly"
    assert bf.resolve_backup_type("monthly", when) == "monthly"
    with pytest.raises(bf.LifeboatError, match="unknown backup type"):
        bf.resolve_backup_type("hourly", when)


def test_allocate_never_reuses_a_taken_name(tmp_path):
    when = datetime.datetime(2025, 11, 3, 2, 0, 0, tzinfo=UTC)
    first_id, first = bf.allocate_backup_path(str(tmp_path), "daily", when, "dump.zst")
    open(first, "w").close()
    second_id, second = bf.allocate_backup_path(str(tmp_path), "daily", when, "dump.zst")
    assert first_id == "backup_daily_20251103_020000"
    assert second_id == "backup_daily_20251103_020000_1" and second != first


def test_atomic_file_publishes_only_on_success(tmp_path):
    target = tmp_path / "backup_daily_20251103_020000.dump"
    with pytest.raises(RuntimeError):
        with bf.atomic_file(str(target)) as handle:
            handle.write(b"half")
            raise RuntimeError("killed")
    assert os.listdir(tmp_path) == []
    with bf.atomic_file(str(target)) as handle:
        handle.write(b"whole")
    assert target.read_bytes() == b"whole"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert os.listdir(tmp_path) == [target.name]


def test_hashing_writer_matches_sha256_file(tmp_path):
    target = tmp_path / "f"
    with open(target, "wb") as handle:
        writer = bf.HashingWriter(handle)
        for chunk in (b"a" * 1000, b"b" * 3, b""):
            writer.write(chunk)
    assert writer.size == 1003
    assert writer.checksum == bf.sha256_file(str(target))


def _backup(tmp_path, name, payload=b"data", **meta_overrides):
    directory = tmp_path / "svc" / bf.parse_backup_name(name)["type"]
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(payload)
    meta = {"backup_id": bf.parse_backup_name(name)["backup_id"], "engine": "sqlite", "files": [name],
            "size_bytes": len(payload), "checksum": bf.sha256_file(str(path))}
    meta.update(meta_overrides)
    bf.write_json_atomic(bf.metadata_path_for(str(path)), meta)
    return str(path)


def test_verify_checksum_names_file_and_cause(tmp_path):
    path = _backup(tmp_path, "backup_daily_20251103_020000.sqlite3.zst", b"0123456789")
    meta = bf.load_metadata(path)
    assert bf.verify_checksum(path, meta).startswith("sha256:")
    with open(path, "r+b") as handle:
        handle.truncate(5)
    with pytest.raises(bf.LifeboatError, match=r"backup_daily_20251103_020000.*is 5 bytes.*truncated"):
        bf.verify_checksum(path, meta)
    with open(path, "wb") as handle:
        handle.write(b"0123456788")
    with pytest.raises(bf.LifeboatError, match="fails its checksum.*corrupt"):
        bf.verify_checksum(path, meta)


def test_missing_or_broken_metadata_is_a_clear_error(tmp_path):
    path = _backup(tmp_path, "backup_daily_20251103_020000.sqlite3.zst")
    meta_path = bf.metadata_path_for(path)
    with open(meta_path, "w") as handle:
        handle.write("{not json")
    with pytest.raises(bf.LifeboatError, match="unreadable"):
        bf.load_metadata(path)
    os.unlink(meta_path)
    with pytest.raises(bf.LifeboatError, match="is missing"):
        bf.load_metadata(path)


def test_list_and_select(tmp_path):
    _backup(tmp_path, "backup_monthly_20251101_020000.sqlite3.zst")
    _backup(tmp_path, "backup_weekly_20251102_020000.sqlite3.zst")
    _backup(tmp_path, "backup_daily_20251103_020000.sqlite3.zst")
    orphan = tmp_path / "svc" / "daily" / "backup_daily_20251104_020000.sqlite3.zst"
    orphan.write_bytes(b"no metadata")
    (tmp_path / "svc" / "daily" / ".partial-backup_daily_20251105_020000.sqlite3.zst.x").write_bytes(b"")
    backups, incomplete = bf.list_backups(str(tmp_path), "svc")
    assert [b["backup_id"] for b in backups] == [
        "backup_daily_20251103_020000", "backup_weekly_20251102_020000", "backup_monthly_20251101_020000"]
    assert [i["path"] for i in incomplete] == [str(orphan)]

    def pick(sel):
        return bf.select_backup(backups, sel)[0]["backup_id"]
    assert pick("latest") == "backup_daily_20251103_020000"
    assert pick("weekly") == "backup_weekly_20251102_020000"
    assert pick("monthly") == "backup_monthly_20251101_020000"
    assert pick("20251102") == "backup_weekly_20251102_020000"
    assert pick("backup_monthly_20251101_020000") == "backup_monthly_20251101_020000"
    for bad, message in (("yearly", "no yearly"), ("20250101", "no backup was taken"), ("nope", "no backup with id")):
        with pytest.raises(bf.LifeboatError, match=message):
            bf.select_backup(backups, bad)
    with pytest.raises(bf.LifeboatError, match="no complete backup"):
        bf.select_backup([], "latest")
    # A compromise time: the newest started strictly before it, in any zone; later ones are never chosen.
    assert pick("before:2025-11-03T02:00:01Z") == "backup_daily_20251103_020000"
    assert pick("before:2025-11-03T02:00:00Z") == "backup_weekly_20251102_020000"
    assert pick("before:2025-11-03T03:00:00+01:00") == "backup_weekly_20251102_020000"
    assert pick("before:2025-11-03T02:00:00.5+00:00") == "backup_daily_20251103_020000"
    with pytest.raises(bf.LifeboatError, match="no complete backup was started before 2025-11-01T02:00:00Z"):
        bf.select_backup(backups, "before:2025-11-01T02:00:00Z")
    for bad in ("before:2025-11-03", "before:2025-11-03T02:00:00", "before:yesterday"):
        with pytest.raises(bf.LifeboatError, match="ISO 8601 with a zone"):
            bf.select_backup(backups, bad)
    # The incomplete backup of 20251104 is named when it would have matched.
    assert "skipped backup_daily_20251104_020000" in bf.select_backup(backups, "before:2025-11-05T00:00:00Z", incomplete)[1]


def test_metadata_document_fields(tmp_path):
    started = datetime.datetime(2025, 11, 3, 2, 0, 0, tzinfo=UTC)
    meta = bf.build_metadata("backup_daily_20251103_020000", "postgresql", "appdb", "daily", started, 1.23456,
                             "/x/backup_daily_20251103_020000.dump.zst", 2048, "sha256:ab", "zstd",
                             {"tables": {"public.t": 3}})
    assert meta["timestamp"] == "2025-11-03T02:00:00Z"
    assert meta["files"] == ["backup_daily_20251103_020000.dump.zst"]
    assert meta["size_readable"] == "2.0KB" and meta["duration_seconds"] == 1.235
    assert json.loads(json.dumps(meta)) == meta


@pytest.mark.parametrize("bad", ["", "a/b", ".hidden"])
def test_service_names_cannot_escape_the_root(bad):
    with pytest.raises(bf.LifeboatError, match="invalid service name"):
        bf.service_dir("/r", bad)
