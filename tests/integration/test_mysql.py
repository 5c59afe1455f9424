"""db_dump / db_restore / db_fingerprint against the lab's real MariaDB 10.11."""
import json
import uuid

import pytest

from labhost import mariadb, mariadb_content, mariadb_databases, run_module, sh

EXPECTED_ROWS = {"customers": 600, "products": 150, "orders": 2500, "order_audit": 2500}
EXPECTED_OBJECTS = {"views": 1, "triggers": 1, "routines": 2, "events": 1}


@pytest.fixture
def mysql_args(lab):
    with open("%s/.lab/secrets/mariadb_lifeboat" % lab["root"]) as handle:
        password = handle.read().split()[0]
    return {"engine": "mysql", "login_user": "lifeboat", "login_password": password,
            "backup_root": "/var/backups/lifeboat-it"}


@pytest.fixture
def shop(lab):
    name = "it_%s" % uuid.uuid4().hex[:8]
    mariadb("CREATE DATABASE %s CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci" % name)
    sh("mariadb %s < /usr/local/share/shopdb_seed.sql" % name)
    yield name
    for db in mariadb_databases():
        if db.startswith(name):
            mariadb("DROP DATABASE `%s`" % db)
    sh("rm -rf /var/backups/lifeboat-it/%s" % name)


def fingerprint_of(args, database):
    args = {key: value for key, value in args.items() if key != "backup_root"}
    result = run_module("db_fingerprint", dict(args, database=database))
    assert not result.get("failed"), result.get("msg")
    return result


def dump(args, database, **extra):
    result = run_module("db_dump", dict(args, service=database, database=database, **extra))
    assert not result.get("failed"), result.get("msg")
    return result


def test_round_trip_after_drop_restores_rows_and_objects(mysql_args, shop):
    before = mariadb_content(shop)
    fingerprint = fingerprint_of(mysql_args, shop)
    result = dump(mysql_args, shop, owner="lifeboat", group="lifeboat")
    assert result["tables"] == EXPECTED_ROWS
    meta = json.loads(sh("cat %s" % result["metadata_path"]))
    assert meta["content"]["objects"] == EXPECTED_OBJECTS
    assert meta["content"]["database"]["collation"] == "utf8mb4_unicode_ci"
    assert meta["verified"] is True
    assert meta["checksum"] == "sha256:" + sh("sha256sum %s" % result["path"]).split()[0]
    assert sh("stat -c '%%a %%U' %s" % result["path"]).split() == ["600", "lifeboat"]
    assert result["path"].endswith(".sql.zst")
    # The password travels in an option file that is gone afterwards, never in argv or output.
    assert mysql_args["login_password"] not in result.output
    assert any("--defaults-extra-file=" in command for command in result["executed_commands"])
    assert not sh("ls /tmp | grep lifeboat-mysql- || true").strip()

    mariadb("DROP DATABASE %s" % shop)
    restored = run_module("db_restore", dict(mysql_args, service=shop, database=shop, backup=result["path"]))
    assert not restored.get("failed"), restored.get("msg")
    assert restored["target_existed"] is False and restored["safety_copy"] is None
    assert restored["restored_rows"] == EXPECTED_ROWS and restored["restored_objects"] == EXPECTED_OBJECTS
    assert mariadb_content(shop) == before
    after = fingerprint_of(mysql_args, shop)
    assert after["fingerprint"] == fingerprint["fingerprint"] and after["tables"]["orders"]["rows"] == 2500
    # The routines and the trigger work again, not only exist.
    mariadb("CALL place_order(1, 'SKU-0001', 2)", shop)
    assert mariadb("SELECT COUNT(*) FROM order_audit", shop) == "2501"
    assert mariadb("SELECT order_total((SELECT MAX(id) FROM orders))", shop) == str(2 * (100 + 3))
    assert not [db for db in mariadb_databases() if db.endswith("__lifeboat_restore")]


def test_confirmed_restore_over_live_database_keeps_a_safety_dump(mysql_args, shop):
    original = mariadb_content(shop)
    result = dump(mysql_args, shop)
    mariadb("DELETE FROM order_audit WHERE id > 100; DROP VIEW big_orders", shop)
    damaged = mariadb_content(shop)
    refused = run_module("db_restore", dict(mysql_args, service=shop, database=shop, backup=result["path"]))
    assert refused.get("failed") and "refusing to overwrite" in refused["msg"]
    assert mariadb_content(shop) == damaged

    planned = run_module("db_restore", dict(mysql_args, service=shop, database=shop, confirm=True), check=True)
    assert planned["changed"] and "safety copy" in planned["plan"]
    assert mariadb_content(shop) == damaged

    out = run_module("db_restore", dict(mysql_args, service=shop, database=shop, select="latest", confirm=True))
    assert not out.get("failed"), out.get("msg")
    assert mariadb_content(shop) == original
    kept = out["safety_copy"]
    assert sh("stat -c %%a %s" % kept).strip() == "600"
    # The safety dump loads, and holds the damaged state: 100 audit rows and no view.
    mariadb("CREATE DATABASE %s_safety" % shop)
    sh("zstd -dc %s | mariadb %s_safety" % (kept, shop))
    assert mariadb_content("%s_safety" % shop) != original
    assert mariadb("SELECT COUNT(*) FROM order_audit", shop + "_safety") == "100"
    assert mariadb("SELECT COUNT(*) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = '%s_safety'" % shop) == "0"


