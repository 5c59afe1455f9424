"""Signed WAL segments with the real ssh-keygen and zstd: forged, planted, renamed, unsigned segments stop recovery."""
import json
import os
import shutil
import stat
import subprocess
import sys

import pytest

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf
from ansible_collections.lifeboat.dr.plugins.module_utils import signing
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import archive
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import base_backups
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import cli as pitr_cli
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import recovery
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import repository
from ansible_collections.lifeboat.dr.plugins.module_utils.process import Runner

NAME = "000000010000000000000009"
NEXT = "00000001000000000000000A"


def keypair(directory, name):
    path = str(directory / name)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "lifeboat-backup", "-f", path], check=True)
    with open(path + ".pub") as handle:
        return path, handle.read().strip()


@pytest.fixture
def keys(tmp_path):
    directory = tmp_path / "keys"
    directory.mkdir()
    key, public = keypair(directory, "signing")
    other_key, other_public = keypair(directory, "other")
    keys_file = directory / "trusted.pub"
    keys_file.write_text("# trusted WAL signers\n\n%s\n" % public)
    return {"key": key, "public": public, "other_key": other_key, "other_public": other_public,
            "file": str(keys_file)}


@pytest.fixture
def repo(tmp_path):
    return str(tmp_path / "repo")


def segment(tmp_path, name, data=None):
    path = tmp_path / ("pg_wal-" + name)
    path.write_bytes(data if data is not None else os.urandom(4096) * 8)
    return str(path)


def wal(repo, name, suffix):
    return os.path.join(repo, "wal", name + suffix)


def signed_archive(repo, source, name, key):
    runner = Runner()
    with signing.Signing(runner, signing_key=key, policy="optional") as signer:
        outcome = archive.archive_wal(runner, repo, source, name, signer=signer)
    return outcome, runner


def restore(repo, name, destination, public_keys, policy="auto", warnings=None):
    runner = Runner()
    with signing.Signing(runner, public_keys=public_keys, policy=policy) as signer:
        found = archive.restore_wal(runner, repo, name, destination, signer=signer,
                                    warn=(warnings.append if warnings is not None else archive._stderr_warning))
    return found, runner


def test_a_signed_segment_restores_and_costs_one_ssh_keygen(tmp_path, repo, keys):
    source = segment(tmp_path, NAME)
    outcome, runner = signed_archive(repo, source, NAME, keys["key"])
    assert outcome == "archived"
    assert [command for command in runner.executed if "ssh-keygen" in command] == [
        "%s -Y sign -q -n lifeboat-wal -f %s" % (shutil.which("ssh-keygen"), keys["key"])]
    sig = wal(repo, NAME, ".sig")
    assert stat.S_IMODE(os.stat(sig).st_mode) == 0o600
    with open(sig) as handle:
        assert handle.read().startswith("-----BEGIN SSH SIGNATURE-----")
    # The statement is checkable by hand with ssh-keygen alone.
    digest = repository.read_text(wal(repo, NAME, ".sha256"))
    assert archive.wal_statement(NAME, digest) == ("lifeboat-wal-v1\n%s\n%s\n" % (NAME, digest)).encode()
    allowed = tmp_path / "allowed"
    allowed.write_text("wal %s\n" % keys["public"])
    subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(allowed), "-I", "wal", "-n", "lifeboat-wal", "-s", sig],
                   input=archive.wal_statement(NAME, digest), check=True, capture_output=True)
    out = str(tmp_path / "restored")
    found, runner = restore(repo, NAME, out, [keys["public"]])
    assert found is True
    with open(out, "rb") as handle, open(source, "rb") as original:
        assert handle.read() == original.read()
    assert len([command for command in runner.executed if "ssh-keygen -Y verify" in command]) == 1
    # The end of the archive is still "not archived", signed or not.
    assert restore(repo, NEXT, str(tmp_path / "next"), [keys["public"]])[0] is False


