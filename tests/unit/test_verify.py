"""Verification logic and the restore-target rules, without services."""
import datetime

from hypothesis import given, strategies as st

from ansible_collections.lifeboat.dr.plugins.filter.services import check_line, restore_target
from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf
from ansible_collections.lifeboat.dr.plugins.module_utils import verify

counts = st.dictionaries(st.text("abc", min_size=1, max_size=3), st.integers(0, 1000), max_size=6)


@given(counts, counts)
def test_exact_passes_only_for_identical_counts(expected, actual):
    assert (verify.compare_rows(expected, actual, "exact") == []) == (expected == actual)


@given(counts, st.integers(0, 5))
def test_at_least_accepts_growth_and_refuses_loss(expected, growth):
    grown = {table: rows + growth for table, rows in expected.items()}
    grown["new_table"] = 3
    assert verify.compare_rows(expected, grown, "at_least") == []
    for table, rows in expected.items():
        if rows:
            shrunk = dict(expected, **{table: rows - 1})
            assert "fewer than" in verify.compare_rows(expected, shrunk, "at_least")[0]


def test_expected_counts_per_engine():
    assert verify.expected_counts("directory", {"directory": {"entries": 23}}) == {"entries": 23}
    assert verify.expected_counts("redis", {"redis": {"rdb": {"keys": {"0": "5"}}}}) == {"0": 5}
    assert verify.expected_counts("postgresql", {"tables": {"public.t": 3}}) == {"public.t": 3}


def test_a_check_that_raises_is_a_failed_check():
    def broken():
        raise bf.LifeboatError("cannot connect")
    assert verify.guarded("x", broken) == {"check": "x", "status": "FAIL", "detail": "cannot connect"}
    assert verify.summary([verify.check("a", True), verify.check("b", False)])["result"] == "SOME CHECKS FAILED"


def _backup(tmp_path, name):
    directory = tmp_path / "svc" / "daily"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / (name + ".sqlite3.zst")
    path.write_bytes(b"x")
    bf.write_json_atomic(str(directory / (name + ".metadata.json")), {
        "backup_id": name, "engine": "sqlite", "files": [path.name], "size_bytes": 1,
        "checksum": bf.sha256_file(str(path))})


def test_the_newest_backup_is_the_newest_not_the_oldest_kept(tmp_path):
    for name in ("backup_daily_20251230_020000", "backup_daily_20260101_020000", "backup_daily_20251231_020000"):
        _backup(tmp_path, name)
    assert verify.newest_backup(str(tmp_path), "svc")["backup_id"] == "backup_daily_20260101_020000"


def test_stale_backup_fails_the_age_check(tmp_path):
    _backup(tmp_path, "backup_daily_20260101_020000")
    now = datetime.datetime(2026, 1, 3, 2, 0, tzinfo=datetime.timezone.utc)
    results = verify.run_checks(None, {"service": "svc", "engine": "directory", "path": str(tmp_path),
                                       "backup_root": str(tmp_path), "max_backup_age_hours": 26, "rows": "at_least"},
                                "quick", now)
    by_name = {entry["check"]: entry for entry in results}
    assert by_name["svc: newest backup recent"]["status"] == "FAIL"
    assert "48.0 h old" in by_name["svc: newest backup recent"]["detail"]
    assert by_name["svc: newest backup checksum"]["status"] == "PASS"


def test_restore_targets():
    pg = {"name": "appdb", "engine": "postgresql", "database": "appdb"}
    lite = {"name": "bot", "engine": "sqlite", "path": "/srv/bot/app.db"}
    cache = {"name": "cache", "engine": "redis"}
    assert restore_target(pg)["database"] == "appdb" and restore_target(pg)["production"]
    assert restore_target(pg, "staging")["database"] == "appdb_staging"
    assert restore_target(dict(pg, staging_database="stage"), "staging")["database"] == "stage"
    assert restore_target(lite, "staging")["path"] == "/srv/bot/app.db.staging"
    assert restore_target(pg, "appdb_recovered")["database"] == "appdb_recovered"
    assert restore_target(lite, "/tmp/copy.db")["path"] == "/tmp/copy.db"
    assert "absolute path" in restore_target(lite, "copy")["error"]
    assert "one dataset per instance" in restore_target(cache, "staging")["error"]
    assert restore_target(cache, "dr1", ["app1", "dr1"]) == {
        "database": None, "path": None, "host": "dr1", "production": False, "error": None}


def test_check_line():
    assert check_line({"status": "PASS", "host": "app1", "check": "appdb: integrity", "detail": "ok\nfine"}) == \
        "[PASS] app1 appdb: integrity - ok fine"