def test_truncated_dump_is_refused_and_target_untouched(mysql_args, shop):
    result = dump(mysql_args, shop, compression="none")
    path, meta_path = result["path"], result["metadata_path"]
    # Cut the dump before its end and make size and checksum agree, as a bad copy with fresh metadata would.
    sh("head -c $(( $(stat -c %%s %s) * 2 / 3 )) %s > %s.cut && mv %s.cut %s" % (path, path, path, path, path))
    meta = json.loads(sh("cat %s" % meta_path))
    meta["checksum"] = "sha256:" + sh("sha256sum %s" % path).split()[0]
    meta["size_bytes"] = int(sh("stat -c %%s %s" % path))
    sh("cat > %s <<'EOF'\n%s\nEOF" % (meta_path, json.dumps(meta)))
    mariadb("DELETE FROM orders WHERE id > 2400", shop)
    damaged = mariadb_content(shop)
    out = run_module("db_restore", dict(mysql_args, service=shop, database=shop, backup=path, confirm=True))
    assert out.get("failed") and path in out["msg"] and "truncated" in out["msg"]
    assert mariadb_content(shop) == damaged
    assert not [db for db in mariadb_databases() if db.endswith("__lifeboat_restore")]


def test_metadata_disagreeing_with_the_dump_is_refused(mysql_args, shop):
    result = dump(mysql_args, shop)
    meta = json.loads(sh("cat %s" % result["metadata_path"]))
    meta["content"]["tables"]["orders"] = 2600
    sh("cat > %s <<'EOF'\n%s\nEOF" % (result["metadata_path"], json.dumps(meta)))
    before = mariadb_content(shop)
    out = run_module("db_restore", dict(mysql_args, service=shop, database=shop, backup=result["path"], confirm=True))
    assert out.get("failed") and result["path"] in out["msg"] and "2600" in out["msg"]
    assert mariadb_content(shop) == before


def test_wrong_password_is_a_clear_error_without_the_password(mysql_args, shop):
    out = run_module("db_dump", dict(mysql_args, service=shop, database=shop, login_password="not-the-password"))
    assert out.get("failed") and "Access denied" in out["msg"]
    assert "not-the-password" not in out.output
    assert not sh("ls /var/backups/lifeboat-it/%s/*/ 2>/dev/null | grep -v '^$' || true" % shop).strip()


def test_safety_dump_is_encrypted_like_the_backups_private_and_kept_by_count(mysql_args, shop):
    """Issue 12: the pre-restore dump of an encrypted service was written unencrypted beside the backups."""
    secret = "it-passphrase-%s" % shop
    enc = {"encryption": "gpg", "encryption_passphrase": secret}
    result = dump(mysql_args, shop, **enc)
    assert result["path"].endswith(".sql.zst.gpg")
    mariadb("DELETE FROM order_audit WHERE id > 100", shop)
    first = run_module("db_restore", dict(mysql_args, service=shop, database=shop, backup=result["path"],
                                          confirm=True, safety_copy_keep=1, **enc))
    assert not first.get("failed"), first.get("msg")
    kept = first["safety_copy"]
    assert kept.startswith("/var/backups/lifeboat-it/%s/safety/pre-restore-%s-" % (shop, shop))
    assert kept.endswith(".sql.zst.gpg")
    assert sh("stat -c %%a %s %s" % (kept, kept.rsplit("/", 1)[0])).split() == ["600", "700"]
    assert sh("zstd -t %s >/dev/null 2>&1 && echo plain || echo sealed" % kept).strip() == "sealed"
    assert secret not in first.output
    # It decrypts with the service's passphrase and holds the state before the restore: 100 audit rows.
    mariadb("CREATE DATABASE %s_safety" % shop)
    sh("h=$(mktemp -d) && printf %%s '%s' | gpg --homedir $h --batch --quiet --pinentry-mode loopback "
       "--passphrase-fd 0 -d %s | zstd -dc | mariadb %s_safety; rc=$?; rm -rf $h; exit $rc" % (secret, kept, shop))
    assert mariadb("SELECT COUNT(*) FROM order_audit", shop + "_safety") == "100"
    # A second restore keeps one copy: its own; the first is removed and reported.
    second = run_module("db_restore", dict(mysql_args, service=shop, database=shop, backup=result["path"],
                                           confirm=True, safety_copy_keep=1, **enc))
    assert not second.get("failed"), second.get("msg")
    assert [item["path"] for item in second["safety_copies_removed"]] == [kept]
    assert sh("ls /var/backups/lifeboat-it/%s/safety" % shop).split() == [second["safety_copy"].rsplit("/", 1)[1]]