def test_archiving_identical_content_again_rewrites_a_valid_signature(tmp_path, repo, keys):
    source = segment(tmp_path, NAME)
    assert signed_archive(repo, source, NAME, keys["key"])[0] == "archived"
    # A crash between the .sig and the .zst, or an archive made before signing was turned on.
    os.unlink(wal(repo, NAME, ".sig"))
    assert signed_archive(repo, source, NAME, keys["key"])[0] == "already archived"
    assert restore(repo, NAME, str(tmp_path / "out"), [keys["public"]], "required")[0] is True
    # Other content under the same name is still refused, and the signature left alone.
    before = open(wal(repo, NAME, ".sig")).read()
    with pytest.raises(bf.LifeboatError, match="different content"):
        signed_archive(repo, segment(tmp_path, "other", b"other"), NAME, keys["key"])
    assert open(wal(repo, NAME, ".sig")).read() == before


def test_a_forged_segment_with_a_rewritten_sha256_is_refused(tmp_path, repo, keys):
    assert signed_archive(repo, segment(tmp_path, NAME), NAME, keys["key"])[0] == "archived"
    # The attacker writes the repository: forged content, its sha256, and keeps the old signature.
    forged = segment(tmp_path, "forged", b"forged wal" * 1000)
    runner = Runner()
    os.unlink(wal(repo, NAME, ".zst"))
    os.unlink(wal(repo, NAME, ".sha256"))
    assert archive.archive_wal(runner, repo, forged, NAME) == "archived"
    out = str(tmp_path / "out")
    with pytest.raises(repository.CorruptWal, match="archived WAL %s .*forged, altered or signed under another name"
                       % NAME):
        restore(repo, NAME, out, [keys["public"]], "required")
    assert not os.path.exists(out) and not os.path.exists(out + ".lifeboat-partial")
    # ... or removes the signature.
    os.unlink(wal(repo, NAME, ".sig"))
    with pytest.raises(repository.CorruptWal, match="archived WAL %s is unsigned .*signatures are required" % NAME):
        restore(repo, NAME, out, [keys["public"]], "required")
    assert not os.path.exists(out)


def test_nothing_is_decompressed_before_the_signature_verifies(tmp_path, repo, keys):
    assert signed_archive(repo, segment(tmp_path, NAME), NAME, keys["key"])[0] == "archived"
    with open(wal(repo, NAME, ".sha256"), "w") as handle:
        handle.write("sha256:" + "1" * 64 + "\n")
    runner = Runner()
    with signing.Signing(runner, public_keys=[keys["public"]]) as signer:
        with pytest.raises(repository.CorruptWal, match="forged, altered"):
            archive.restore_wal(runner, repo, NAME, str(tmp_path / "out"), signer=signer)
    assert not any("zstd" in command for command in runner.executed)
    with open(wal(repo, NAME, ".sha256"), "w") as handle:
        handle.write("sha256:not a digest\n")
    with pytest.raises(repository.CorruptWal, match="does not hold a sha256"):
        restore(repo, NAME, str(tmp_path / "out"), [keys["public"]])


def test_a_valid_segment_and_signature_under_another_name_are_refused(tmp_path, repo, keys):
    assert signed_archive(repo, segment(tmp_path, NAME), NAME, keys["key"])[0] == "archived"
    for suffix in (".zst", ".sha256", ".sig"):
        shutil.copy(wal(repo, NAME, suffix), wal(repo, NEXT, suffix))
    # Without signatures the copy passes: its content matches its .sha256.
    assert restore(repo, NEXT, str(tmp_path / "unchecked"), [], "ignore")[0] is True
    with pytest.raises(repository.CorruptWal, match="archived WAL %s .*signed under another name" % NEXT):
        restore(repo, NEXT, str(tmp_path / "out"), [keys["public"]])
    assert restore(repo, NAME, str(tmp_path / "genuine"), [keys["public"]])[0] is True


