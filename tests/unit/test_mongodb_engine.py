"""MongoDB engine against stand-in mongodump/mongorestore (no MongoDB server exists on our machines)."""
import os
import stat

import pytest

from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError, load_metadata
from ansible_collections.lifeboat.dr.plugins.module_utils.dump import run_dump
from ansible_collections.lifeboat.dr.plugins.module_utils.process import Runner
from ansible_collections.lifeboat.dr.plugins.module_utils.restore import run_restore

FAKE_DUMP = r"""#!/bin/sh
# Records its argv and the mode of the --config file it was given, then writes an archive.
echo "mongodump $*" >> "$FAKE_LOG"
prev=""
for arg in "$@"; do
  [ "$prev" = "--config" ] && { stat -c 'config-mode %a' "$arg" >> "$FAKE_LOG"; cat "$arg" >> "$FAKE_LOG.config"; }
  prev="$arg"
done
printf '\155\342\231\201%s' "${FAKE_ARCHIVE_BODY:-documents}"
echo "2025-03-04T02:00:00.000+0000	done dumping appdb.orders (120 documents)" >&2
echo "2025-03-04T02:00:00.000+0000	done dumping appdb.users (7 documents)" >&2
"""
FAKE_RESTORE = r"""#!/bin/sh
echo "mongorestore $*" >> "$FAKE_LOG"
cat > "$FAKE_LOG.restored"
echo "${FAKE_RESTORED:-127} document(s) restored successfully. 0 document(s) failed to restore." >&2
"""


@pytest.fixture
def fakes(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name, body in (("mongodump", FAKE_DUMP), ("mongorestore", FAKE_RESTORE)):
        (bindir / name).write_text(body)
        os.chmod(bindir / name, 0o755)
    log = tmp_path / "calls.log"
    monkeypatch.setenv("FAKE_LOG", str(log))

    def bin_path(name, required):
        path = bindir / name
        return str(path) if path.exists() else Runner().binary(name) if required else None
    return log, lambda: Runner(bin_path=bin_path)


def spec(tmp_path, **extra):
    base = {"engine": "mongodb", "service": "docs", "database": "appdb", "backup_root": str(tmp_path / "repo"),
            "mongodb": {"host": "db1", "port": 27017, "user": "backup", "password": "s3cr3t-pw", "auth_db": "admin"}}
    base.update(extra)
    return base


def test_dump_records_counts_and_keeps_the_password_off_argv(tmp_path, fakes):
    log, runner = fakes
    run = runner()
    result = run_dump(spec(tmp_path), runner=run)
    assert result["path"].endswith(".mongo.archive.zst")
    meta = load_metadata(result["path"])
    assert meta["content"]["tables"] == {"appdb.orders": 120, "appdb.users": 7} and meta["verified"] is True
    calls = log.read_text()
    assert "--username backup --authenticationDatabase admin" in calls and "--db appdb --archive" in calls
    assert "config-mode 600" in calls
    assert "s3cr3t-pw" not in calls and "s3cr3t-pw" not in " ".join(run.executed)
    assert (tmp_path / "calls.log.config").read_text() == 'password: "s3cr3t-pw"\n'
    assert not [d for d in os.listdir("/tmp") if d.startswith("lifeboat-mongo-")
                and os.stat(os.path.join("/tmp", d)).st_uid == os.getuid()
                and os.path.exists(os.path.join("/tmp", d, "config.yaml"))]


def test_not_an_archive_is_never_published(tmp_path, fakes, monkeypatch):
    runner = fakes[1]
    monkeypatch.setenv("FAKE_ARCHIVE_BODY", "x")
    monkeypatch.setattr("ansible_collections.lifeboat.dr.plugins.module_utils.engines.mongodb.ARCHIVE_MAGIC", b"XXXX")
    with pytest.raises(LifeboatError, match="not a mongodump archive"):
        run_dump(spec(tmp_path), runner=runner())
    repo = tmp_path / "repo" / "docs"
    assert not [f for dummy, dummy2, files in os.walk(repo) for f in files if not f.startswith(".")]


def test_restore_needs_confirm_keeps_a_safety_dump_and_checks_the_total(tmp_path, fakes, monkeypatch):
    log, runner = fakes
    result = run_dump(spec(tmp_path), runner=runner())
    with pytest.raises(LifeboatError, match="refusing to overwrite.*confirm"):
        run_restore(spec(tmp_path, backup=result["path"]), runner=runner())
    log.write_text("")
    out = run_restore(spec(tmp_path, backup=result["path"], confirm=True), runner=runner())
    calls = log.read_text().splitlines()
    assert calls[0].startswith("mongodump") and calls[2].startswith("mongorestore")  # safety dump first
    assert "--drop --stopOnError --nsInclude appdb.*" in calls[2]
    assert (tmp_path / "calls.log.restored").read_bytes() == b"\x6d\xe2\x99\x81documents"
    assert out["restored"] == {"documents": 127}
    assert stat.S_IMODE(os.stat(out["safety_copy"]).st_mode) == 0o600
    monkeypatch.setenv("FAKE_RESTORED", "100")
    with pytest.raises(LifeboatError, match="restored 100 documents.*records 127.*previous data kept in"):
        run_restore(spec(tmp_path, backup=result["path"], confirm=True), runner=runner())


def test_missing_tools_are_a_clear_error(tmp_path):
    def bin_path(name, required):
        if name == "mongodump":
            raise LifeboatError("required program 'mongodump' was not found in PATH")
        return Runner().binary(name)

    runner = Runner(bin_path=bin_path)
    with pytest.raises(LifeboatError, match="'mongodump' was not found"):
        run_dump(spec(tmp_path), runner=runner)
