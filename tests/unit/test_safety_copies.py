"""Safety copies (place, modes, retention, disk-space preflight, status) and the small fixes of issue 12 part 5:
stale partial files, latest skipping an incomplete backup, a backup root that cannot be created."""
import datetime
import io
import json
import os
import shutil
import sqlite3
import stat
import subprocess

import pytest

from ansible_collections.lifeboat.dr.plugins.module_utils import cli, health, locking, safety
from ansible_collections.lifeboat.dr.plugins.module_utils.agent import backup_cycle
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError, list_backups
from ansible_collections.lifeboat.dr.plugins.module_utils.dump import run_dump
from ansible_collections.lifeboat.dr.plugins.module_utils.engines import mysql, postgresql
from ansible_collections.lifeboat.dr.plugins.module_utils.engines.base import RestoreJob
from ansible_collections.lifeboat.dr.plugins.module_utils.process import Runner
from ansible_collections.lifeboat.dr.plugins.module_utils.restore import run_restore

UTC = datetime.timezone.utc


def at(day, hour=12):
    return datetime.datetime(2026, 12, day, hour, 0, 0, tzinfo=UTC)


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def rows(path):
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT count(*) FROM items").fetchone()[0]
    finally:
        conn.close()


@pytest.fixture
def app(tmp_path):
    """An SQLite service with one backup of 50 rows; the live file 0640 like an application's."""
    data = tmp_path / "srv"
    data.mkdir()
    db = str(data / "app.db")
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)")
    conn.executemany("INSERT INTO items (name) VALUES (?)", [("item %d" % i,) for i in range(50)])
    conn.commit()
    conn.close()
    os.chmod(db, 0o640)
    spec = {"engine": "sqlite", "service": "app", "backup_root": str(tmp_path / "repo"), "path": db}
    backup = run_dump(spec, when=at(1))["path"]
    return dict(spec, backup=backup, confirm=True)


def damage(path, keep):
    conn = sqlite3.connect(path)
    conn.execute("DELETE FROM items WHERE id > ?", (keep,))
    conn.commit()
    conn.close()


def test_sqlite_copies_are_private_and_only_the_newest_are_kept(app):
    made = []
    for day, keep in ((2, 40), (3, 30), (4, 20)):
        damage(app["path"], keep)
        out = run_restore(app, when=at(day))
        made.append(out["safety_copy"])
        assert rows(out["safety_copy"]) == keep and rows(app["path"]) == 50
        assert mode(out["safety_copy"]) == 0o600  # the data's 0640 without the group: stricter, never wider
    assert made[0].endswith("app.db.pre-restore-20261202_120000")
    # Keep 2 (the default): the third restore removed the first copy, and says so.
    assert [item["path"] for item in out["safety_copies"]] == [made[2], made[1]]
    assert [item["path"] for item in out["safety_copies_removed"]] == [made[0]]
    assert not os.path.exists(made[0])
    assert out["safety_copies"][0]["created"] == "2026-12-04T12:00:00Z" and out["safety_copies"][0]["size_bytes"] > 0


def test_the_copy_just_made_is_never_removed_and_old_ones_age_out(app):
    damage(app["path"], 40)
    first = run_restore(app, when=at(2))["safety_copy"]
    damage(app["path"], 30)
    second = run_restore(app, when=at(3))["safety_copy"]
    damage(app["path"], 20)
    # Keep 1 and at most 1 day: everything older goes, the copy this restore makes stays.
    out = run_restore(dict(app, safety_copy_keep=1, safety_copy_max_age_days=1), when=at(20))
    assert [item["path"] for item in out["safety_copies"]] == [out["safety_copy"]]
    assert sorted(item["path"] for item in out["safety_copies_removed"]) == sorted([first, second])
    with pytest.raises(LifeboatError, match="safety_copy_keep is 0: at least 1"):
        run_restore(dict(app, safety_copy_keep=0), when=at(21))