def test_optional_accepts_a_missing_signature_with_a_warning_but_not_a_wrong_one(tmp_path, repo, keys, capsys):
    runner = Runner()
    assert archive.archive_wal(runner, repo, segment(tmp_path, NAME), NAME) == "archived"  # before signing
    warnings = []
    found, _runner = restore(repo, NAME, str(tmp_path / "a"), [keys["public"]], "optional", warnings)
    assert found is True
    assert len(warnings) == 1 and NAME in warnings[0] and "accepted because signature is optional" in warnings[0]
    # By default the warning goes to stderr, which PostgreSQL writes to its log.
    assert restore(repo, NAME, str(tmp_path / "b"), [keys["public"]], "optional")[0] is True
    assert "lifeboat-pitr: warning: archived WAL %s is unsigned" % NAME in capsys.readouterr().err
    with pytest.raises(repository.CorruptWal, match="is unsigned"):
        restore(repo, NAME, str(tmp_path / "c"), [keys["public"]], "required")
    # A signature is there but is not one of ours: refused even when optional.
    with signing.Signing(Runner(), signing_key=keys["other_key"], policy="optional") as signer:
        archive.sign_wal(signer, repository.wal_dir(repo), NAME, repository.read_text(wal(repo, NAME, ".sha256")))
    with pytest.raises(repository.CorruptWal, match="does not verify with signing_public_keys"):
        restore(repo, NAME, str(tmp_path / "d"), [keys["public"]], "optional")
    # Checking nothing: no policy, ignore, or auto without public keys.
    assert restore(repo, NAME, str(tmp_path / "e"), [keys["public"]], "ignore")[0] is True
    assert restore(repo, NAME, str(tmp_path / "f"), [], "auto")[0] is True
    assert archive.restore_wal(Runner(), repo, NAME, str(tmp_path / "g")) is True


