"""The directory engine on the lab host: a real systemd unit is stopped for the copy and restarted."""
import uuid

import pytest

from labhost import run_module, sh

UNIT = """[Unit]
Description=Lifeboat integration test writer
[Service]
User=sampleapp
ExecStart=/bin/sh -c 'while true; do date +%%s%%N >> {dir}/log/events; sleep 0.05; done'
"""


def listing(path):
    """Independent view of a tree: path, mode, owner and sha256 of every entry."""
    return sh("cd %s && find . -printf '%%p %%m %%u:%%g %%y\\n' | sort && "
              "find . -type f -print0 | sort -z | xargs -0 sha256sum" % path)


@pytest.fixture
def store(lab):
    name = "it-%s" % uuid.uuid4().hex[:8]
    path = "/var/lib/lifeboat-it/%s/data" % name
    sh("mkdir -p %s/log %s/index && chown -R sampleapp:sampleapp %s && chmod 0750 %s/index" % (path, path, path, path))
    sh("head -c 100000 /dev/urandom > %s/index/seg.bin && chown sampleapp %s/index/seg.bin && chmod 0640 %s/index/seg.bin"
       % (path, path, path))
    sh("cat > /etc/systemd/system/%s.service <<'EOF'\n%sEOF\nsystemctl daemon-reload && systemctl start %s"
       % (name, UNIT.format(dir=path), name))
    yield name, path
    sh("systemctl stop %s; rm -f /etc/systemd/system/%s.service; systemctl daemon-reload; rm -rf /var/lib/lifeboat-it/%s"
       % (name, name, name))


def test_round_trip_with_the_writer_stopped_for_the_copy(store):
    unit, path = store
    result = run_module("db_dump", {"engine": "directory", "service": unit, "path": path, "stop_services": [unit],
                                    "backup_root": "/var/lib/lifeboat-it/%s/backups" % unit})
    assert not result.get("failed"), result.get("msg")
    assert result["metadata"]["content"]["directory"]["stopped_services"] == [unit]
    assert sh("systemctl is-active %s" % unit).strip() == "active"  # started again
    sh("systemctl stop %s" % unit)
    archived = int(sh("tar -tvf %s --use-compress-program=zstd | grep -c events || true" % result["path"]).strip())
    assert archived == 1
    before = listing(path)
    sh("rm -rf %s" % path)
    out = run_module("db_restore", {"engine": "directory", "service": unit, "path": path, "backup": result["path"]})
    assert not out.get("failed"), out.get("msg")
    restored = listing(path)
    # the writer ran after the backup until stopped; compare everything but its log
    assert [l for l in restored.splitlines() if "events" not in l] == [l for l in before.splitlines() if "events" not in l]
    assert "./index 750 sampleapp:sampleapp d" in restored


def test_restore_moves_the_current_directory_aside(store):
    unit, path = store
    result = run_module("db_dump", {"engine": "directory", "service": unit, "path": path, "stop_services": [unit],
                                    "backup_root": "/var/lib/lifeboat-it/%s/backups" % unit})
    sh("systemctl stop %s && echo damaged > %s/index/seg.bin" % (unit, path))
    refused = run_module("db_restore", {"engine": "directory", "service": unit, "path": path,
                                        "backup": result["path"]})
    assert refused.get("failed") and "refusing to overwrite" in refused["msg"]
    out = run_module("db_restore", {"engine": "directory", "service": unit, "path": path, "backup": result["path"],
                                    "confirm": True, "safety_copy": False})
    assert not out.get("failed"), out.get("msg")
    assert sh("cat %s/index/seg.bin" % out["safety_copy"]).strip() == "damaged"  # kept even with safety_copy false
    # Issue 12: the copy kept the data's 0755; now only its owner may enter, and the result lists it.
    assert sh("stat -c '%%a %%U' %s" % out["safety_copy"]).strip() == "700 sampleapp"
    assert [item["path"] for item in out["safety_copies"]] == [out["safety_copy"]]
    assert sh("stat -c %%s %s/index/seg.bin" % path).strip() == "100000"
