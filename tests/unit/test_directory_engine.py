"""The directory engine on local files: round trip, stop/start of units, damage, never deleting."""
import os
import stat

import pytest

from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils.dump import run_dump
from ansible_collections.lifeboat.dr.plugins.module_utils.process import Runner
from ansible_collections.lifeboat.dr.plugins.module_utils.restore import run_restore


def tree(path):
    out = {}
    for top, dirs, files in os.walk(path):
        for name in dirs + files:
            full = os.path.join(top, name)
            info = os.lstat(full)
            body = open(full, "rb").read() if stat.S_ISREG(info.st_mode) else None
            out[os.path.relpath(full, path)] = (stat.S_IMODE(info.st_mode), body)
    return out


@pytest.fixture
def data(tmp_path):
    root = tmp_path / "chroma_db"
    (root / "index").mkdir(parents=True)
    (root / "index" / "seg1.bin").write_bytes(os.urandom(5000))
    (root / "chroma.sqlite3").write_bytes(b"x" * 1234)
    (root / "secret.conf").write_text("k=v")
    os.chmod(root / "secret.conf", 0o600)
    os.symlink("index/seg1.bin", root / "latest")
    return root


@pytest.fixture
def fake_systemctl(tmp_path):
    """A systemctl that records calls; the unit is 'active' until stopped."""
    log = tmp_path / "systemctl.log"
    script = tmp_path / "systemctl"
    script.write_text("#!/bin/sh\necho \"$@\" >> %s\n[ \"$1\" = is-active ] && echo active\nexit 0\n" % log)
    os.chmod(script, 0o755)

    def bin_path(name, required):
        return str(script) if name == "systemctl" else Runner().binary(name)
    return log, Runner(bin_path=bin_path)


def test_round_trip_stops_and_restarts_the_writer_and_keeps_the_old_directory(tmp_path, data, fake_systemctl):
    log, runner = fake_systemctl
    spec = {"engine": "directory", "service": "chroma", "path": str(data), "backup_root": str(tmp_path / "repo"),
            "stop_services": ["backend.service"]}
    before = tree(data)
    result = run_dump(spec, runner=runner)
    assert log.read_text().split("\n")[:3] == ["is-active backend.service", "stop backend.service",
                                               "start backend.service"]
    assert result["metadata"]["content"]["directory"]["entries"] == 5
    (data / "index" / "seg1.bin").write_bytes(b"corrupted")
    out = run_restore(dict(spec, backup=result["path"], confirm=True), runner=Runner())
    assert tree(data) == before
    assert tree(out["safety_copy"])["index/seg1.bin"][1] == b"corrupted"


def test_stop_without_units_is_refused(tmp_path, data):
    with pytest.raises(LifeboatError, match="needs stop_services"):
        run_dump({"engine": "directory", "service": "d", "path": str(data), "backup_root": str(tmp_path / "r")})


def test_damaged_archive_is_refused_and_directory_untouched(tmp_path, data):
    spec = {"engine": "directory", "service": "d", "path": str(data), "backup_root": str(tmp_path / "r"),
            "consistency": "none"}
    result = run_dump(spec)
    with open(result["path"], "r+b") as handle:
        handle.truncate(os.path.getsize(result["path"]) - 10)
    before = tree(data)
    with pytest.raises(LifeboatError, match="truncated"):
        run_restore(dict(spec, backup=result["path"], confirm=True))
    assert tree(data) == before
    assert sorted(os.listdir(tmp_path)) == ["chroma_db", "r"]
