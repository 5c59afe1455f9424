"""Signed backups with the real ssh-keygen: forgeries, swaps, replays and rollbacks are refused before a restore."""
import datetime
import io
import json
import os
import shutil
import sqlite3
import subprocess

import pytest

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf
from ansible_collections.lifeboat.dr.plugins.module_utils import cli
from ansible_collections.lifeboat.dr.plugins.module_utils import offsite
from ansible_collections.lifeboat.dr.plugins.module_utils import signing
from ansible_collections.lifeboat.dr.plugins.module_utils.dump import run_dump
from ansible_collections.lifeboat.dr.plugins.module_utils.offsite import transfer
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import base_backups
from ansible_collections.lifeboat.dr.plugins.module_utils.process import Runner
from ansible_collections.lifeboat.dr.plugins.module_utils.restore import run_restore

UTC = datetime.timezone.utc
T1 = datetime.datetime(2026, 3, 10, 2, 0, 0, tzinfo=UTC)
T2 = datetime.datetime(2026, 3, 11, 2, 0, 0, tzinfo=UTC)
T3 = datetime.datetime(2026, 3, 12, 2, 0, 0, tzinfo=UTC)


def keypair(directory, name, passphrase=""):
    path = str(directory / name)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", "lifeboat-backup", "-f", path],
                   check=True)
    with open(path + ".pub") as handle:
        return path, handle.read().strip()


def make_db(path, rows):
    if os.path.exists(path):
        os.unlink(path)
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x TEXT)")
    conn.executemany("INSERT INTO t VALUES (?)", [(value,) for value in rows])
    conn.commit()
    conn.close()


def rows(path):
    conn = sqlite3.connect(path)
    try:
        return [row[0] for row in conn.execute("SELECT x FROM t ORDER BY rowid")]
    finally:
        conn.close()


@pytest.fixture
def keys(tmp_path):
    directory = tmp_path / "keys"
    directory.mkdir()
    return {"key": keypair(directory, "signing"), "other": keypair(directory, "other")}


@pytest.fixture
def spec(tmp_path, keys):
    db = str(tmp_path / "app.db")
    make_db(db, ["genuine %d" % i for i in range(5)])
    key, public = keys["key"]
    return {"engine": "sqlite", "service": "app", "path": db, "backup_root": str(tmp_path / "repo"),
            "signing_key": key, "signing_public_keys": [public], "state_dir": str(tmp_path / "state")}


def reader(spec):
    """The restoring side: only the public keys, no private key."""
    return dict(spec, signing_key=None, confirm=True)


def write_meta(path, meta):
    with open(bf.metadata_path_for(path), "w") as handle:
        json.dump(meta, handle)


def test_a_signed_backup_restores_and_nothing_secret_is_on_a_command_line(spec, keys):
    result = run_dump(spec, when=T1)
    meta = bf.load_metadata(result["path"])
    fingerprint = signing.parse_public_key(keys["key"][1])[2]
    assert meta["signature"]["format"] == "sshsig" and meta["signature"]["key"] == fingerprint
    assert result["signed_by"] == fingerprint
    assert meta["signature"]["value"].startswith("-----BEGIN SSH SIGNATURE-----")
    with open(os.path.join(spec["state_dir"], "app.json")) as handle:
        assert json.load(handle)["backup_id"] == result["backup_id"]
    assert oct(os.stat(os.path.join(spec["state_dir"], "app.json")).st_mode & 0o777) == "0o600"
    make_db(spec["path"], ["changed"])
    restored = run_restore(reader(spec))
    assert restored["signature"] == "verified (%s)" % fingerprint and restored["warnings"] == []
    assert rows(spec["path"]) == ["genuine %d" % i for i in range(5)]
    # The key is a path to ssh-keygen; neither private nor public key material is ever an argument.
    with open(spec["signing_key"]) as handle:
        private_lines = [line for line in handle.read().splitlines() if line and not line.startswith("-----")]
    public_blob = keys["key"][1].split()[1]
    commands = result["executed_commands"] + restored["executed_commands"]
    assert any("ssh-keygen -Y sign" in command for command in commands)
    assert any("ssh-keygen -Y verify" in command for command in commands)
    for command in commands:
        assert public_blob not in command and not any(line in command for line in private_lines)


