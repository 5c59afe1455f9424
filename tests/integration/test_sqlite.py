"""db_dump / db_restore against SQLite files on the lab host, with a live writer."""
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
