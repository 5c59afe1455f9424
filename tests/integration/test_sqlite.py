"""db_dump / db_restore against SQLite files on the lab host, with a live writer."""
import json
import uuid

import pytest

from labhost import run_module, sh, sqlite_content

WRITER = r"""
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
conn.execute("PRAGMA journal_mode=WAL")
conn.execute("CREATE TABLE IF NOT EXISTS a (id INTEGER PRIMARY KEY, payload TEXT)")
conn.execute("CREATE TABLE IF NOT EXISTS b (id INTEGER PRIMARY KEY, a_id INTEGER)")
conn.execute("CREATE TABLE IF NOT EXISTS counter (n INTEGER)")
if conn.execute("SELECT count(*) FROM counter").fetchone()[0] == 0:
    conn.execute("INSERT INTO counter VALUES (0)")
deadline = time.time() + float(sys.argv[2])
while time.time() < deadline:
    # One transaction: a row in a, a row in b and the counter move together or not at all.
    conn.execute("BEGIN IMMEDIATE")
    cur = conn.execute("INSERT INTO a (payload) VALUES (?)", ("x" * 200,))
    conn.execute("INSERT INTO b (a_id) VALUES (?)", (cur.lastrowid,))
    conn.execute("UPDATE counter SET n = n + 1")
    conn.execute("COMMIT")
"""


@pytest.fixture
def workdir(lab):
    path = "/var/lib/lifeboat-it/%s" % uuid.uuid4().hex[:8]
    sh("mkdir -p %s" % path)
    sh("cat > %s/writer.py <<'PY'\n%sPY" % (path, WRITER))
    yield path
    sh("rm -rf %s" % path)


def test_backup_while_a_writer_inserts_is_consistent(workdir):
    db = workdir + "/live.db"
    sh("python3 %s/writer.py %s 1" % (workdir, db))  # create and fill a little first
    sh("nohup python3 %s/writer.py %s 20 >/dev/null 2>&1 & echo $! > %s/writer.pid" % (workdir, db, workdir))
    rows_before = int(sh("sqlite3 %s 'SELECT n FROM counter'" % db))
    result = run_module("db_dump", {"engine": "sqlite", "service": "live", "path": db,
                                    "backup_root": workdir + "/backups"})
    rows_after = int(sh("sqlite3 %s 'SELECT n FROM counter'" % db))
    sh("kill $(cat %s/writer.pid) || true" % workdir)
    assert not result.get("failed"), result.get("msg")
    assert rows_after > rows_before  # the writer really was writing during the backup
    copy = workdir + "/copy.db"
    out = run_module("db_restore", {"engine": "sqlite", "service": "live", "backup": result["path"], "path": copy})
    assert not out.get("failed"), out.get("msg")
    n = int(sh("sqlite3 %s 'SELECT n FROM counter'" % copy))
    counts = sh("sqlite3 %s 'SELECT count(*) FROM a; SELECT count(*) FROM b; PRAGMA integrity_check'" % copy).split()
    assert counts == [str(n), str(n), "ok"]
    assert result["tables"] == {"a": n, "b": n, "counter": 1}


def test_round_trip_of_the_app_database_file(workdir):
    db = workdir + "/app.db"
    sh("python3 %s/writer.py %s 1" % (workdir, db))
    sh("chown sampleapp:sampleapp %s && chmod 0660 %s" % (db, db))
    before = sqlite_content(db)
    result = run_module("db_dump", {"engine": "sqlite", "service": "app", "path": db, "compression": "gzip",
                                    "backup_root": workdir + "/backups"})
    assert result["path"].endswith(".sqlite3.gz")
    sh("rm -f %s %s-wal %s-shm" % (db, db, db))
    out = run_module("db_restore", {"engine": "sqlite", "service": "app", "path": db,
                                    "backup_root": workdir + "/backups"})
    assert not out.get("failed"), out.get("msg")
    assert sqlite_content(db) == before
    assert sh("stat -c '%%U:%%G %%a' %s" % db).strip() == "sampleapp:sampleapp 660"


@pytest.mark.parametrize("damage", ["truncate", "bitflip"])
def test_damaged_backup_is_refused_and_target_untouched(workdir, damage):
    db = workdir + "/app.db"
    sh("python3 %s/writer.py %s 1" % (workdir, db))
    result = run_module("db_dump", {"engine": "sqlite", "service": "app", "path": db,
                                    "backup_root": workdir + "/backups"})
    path = result["path"]
    if damage == "truncate":
        sh("truncate -s 100 %s" % path)
    else:
        sh("printf '\\xff' | dd of=%s bs=1 seek=60 conv=notrunc status=none" % path)
    before = sqlite_content(db)
    out = run_module("db_restore", {"engine": "sqlite", "service": "app", "path": db, "backup": path,
                                    "confirm": True})
    assert out.get("failed") and path in out["msg"]
    assert sqlite_content(db) == before
    assert "pre-restore" not in sh("ls %s" % workdir)