def test_check_mode_plans_the_retention_and_changes_nothing(app):
    for day in (2, 3):
        run_restore(app, when=at(day))
    listing = sorted(os.listdir(os.path.dirname(app["path"])))
    out = run_restore(dict(app, safety_copy_keep=2), when=at(4), check_mode=True)
    assert sorted(os.listdir(os.path.dirname(app["path"]))) == listing
    assert [item["name"] for item in out["safety_copies_to_remove"]] == ["app.db.pre-restore-20261202_120000"]
    assert "keep 2, would remove" in out["plan"] and "pre-restore-20261202_120000" in out["plan"]


def test_too_little_space_for_the_safety_copy_is_refused_before_anything_is_touched(app, monkeypatch):
    damage(app["path"], 10)
    listing = sorted(os.listdir(os.path.dirname(app["path"])))
    monkeypatch.setattr(safety, "free_bytes", lambda path: 100)
    with pytest.raises(LifeboatError) as err:
        run_restore(app, when=at(2))
    message = str(err.value)
    where = (app["path"], os.path.dirname(app["path"]))
    assert "not enough disk space for the safety copy of %s in %s" % where in message
    size = os.path.getsize(app["path"])
    assert "needs about %d bytes" % size in message and "100 bytes (100B) are free" in message
    assert "not touched" in message
    assert rows(app["path"]) == 10 and sorted(os.listdir(os.path.dirname(app["path"]))) == listing
    # Without a safety copy nothing needs room.
    assert run_restore(dict(app, safety_copy=False), when=at(2))["safety_copy"] is None


def test_directory_copies_lose_group_and_other_access_and_are_kept_by_count(tmp_path):
    data = tmp_path / "vectors"
    (data / "index").mkdir(parents=True)
    (data / "index" / "seg.bin").write_bytes(os.urandom(2000))
    os.chmod(data, 0o755)
    spec = {"engine": "directory", "service": "vec", "path": str(data), "backup_root": str(tmp_path / "repo"),
            "consistency": "none"}
    backup = run_dump(spec)["path"]
    made = [run_restore(dict(spec, backup=backup, confirm=True, safety_copy_keep=2), when=at(day))["safety_copy"]
            for day in (2, 3, 4)]
    assert mode(made[2]) == 0o700 and mode(data) == 0o755  # the restored directory keeps the backup's mode
    assert not os.path.exists(made[0]) and os.path.isdir(made[1])
    assert sorted(os.listdir(tmp_path)) == ["repo", "vectors", "vectors.pre-restore-20261203_120000",
                                            "vectors.pre-restore-20261204_120000"]


def test_two_restores_in_one_second_keep_both_copies(app):
    first = run_restore(app, when=at(2))["safety_copy"]
    second = run_restore(dict(app, safety_copy_keep=5), when=at(2))["safety_copy"]
    assert second == first + "_1" and os.path.exists(first)


# --- MariaDB: the safety dump is encrypted like the service's backups, in the safety directory ------------

FAKE_MARIADB_DUMP = """#!/bin/sh
echo "CREATE TABLE \\`t\\` (id int);"
echo "INSERT INTO \\`t\\` VALUES (1),(2);"
echo "-- Dump completed on 2026-12-01"
"""


@pytest.fixture
def fake_dump(tmp_path):
    script = tmp_path / "mariadb-dump"
    script.write_text(FAKE_MARIADB_DUMP)
    os.chmod(script, 0o755)

    def bin_path(name, required):
        return str(script) if name == "mariadb-dump" else Runner().binary(name)
    return Runner(bin_path=bin_path)