def test_the_issue_s_forgery_is_refused_and_the_target_untouched(spec, tmp_path):
    genuine = run_dump(spec, when=T1)
    # The attacker's backup of forged rows, written without the key, then planted over the genuine one
    # with the metadata's sha256, size and row counts rewritten to match.
    forged_db = str(tmp_path / "forged.db")
    make_db(forged_db, ["forged"] * 3)
    forged = run_dump(dict(spec, path=forged_db, backup_root=str(tmp_path / "attacker"), signing_key=None,
                           signature="ignore"), when=T1)
    shutil.copy(forged["path"], genuine["path"])
    meta = bf.load_metadata(genuine["path"])
    meta.update(checksum=forged["checksum"], size_bytes=forged["size_bytes"], content=forged["metadata"]["content"])
    write_meta(genuine["path"], meta)
    make_db(spec["path"], ["current"])
    with pytest.raises(bf.LifeboatError, match="backup .*%s.*: signature does not verify with signing_public_keys"
                       % genuine["backup_id"]):
        run_restore(reader(spec))
    # Without the signature it is unsigned, which is refused just the same.
    del meta["signature"]
    write_meta(genuine["path"], meta)
    with pytest.raises(bf.LifeboatError, match="is unsigned and signatures are required .*signature: optional"):
        run_restore(reader(spec))
    assert rows(spec["path"]) == ["current"]


def test_a_planted_archive_under_valid_signed_metadata_fails_its_signed_checksum(spec, tmp_path):
    genuine = run_dump(spec, when=T1)
    forged_db = str(tmp_path / "forged.db")
    make_db(forged_db, ["forged"])
    forged = run_dump(dict(spec, path=forged_db, backup_root=str(tmp_path / "attacker")), when=T1)
    shutil.copy(forged["path"], genuine["path"])
    make_db(spec["path"], ["current"])
    for skip in (False, True):  # skip_verify does not skip the digest that the signature covers
        with pytest.raises(bf.LifeboatError, match="is .* bytes but its metadata records|fails its checksum"):
            run_restore(dict(reader(spec), skip_verify=skip))
    assert rows(spec["path"]) == ["current"]


def test_another_service_s_valid_backup_swapped_in_is_refused(spec, tmp_path):
    mine = run_dump(spec, when=T1)
    other_db = str(tmp_path / "other.db")
    make_db(other_db, ["other service"])
    theirs = run_dump(dict(spec, service="billing", path=other_db), when=T1)
    assert theirs["backup_id"] == mine["backup_id"]
    shutil.copy(theirs["path"], mine["path"])
    shutil.copy(theirs["metadata_path"], mine["metadata_path"])
    make_db(spec["path"], ["current"])
    with pytest.raises(bf.LifeboatError, match="is signed as service 'billing' but was found as 'app'"):
        run_restore(reader(spec))
    assert rows(spec["path"]) == ["current"]


def test_an_older_backup_renamed_to_look_newest_is_refused(spec, keys):
    old = run_dump(spec, when=T1)
    real_newest = run_dump(spec, when=T2)
    # The old pair under a newer name: its signed id (and files) say what it really is.
    newer_id = bf.backup_id_for("daily", T3)
    planted = old["path"].replace(old["backup_id"], newer_id)
    shutil.copy(old["path"], planted)
    shutil.copy(old["metadata_path"], bf.metadata_path_for(planted))
    # The listing takes it for incomplete, so latest is still the real newest; named, it is refused.
    assert run_restore(reader(spec))["backup_id"] == real_newest["backup_id"]
    with pytest.raises(bf.LifeboatError, match="describes"):
        run_restore(dict(reader(spec), backup=planted))
    # With the files field rewritten to match, the signature no longer verifies; unchanged, the id is bound.
    meta = bf.load_metadata(old["path"])
    with signing.Signing(Runner(), public_keys=[keys["key"][1]]) as signer:
        with pytest.raises(bf.LifeboatError, match="is signed as backup id '%s' but was found as '%s'"
                           % (old["backup_id"], newer_id)):
            signer.verify(meta, newer_id, "app")
    meta["files"] = [os.path.basename(planted)]
    write_meta(planted, meta)
    for how in ({}, {"backup": planted}):
        with pytest.raises(bf.LifeboatError, match="signature does not verify"):
            run_restore(dict(reader(spec), **how))


