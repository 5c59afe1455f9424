"""Signed backups on app1 (issue 12): the forgery the issue describes, a swapped and a replayed backup,
an offsite pull from a rolled-back store and a PITR base backup, each refused before the target is touched."""
import json
import uuid

import pytest

from labhost import databases, pg_content, psql, run_module, sh
from test_postgresql import SCHEMA

FORGE = r"""
import json, sys
meta_path, forged_meta_path = sys.argv[1], sys.argv[2]
meta, forged = json.load(open(meta_path)), json.load(open(forged_meta_path))
# The attacker keeps the genuine metadata (and its signature) but rewrites what would make it match.
meta.update(checksum=forged["checksum"], size_bytes=forged["size_bytes"], content=forged["content"])
json.dump(meta, open(meta_path, "w"))
"""


@pytest.fixture
def keys(lab):
    path = "/var/lib/lifeboat-it/signing-%s" % uuid.uuid4().hex[:8]
    sh("mkdir -p -m 0700 %s && ssh-keygen -q -t ed25519 -N '' -C lifeboat-backup -f %s/key && "
       "ssh-keygen -q -t ed25519 -N '' -C other -f %s/other && age-keygen -o %s/age 2>/dev/null && "
       "cat > %s/forge.py <<'PY'\n%sPY" % (path, path, path, path, path, FORGE))
    yield {"dir": path, "key": path + "/key", "public": sh("cat %s/key.pub" % path).strip(),
           "other": sh("cat %s/other.pub" % path).strip(), "age": sh("age-keygen -y %s/age" % path).strip(),
           "identity": path + "/age", "state": path + "/state"}
    sh("rm -rf %s" % path)


@pytest.fixture
def database(lab):
    name = "it_sig_%s" % uuid.uuid4().hex[:8]
    psql("CREATE DATABASE %s OWNER sampleapp" % name)
    sh("runuser -u sampleapp -- psql -XAtq -v ON_ERROR_STOP=1 -d %s <<'SQL'\n%s\nSQL" % (name, SCHEMA))
    yield name
    for db in databases():
        if db.startswith(name):
            psql("DROP DATABASE %s WITH (FORCE)" % db)


def signed(pg_args, database, keys, **extra):
    return dict(pg_args, service=database, database=database, encryption="age", age_recipients=[keys["age"]],
                age_identity_file=keys["identity"], signing_public_keys=[keys["public"]], state_dir=keys["state"],
                **extra)


def test_the_issue_s_forgery_is_refused(pg_args, database, keys):
    args = signed(pg_args, database, keys)
    genuine = run_module("db_dump", dict(args, signing_key=keys["key"]))
    assert not genuine.get("failed"), genuine.get("msg")
    assert genuine["metadata"]["signature"]["format"] == "sshsig"
    # The attacker: forged rows, dumped and encrypted to the same public age recipient, without the signing key.
    psql("UPDATE items SET name = 'forged'", database)
    forged = run_module("db_dump", dict(args, backup_root=keys["dir"] + "/attacker", signature="ignore"))
    assert not forged.get("failed"), forged.get("msg")
    sh("cp %s %s && python3 %s/forge.py %s %s" % (forged["path"], genuine["path"], keys["dir"],
                                                 genuine["metadata_path"], forged["metadata_path"]))
    before = pg_content(database)
    out = run_module("db_restore", dict(args, confirm=True))
    assert out.get("failed") and "signature does not verify" in out["msg"] and genuine["backup_id"] in out["msg"]
    assert pg_content(database) == before
    # The same with the signature removed: unsigned, refused unless the user opts out.
    sh("python3 -c \"import json,sys; m=json.load(open(sys.argv[1])); m.pop('signature'); "
       "json.dump(m, open(sys.argv[1], 'w'))\" %s" % genuine["metadata_path"])
    out = run_module("db_restore", dict(args, confirm=True))
    assert out.get("failed") and "is unsigned and signatures are required" in out["msg"]
    assert pg_content(database) == before