def test_a_wrong_key_and_a_damaged_signature_are_refused(tmp_path, repo, keys):
    assert signed_archive(repo, segment(tmp_path, NAME), NAME, keys["other_key"])[0] == "archived"
    with pytest.raises(repository.CorruptWal, match="%s .*does not verify with signing_public_keys" % NAME):
        restore(repo, NAME, str(tmp_path / "out"), [keys["public"]])
    assert restore(repo, NAME, str(tmp_path / "out"), [keys["public"], keys["other_public"]])[0] is True
    sig = wal(repo, NAME, ".sig")
    with open(sig) as handle:
        text = handle.read()
    lines = text.splitlines()
    middle = len(lines) // 2
    lines[middle] = lines[middle][:10] + ("A" if lines[middle][10] != "A" else "B") + lines[middle][11:]
    for damaged in ("\n".join(lines) + "\n", text[:len(text) // 2], "", "not a signature\n"):
        with open(sig, "w") as handle:
            handle.write(damaged)
        with pytest.raises(repository.CorruptWal, match=NAME):
            restore(repo, NAME, str(tmp_path / "out"), [keys["public"], keys["other_public"]], "optional")
    with open(sig, "wb") as handle:
        handle.write(b"\xff\xfe binary")
    with pytest.raises(repository.CorruptWal, match="is not an SSH signature"):
        restore(repo, NAME, str(tmp_path / "out"), [keys["other_public"]])


def test_a_backup_signature_is_not_a_wal_signature(tmp_path, repo, keys):
    assert signed_archive(repo, segment(tmp_path, NAME), NAME, keys["key"])[0] == "archived"
    digest = repository.read_text(wal(repo, NAME, ".sha256"))
    with signing.Signing(Runner(), signing_key=keys["key"], policy="optional") as signer:
        value = signer.sign_bytes(archive.wal_statement(NAME, digest))  # the backups' namespace
    with open(wal(repo, NAME, ".sig"), "w") as handle:
        handle.write(value)
    with pytest.raises(repository.CorruptWal, match="does not verify"):
        restore(repo, NAME, str(tmp_path / "out"), [keys["public"]])


def test_cli_signs_verifies_and_aborts_recovery_on_a_refusal(tmp_path, repo, keys, capsys):
    source = segment(tmp_path, NAME)
    assert pitr_cli.main(["archive-wal", "--repository", repo, "--signing-key", keys["key"], source, NAME]) == 0
    assert os.path.exists(wal(repo, NAME, ".sig"))
    verify = ["restore-wal", "--repository", repo, "--public-keys-file", keys["file"]]
    assert pitr_cli.main(verify + ["--signature", "required", NAME, str(tmp_path / "r1")]) == 0
    assert pitr_cli.main(verify + [NAME, str(tmp_path / "r2")]) == 0  # auto with keys: required
    assert pitr_cli.main(verify + ["--signature", "required", NEXT, str(tmp_path / "n")]) == 1
    # A segment archived without the key (forged, or planted by whoever writes the repository).
    assert pitr_cli.main(["archive-wal", "--repository", repo, segment(tmp_path, NEXT), NEXT]) == 0
    capsys.readouterr()
    assert pitr_cli.main(verify + ["--signature", "required", NEXT, str(tmp_path / "r3")]) == 255
    err = capsys.readouterr().err
    assert NEXT in err and "unsigned" in err and "stopping recovery" in err
    assert not os.path.exists(str(tmp_path / "r3"))
    assert pitr_cli.main(verify + ["--signature", "optional", NEXT, str(tmp_path / "r4")]) == 0
    assert "warning: archived WAL %s is unsigned" % NEXT in capsys.readouterr().err
    assert pitr_cli.main(["restore-wal", "--repository", repo, NEXT, str(tmp_path / "r5")]) == 0  # nothing configured
    # The renamed pair, and a wrong key.
    for suffix in (".zst", ".sha256", ".sig"):
        shutil.copy(wal(repo, NAME, suffix), wal(repo, NEXT, suffix))
    assert pitr_cli.main(verify + ["--signature", "optional", NEXT, str(tmp_path / "r6")]) == 255
    other = tmp_path / "other.pub"
    other.write_text(keys["other_public"] + "\n")
    assert pitr_cli.main(["restore-wal", "--repository", repo, "--public-keys-file", str(other), NAME,
                          str(tmp_path / "r7")]) == 255


def test_cli_restore_problems_stop_recovery_instead_of_ending_it(tmp_path, repo, keys, capsys):
    assert pitr_cli.main(["archive-wal", "--repository", repo, "--signing-key", keys["key"],
                          segment(tmp_path, NAME), NAME]) == 0
    broken = tmp_path / "broken.pub"
    broken.write_text("not a key\n")
    empty = tmp_path / "empty.pub"
    empty.write_text("# nobody\n")
    cases = [(["--public-keys-file", str(tmp_path / "missing.pub")], "public keys file %s is unreadable"
              % (tmp_path / "missing.pub")),
             (["--public-keys-file", str(broken)], "is not an OpenSSH public key line"),
             (["--public-keys-file", str(empty), "--signature", "required"], "signature: required, but no"),
             # A restore_command this version does not understand: argparse's usage error, then abort.
             (["--signature", "bogus"], "invalid choice"), (["--unknown-flag"], "unrecognized arguments")]
    for extra, message in cases:
        capsys.readouterr()
        assert pitr_cli.main(["restore-wal", "--repository", repo] + extra + [NAME, str(tmp_path / "x")]) == 255, extra
        assert message in capsys.readouterr().err, extra
        assert not os.path.exists(str(tmp_path / "x"))
    # Other commands keep argparse's exit status.
    with pytest.raises(SystemExit):
        pitr_cli.main(["archive-wal", "--repository", repo, "--unknown-flag", NAME, NAME])


def archive_wal_as_postgresql_runs_it(argv):
    """lifeboat-pitr in its own session, as the archiver runs it: no terminal to ask a passphrase on."""
    code = "import sys; from %s import main; sys.exit(main(sys.argv[1:]))" % pitr_cli.__name__
    collections = bf.__file__.rsplit(os.sep + "ansible_collections" + os.sep, 1)[0]
    return subprocess.run([sys.executable, "-c", code] + argv, env=dict(os.environ, PYTHONPATH=collections),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, start_new_session=True,
                          check=False)


@pytest.mark.parametrize("problem", ["readable by others", "not a key", "missing", "passphrase"])
def test_archive_wal_with_a_key_that_cannot_sign_fails_and_keeps_nothing(tmp_path, repo, keys, problem):
    key = str(tmp_path / "bad-key")
    if problem == "readable by others":
        shutil.copy(keys["key"], key)
        os.chmod(key, 0o644)
    elif problem == "not a key":
        with open(key, "w") as handle:
            handle.write("-----BEGIN OPENSSH PRIVATE KEY-----\ngarbage\n-----END OPENSSH PRIVATE KEY-----\n")
        os.chmod(key, 0o600)
    elif problem == "passphrase":
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "secret", "-f", key], check=True)
    os.makedirs(os.path.join(repo, "wal"))  # the role made the repository
    source = segment(tmp_path, NAME)
    proc = archive_wal_as_postgresql_runs_it(["archive-wal", "--repository", repo, "--signing-key", key, source, NAME])
    assert proc.returncode == 1, proc.stderr
    assert key in proc.stderr and (problem != "readable by others" or "make it 0600" in proc.stderr)
    assert problem in ("readable by others", "missing") or "%s was not archived, it cannot be signed" % NAME \
        in proc.stderr
    assert not os.path.exists(wal(repo, NAME, ".zst")) and not os.path.exists(wal(repo, NAME, ".sig"))
    status = archive.archive_status(repo)
    assert status["last_failed_wal"] == NAME and key in status["last_error"]
    # Fixed key: PostgreSQL's retry archives the segment, signed.
    assert pitr_cli.main(["archive-wal", "--repository", repo, "--signing-key", keys["key"], source, NAME]) == 0
    assert pitr_cli.main(["restore-wal", "--repository", repo, "--public-keys-file", keys["file"], NAME,
                          str(tmp_path / "out")]) == 0


