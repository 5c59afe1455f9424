"""db_dump / db_restore against the lab's real PostgreSQL 15."""
import json
import uuid

import pytest

from labhost import databases, pg_content, psql, run_module, sh

SCHEMA = """
CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, price numeric(12, 2), tags text[],
                    attrs jsonb, blob bytea, seen timestamptz, ok boolean);
CREATE TABLE "Mixed Case" (k text PRIMARY KEY, v double precision);
CREATE TABLE empty_table (x int);
CREATE INDEX items_name_idx ON items (name);
INSERT INTO items (name, price, tags, attrs, blob, seen, ok)
SELECT 'item ' || g, (g * 1.25)::numeric(12, 2), ARRAY['t' || g % 3, 'u'], jsonb_build_object('g', g, 's', repeat('x', g % 7)),
       decode(md5(g::text), 'hex'), timestamptz '2025-01-01 00:00:00+00' + g * interval '1 hour',
       CASE WHEN g % 10 = 0 THEN NULL ELSE g % 2 = 0 END
FROM generate_series(1, 3000) AS g;
INSERT INTO "Mixed Case" SELECT 'k' || g, g / 3.0 FROM generate_series(1, 200) AS g;
"""


@pytest.fixture
def database(lab):
    name = "it_%s" % uuid.uuid4().hex[:8]
    psql("CREATE DATABASE %s OWNER sampleapp" % name)
    sh("runuser -u sampleapp -- psql -XAtq -v ON_ERROR_STOP=1 -d %s <<'SQL'\n%s\nSQL" % (name, SCHEMA))
    yield name
    for db in databases():
        if db.startswith(name):
            psql("DROP DATABASE %s WITH (FORCE)" % db)


def dump(pg_args, database, **extra):
    result = run_module("db_dump", dict(pg_args, service=database, database=database, **extra))
    assert not result.get("failed"), result.get("msg")
    return result


@pytest.mark.parametrize("extra", [
    {},
    {"format": "directory", "jobs": 2, "compression": "gzip", "compression_level": 9},
], ids=["custom-zstd", "directory-gzip-jobs2"])
def test_round_trip_after_drop_restores_identical_data(pg_args, database, extra):
    before = pg_content(database)
    result = dump(pg_args, database, owner="lifeboat", group="lifeboat", **extra)
    assert result["tables"] == {"public.items": 3000, "public.Mixed Case": 200, "public.empty_table": 0}
    meta = json.loads(sh("cat %s" % result["metadata_path"]))
    for key in ("backup_id", "engine", "service", "type", "timestamp", "size_bytes", "duration_seconds", "files",
                "checksum"):
        assert key in meta
    assert meta["checksum"] == "sha256:" + sh("sha256sum %s" % result["path"]).split()[0]
    assert meta["size_bytes"] == int(sh("stat -c %%s %s" % result["path"]))
    assert sh("stat -c '%%a %%U' %s %s" % (result["path"], result["metadata_path"])).split() == [
        "600", "lifeboat", "600", "lifeboat"]
    assert sh("stat -c '%%a' %s" % result["path"].rsplit("/", 1)[0]).strip() == "700"
    assert not sh("ls -A %s | grep partial || true" % result["path"].rsplit("/", 1)[0]).strip()

    psql("DROP DATABASE %s WITH (FORCE)" % database)
    restored = run_module("db_restore", dict(pg_args, service=database, database=database, backup=result["path"],
                                             jobs=2))
    assert not restored.get("failed"), restored.get("msg")
    assert restored["target_existed"] is False and restored["safety_copy"] is None
    assert pg_content(database) == before
    # jobs=2 spooled (custom) or unpacked (directory) the archive beside the backup: nothing of it is left
    assert not sh("ls -A %s | grep lifeboat-unpack || true" % result["path"].rsplit("/", 1)[0]).strip()
    assert psql("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '%s'" % database) == "sampleapp"
    assert psql("SELECT count(*) FROM pg_indexes WHERE indexname = 'items_name_idx'", database) == "1"


def test_confirmed_restore_over_live_database_keeps_a_safety_copy(pg_args, database):
    original = pg_content(database)
    result = dump(pg_args, database)
    psql("DELETE FROM items WHERE id > 100", database)
    damaged = pg_content(database)
    refused = run_module("db_restore", dict(pg_args, service=database, database=database, backup=result["path"]))
    assert refused.get("failed") and "refusing to overwrite" in refused["msg"] and "confirm" in refused["msg"]
    assert pg_content(database) == damaged
    out = run_module("db_restore", dict(pg_args, service=database, database=database, select="latest",
                                        confirm=True))
    assert not out.get("failed"), out.get("msg")
    assert out["backup"] == result["path"] and out["selected_because"] == "newest backup of any class"
    assert pg_content(database) == original
    assert out["safety_copy"].startswith(database + "_pre_restore_")
    assert pg_content(out["safety_copy"]) == damaged
    assert [item["path"] for item in out["safety_copies"]] == [out["safety_copy"]]
    # Issue 12: every in-place restore left one more <db>_pre_restore_<stamp>; keep 1 drops the older ones.
    again = run_module("db_restore", dict(pg_args, service=database, database=database, select="latest",
                                          confirm=True, safety_copy_keep=1))
    assert not again.get("failed"), again.get("msg")
    assert [item["path"] for item in again["safety_copies_removed"]] == [out["safety_copy"]]
    assert sorted(db for db in databases() if db.startswith(database + "_pre_restore_")) == [again["safety_copy"]]
    assert pg_content(database) == original