def test_safety_copies_are_private_kept_by_count_and_counted_by_status_with_stale_partials(workdir):
    """Issue 12: copies beside the data were 0644 and piled up; a killed run's partial files stayed for ever."""
    db = workdir + "/app.db"
    sh("python3 %s/writer.py %s 1" % (workdir, db))
    sh("chown sampleapp:sampleapp %s && chmod 0644 %s" % (db, db))
    args = {"engine": "sqlite", "service": "app", "path": db, "backup_root": workdir + "/backups"}
    result = run_module("db_dump", args)
    assert not result.get("failed"), result.get("msg")
    kept = []
    for keep in (30, 20, 10):
        sh("sqlite3 %s 'DELETE FROM a WHERE id > %d'" % (db, keep))
        out = run_module("db_restore", dict(args, backup=result["path"], confirm=True, safety_copy_keep=2))
        assert not out.get("failed"), out.get("msg")
        kept.append(out["safety_copy"])
    assert [item["path"] for item in out["safety_copies"]] == [kept[2], kept[1]]
    assert [item["path"] for item in out["safety_copies_removed"]] == [kept[0]]
    left = sorted(sh("ls %s | grep pre-restore" % workdir).split())
    assert left == sorted(path.rsplit("/", 1)[1] for path in kept[1:])
    assert sh("stat -c '%%a %%U' %s" % kept[2]).strip() == "600 sampleapp"  # the data's owner, never wider
    assert sh("sqlite3 %s 'SELECT count(*) FROM a'" % kept[2]).strip() == "10"

    # What a killed run leaves (the names dump.py gives them), and the agent's status on this service.
    daily = workdir + "/backups/app/daily"
    sh("head -c 1000000 /dev/zero > %s/.partial-backup_daily_20261201_020000.sqlite3.zst.k1ll3d && "
       "mkdir -p %s/.partial-work-k1ll3d/dump" % (daily, daily))
    sh("mkdir -p %s/etc/services && cat > %s/etc/services/app.json <<'EOF'\n%s\nEOF" % (workdir, workdir, json.dumps(
        {"definition": {"name": "app", "engine": "sqlite", "path": db}, "backup_root": workdir + "/backups"})))
    status = json.loads(sh("lifeboat-backup --config-dir %s/etc status --json app; true" % workdir))[0]
    assert [item["path"] for item in status["safety_copies"]] == [kept[2], kept[1]]
    assert status["stale_partials"]["count"] == 2 and status["stale_partials"]["bytes"] >= 1000000
    assert not status["ok"] and any("stale partial" in problem for problem in status["problems"])

    again = run_module("db_dump", args)
    assert not again.get("failed"), again.get("msg")
    assert sorted(item["path"].rsplit("/", 1)[1] for item in again["removed_partials"]) == [
        ".partial-backup_daily_20261201_020000.sqlite3.zst.k1ll3d", ".partial-work-k1ll3d"]
    assert not sh("ls -A %s | grep partial || true" % daily).strip()
    status = json.loads(sh("lifeboat-backup --config-dir %s/etc status --json app; true" % workdir))[0]
    assert status["stale_partials"]["count"] == 0


def test_a_safety_copy_that_would_not_fit_is_refused_before_anything_is_touched(workdir):
    small = workdir + "/small"  # a 2 MiB filesystem (the lab containers have CAP_SYS_ADMIN)
    mounted = sh("mkdir -p %s && mount -t tmpfs -o size=2m lifeboat-it %s 2>&1 && echo mounted || true"
                 % (small, small)).strip()
    if not mounted.endswith("mounted"):
        pytest.skip("the lab container cannot mount a tmpfs on this machine: %s" % mounted)
    try:
        db = small + "/app.db"
        sh("python3 -c \"import sqlite3; c = sqlite3.connect('%s'); c.execute('CREATE TABLE a (x)'); "
           "c.executemany('INSERT INTO a VALUES (?)', [('x' * 1000,)] * 1200); c.commit()\"" % db)
        args = {"engine": "sqlite", "service": "small", "path": db, "backup_root": workdir + "/backups"}
        result = run_module("db_dump", args)
        assert not result.get("failed"), result.get("msg")
        sh("sqlite3 %s 'DELETE FROM a WHERE rowid > 600'" % db)
        before, listing = sqlite_content(db), sh("ls -A %s" % small)
        out = run_module("db_restore", dict(args, confirm=True))
        assert out.get("failed")
        assert "not enough disk space for the safety copy of %s in %s" % (db, small) in out["msg"]
        assert "are free" in out["msg"] and "not touched" in out["msg"]
        assert sqlite_content(db) == before and sh("ls -A %s" % small) == listing
    finally:
        sh("umount %s" % small, check=False)


def test_latest_says_which_incomplete_backup_it_skipped(workdir):
    db = workdir + "/app.db"
    sh("python3 %s/writer.py %s 1" % (workdir, db))
    args = {"engine": "sqlite", "service": "app", "path": db, "backup_root": workdir + "/backups"}
    older = run_module("db_dump", args)
    newer = run_module("db_dump", args)
    sh("rm %s" % newer["metadata_path"])  # the newest backup is incomplete
    out = run_module("db_restore", dict(args, select="latest", confirm=True), check=True)
    assert not out.get("failed"), out.get("msg")
    assert out["backup"] == older["path"]
    assert "skipped %s (newer, but incomplete: metadata" % newer["backup_id"] in out["selected_because"]
    assert "is missing" in out["selected_because"]
    assert [item["backup_id"] for item in out["skipped_backups"]] == [newer["backup_id"]]
    assert any(newer["backup_id"] in warning for warning in out.get("warnings", []))


def test_a_backup_root_that_cannot_be_created_names_the_setting(workdir):
    out = run_module("db_dump", {"engine": "sqlite", "service": "app", "path": workdir + "/none.db",
                                 "backup_root": "/proc/lifeboat"})
    assert out.get("failed")
    assert out["msg"].startswith("backup root /proc/lifeboat cannot be created: /proc/lifeboat: ")
    assert "set backup_root" in out["msg"]
