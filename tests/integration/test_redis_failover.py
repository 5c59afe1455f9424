"""failover.yml -e incident=redis_failure on the lab: app1's Redis replicates to db2. The failover makes
app1 refuse writes, promotes db2 once it has app1's last offset, and repoints the sample app; with no
replica that may be promoted it restores the newest backup. Acknowledged writes are counted; check
mode changes nothing."""
import json
import subprocess
import threading
import time

import pytest

from labhost import ROOT, run_module, sh
from test_failover import APP1, DB2, failover, health, lab_put_back, newest_record, replicated  # noqa: F401 (fixtures)

REDIS_FENCE = "/var/lib/lifeboat/fence-redis-server.json"


@pytest.fixture
def password():
    with open(ROOT + "/.lab/secrets/redis") as handle:
        return handle.read().split()[0]


def cli(container, password, *args, check=True):
    proc = subprocess.run(["docker", "exec", "-e", "REDISCLI_AUTH=" + password, container, "redis-cli",
                           "--no-auth-warning"] + list(args), capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError("redis-cli %s on %s: %s" % (args, container, proc.stderr))
    return proc.stdout.strip()


def role(container, password):
    info = cli(container, password, "info", "replication", check=False)
    return next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("role:")), "down")


def wait_linked(password):
    for _ in range(100):
        if "master_link_status:up" in cli(DB2, password, "info", "replication", check=False):
            return
        time.sleep(0.2)
    raise AssertionError("db2's Redis is not linked to app1")


class KeyWriter(threading.Thread):
    """SETs a numbered key on app1's Redis as fast as docker exec allows; keeps the ids Redis acknowledged."""

    def __init__(self, password):
        super().__init__(daemon=True)
        self.password, self.acknowledged, self.stop = password, [], threading.Event()

    def run(self):
        n = 0
        while not self.stop.is_set():
            n += 1
            if cli(APP1, self.password, "set", "it:ack:%d" % n, "v", check=False) == "OK":
                self.acknowledged.append(n)
            time.sleep(0.05)


def test_redis_failure_simulated_changes_nothing(replicated, password):
    wait_linked(password)
    state = (lambda: (role(APP1, password), role(DB2, password), sh("cat /etc/default/sampleapp"),
                      sh("grep -E '^#? *replicaof' /etc/redis/redis.conf", container=DB2),
                      sh("systemctl is-enabled redis-server || true"), cli(APP1, password, "dbsize")))
    before = state()
    proc = failover(replicated, "redis_failure", "--check")
    for step in ("fence | app1", "promote | db2", "prove_write | db2", "repoint_app | app1", "check_health | app1"):
        assert step in proc.stdout, step
    assert state() == before
    assert sh("test -e %s && echo fenced || echo none" % REDIS_FENCE).strip() == "none"
    record = newest_record(replicated, "redis_failure")
    assert record["check_mode"] is True and record["steps"] == [] and record["plan"]["outcome"] == "failover"


def test_redis_failure_fences_app1_promotes_db2_and_loses_no_acknowledged_write(replicated, password):
    wait_linked(password)
    cli(APP1, password, "eval", "for _, k in ipairs(redis.call('keys', 'it:ack:*')) do redis.call('del', k) end", "0")
    writer = KeyWriter(password)
    writer.start()
    time.sleep(2)
    failover(replicated, "redis_failure")
    writer.stop.set()
    writer.join()

    # db2 is the master, keeps being one after a restart, and holds every key app1 acknowledged.
    assert role(DB2, password) == "master"
    assert "\nreplicaof" not in "\n" + sh("cat /etc/redis/redis.conf", container=DB2)
    on_db2 = set(int(k.rsplit(":", 1)[1]) for k in cli(DB2, password, "--scan", "--pattern", "it:ack:*").split())
    lost = sorted(set(writer.acknowledged) - on_db2)
    assert writer.acknowledged and lost == [], "acknowledged writes lost: %s" % lost

    # app1 is fenced: masked, a record naming db2; it does not start again and refuses writes.
    assert sh("systemctl is-enabled redis-server || true").strip() == "masked"
    fence = json.loads(sh("cat %s" % REDIS_FENCE))
    assert fence["state"] == "applied" and fence["successor"] == "db2" and fence["incident"] == "INC-004"
    sh("systemctl start redis-server", check=False)
    assert cli(APP1, password, "set", "split", "brain", check=False) != "OK"

    # The app uses db2's Redis and is healthy (its health check writes there).
    assert sh("grep ^SAMPLEAPP_REDIS_HOST= /etc/default/sampleapp").strip() == "SAMPLEAPP_REDIS_HOST=db2"
    answer = health()
    assert answer["status"] == "ok" and answer["targets"]["redis"] == "db2"

    run = newest_record(replicated, "redis_failure")
    assert run["ok"] is True
    assert [s["action"] for s in run["steps"]] == [
        "fence", "promote", "prove_write", "repoint_app", "restart_app", "check_health"]
    assert "NOREPLICAS" in run["steps"][0]["result"]["write_refused"]
    figures = run["figures"]
    assert 0 < figures["fenced_after_seconds"] < figures["writable_after_seconds"] <= run["seconds"]
    print("\nredis failover figures: fenced after %.2f s, writable after %.2f s, whole run %.2f s, "
          "%d acknowledged writes, %d lost" % (figures["fenced_after_seconds"], figures["writable_after_seconds"],
                                              run["seconds"], len(writer.acknowledged), len(lost)))

    # status shows it; a second run finds db2 already the master and changes nothing more.
    failover(replicated, "status")
    report = newest_record(replicated, "status")["status"]["json"]
    assert dict((row["host"], row["role"]) for row in report["redis"]) == {"app1": "fenced", "db2": "master"}
    assert report["app"]["redis_points_at"] == "db2"
    failover(replicated, "redis_failure")
    again = newest_record(replicated, "redis_failure")
    assert again["plan"]["outcome"] == "already_promoted"
    assert [s["action"] for s in again["steps"]] == ["prove_write", "check_health"]


def test_redis_failure_without_a_promotable_replica_restores_the_newest_backup(replicated, password):
    with open(ROOT + "/.lab/secrets/backup_passphrase") as handle:
        passphrase = handle.read().split()[0]
    wait_linked(password)
    cli(APP1, password, "set", "it:before-backup", "1")
    backup = run_module("db_dump", {"engine": "redis", "service": "appcache", "login_password": password,
                                    "encryption": "gpg", "encryption_passphrase": passphrase})
    assert not backup.get("failed"), backup.get("msg")
    cli(APP1, password, "set", "it:after-backup", "1")
    # Both instances fail: db2 cannot be promoted, so the newest backup goes back onto app1.
    sh("systemctl stop redis-server", container=DB2)
    sh("systemctl stop redis-server")
    try:
        failover(replicated, "redis_failure")
        run = newest_record(replicated, "redis_failure")
        assert run["plan"]["outcome"] == "restore" and run["ok"] is True
        assert [s["action"] for s in run["steps"]] == ["restore_backup", "prove_write", "check_health"]
        assert run["steps"][0]["result"]["backup_id"] == backup["backup_id"]
        assert any("keys written after the backup" in note for note in run["plan"]["notes"])
        assert role(APP1, password) == "master"
        assert cli(APP1, password, "exists", "it:before-backup") == "1"
        assert cli(APP1, password, "exists", "it:after-backup") == "0"
        assert health()["status"] == "ok"
    finally:
        sh("systemctl start redis-server", container=DB2)
        sh("rm -rf /var/backups/lifeboat/appcache/*/%s*" % backup["backup_id"], check=False)
