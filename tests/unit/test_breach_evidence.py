"""Evidence collection (module_utils/breach_evidence.py, module breach_evidence) run on this machine into a
temporary store, with a small data volume: what the set holds, its modes, its manifest, failing and missing
commands recorded without stopping the collection, and check mode changing nothing."""
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time

import pytest

from ansible_collections.lifeboat.dr.plugins.module_utils import breach
from ansible_collections.lifeboat.dr.plugins.module_utils import breach_evidence

MODULE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(breach.__file__))), "modules",
                      "breach_evidence.py")
# The directory holding ansible_collections/ (the working copy's .collections, or ansible-test's copy).
COLLECTIONS = os.path.abspath(os.path.join(os.path.dirname(breach.__file__), *[".."] * 5))


def which(name):
    return shutil.which(name)


@pytest.fixture
def volume(tmp_path):
    data = tmp_path / "volume"
    (data / "uploads").mkdir(parents=True)
    (data / "uploads" / "a.txt").write_text("customer data\n")
    (data / "db.sqlite3").write_bytes(b"SQLite format 3\x00" + b"\x01" * 100)
    return str(data)


def _spec(tmp_path, volume, **extra):
    return dict({"evidence_root": str(tmp_path / "evidence"), "host": "app1", "paths": [volume],
                 "journal_lines": 20, "command_timeout": 60}, **extra)


def test_a_collection_holds_every_item_private_and_covered_by_its_manifest(tmp_path, volume):
    executed = []
    result = breach_evidence.collect(_spec(tmp_path, volume), which, executed.append)
    directory = result["directory"]
    assert os.path.dirname(directory) == str(tmp_path / "evidence" / "app1")
    assert result["set_name"] == os.path.basename(directory) and result["changed"] is True
    names = [item["name"] for item in result["files"]]
    for name in ("journal.txt", "processes.txt", "connections.txt", "who.txt", "last.txt", "timers.txt", "units.txt",
                 "accounts/etc/passwd", "accounts/etc/group", "data.tar.gz", "commands.json"):
        assert name in names, name
    assert names[-1] == "manifest.sha256"
    if os.path.exists("/etc/crontab"):
        assert "cron/etc/crontab" in names
    # Copies are byte for byte.
    with open("/etc/passwd", "rb") as original, open(os.path.join(directory, "accounts/etc/passwd"), "rb") as copy:
        assert original.read() == copy.read()
    # 0700 directories, 0600 files, root's when run as root.
    for root, dirs, files in os.walk(directory):
        for name in dirs:
            assert os.stat(os.path.join(root, name)).st_mode & 0o777 == 0o700
        for name in files:
            info = os.stat(os.path.join(root, name))
            assert info.st_mode & 0o777 == 0o600, name
            if os.geteuid() == 0:
                assert (info.st_uid, info.st_gid) == (0, 0)
    assert os.stat(directory).st_mode & 0o777 == 0o700
    # Sizes and hashes in the result are the files'; the manifest verifies and its hash is the one returned.
    for item in result["files"]:
        path = os.path.join(directory, item["name"])
        assert item["size"] == os.path.getsize(path) and item["sha256"] == breach.sha256_hex(path)
    assert result["manifest_sha256"] == breach.sha256_hex(os.path.join(directory, "manifest.sha256"))
    check = breach.verify_manifest(directory, expected_sha256=result["manifest_sha256"])
    assert check["ok"], check["problems"]
    assert check["checked"] == len(result["files"]) - 1
    # The tarball holds the volume, by its path under /.
    with tarfile.open(os.path.join(directory, "data.tar.gz")) as tar:
        members = tar.getnames()
        inside = volume.lstrip("/")
        assert inside + "/uploads/a.txt" in members and inside + "/db.sqlite3" in members
        assert tar.extractfile(inside + "/uploads/a.txt").read() == b"customer data\n"
    recorded = json.load(open(os.path.join(directory, "commands.json")))
    assert [entry["file"] for entry in recorded["commands"]] == [
        "journal.txt", "processes.txt", "connections.txt", "who.txt", "last.txt", "timers.txt", "units.txt",
        "data.tar.gz"]
    assert recorded["commands"] == result["commands"] and recorded["host"] == "app1"
    processes = next(entry for entry in result["commands"] if entry["file"] == "processes.txt")
    assert processes["rc"] == 0 and "auxww" in processes["command"]
    assert any(line.endswith("ps auxww") for line in (" ".join(argv) for argv in executed))
    assert any(argv[0].endswith("journalctl") and argv[-2:] == ["-n", "20"] for argv in executed) \
        or not which("journalctl")