@pytest.mark.skipif(not shutil.which("gpg") or not shutil.which("zstd"), reason="needs gpg and zstd")
def test_mariadb_safety_dump_is_encrypted_private_and_listed(tmp_path, fake_dump):
    root = tmp_path / "repo"
    (root / "shop").mkdir(parents=True)
    spec = {"engine": "mysql", "service": "shop", "backup_root": str(root), "database": "shop", "mysql": {},
            "encryption": "gpg", "encryption_passphrase": "correct horse"}
    job = RestoreJob(spec, {"encryption": "gpg", "size_bytes": 10, "content": {}}, "/x", "20261202_120000", True, True)
    path = mysql.keep_safety_dump(fake_dump, {}, "shop", job)
    assert path == str(root / "shop" / "safety" / "pre-restore-shop-20261202_120000.sql.zst.gpg")
    assert mode(path) == 0o600 and mode(os.path.dirname(path)) == 0o700
    with open(path, "rb") as handle:
        assert b"Dump completed" not in handle.read()  # not a plain or merely compressed dump
    passphrase = tmp_path / "pass"
    passphrase.write_text("correct horse")
    plain = subprocess.run("gpg --batch --quiet --homedir %s --pinentry-mode loopback --passphrase-file %s -d %s "
                           "| zstd -dc" % (tmp_path, passphrase, path), shell=True, capture_output=True, check=True)
    assert b"-- Dump completed" in plain.stdout
    # Listed with the dump an older version left in the service directory; retention may remove both.
    legacy = root / "shop" / "pre-restore-shop-20261101_020000.sql.zst"
    legacy.write_bytes(b"old")
    copies = mysql.ENGINE.safety_copies(fake_dump, spec, "shop")
    assert sorted(item["path"] for item in copies) == sorted([path, str(legacy)])
    assert mysql.ENGINE.safety_copy_space(fake_dump, spec, "shop", {"size_bytes": 1000}) == (
        str(root / "shop" / "safety"), 1100)
    mysql.ENGINE.drop_safety_copy(fake_dump, spec, [item for item in copies if item["path"] == str(legacy)][0])
    assert not legacy.exists()
    with pytest.raises(LifeboatError, match="not a safety copy"):
        mysql.ENGINE.drop_safety_copy(fake_dump, spec, {"path": str(root / "shop" / "daily" / "backup.sql.zst")})


def test_an_unencryptable_safety_dump_is_refused_before_the_target_is_touched(tmp_path, fake_dump):
    spec = {"engine": "mysql", "service": "shop", "backup_root": str(tmp_path / "repo"), "database": "shop",
            "encryption": "age"}  # age without recipients cannot encrypt
    job = RestoreJob(spec, {"content": {}}, "/x", "20261202_120000", True, True)
    with pytest.raises(LifeboatError, match="safety dump of shop cannot be encrypted.*age_recipients.*not touched"):
        mysql.keep_safety_dump(fake_dump, {}, "shop", job)
    assert os.listdir(tmp_path / "repo" / "shop" / "safety") == []


# --- PostgreSQL: the <db>_pre_restore_<stamp> databases ------------------------------------------------

def test_postgresql_lists_exactly_the_targets_safety_databases(monkeypatch):
    asked = []

    def query(runner, conn, database, sql):
        asked.append(sql)
        return [["app_db_pre_restore_20261202_120000", "8000000"], ["app_db_pre_restore_20261203_120000_1", ""],
                ["app_db_pre_restore_notastamp", "1"], ["app_dbx_pre_restore_20261202_120000", "1"]]
    monkeypatch.setattr(postgresql, "query", query)
    spec = {"connection": postgresql.Connection()}
    found = postgresql.ENGINE.safety_copies(None, spec, "app_db")
    assert [(item["path"], item["size_bytes"]) for item in found] == [
        ("app_db_pre_restore_20261202_120000", 8000000), ("app_db_pre_restore_20261203_120000_1", None)]
    # LIKE escapes the underscores of the name, so app-db-ish neighbours are not even read.
    assert "LIKE 'app\\_db\\_pre\\_restore\\_%'" in asked[0]
    long_name = "x" * 60
    assert postgresql.safety_pattern(long_name)[0].match(postgresql.safety_name(long_name, "20261202_120000"))
    dropped = []
    monkeypatch.setattr(postgresql, "drop_database", lambda runner, conn, name: dropped.append(name))
    postgresql.ENGINE.drop_safety_copy(None, spec, found[0])
    assert dropped == ["app_db_pre_restore_20261202_120000"]
    with pytest.raises(LifeboatError, match="not a safety copy"):
        postgresql.ENGINE.drop_safety_copy(None, spec, {"path": "app_db"})
    assert postgresql.ENGINE.safety_copy_space(None, spec, "app_db", {}) is None  # a rename takes no room


# --- stale partial files ---------------------------------------------------------------------------------

def killed_run_leftovers(spec):
    daily = os.path.join(spec["backup_root"], spec["service"], "daily")
    os.makedirs(daily, exist_ok=True)
    left = [os.path.join(daily, ".partial-backup_daily_20261201_020000.sqlite3.zst.x1y2"),
            os.path.join(daily, ".partial-work-abc")]
    with open(left[0], "wb") as handle:
        handle.write(b"\0" * 4096)
    os.makedirs(os.path.join(left[1], "dump"))
    return left