def test_expiry_removes_signatures_and_unsigned_files_are_listed(tmp_path, repo, keys):
    for number in range(2, 8):
        name = "0000000100000000000000%02X" % number
        if number in (3, 6):
            archive.archive_wal(Runner(), repo, segment(tmp_path, name), name)
        else:
            signed_archive(repo, segment(tmp_path, name), name, keys["key"])
    archive.archive_wal(Runner(), repo, segment(tmp_path, "00000002.history", b"1\t0/5000000\tno reason\n"),
                        "00000002.history")
    assert archive.unsigned_wal(repo, "000000010000000000000004") == ["000000010000000000000006", "00000002.history"]
    assert archive.unsigned_wal(repo, "000000010000000000000002")[0] == "000000010000000000000003"
    base = os.path.join(repo, "base", "base_20260101_010000")
    os.makedirs(base)
    bf.write_json_atomic(os.path.join(base, repository.BASE_INFO), {
        "base_id": "base_20260101_010000", "finished_at": "2026-01-01T01:00:00+00:00",
        "start_wal": "000000010000000000000005", "files": {}})
    removed = base_backups.expire(repo, 1)
    assert removed["wal"] == ["000000010000000000000002", "000000010000000000000003", "000000010000000000000004"]
    left = sorted(os.listdir(repository.wal_dir(repo)))
    assert not any(entry.startswith(("000000010000000000000002", "000000010000000000000004")) for entry in left)
    assert "000000010000000000000005.sig" in left


def lifeboat_pitr(tmp_path):
    """The host command as the role installs it (files/lifeboat-pitr), importing this working copy."""
    path = tmp_path / "lifeboat-pitr"
    path.write_text("#!%s\nimport sys\nsys.path.insert(0, %r)\nfrom %s import main\nsys.exit(main())\n"
                    % (sys.executable, bf.__file__.rsplit(os.sep + "ansible_collections" + os.sep, 1)[0],
                       pitr_cli.__name__))
    path.chmod(0o755)
    return str(path)


