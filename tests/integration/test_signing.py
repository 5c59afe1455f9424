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


def basebackup(signing_key=None):
    """A base backup of app1's cluster now, as the lab's timer takes them (signed with ``signing_key``)."""
    sh("runuser -u postgres -- lifeboat-pitr basebackup --repository /var/backups/lifeboat-pitr/15-main "
       "--bin-dir /usr/lib/postgresql/15/bin --port $(pg_conftool -s 15 main show port) --keep 7"
       + (" --signing-key %s" % signing_key if signing_key else ""))


def test_a_wrong_key_and_an_unsigned_pitr_base_backup_are_refused(lab, keys):
    # The lab's base backups are unsigned (no postgresql_pitr_signing_key); a new one is the newest whatever
    # earlier runs signed. With public keys configured, pitr_restore refuses it in check mode, before anything
    # is touched; with optional it plans.
    basebackup()
    plan = run_module("pitr_restore", {"until": "latest", "signing_public_keys": [keys["public"]]}, check=True)
    assert plan.get("failed") and "is unsigned and signatures are required" in plan["msg"]
    plan = run_module("pitr_restore", {"until": "latest", "signing_public_keys": [keys["public"]],
                                       "signature": "optional"}, check=True)
    assert not plan.get("failed") and plan["signature"].startswith("unsigned")
    # A base backup signed with the key postgres may read verifies; with another public key it does not.
    sh("install -o postgres -g postgres -m 0600 %s /var/lib/postgresql/it-signing-key" % keys["key"])
    try:
        basebackup("/var/lib/postgresql/it-signing-key")
    finally:
        sh("rm -f /var/lib/postgresql/it-signing-key")
    # The base backup verifies; the lab's WAL after it is unsigned (its archive_command has no key), which
    # signature: optional accepts with a warning and required refuses before anything is touched.
    plan = run_module("pitr_restore", {"until": "latest", "signing_public_keys": [keys["public"]],
                                       "signature": "optional"}, check=True)
    assert not plan.get("failed") and plan["signature"].startswith("verified"), plan.get("msg")
    assert "unsigned ones are accepted" in plan["wal_signature"]
    plan = run_module("pitr_restore", {"until": "latest", "signing_public_keys": [keys["public"]]}, check=True)
    assert plan.get("failed") and "may fetch are unsigned (" in plan["msg"]
    assert "signatures are required, so recovery would stop there" in plan["msg"]
    plan = run_module("pitr_restore", {"until": "latest", "signing_public_keys": [keys["other"]]}, check=True)
    assert plan.get("failed") and "signature does not verify" in plan["msg"]


PITR_REPO = "/var/backups/lifeboat-pitr/15-main"
PITR_DATA = "/var/lib/postgresql/15/main"
WAL_KEY = "/var/lib/postgresql/it-wal-key"


def _archive_now():
    """Close the current segment; wait until it is archived and signed."""
    segment = psql("SELECT pg_walfile_name(pg_switch_wal())")
    sh("for i in $(seq 1 100); do test -e %s/wal/%s.zst && test -e %s/wal/%s.sig && exit 0; sleep 0.2; done; "
       "exit 1" % (PITR_REPO, segment, PITR_REPO, segment))
    return segment


@pytest.fixture
def signed_wal(lab, keys):
    """app1's archive_command signs with the test key (the role would: postgresql_pitr_signing_key), the
    unsigned history files already archived are signed, and a signed base backup starts the window."""
    sh("install -o postgres -g postgres -m 0600 %s %s && install -m 0644 %s.pub %s.pub"
       % (keys["key"], WAL_KEY, keys["key"], WAL_KEY))
    command = psql("SHOW archive_command")
    # The lab's archive is unsigned: signatures an earlier run made with its own (now deleted) key go first.
    sh("rm -f %s/wal/*.sig" % PITR_REPO)
    try:
        sh("runuser -u postgres -- lifeboat-pitr sign-archived --repository %s --signing-key %s --wal-dir %s/pg_wal "
           "--trust-archived-history" % (PITR_REPO, WAL_KEY, PITR_DATA))
        psql("ALTER SYSTEM SET archive_command = '%s'"
             % command.replace(" %p %f", " --signing-key %s %%p %%f" % WAL_KEY).replace("'", "''"))
        psql("SELECT pg_reload_conf()")
        _archive_now()
        basebackup(WAL_KEY)
        yield
    finally:
        sh("systemctl start postgresql@15-main")
        # A recovered cluster carries the override too (postgresql.auto.conf is in the base backup).
        psql("ALTER SYSTEM RESET archive_command")
        psql("SELECT pg_reload_conf()")
        sh("rm -rf %s %s.pub %s.pre-pitr-* %s.failed-pitr-* %s/wal/*.sig" % (WAL_KEY, WAL_KEY, PITR_DATA, PITR_DATA,
                                                                            PITR_REPO))