@pytest.mark.parametrize("damage", ["truncate", "bitflip", "metadata-missing"])
def test_damaged_backup_is_refused_and_target_keeps_its_data(pg_args, database, damage):
    result = dump(pg_args, database)
    path = result["path"]
    if damage == "truncate":
        sh("truncate -s $(( $(stat -c %%s %s) / 2 )) %s" % (path, path))
    elif damage == "bitflip":
        sh("python3 -c \"import os; f = open('%s', 'r+b'); n = os.path.getsize('%s') // 2; f.seek(n); "
           "b = f.read(1); f.seek(n); f.write(bytes([b[0] ^ 1]))\"" % (path, path))
    else:
        sh("rm %s" % result["metadata_path"])
    before, dbs = pg_content(database), databases()
    out = run_module("db_restore", dict(pg_args, service=database, database=database, backup=path, confirm=True))
    assert out.get("failed")
    assert path in out["msg"]
    assert {"truncate": "truncated", "bitflip": "corrupt", "metadata-missing": "missing"}[damage] in out["msg"]
    assert pg_content(database) == before
    assert databases() == dbs  # no scratch or safety database left behind


def test_check_mode_changes_nothing(pg_args, database):
    result = dump(pg_args, database)
    listing = sh("find /var/backups/lifeboat-it/%s -type f | sort" % database)
    planned = run_module("db_dump", dict(pg_args, service=database, database=database), check=True)
    assert planned["changed"] is True and planned["path"].startswith("/var/backups/lifeboat-it/%s/" % database)
    assert sh("find /var/backups/lifeboat-it/%s -type f | sort" % database) == listing
    psql("INSERT INTO items (name) VALUES ('after the backup')", database)
    before, dbs = pg_content(database), databases()
    out = run_module("db_restore", dict(pg_args, service=database, database=database, backup=result["path"],
                                        confirm=True), check=True)
    assert out["changed"] is True and "safety copy" in out["plan"]
    assert pg_content(database) == before and databases() == dbs


def test_wrong_password_is_a_clear_error_and_never_printed(pg_args, database):
    secret = "Wr0ng-" + uuid.uuid4().hex
    out = run_module("db_dump", dict(pg_args, service=database, database=database, login_password=secret),
                     verbosity=3)
    assert out.get("failed")
    assert "password authentication failed" in out["msg"]
    assert secret not in out.output
    root = "/var/backups/lifeboat-it/%s" % database
    assert not sh("find %s -mindepth 2 -type f 2>/dev/null || true" % root).strip()  # no backup, not even partial
    record = json.loads(sh("cat %s/.last_runs.json" % root))
    assert [run["ok"] for run in record.values()] == [False]
    assert "password authentication failed" in list(record.values())[0]["error"] and secret not in sh("cat %s/.last_runs.json" % root)


def test_age_encrypted_round_trip_and_wrong_key_refused(pg_args, database, lab):
    keys = "/var/lib/lifeboat-it/keys-%s" % database
    sh("mkdir -p -m 0700 %s && age-keygen -o %s/right 2>/dev/null && age-keygen -o %s/wrong 2>/dev/null" % (keys, keys, keys))
    recipient = sh("age-keygen -y %s/right" % keys).strip()
    enc = dict(pg_args, encryption="age", age_recipients=[recipient], age_identity_file=keys + "/right")
    before = pg_content(database)
    result = dump(pg_args, database, **{k: v for k, v in enc.items() if k not in pg_args})
    assert result["path"].endswith(".dump.zst.age") and result["metadata"]["encryption"] == "age"
    assert sh("head -c 21 %s" % result["path"]) == "age-encryption.org/v1"
    psql("DELETE FROM items WHERE id % 2 = 0", database)
    damaged, dbs = pg_content(database), databases()
    wrong = run_module("db_restore", dict(enc, service=database, database=database, backup=result["path"],
                                          confirm=True, age_identity_file=keys + "/wrong"))
    assert wrong.get("failed") and result["path"] in wrong["msg"] and "no identity matched" in wrong["msg"]
    assert pg_content(database) == damaged and databases() == dbs
    out = run_module("db_restore", dict(enc, service=database, database=database, backup=result["path"], confirm=True))
    assert not out.get("failed"), out.get("msg")
    assert pg_content(database) == before
    sh("rm -rf %s" % keys)