def test_signing_settings_come_from_the_task_else_from_what_the_role_wrote(tmp_path, keys):
    conf = tmp_path / "etc"
    conf.mkdir()
    assert recovery.signing_settings("15-main", conf_dir=str(conf)) == ([], "auto")
    (conf / "15-main.public-keys").write_text("# written by lifeboat.dr.postgresql_pitr\n%s\n" % keys["public"])
    (conf / "15-main.signature").write_text("optional\n")
    assert recovery.signing_settings("15-main", conf_dir=str(conf)) == ([keys["public"]], "optional")
    assert recovery.signing_settings("15-main", [keys["other_public"]], "required", conf_dir=str(conf)) == (
        [keys["other_public"]], "required")
    assert recovery.signing_settings("15-main", [], None, conf_dir=str(conf)) == ([], "optional")
    assert recovery.signing_settings("14-other", conf_dir=str(conf)) == ([], "auto")


def test_a_recovery_that_requires_signatures_is_refused_early_when_wal_is_unsigned(tmp_path, repo, keys):
    signed_archive(repo, segment(tmp_path, NAME), NAME, keys["key"])
    base = {"base_id": "base_20260101_010000", "start_wal": NAME}
    with signing.Signing(Runner(), public_keys=[keys["public"]]) as signer:
        assert recovery.check_wal_signed(signer, repo, base) == (
            "every archived WAL file fetched is verified (signature: required)", [])
        archive.archive_wal(Runner(), repo, segment(tmp_path, NEXT), NEXT)
        with pytest.raises(bf.LifeboatError, match="1 archived WAL files a recovery from base backup "
                           "base_20260101_010000 may fetch are unsigned \\(%s\\) and signatures are required" % NEXT):
            recovery.check_wal_signed(signer, repo, base)
    with signing.Signing(Runner(), public_keys=[keys["public"]], policy="optional") as signer:
        text, warnings = recovery.check_wal_signed(signer, repo, base)
        assert "1 unsigned ones are accepted" in text and NEXT in warnings[0]
    with signing.Signing(Runner(), public_keys=[]) as signer:
        assert recovery.check_wal_signed(signer, repo, base) == (
            "not checked (no signing_public_keys configured)", [])


def test_the_recovery_s_restore_command_verifies_every_file(tmp_path, repo, keys):
    command = lifeboat_pitr(tmp_path)
    assert subprocess.run([command, "archive-wal", "--repository", repo, "--signing-key", keys["key"],
                           segment(tmp_path, NAME), NAME], check=False).returncode == 0
    with signing.Signing(Runner(), public_keys=[keys["public"]]) as signer:
        keys_dir, keys_file = recovery.write_public_keys([keys["public"]], parent=str(tmp_path))
        restore_command = recovery.restore_command_for(command, repo, signer, keys_file)
        unchecked = recovery.restore_command_for(command, repo, signing.Signing(Runner()))
    assert stat.S_IMODE(os.stat(keys_dir).st_mode) == 0o755 and stat.S_IMODE(os.stat(keys_file).st_mode) == 0o644
    assert restore_command == "%s restore-wal --repository %s --public-keys-file %s --signature required %%f %%p" % (
        command, repo, keys_file)
    assert unchecked == "%s restore-wal --repository %s %%f %%p" % (command, repo)
    runner = Runner()
    recovery.check_restore_command(runner, restore_command, user=None)
    assert runner.executed[-1].endswith("00000000.history /dev/null")

    def fetch(name, destination):
        argv = [arg.replace("%f", name).replace("%p", destination) for arg in restore_command.split()]
        return subprocess.run(argv, capture_output=True, text=True, check=False)

    assert fetch(NAME, str(tmp_path / "ok")).returncode == 0
    archive.archive_wal(Runner(), repo, segment(tmp_path, NEXT), NEXT)  # planted, unsigned
    refused = fetch(NEXT, str(tmp_path / "planted"))
    assert refused.returncode == 255 and NEXT in refused.stderr and not os.path.exists(str(tmp_path / "planted"))
    # The keys postgres would read are gone, or lifeboat-pitr is too old for the options: refused before recovery.
    shutil.rmtree(keys_dir)
    with pytest.raises(bf.LifeboatError, match="does not work as this user \\(exit status 255.*public keys file"):
        recovery.check_restore_command(Runner(), restore_command, user=None)
    with pytest.raises(bf.LifeboatError, match="exit status 2 .*usage: old"):
        recovery.check_restore_command(Runner(), "sh -c 'echo usage: old >&2; exit 2' %f %p", user=None)