def test_latest_older_than_the_host_s_record_is_refused_naming_both(spec):
    old = run_dump(spec, when=T1)
    make_db(spec["path"], ["newer"])
    new = run_dump(spec, when=T2)
    os.unlink(new["path"])
    os.unlink(new["metadata_path"])  # the store rolled back: only the old, validly signed backup is left
    make_db(spec["path"], ["current"])
    with pytest.raises(bf.LifeboatError, match="newest backup of app found is %s, but this host signed a newer "
                       "one, %s .*select: %s" % (old["backup_id"], new["backup_id"], old["backup_id"])):
        run_restore(reader(spec))
    assert rows(spec["path"]) == ["current"]
    # Chosen on purpose by its id, it restores.
    assert run_restore(dict(reader(spec), select=old["backup_id"]))["backup_id"] == old["backup_id"]
    assert rows(spec["path"]) == ["genuine %d" % i for i in range(5)]


def test_the_record_only_moves_forward(spec):
    run_dump(spec, when=T2)
    run_dump(spec, when=T1)  # taken later, but dated earlier (a clock step): the record keeps the newest
    with open(os.path.join(spec["state_dir"], "app.json")) as handle:
        assert json.load(handle)["backup_id"] == bf.backup_id_for("daily", T2)


def test_unsigned_backups_need_the_explicit_opt_out(spec):
    unsigned = dict(spec, signing_key=None, signature="ignore")
    result = run_dump(unsigned, when=T1)
    assert result["signed_by"] == "unsigned" and "signature" not in result["metadata"]
    with pytest.raises(bf.LifeboatError, match="is unsigned and signatures are required"):
        run_restore(reader(spec))
    accepted = run_restore(dict(reader(spec), signature="optional"))
    assert accepted["signature"] == "unsigned, accepted (signature: optional)"
    assert "is unsigned: accepted because signature is optional" in accepted["warnings"][0]
    ignored = run_restore(dict(reader(spec), signature="ignore"))
    assert ignored["signature"] == "not checked (signature: ignore)" and ignored["warnings"] == []
    # Nothing configured (the behaviour before signing existed): restored, with a warning.
    plain = run_restore(dict(reader(spec), signing_public_keys=None, signature=None))
    assert plain["signature"] == "not checked (no signing_public_keys configured)"
    assert "without checking who made it" in plain["warnings"][0]


def test_optional_still_refuses_a_wrong_signature(spec, keys):
    run_dump(dict(spec, signing_key=keys["other"][0], signing_public_keys=[keys["other"][1]]), when=T1)
    for policy in ("auto", "required", "optional"):
        with pytest.raises(bf.LifeboatError, match="signature does not verify with signing_public_keys"):
            run_restore(dict(reader(spec), signature=policy))


def test_key_rotation_keeps_old_backups_verifying(spec, keys):
    old = run_dump(spec, when=T1)
    both = [keys["key"][1], keys["other"][1]]
    new = run_dump(dict(spec, signing_key=keys["other"][0], signing_public_keys=both), when=T2)
    assert run_restore(dict(reader(spec), signing_public_keys=both, select=old["backup_id"]))["signature"].startswith(
        "verified")
    assert run_restore(dict(reader(spec), signing_public_keys=both))["backup_id"] == new["backup_id"]