def test_a_backup_run_removes_what_killed_runs_left_and_says_so(app):
    left = killed_run_leftovers(app)
    report = health.status(app["backup_root"], "app", at(1, 13))
    assert report["stale_partials"]["count"] == 2 and report["stale_partials"]["bytes"] == 4096
    assert not report["ok"] and any("2 stale partial files" in problem for problem in report["problems"])
    result = run_dump(app, when=at(2))
    assert sorted(item["path"] for item in result["removed_partials"]) == sorted(left)
    assert not any(os.path.exists(path) for path in left)
    assert health.status(app["backup_root"], "app", at(2, 1))["stale_partials"]["count"] == 0
    assert run_dump(app, when=at(3))["removed_partials"] == []


def test_a_live_runs_files_are_not_stale(app):
    left = killed_run_leftovers(app)
    with locking.service_lock(app["backup_root"], "app"):  # another run is working
        report = health.status(app["backup_root"], "app", at(1, 13))
    assert report["stale_partials"] == {"count": 0, "bytes": 0, "paths": [], "live_run": True}
    assert all(os.path.exists(path) for path in left)


def test_cli_status_lists_safety_copies_and_stale_partials(app, tmp_path):
    config = tmp_path / "etc"
    (config / "services").mkdir(parents=True)
    (config / "services" / "app.json").write_text(json.dumps({
        "definition": {"name": "app", "engine": "sqlite", "path": app["path"]}, "backup_root": app["backup_root"]}))
    kept = run_restore(app, when=at(2))["safety_copy"]
    killed_run_leftovers(app)
    out = io.StringIO()
    assert cli.main(["--config-dir", str(config), "status", "--json"], out=out, now=at(1, 13)) == 1
    report = json.loads(out.getvalue())[0]
    assert [item["path"] for item in report["safety_copies"]] == [kept]
    assert report["stale_partials"]["count"] == 2
    out = io.StringIO()
    cli.main(["--config-dir", str(config), "status"], out=out, now=at(1, 13))
    text = out.getvalue()
    assert "safety   2026-12-02T12:00:00Z  file" in text and kept in text and "partial  2 stale (4.0KB)" in text


# --- latest skipping an incomplete backup; a backup root that cannot be created -------------------------

def test_latest_names_the_incomplete_newer_backup_it_skipped(app):
    newer = run_dump(app, when=at(5))
    os.unlink(newer["metadata_path"])
    out = run_restore(dict(app, backup=None, select="latest"), when=at(6), check_mode=True)
    assert out["backup"] == app["backup"]
    assert out["selected_because"].startswith("newest backup of any class; skipped backup_daily_20261205_120000 "
                                              "(newer, but incomplete: metadata ")
    assert "is missing" in out["selected_because"]
    assert [item["backup_id"] for item in out["skipped_backups"]] == ["backup_daily_20261205_120000"]
    assert any("skipped backup_daily_20261205_120000" in warning for warning in out["warnings"])
    with pytest.raises(LifeboatError, match="backup backup_daily_20261205_120000 is incomplete: metadata .* missing"):
        run_restore(dict(app, backup=None, select="backup_daily_20261205_120000"), check_mode=True)
    # An older incomplete file is no news: nothing newer was passed over.
    plain = run_restore(dict(app, backup=None, select="20261201"), check_mode=True)
    assert plain["selected_because"] == "newest backup taken on 20261201 (UTC)" and plain["skipped_backups"] == []
    assert len(list_backups(app["backup_root"], "app")[1]) == 1


@pytest.mark.parametrize("runner", [run_dump, backup_cycle], ids=["db_dump", "agent"])
def test_a_backup_root_that_cannot_be_created_is_named(app, runner):
    with pytest.raises(LifeboatError) as err:
        runner(dict(app, backup_root="/proc/lifeboat"))
    assert str(err.value).startswith("backup root /proc/lifeboat cannot be created: /proc/lifeboat: ")
    assert "set backup_root" in str(err.value)
