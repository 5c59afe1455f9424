"""Client-side encryption with the real age and gpg: round trips, wrong keys, the probe, secrets."""
import os
import sqlite3
import subprocess

import pytest

from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError, load_metadata
from ansible_collections.lifeboat.dr.plugins.module_utils.dump import run_dump
from ansible_collections.lifeboat.dr.plugins.module_utils.restore import run_restore


def age_key(path):
    subprocess.run(["age-keygen", "-o", str(path)], check=True, capture_output=True)
    os.chmod(path, 0o600)
    return [line.split(": ")[1] for line in path.read_text().splitlines() if line.startswith("# public key")][0]


def secret_file(path, text):
    path.write_text(text)
    os.chmod(path, 0o600)
    return str(path)


def rows(path):
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT count(*), sum(x) FROM t").fetchone()
    finally:
        conn.close()


@pytest.fixture
def spec(tmp_path):
    db = str(tmp_path / "app.db")
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE t (x)")
    conn.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(300)])
    conn.commit()
    conn.close()
    return {"engine": "sqlite", "service": "app", "path": db, "backup_root": str(tmp_path / "repo")}


def test_age_round_trip_and_wrong_identity_refused(tmp_path, spec):
    public = age_key(tmp_path / "key.txt")
    age_key(tmp_path / "other.txt")
    enc = dict(spec, encryption="age", age_recipients=[public], age_identity_file=str(tmp_path / "key.txt"))
    result = run_dump(enc)
    assert result["path"].endswith(".sqlite3.zst.age")
    assert open(result["path"], "rb").read(21) == b"age-encryption.org/v1"
    meta = load_metadata(result["path"])
    assert meta["encryption"] == "age" and meta["verified"] is True and meta["encryption_probe"] == "encrypt and decrypt"
    with pytest.raises(LifeboatError, match="unreadable.*no identity matched"):
        run_restore(dict(enc, age_identity_file=str(tmp_path / "other.txt"), backup=result["path"], confirm=True))
    with pytest.raises(LifeboatError, match="age_identity_file is needed"):
        run_restore(dict(spec, backup=result["path"], confirm=True))
    assert rows(spec["path"]) == (300, sum(range(300)))
    conn = sqlite3.connect(spec["path"])
    conn.execute("DELETE FROM t")
    conn.commit()
    conn.close()
    run_restore(dict(enc, backup=result["path"], confirm=True))
    assert rows(spec["path"]) == (300, sum(range(300)))


def test_age_mismatched_keys_fail_before_any_backup_is_written(tmp_path, spec):
    public = age_key(tmp_path / "key.txt")
    age_key(tmp_path / "other.txt")
    with pytest.raises(LifeboatError, match="cannot decrypt what it encrypts"):
        run_dump(dict(spec, encryption="age", age_recipients=[public], age_identity_file=str(tmp_path / "other.txt")))
    assert not any(files for dummy, dummy2, files in os.walk(spec["backup_root"]) if any(not f.startswith(".") for f in files))


def test_gpg_symmetric_round_trip_wrong_and_missing_passphrase(tmp_path, spec):
    passphrase = secret_file(tmp_path / "pass", "correct horse battery staple\n")
    enc = dict(spec, encryption="gpg", encryption_passphrase_file=passphrase, compression="gzip")
    result = run_dump(enc)
    assert result["path"].endswith(".sqlite3.gz.gpg")
    assert "correct horse" not in " ".join(result["executed_commands"])
    wrong = secret_file(tmp_path / "wrong", "wrong\n")
    with pytest.raises(LifeboatError, match="unreadable.*(Bad session key|decryption failed)"):
        run_restore(dict(enc, encryption_passphrase_file=wrong, backup=result["path"], confirm=True))
    with pytest.raises(LifeboatError, match="unreadable"):
        run_restore(dict(spec, backup=result["path"], confirm=True))
    assert rows(spec["path"]) == (300, sum(range(300)))
    out = run_restore(dict(spec, encryption_passphrase="correct horse battery staple\n", backup=result["path"],
                           confirm=True))
    assert "correct horse" not in " ".join(out["executed_commands"])
    assert rows(spec["path"]) == (300, sum(range(300)))


def test_gpg_public_key(tmp_path, spec):
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    subprocess.run(["gpg", "--homedir", str(home), "--batch", "--passphrase", "", "--quick-gen-key",
                    "backup@lifeboat.invalid", "default", "default", "never"], check=True, capture_output=True)
    enc = dict(spec, encryption="gpg", gpg_recipient="backup@lifeboat.invalid", gpg_homedir=str(home))
    result = run_dump(enc)
    assert load_metadata(result["path"])["verified"] is True
    run_restore(dict(enc, backup=result["path"], confirm=True))
    assert rows(spec["path"]) == (300, sum(range(300)))


def test_secret_files_open_to_others_are_refused(tmp_path, spec):
    loose = tmp_path / "pass"
    loose.write_text("x")
    os.chmod(loose, 0o644)
    with pytest.raises(LifeboatError, match="readable by others.*0600"):
        run_dump(dict(spec, encryption="gpg", encryption_passphrase_file=str(loose)))