def test_signing_keys_that_cannot_sign_fail_before_anything_is_written(spec, keys, tmp_path):
    repo = spec["backup_root"]
    os.chmod(spec["signing_key"], 0o644)
    with pytest.raises(bf.LifeboatError, match="signing_key .* is readable by others \\(mode 0644\\): make it 0600"):
        run_dump(spec, when=T1)
    os.chmod(spec["signing_key"], 0o600)
    locked, _public = keypair(tmp_path / "keys", "locked", passphrase="secret words")
    with pytest.raises(bf.LifeboatError, match="cannot sign unattended"):
        run_dump(dict(spec, signing_key=locked), when=T1)
    with pytest.raises(bf.LifeboatError, match="is not among signing_public_keys .* every backup it signs would be "
                       "refused"):
        run_dump(dict(spec, signing_key=keys["other"][0]), when=T1)
    with pytest.raises(bf.LifeboatError, match="no signing_key is given"):
        run_dump(dict(spec, signing_key=None), when=T1)
    with pytest.raises(bf.LifeboatError, match="signature: required, but no signing_public_keys"):
        run_dump(dict(spec, signing_public_keys=None, signature="required"), when=T1)
    assert bf.list_backups(repo, "app") == ([], [])


def test_public_keys_are_checked(keys):
    with pytest.raises(bf.LifeboatError, match="is not an OpenSSH public key line"):
        signing.Signing(Runner(), public_keys=["-----BEGIN OPENSSH PRIVATE KEY-----"])
    with pytest.raises(bf.LifeboatError, match="is not an OpenSSH public key line"):
        signing.Signing(Runner(), public_keys=[keys["key"][1] + "\nssh-ed25519 AAAA injected"])
    with pytest.raises(bf.LifeboatError, match="unknown signature policy"):
        signing.Signing(Runner(), policy="maybe")
    out = subprocess.run(["ssh-keygen", "-l", "-f", keys["key"][0] + ".pub"], capture_output=True, check=True)
    assert signing.parse_public_key(keys["key"][1])[2] == out.stdout.decode().split()[1]


def test_what_is_signed_is_the_metadata_without_its_signature_and_survives_json_round_trips(spec):
    meta = run_dump(spec, when=T1)["metadata"]
    assert signing.canonical(meta) == signing.canonical(json.loads(json.dumps(meta, indent=2, sort_keys=True)))
    body = json.loads(signing.canonical(meta)[len(signing.PREAMBLE):])
    assert "signature" not in body
    for key in ("backup_id", "service", "engine", "type", "timestamp", "size_bytes", "checksum", "files"):
        assert body[key] == meta[key]
    # A field added later (a sidecar's digest) is covered without any change here.
    with signing.Signing(Runner(), signing_key=spec["signing_key"], public_keys=spec["signing_public_keys"]) as signer:
        extra = dict(meta, sidecar_sha256="sha256:00")
        signer.sign(extra)
        assert signer.verify(extra, meta["backup_id"], "app")["signed"]
        extra["sidecar_sha256"] = "sha256:11"
        with pytest.raises(bf.LifeboatError, match="signature does not verify"):
            signer.verify(extra, meta["backup_id"], "app")


def test_offsite_pull_checks_the_signature_before_downloading(spec, tmp_path):
    old = run_dump(spec, when=T1)
    new = run_dump(spec, when=T2)
    (tmp_path / "store").mkdir()
    store = offsite.provider_from_params({"provider": "filesystem", "path": str(tmp_path / "store")})
    transfer.push(store, spec["backup_root"], "app")
    shutil.rmtree(spec["backup_root"])
    params = dict(reader(spec), provider="filesystem", select="latest", prefix="")
    pulled = transfer.run("pull", store, params)
    assert pulled["backup_id"] == new["backup_id"] and pulled["signature"].startswith("verified")
    assert transfer.run("verify", store, params)["services"]["app"]["problems"] == []
    shutil.rmtree(spec["backup_root"])
    # Forged remote metadata: refused, and nothing lands locally.
    key = transfer.remote_key("", "app", "daily", os.path.basename(new["metadata_path"]))
    meta = json.loads(transfer.get_bytes(store, key))
    meta["content"]["tables"]["t"] = 99
    store.put_bytes(key, json.dumps(meta).encode())
    with pytest.raises(bf.LifeboatError, match="offsite .*%s.*: signature does not verify" % new["backup_id"]):
        transfer.run("pull", store, params)
    assert not os.path.exists(spec["backup_root"]) or bf.list_backups(spec["backup_root"], "app") == ([], [])
    problems = transfer.run("verify", store, params)["services"]["app"]["problems"]
    assert [item["path"] for item in problems] == [transfer.remote_key("", "app", "daily", os.path.basename(
        new["path"]))]
    # The bucket rolled back to the old backup: this host's record refuses it as latest.
    store.delete(transfer.remote_key("", "app", "daily", os.path.basename(new["path"])))
    store.delete(key)
    with pytest.raises(bf.LifeboatError, match="this host signed a newer one, %s" % new["backup_id"]):
        transfer.run("pull", store, params)
    assert transfer.run("pull", store, dict(params, select=old["backup_id"]))["backup_id"] == old["backup_id"]