def test_a_swapped_backup_of_another_service_is_refused(pg_args, database, keys):
    args = signed(pg_args, database, keys)
    mine = run_module("db_dump", dict(args, signing_key=keys["key"]))
    theirs = run_module("db_dump", dict(args, signing_key=keys["key"], service=database + "_other"))
    assert not mine.get("failed") and not theirs.get("failed")
    # Their valid pair under my newest backup's names (same class and second when the ids agree).
    target = mine["path"].rsplit("/", 1)[0]
    sh("cp %s %s/%s.dump.zst.age && cp %s %s/%s.metadata.json" % (
        theirs["path"], target, mine["backup_id"], theirs["metadata_path"], target, mine["backup_id"]))
    out = run_module("db_restore", dict(args, backup=mine["path"], confirm=True))
    assert out.get("failed") and ("signed as" in out["msg"] or "describes" in out["msg"])


def test_latest_after_the_newer_backups_were_deleted_is_refused(pg_args, database, keys):
    args = signed(pg_args, database, keys)
    old = run_module("db_dump", dict(args, signing_key=keys["key"], backup_type="daily"))
    sh("sleep 1")
    new = run_module("db_dump", dict(args, signing_key=keys["key"], backup_type="daily"))
    assert json.loads(sh("cat %s/%s.json" % (keys["state"], database)))["backup_id"] == new["backup_id"]
    sh("rm -f %s %s" % (new["path"], new["metadata_path"]))
    out = run_module("db_restore", dict(args, confirm=True))
    assert out.get("failed") and old["backup_id"] in out["msg"] and new["backup_id"] in out["msg"]
    out = run_module("db_restore", dict(args, select=old["backup_id"], confirm=True))
    assert not out.get("failed"), out.get("msg")
    assert out["signature"].startswith("verified")


def test_offsite_pull_from_a_rolled_back_store_is_refused(pg_args, database, keys):
    args = signed(pg_args, database, keys)
    store = keys["dir"] + "/store"
    sh("mkdir -p %s" % store)
    old = run_module("db_dump", dict(args, signing_key=keys["key"]))
    sh("sleep 1")
    new = run_module("db_dump", dict(args, signing_key=keys["key"]))
    offsite = dict(provider="filesystem", path=store, backup_root=pg_args["backup_root"], prefix="app1",
                   service=database, signing_public_keys=[keys["public"]], state_dir=keys["state"])
    assert not run_module("backup_offsite", dict(offsite, action="push")).get("failed")
    sh("rm -f %s/app1/%s/*/%s.*" % (store, database, new["backup_id"]))
    sh("rm -rf %s/%s" % (pg_args["backup_root"], database))
    out = run_module("backup_offsite", dict(offsite, action="pull"))
    assert out.get("failed") and new["backup_id"] in out["msg"]
    assert sh("ls %s/%s 2>/dev/null | wc -l" % (pg_args["backup_root"], database), check=False).strip() in ("", "0")
    out = run_module("backup_offsite", dict(offsite, action="pull", select=old["backup_id"]))
    assert not out.get("failed") and out["signature"].startswith("verified")


def test_a_wrong_key_and_an_unsigned_pitr_base_backup_are_refused(lab, keys):
    # The lab's base backups are unsigned (no postgresql_pitr_signing_key): with public keys configured,
    # pitr_restore refuses them in check mode, before anything is touched; with optional it plans.
    plan = run_module("pitr_restore", {"until": "latest", "signing_public_keys": [keys["public"]]}, check=True)
    assert plan.get("failed") and "is unsigned and signatures are required" in plan["msg"]
    plan = run_module("pitr_restore", {"until": "latest", "signing_public_keys": [keys["public"]],
                                       "signature": "optional"}, check=True)
    assert not plan.get("failed") and plan["signature"].startswith("unsigned")
    # A base backup signed with the key postgres may read verifies; with another public key it does not.
    sh("install -o postgres -g postgres -m 0600 %s /var/lib/postgresql/it-signing-key" % keys["key"])
    try:
        sh("runuser -u postgres -- lifeboat-pitr basebackup --repository /var/backups/lifeboat-pitr/15-main "
           "--bin-dir /usr/lib/postgresql/15/bin --port $(pg_conftool -s 15 main show port) --keep 7 "
           "--signing-key /var/lib/postgresql/it-signing-key")
    finally:
        sh("rm -f /var/lib/postgresql/it-signing-key")
    plan = run_module("pitr_restore", {"until": "latest", "signing_public_keys": [keys["public"]]}, check=True)
    assert not plan.get("failed") and plan["signature"].startswith("verified"), plan.get("msg")
    plan = run_module("pitr_restore", {"until": "latest", "signing_public_keys": [keys["other"]]}, check=True)
    assert plan.get("failed") and "signature does not verify" in plan["msg"]