def test_sign_archived_signs_what_pg_wal_still_holds(tmp_path, repo, keys, capsys):
    pg_wal = tmp_path / "pg_wal"
    pg_wal.mkdir()
    history = pg_wal / "00000002.history"
    history.write_bytes(b"1\t0/5000000\tbefore 2026-01-01 00:00:00+00\n")
    archive.archive_wal(Runner(), repo, str(history), history.name)  # archived before signing was turned on
    archive.archive_wal(Runner(), repo, segment(tmp_path, NAME), NAME)  # recycled since: gone from pg_wal
    argv = ["sign-archived", "--repository", repo, "--signing-key", keys["key"], "--wal-dir", str(pg_wal)]
    capsys.readouterr()
    assert pitr_cli.main(argv) == 0
    assert json.loads(capsys.readouterr().out) == {"signed": ["00000002.history"], "trusted": []}
    assert archive.unsigned_wal(repo, "0" * 24) == [NAME]
    assert restore(repo, history.name, str(tmp_path / "h"), [keys["public"]], "required")[0] is True
    assert pitr_cli.main(argv) == 0 and json.loads(capsys.readouterr().out) == {"signed": [], "trusted": []}
    # An abandoned timeline's history is only in the repository: signed as archived only when asked to.
    abandoned = tmp_path / "00000003.history"
    abandoned.write_bytes(b"1\t0/4000000\tno recovery target specified\n")
    archive.archive_wal(Runner(), repo, str(abandoned), abandoned.name)
    assert pitr_cli.main(argv) == 0 and json.loads(capsys.readouterr().out)["trusted"] == []
    assert pitr_cli.main(argv + ["--trust-archived-history"]) == 0
    assert json.loads(capsys.readouterr().out) == {"signed": [], "trusted": ["00000003.history"]}
    assert archive.unsigned_wal(repo, "0" * 24) == [NAME]  # segments are never signed from the repository
    assert restore(repo, abandoned.name, str(tmp_path / "a"), [keys["public"]], "required")[0] is True
    assert not [entry for entry in os.listdir(repository.wal_dir(repo)) if entry.startswith(".lifeboat-history-")]
    # The repository's copy is not the cluster's: refused, nothing signed.
    os.unlink(wal(repo, history.name, ".sig"))
    history.write_bytes(b"1\t0/6000000\tsomething else\n")
    assert pitr_cli.main(argv) == 1
    assert "different content" in capsys.readouterr().err and not os.path.exists(wal(repo, history.name, ".sig"))


def test_unsigned_histories_alone_are_named_with_the_way_to_sign_them(tmp_path, repo, keys):
    signed_archive(repo, segment(tmp_path, NAME), NAME, keys["key"])
    archive.archive_wal(Runner(), repo, segment(tmp_path, "00000002.history", b"1\t0/5000000\tx\n"), "00000002.history")
    base = {"base_id": "base_20260101_010000", "start_wal": NAME}
    with signing.Signing(Runner(), public_keys=[keys["public"]]) as signer:
        with pytest.raises(bf.LifeboatError, match="00000002.history.*timeline histories.*--trust-archived-history"):
            recovery.check_wal_signed(signer, repo, base)