def test_missing_and_failing_commands_are_recorded_and_the_collection_goes_on(tmp_path, volume):
    started = time.time()
    false = shutil.which("false")
    sleeper = tmp_path / "slow-ss"
    # A child of its own, still running when the command is killed: it must not hold the collection.
    sleeper.write_text("#!/bin/sh\nsleep 30 &\nwait\n")
    sleeper.chmod(0o700)

    def host_without_tools(name):
        # journalctl and tar removed, ps broken, ss hanging; the others as they are.
        return {"journalctl": None, "tar": None, "ps": false, "ss": str(sleeper)}.get(name, shutil.which(name))

    result = breach_evidence.collect(_spec(tmp_path, volume, paths=[volume, "/nonexistent/volume"],
                                           command_timeout=1), host_without_tools, lambda argv: None)
    failed = dict((entry["file"], entry) for entry in result["failed_commands"])
    assert failed["journal.txt"]["rc"] == 127 and failed["journal.txt"]["stderr"] == "journalctl: not found on this host"
    assert failed["data.tar.gz"]["rc"] == 127
    assert failed["processes.txt"]["rc"] == 1
    assert failed["connections.txt"]["rc"] == 124 and failed["connections.txt"]["stderr"] == "killed after 1 seconds"
    assert "/nonexistent/volume: not in the tarball (it does not exist)" in result["notes"]
    names = [item["name"] for item in result["files"]]
    # The rest is there, the failed commands' (empty) outputs too, and the manifest covers all of it.
    assert "accounts/etc/passwd" in names and "units.txt" in names and "processes.txt" in names
    assert "journal.txt" not in names
    assert breach.verify_manifest(result["directory"], expected_sha256=result["manifest_sha256"])["ok"]
    recorded = json.load(open(os.path.join(result["directory"], "commands.json")))
    assert [entry["rc"] for entry in recorded["commands"] if entry["file"] == "journal.txt"] == [127]
    assert time.time() - started < 20


def test_every_run_makes_a_new_set(tmp_path, volume):
    first = breach_evidence.collect(_spec(tmp_path, volume, paths=[]), which, lambda argv: None)
    second = breach_evidence.collect(_spec(tmp_path, volume, paths=[]), which, lambda argv: None)
    assert first["directory"] != second["directory"]
    assert sorted(os.listdir(str(tmp_path / "evidence" / "app1"))) == sorted([first["set_name"], second["set_name"]])
    assert first["tarball"] is None and "data.tar.gz" not in [item["name"] for item in first["files"]]
    assert breach.verify_manifest(first["directory"], expected_sha256=first["manifest_sha256"])["ok"]


def test_the_plan_says_what_would_be_collected(tmp_path, volume):
    planned = breach_evidence.plan(_spec(tmp_path, volume, paths=[volume, "/nonexistent"]),
                                   lambda name: None if name == "last" else shutil.which(name))
    assert [item["file"] for item in planned["commands"]][:3] == ["journal.txt", "processes.txt", "connections.txt"]
    assert next(item for item in planned["commands"] if item["file"] == "last.txt")["available"] is False
    assert planned["missing_paths"] == ["/nonexistent"] and planned["tarball"] == "data.tar.gz"
    assert planned["set_under"] == str(tmp_path / "evidence" / "app1")
    assert "/etc/passwd" in planned["copies"]


def _module(tmp_path, args, check_mode):
    args = dict(args, _ansible_check_mode=check_mode)
    path = tmp_path / "args.json"
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = dict(os.environ, PYTHONPATH=COLLECTIONS + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, MODULE, str(path)], capture_output=True, text=True, env=env, check=False,
                         timeout=300)
    return json.loads(out.stdout)


def test_the_module_in_check_mode_creates_nothing_and_reports_the_plan(tmp_path, volume):
    root = tmp_path / "evidence"
    result = _module(tmp_path, {"evidence_root": str(root), "host": "app1", "paths": [volume]}, check_mode=True)
    assert result["changed"] is True and "directory" not in result and result["executed_commands"] == []
    assert result["would_collect"]["set_under"] == str(root / "app1")
    assert not root.exists()


def test_the_module_collects_and_refuses_bad_input(tmp_path, volume):
    root = tmp_path / "evidence"
    result = _module(tmp_path, {"evidence_root": str(root), "host": "app1", "paths": [volume], "journal_lines": 5},
                     check_mode=False)
    assert result["changed"] is True and result["directory"].startswith(str(root / "app1") + "/")
    assert breach.verify_manifest(result["directory"], expected_sha256=result["manifest_sha256"])["ok"]
    assert any("ps auxww" in line for line in result["executed_commands"])
    refused = _module(tmp_path, {"evidence_root": str(root), "host": "../etc"}, check_mode=True)
    assert refused["failed"] and "invalid host name '../etc'" in refused["msg"]
    refused = _module(tmp_path, {"evidence_root": str(root), "paths": ["relative"]}, check_mode=False)
    assert refused["failed"] and refused["msg"] == "paths must be absolute: relative"
