"""The SQLite path end to end on local files (the lab tests run it on hosts)."""
import hashlib
import os
import sqlite3
import stat

import pytest

from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError, load_metadata
from ansible_collections.lifeboat.dr.plugins.module_utils.dump import run_dump
from ansible_collections.lifeboat.dr.plugins.module_utils.restore import run_restore


def make_db(path, rows=100):
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, price REAL)")
    conn.execute("CREATE TABLE tags (item_id INTEGER, tag TEXT)")
    conn.executemany("INSERT INTO items (name, price) VALUES (?, ?)", [("item %d" % i, i * 1.5) for i in range(rows)])
    conn.executemany("INSERT INTO tags VALUES (?, ?)", [(i, "t%d" % (i % 7)) for i in range(rows * 2)])
    conn.commit()
    return conn


def content_hash(path):
    conn = sqlite3.connect(path)
    digest = hashlib.sha256()
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name"):
        for row in conn.execute('SELECT * FROM "%s" ORDER BY 1, 2' % table):
            digest.update(repr(row).encode())
    conn.close()
    return digest.hexdigest()


@pytest.fixture
def spec(tmp_path):
    db = str(tmp_path / "app" / "app.db")
    os.makedirs(os.path.dirname(db))
    make_db(db).close()
    return {"engine": "sqlite", "service": "app", "backup_root": str(tmp_path / "backups"), "path": db,
            "compression": "zstd"}


def test_round_trip_restores_identical_data(spec):
    before = content_hash(spec["path"])
    result = run_dump(spec)
    assert result["tables"] == {"items": 100, "tags": 200}
    assert stat.S_IMODE(os.stat(result["path"]).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(result["path"])).st_mode) == 0o700
    meta = load_metadata(result["path"])
    assert meta["checksum"] == result["checksum"] and meta["verified"] is True
    os.unlink(spec["path"])
    for side in ("-wal", "-shm"):
        if os.path.exists(spec["path"] + side):
            os.unlink(spec["path"] + side)
    restored = run_restore(dict(spec, backup=result["path"]))
    assert restored["target_existed"] is False and restored["safety_copy"] is None
    assert content_hash(spec["path"]) == before


def test_existing_target_needs_confirm_and_gets_a_safety_copy(spec):
    result = run_dump(spec)
    conn = sqlite3.connect(spec["path"])
    conn.execute("DELETE FROM items WHERE id > 10")
    conn.commit()
    conn.close()
    damaged = content_hash(spec["path"])
    with pytest.raises(LifeboatError, match="refusing to overwrite.*confirm"):
        run_restore(dict(spec, backup=result["path"]))
    assert content_hash(spec["path"]) == damaged
    out = run_restore(dict(spec, backup=result["path"], confirm=True))
    assert content_hash(out["safety_copy"]) == damaged
    assert out["restored_rows"] == {"items": 100, "tags": 200}


def test_check_mode_changes_nothing(spec):
    result = run_dump(spec)
    before = content_hash(spec["path"])
    listing = sorted(os.listdir(os.path.dirname(spec["path"])))
    out = run_restore(dict(spec, backup=result["path"], confirm=True), check_mode=True)
    assert out["changed"] is True and out["plan"].startswith("restore ") and "safety copy" in out["plan"]
    assert content_hash(spec["path"]) == before
    assert sorted(os.listdir(os.path.dirname(spec["path"]))) == listing


@pytest.mark.parametrize("damage", ["truncate", "bitflip"])
def test_damaged_backup_is_refused_and_target_untouched(spec, damage):
    result = run_dump(spec)
    path = result["path"]
    with open(path, "r+b") as handle:
        if damage == "truncate":
            handle.truncate(os.path.getsize(path) // 2)
        else:
            handle.seek(os.path.getsize(path) // 2)
            byte = handle.read(1)
            handle.seek(-1, 1)
            handle.write(bytes([byte[0] ^ 0x01]))
    before = content_hash(spec["path"])
    with pytest.raises(LifeboatError, match=os.path.basename(path)):
        run_restore(dict(spec, backup=path, confirm=True))
    assert content_hash(spec["path"]) == before
    assert not [n for n in os.listdir(os.path.dirname(spec["path"])) if "pre-restore" in n]


def test_the_application_key_fingerprint_is_recorded_and_an_unreadable_key_fails_before_writing(spec, tmp_path):
    key = tmp_path / "secret.key"
    key.write_bytes(b"the app's key\n")
    result = run_dump(dict(spec, app_key_file=str(key)))
    meta = load_metadata(result["path"])
    assert meta["app_key_fingerprint"] == "sha256:" + hashlib.sha256(b"the app's key\n").hexdigest()[:16]
    assert b"the app's key" not in open(result["metadata_path"], "rb").read()
    with pytest.raises(LifeboatError, match=r"the application key file .*missing.key \(app_key_file\) cannot be read"):
        run_dump(dict(spec, app_key_file=str(tmp_path / "missing.key")))
    assert len([n for n in os.listdir(os.path.dirname(result["path"])) if n.endswith(".zst")]) == 1