def _base_backup(repo, base_id, signer):
    path = os.path.join(repo, "base", base_id)
    os.makedirs(path)
    with open(os.path.join(path, "base.tar.zst"), "wb") as handle:
        handle.write(b"base")
    info = {"base_id": base_id, "finished_at": "2026-03-10T01:00:00+00:00", "start_wal": "000000010000000000000002",
            "files": {"base.tar.zst": {"size": 4, "sha256": bf.sha256_file(os.path.join(path, "base.tar.zst"))}}}
    if signer is not None:
        signer.sign(info)
    bf.write_json_atomic(os.path.join(path, "lifeboat.json"), info)
    return dict(info, path=path)


def test_pitr_base_backups_are_signed_and_checked(spec, tmp_path):
    repo = str(tmp_path / "pitr")
    with signing.Signing(Runner(), signing_key=spec["signing_key"], policy="optional") as signer:
        good = _base_backup(repo, "base_20260310_010000", signer)
        forged = _base_backup(repo, "base_20260311_010000", signer)
        unsigned = _base_backup(repo, "base_20260312_010000", None)
    with signing.Signing(Runner(), public_keys=spec["signing_public_keys"]) as checker:
        assert base_backups.check_signature(checker, good)["signed"]
        with open(os.path.join(forged["path"], "lifeboat.json")) as handle:
            info = json.load(handle)
        info["files"]["base.tar.zst"]["sha256"] = "sha256:" + "0" * 64
        bf.write_json_atomic(os.path.join(forged["path"], "lifeboat.json"), info)
        with pytest.raises(bf.LifeboatError, match="base backup .*base_20260311_010000: signature does not verify"):
            base_backups.check_signature(checker, forged)
        with pytest.raises(bf.LifeboatError, match="is unsigned and signatures are required"):
            base_backups.check_signature(checker, unsigned)
        moved = os.path.join(repo, "base", "base_20260313_010000")
        os.rename(good["path"], moved)
        with pytest.raises(bf.LifeboatError, match="signed as base id 'base_20260310_010000' but was found as "
                           "'base_20260313_010000'"):
            base_backups.check_signature(checker, dict(good, path=moved))


def test_the_agent_signs_with_the_configuration_the_role_writes(spec, tmp_path):
    services = tmp_path / "etc" / "services"
    services.mkdir(parents=True)
    # As roles/backup_agent/vars/main.yml writes it: the signing settings in the definition, state_dir beside.
    definition = {"name": "app", "engine": "sqlite", "path": spec["path"], "signing_key": spec["signing_key"],
                  "signing_public_keys": spec["signing_public_keys"], "signature": "auto", "retention": None}
    (services / "app.json").write_text(json.dumps({"definition": definition, "backup_root": spec["backup_root"],
                                                   "state_dir": spec["state_dir"], "metrics_dir": None}))
    out = io.StringIO()
    assert cli.main(["--config-dir", str(tmp_path / "etc"), "run", "app"], out=out) == 0
    backup_id = json.loads(out.getvalue())["backup_id"]
    backups, _incomplete = bf.list_backups(spec["backup_root"], "app")
    assert backups[0]["metadata"]["signature"]["format"] == "sshsig"
    with open(os.path.join(spec["state_dir"], "app.json")) as handle:
        assert json.load(handle)["backup_id"] == backup_id
    assert run_restore(reader(spec))["signature"].startswith("verified")
