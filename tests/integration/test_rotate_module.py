"""backup_rotate on the lab host: GFS decisions on a real repository, check mode, lock."""
import uuid

import pytest

from labhost import run_module, sh

MAKE_REPO = r"""
import datetime, hashlib, json, os, sys
root, service = sys.argv[1], sys.argv[2]
day = datetime.datetime(2025, 1, 1, 2, 0)
while day < datetime.datetime(2025, 4, 1):
    kind = "monthly" if day.day == 1 else "weekly" if day.weekday() == 6 else "daily"
    bid = "backup_%s_%s" % (kind, day.strftime("%Y%m%d_%H%M%S"))
    d = os.path.join(root, service, kind)
    os.makedirs(d, exist_ok=True)
    data = ("backup of %s" % bid).encode()
    open(os.path.join(d, bid + ".dump.zst"), "wb").write(data)
    json.dump({"backup_id": bid, "engine": "postgresql", "type": kind, "files": [bid + ".dump.zst"],
               "size_bytes": len(data), "checksum": "sha256:" + hashlib.sha256(data).hexdigest(), "verified": True},
              open(os.path.join(d, bid + ".metadata.json"), "w"))
    day += datetime.timedelta(days=1)
open(os.path.join(root, service, "daily", "backup_daily_20241231_020000.dump.zst"), "wb").write(b"no metadata")
"""


@pytest.fixture
def repo(lab):
    root = "/var/lib/lifeboat-it/rot-%s" % uuid.uuid4().hex[:8]
    sh("mkdir -p %s && cat > %s/make.py <<'PY'\n%sPY\npython3 %s/make.py %s svc" % (root, root, MAKE_REPO, root, root))
    yield root
    sh("rm -rf %s" % root)


def files(root, kind):
    return sorted(sh("ls %s/svc/%s | grep -v metadata || true" % (root, kind)).split())


def test_rotation_applies_the_reference_policy_on_the_host(repo):
    before = {kind: files(repo, kind) for kind in ("daily", "weekly", "monthly")}
    preview = run_module("backup_rotate", {"service": "svc", "backup_root": repo}, check=True, diff=True)
    assert preview["changed"] is True and len(preview["deleted"]) == len(before["daily"]) - 1 - 7 + len(before["weekly"]) - 4
    # --diff: every complete backup before, the kept ones after, one path per line.
    listed = lambda text: [line.rsplit("/", 1)[1] for line in text.splitlines()]  # noqa: E731
    complete = sum(len(before[kind]) for kind in before) - 1
    assert len(listed(preview["diff"]["before"])) == complete
    assert sorted(listed(preview["diff"]["after"])) == sorted(s["path"].rsplit("/", 1)[1] for s in preview["kept"])
    assert preview["diff"]["after_header"] == "backups of svc (after)"
    assert {kind: files(repo, kind) for kind in before} == before  # check mode deleted nothing
    out = run_module("backup_rotate", {"service": "svc", "backup_root": repo})
    assert not out.get("failed"), out.get("msg")
    daily = files(repo, "daily")
    assert daily == ["backup_daily_20241231_020000.dump.zst"] + before["daily"][-7:]
    assert files(repo, "weekly") == before["weekly"][-4:]
    assert files(repo, "monthly") == before["monthly"]  # 3 months < 12
    assert [s["path"].rsplit("/", 1)[1] for s in out["incomplete"]] == ["backup_daily_20241231_020000.dump.zst"]
    metas = sh("ls %s/svc/daily | grep metadata" % repo).split()
    assert len(metas) == 7  # every deleted backup lost its metadata too
    again = run_module("backup_rotate", {"service": "svc", "backup_root": repo})
    assert again["changed"] is False and again["deleted"] == []


def test_rotation_waits_for_a_running_backup_then_says_so(repo):
    sh("nohup flock %s/svc/.lock sleep 30 >/dev/null 2>&1 & echo $! > %s/holder.pid; sleep 0.5" % (repo, repo))
    out = run_module("backup_rotate", {"service": "svc", "backup_root": repo, "lock_timeout": 1})
    assert out.get("failed") and "another Lifeboat run is working on service svc" in out["msg"]
    sh("kill $(cat %s/holder.pid) || true" % repo)
    assert len(files(repo, "daily")) > 8  # nothing was deleted while locked