def test_signed_wal_recovers_and_a_forged_or_unsigned_segment_is_refused(signed_wal, keys):
    trusted = {"until": "latest", "signing_public_keys": [keys["public"]]}
    psql("DROP DATABASE IF EXISTS it_walsig")
    psql("CREATE DATABASE it_walsig")
    psql("CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 500) g", "it_walsig")
    previous = _archive_now()
    psql("INSERT INTO t SELECT g FROM generate_series(501, 1000) g", "it_walsig")
    segment = _archive_now()
    plan = run_module("pitr_restore", trusted, check=True)
    assert not plan.get("failed"), plan.get("msg")
    assert plan["signature"].startswith("verified")
    assert plan["wal_signature"] == "every archived WAL file fetched is verified (signature: required)"

    # The forgery: another segment's content and checksum under this name (what a party without the key can
    # write). The checksum matches, the signature does not: restore-wal stops recovery (exit 255).
    wal = "%s/wal/" % PITR_REPO
    sh("cp -p {w}{s}.zst /tmp/it-walsig.zst && cp -p {w}{s}.sha256 /tmp/it-walsig.sha256 && "
       "cp {w}{p}.zst {w}{s}.zst && cp {w}{p}.sha256 {w}{s}.sha256".format(w=wal, s=segment, p=previous))
    try:
        fetch = sh("runuser -u postgres -- lifeboat-pitr restore-wal --repository %s --public-keys-file %s "
                   "--signature required %s /tmp/it-walsig-fetched 2>&1; echo rc=$?"
                   % (PITR_REPO, WAL_KEY + ".pub", segment), check=False)
        assert "rc=255" in fetch and segment in fetch and "forged, altered or signed under another name" in fetch
        result = run_module("pitr_restore", dict(trusted, confirm=True))
        assert result.get("failed") and segment in result["msg"], result.get("msg")
        assert "original data directory is back" in result["msg"]
        sh("systemctl start postgresql@15-main")
        assert psql("SELECT count(*) FROM t", "it_walsig") == "1000"  # the target untouched
    finally:
        sh("cp -p /tmp/it-walsig.zst {w}{s}.zst && cp -p /tmp/it-walsig.sha256 {w}{s}.sha256 && "
           "rm -f /tmp/it-walsig*".format(w=wal, s=segment))
        sh("systemctl start postgresql@15-main")

    # An unsigned segment (its .sig removed): refused under required before anything is touched, accepted
    # with a warning naming it under optional.
    sh("mv {w}{s}.sig /tmp/it-walsig.sig".format(w=wal, s=segment))
    try:
        plan = run_module("pitr_restore", trusted, check=True)
        assert plan.get("failed") and "are unsigned" in plan["msg"] and segment in plan["msg"]
        plan = run_module("pitr_restore", dict(trusted, signature="optional"), check=True)
        assert not plan.get("failed") and any(segment in w for w in plan["warnings"])
    finally:
        sh("mv /tmp/it-walsig.sig {w}{s}.sig".format(w=wal, s=segment))

    # The genuine archive recovers, every fetched segment verified; the keys file is gone afterwards.
    result = run_module("pitr_restore", dict(trusted, confirm=True))
    assert not result.get("failed"), result.get("msg")
    assert psql("SELECT count(*) FROM t", "it_walsig") == "1000"
    assert "--public-keys-file" in json.dumps(result["executed_commands"])
    assert sh("ls -d /run/lifeboat-pitr-* 2>/dev/null || true").strip() == ""
    psql("DROP DATABASE it_walsig")
