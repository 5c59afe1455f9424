"""failover.yml on the lab: app1's PostgreSQL streams to db2; the failover fences app1, promotes db2
and repoints the sample app. Fencing is proven by writes the old primary refuses, also after its
container restarts; acknowledged writes are counted; check mode and refusals change nothing."""
import glob
import json
import os
import shlex
import subprocess
import threading
import time

import pytest

from labhost import playbook, sh

APP1, DB2 = "lifeboat-lab-app1", "lifeboat-lab-db2"
FENCE = "/var/lib/postgresql/lifeboat-fence-15-main.json"


def _run(name, *extra, ok=True):
    proc = playbook(name, *extra)
    if ok:
        assert proc.returncode == 0, "%s failed:\n%s\n%s" % (name, proc.stdout[-6000:], proc.stderr[-2000:])
    return proc


def pg(container, sql, database="postgres", check=True):
    return sh("runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1 -d %s -c %s" % (database, shlex.quote(sql)),
              check=check, container=container).strip()


def refuses_write(container):
    proc = subprocess.run(["docker", "exec", container, "runuser", "-u", "postgres", "--", "psql", "-XAtq", "-v",
                           "ON_ERROR_STOP=1", "-c", "CREATE TABLE IF NOT EXISTS lifeboat_it_split (x int); "
                           "INSERT INTO lifeboat_it_split VALUES (1)"], capture_output=True, text=True)
    return proc.returncode != 0, proc.stderr.strip()


def health(container=APP1):
    out = sh("curl -s http://127.0.0.1:8080/healthz", container=container, check=False)
    return json.loads(out) if out.strip().startswith("{") else {}


def newest_record(report_dir, incident):
    files = sorted(glob.glob(os.path.join(report_dir, "failover-%s-*.json" % incident)))
    assert files, "no failover record in %s" % report_dir
    with open(files[-1]) as handle:
        return json.load(handle)


def failover(report_dir, incident, *extra, ok=True):
    return _run("failover.yml", "-e", "incident=" + incident, "-e", "lifeboat_report_dir=" + report_dir, *extra, ok=ok)


def _as_lab_up_left_it():
    """True when app1 is the primary of PostgreSQL and Redis, db2 follows both, nothing is fenced and the
    app uses app1: then the fixture need not run lab_replication.yml (about 30 s)."""
    probe = ("test ! -e %s && test ! -e /var/lib/lifeboat/fence-redis-server.json && "
             "grep -qx SAMPLEAPP_DATABASE_HOST=app1 /etc/default/sampleapp && "
             "grep -qx SAMPLEAPP_REDIS_HOST=app1 /etc/default/sampleapp && "
             "test \"$(systemctl is-enabled redis-server postgresql@15-main | sort -u)\" = enabled && echo yes" % FENCE)
    if sh(probe, check=False).strip() != "yes" or pg(APP1, "SELECT pg_is_in_recovery()", check=False) != "f":
        return False
    streaming = pg(DB2, "SELECT status FROM pg_stat_wal_receiver", check=False) == "streaming"
    with open(os.path.join(os.path.dirname(__file__), "..", "..", ".lab", "secrets", "redis")) as handle:
        password = handle.read().split()[0]
    redis = subprocess.run(["docker", "exec", "-e", "REDISCLI_AUTH=" + password, DB2, "redis-cli", "--no-auth-warning",
                            "info", "replication"], capture_output=True, text=True).stdout
    return streaming and "master_link_status:up" in redis and "master_host:app1" in redis


@pytest.fixture(scope="module", autouse=True)
def lab_put_back(lab):
    """These tests leave hosts fenced, promoted or rejoined; the modules after them need app1 the primary
    again, as lab_up.yml leaves it."""
    yield
    if not _as_lab_up_left_it():
        _run("lab_replication.yml")


@pytest.fixture
def replicated(lab, tmp_path):
    """app1 the primary, db2 streaming from it, the app on app1: as lab_up.yml leaves the lab."""
    if not _as_lab_up_left_it():
        _run("lab_replication.yml")
    for _ in range(50):
        if pg(DB2, "SELECT status FROM pg_stat_wal_receiver") == "streaming":
            break
        time.sleep(0.2)
    assert pg(DB2, "SELECT pg_is_in_recovery()") == "t"
    for _ in range(60):
        if health().get("targets", {}).get("postgresql") == "app1" and health().get("status") == "ok":
            break
        time.sleep(0.5)
    return str(tmp_path)


class Writer(threading.Thread):
    """Writes a numbered row to app1 every 200 ms and records the ids app1 acknowledged."""

    def __init__(self):
        super().__init__(daemon=True)
        self.acknowledged, self.stop = [], threading.Event()
        pg(APP1, "CREATE TABLE IF NOT EXISTS lifeboat_it_writes (id int PRIMARY KEY, at timestamptz DEFAULT now())")
        self.start_id = int(pg(APP1, "SELECT coalesce(max(id), 0) FROM lifeboat_it_writes")) + 1

    def run(self):
        next_id = self.start_id
        while not self.stop.is_set():
            proc = subprocess.run(["docker", "exec", APP1, "runuser", "-u", "postgres", "--", "psql", "-XAtq", "-v",
                                   "ON_ERROR_STOP=1", "-c", "INSERT INTO lifeboat_it_writes (id) VALUES (%d)" % next_id],
                                  capture_output=True, text=True)
            if proc.returncode == 0:
                self.acknowledged.append(next_id)
            next_id += 1
            time.sleep(0.2)


def test_simulate_prints_the_plan_and_changes_nothing(replicated):
    before = (pg(APP1, "SELECT pg_is_in_recovery()"), pg(DB2, "SELECT pg_is_in_recovery()"),
              sh("cat /etc/default/sampleapp"), sh("systemctl is-enabled postgresql@15-main || true"),
              pg(APP1, "SELECT count(*), sum(amount_cents) FROM orders", "appdb"))
    proc = failover(replicated, "database_failure", "--check")
    for step in ("fence | app1", "promote | db2", "repoint_app | app1", "check_health | app1"):
        assert step in proc.stdout, step
    after = (pg(APP1, "SELECT pg_is_in_recovery()"), pg(DB2, "SELECT pg_is_in_recovery()"),
             sh("cat /etc/default/sampleapp"), sh("systemctl is-enabled postgresql@15-main || true"),
             pg(APP1, "SELECT count(*), sum(amount_cents) FROM orders", "appdb"))
    assert after == before
    assert sh("test -e %s && echo fenced || echo none" % FENCE).strip() == "none"
    record = newest_record(replicated, "database_failure")
    assert record["check_mode"] is True and record["steps"] == []
    assert [s["action"] for s in record["plan"]["steps"]] == [
        "fence", "wait_replay", "promote", "prove_write", "repoint_app", "restart_app", "check_health"]


def test_a_replica_that_stopped_receiving_is_refused_and_nothing_changes(replicated):
    # db2 loses its link to app1 (a wrong port), then app1 takes writes db2 never receives.
    conninfo = pg(DB2, "SHOW primary_conninfo")
    pg(DB2, "ALTER SYSTEM SET primary_conninfo = %s" % _literal(conninfo.replace("port=5432", "port=5439")))
    pg(DB2, "SELECT pg_reload_conf()")
    try:
        for _ in range(50):
            if pg(DB2, "SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'") == "0":
                break
            time.sleep(0.2)
        else:
            raise AssertionError("db2 still streams after its primary_conninfo was broken")
        pg(APP1, "CREATE TABLE IF NOT EXISTS lifeboat_it_lag (x int); INSERT INTO lifeboat_it_lag "
                 "SELECT generate_series(1, 1000)")
        limits = json.dumps({"lifeboat_failover": {"postgresql": {"hosts": ["app1", "db2"], "max_lag_bytes": 1024},
                                                   "app": {}}})
        proc = failover(replicated, "database_failure", "-e", limits, ok=False)
        assert proc.returncode != 0
        refusal = newest_record(replicated, "database_failure")["plan"]["refusal"]
        assert refusal.startswith("no replica may be promoted in place of app1: db2 is not streaming from app1")
        assert "over the limit of 1024 bytes" in refusal and "lifeboat_force=yes" in refusal
    finally:
        pg(DB2, "ALTER SYSTEM SET primary_conninfo = %s" % _literal(conninfo))
        pg(DB2, "SELECT pg_reload_conf()")
    assert pg(APP1, "SELECT pg_is_in_recovery()") == "f" and pg(DB2, "SELECT pg_is_in_recovery()") == "t"
    assert sh("systemctl is-enabled postgresql@15-main || true").strip() != "masked"
    assert sh("test -e %s && echo fenced || echo none" % FENCE).strip() == "none"
    assert newest_record(replicated, "database_failure")["plan"]["outcome"] == "refused"


def _literal(text):
    return "'" + text.replace("'", "''") + "'"


def test_an_unknown_incident_is_refused_by_name(replicated):
    proc = failover(replicated, "database_down", ok=False)
    assert proc.returncode != 0 and "unknown incident 'database_down'" in " ".join(proc.stdout.split())


AUTO_CONF = "/var/lib/postgresql/15/main/postgresql.auto.conf"


def test_database_failure_fences_the_primary_promotes_db2_and_loses_no_acknowledged_write(replicated):
    # Synchronous replication: app1 acknowledges a commit only once db2 has it.
    pg(APP1, "ALTER SYSTEM SET synchronous_standby_names = 'db2'")
    pg(APP1, "SELECT pg_reload_conf()")
    for _ in range(50):
        if pg(APP1, "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'db2'") == "sync":
            break
        time.sleep(0.2)
    else:
        raise AssertionError("db2 did not become a synchronous standby")
    try:
        writer = Writer()
        writer.start()
        time.sleep(2)
        started = time.monotonic()
        failover(replicated, "database_failure")
        elapsed = time.monotonic() - started
        writer.stop.set()
        writer.join()
    finally:
        # app1 is fenced (stopped): the setting goes from its file, so the lab's next primary does not wait.
        sh("sed -i '/^synchronous_standby_names/d' %s" % AUTO_CONF)

    # db2 is the primary and holds every write app1 acknowledged.
    assert pg(DB2, "SELECT pg_is_in_recovery()") == "f"
    on_db2 = set(int(i) for i in pg(DB2, "SELECT id FROM lifeboat_it_writes WHERE id >= %d" % writer.start_id)
                 .split())
    lost = sorted(set(writer.acknowledged) - on_db2)
    assert writer.acknowledged and lost == [], "acknowledged writes lost: %s" % lost

    # app1 is fenced: stopped, masked, a record naming db2, and it refuses writes.
    refused, why = refuses_write(APP1)
    assert refused, "the fenced old primary accepted a write"
    assert sh("systemctl is-enabled postgresql@15-main || true").strip() == "masked"
    record = json.loads(sh("cat %s" % FENCE))
    assert record["state"] == "applied" and record["successor"] == "db2" and record["incident"] == "INC-003"

    # The app uses db2 and is healthy.
    assert sh("grep ^SAMPLEAPP_DATABASE_HOST= /etc/default/sampleapp").strip() == "SAMPLEAPP_DATABASE_HOST=db2"
    answer = health()
    assert answer["status"] == "ok" and answer["targets"]["postgresql"] == "db2"
    assert answer["postgresql"]["count"] > 0

    run = newest_record(replicated, "database_failure")
    assert run["ok"] is True and run["check_mode"] is False
    assert [s["action"] for s in run["steps"]] == [
        "fence", "wait_replay", "promote", "prove_write", "repoint_app", "restart_app", "check_health"]
    assert all(s["ok"] and s["end"] >= s["start"] for s in run["steps"])
    assert "psql: error: connection to server" in run["steps"][0]["result"]["write_refused"]
    figures = run["figures"]
    assert 0 < figures["fenced_after_seconds"] < figures["writable_after_seconds"] <= run["seconds"]
    print("\nfailover figures: fenced after %.2f s, writable after %.2f s, whole run %.2f s (playbook %.1f s), "
          "%d acknowledged writes, %d lost" % (figures["fenced_after_seconds"], figures["writable_after_seconds"],
                                              run["seconds"], elapsed, len(writer.acknowledged), len(lost)))

    # Split brain attempt: the old primary's container restarts; PostgreSQL stays down and refuses writes.
    subprocess.run(["docker", "restart", APP1], check=True, capture_output=True)
    sh("for i in $(seq 1 240); do s=$(systemctl is-system-running 2>/dev/null); "
       "case $s in running|degraded) exit 0;; esac; sleep 0.5; done; exit 1")
    assert sh("systemctl is-active postgresql@15-main || true").strip() != "active"
    refused, why = refuses_write(APP1)
    assert refused, "the old primary accepted a write after its restart"
    for _ in range(60):
        if health().get("status") == "ok":
            break
        time.sleep(0.5)
    assert health()["targets"]["postgresql"] == "db2"

    # status: app1 fenced, db2 primary, the app on db2; no warning about the app.
    failover(replicated, "status")
    report = newest_record(replicated, "status")["status"]["json"]
    roles = dict((row["host"], row["role"]) for row in report["postgresql"])
    assert roles == {"app1": "fenced", "db2": "primary"}
    assert report["app"]["points_at"] == "db2"
    assert not [w for w in report["warnings"] if "application points at" in w]

    # A second run finds db2 already promoted: nothing to promote, the app is already on db2.
    failover(replicated, "database_failure")
    again = newest_record(replicated, "database_failure")
    assert again["plan"]["outcome"] == "already_promoted"
    assert "promote" not in [s["action"] for s in again["steps"]]


def test_rejoin_makes_the_old_primary_a_replica_of_the_new_one(replicated):
    failover(replicated, "database_failure")
    assert pg(DB2, "SELECT pg_is_in_recovery()") == "f"
    # Without confirmation nothing changes: app1 stays fenced and masked.
    proc = failover(replicated, "rejoin", ok=False)
    assert proc.returncode != 0
    assert "-e lifeboat_confirm=yes" in newest_record(replicated, "rejoin")["failure"]
    assert sh("systemctl is-enabled postgresql@15-main || true").strip() == "masked"

    failover(replicated, "rejoin", "-e", "lifeboat_confirm=yes")
    run = newest_record(replicated, "rejoin")
    assert run["ok"] is True and run["plan"]["host"] == "app1" and run["plan"]["primary"] == "db2"
    steps = dict((s["action"], s) for s in run["steps"])
    assert list(steps) == ["create_slot", "stop", "rewind", "start_replica", "lift_fence", "check_streaming"]
    assert steps["rewind"]["result"]["rewound"] is True, steps["rewind"]["result"]
    assert steps["start_replica"]["result"]["base_backup"] is False  # pg_rewind sufficed
    assert sh("test -d %s && echo kept" % steps["rewind"]["result"]["safety_copy"]).strip() == "kept"
    print("\nrejoin: pg_rewind %.2f s, whole rejoin %.2f s" % (float(steps["rewind"]["result"]["seconds"]),
                                                            run["seconds"]))

    # app1 streams from db2, refuses writes as a replica, and a row written on db2 reaches it.
    assert pg(APP1, "SELECT pg_is_in_recovery()") == "t"
    assert pg(APP1, "SELECT status || ' ' || sender_host FROM pg_stat_wal_receiver") == "streaming db2"
    refused, why = refuses_write(APP1)
    assert refused and "read-only" in why
    pg(DB2, "CREATE TABLE IF NOT EXISTS lifeboat_it_rejoin (x text); INSERT INTO lifeboat_it_rejoin VALUES ('after')")
    for _ in range(50):
        if pg(APP1, "SELECT count(*) FROM pg_tables WHERE tablename = 'lifeboat_it_rejoin'") == "1" and \
                pg(APP1, "SELECT count(*) FROM lifeboat_it_rejoin WHERE x = 'after'") != "0":
            break
        time.sleep(0.2)
    else:
        raise AssertionError("a row written on db2 did not reach app1")
    record = json.loads(sh("cat %s" % FENCE))
    assert record["state"] == "lifted" and record["lifted"]["primary"] == "db2"
    assert sh("systemctl is-enabled postgresql@15-main || true").strip() != "masked"
    sh("rm -rf %s" % steps["rewind"]["result"]["safety_copy"])

    # A second rejoin finds nothing to do; status shows db2 primary and app1 its streaming replica.
    failover(replicated, "rejoin", "-e", "lifeboat_confirm=yes")
    assert newest_record(replicated, "rejoin")["plan"]["outcome"] == "nothing"
    failover(replicated, "status")
    roles = dict((row["host"], row["role"]) for row in newest_record(replicated, "status")["status"]["json"]["postgresql"])
    assert roles == {"app1": "replica", "db2": "primary"}


def test_service_failure_restarts_the_app_and_reports_the_time_to_healthy(replicated):
    before = sh("systemctl show -p MainPID --value sampleapp").strip()
    failover(replicated, "service_failure", "-e", "service=sampleapp")
    assert sh("systemctl show -p MainPID --value sampleapp").strip() != before
    run = newest_record(replicated, "service_failure")
    assert run["ok"] is True and run["figures"]["healthy_after_seconds"] > 0
    print("\nservice_failure: healthy after %.2f s" % run["figures"]["healthy_after_seconds"])


def test_a_unit_that_does_not_come_back_fails_with_its_journal(replicated):
    sh("printf '[Service]\\nExecStart=/bin/sh -c \"echo lifeboat-broken-on-purpose; exit 3\"\\n' "
       "> /etc/systemd/system/lifeboat-it-broken.service && systemctl daemon-reload")
    try:
        proc = failover(replicated, "service_failure", "-e", "service=lifeboat-it-broken",
                        "-e", "failover_service_timeout=2", ok=False)
        assert proc.returncode != 0
        failure = newest_record(replicated, "service_failure")["failure"]
        assert "lifeboat-it-broken on app1 was not healthy 2 s after its restart" in failure
        assert "lifeboat-broken-on-purpose" in failure
        assert newest_record(replicated, "service_failure")["ok"] is False
    finally:
        sh("rm -f /etc/systemd/system/lifeboat-it-broken.service && systemctl daemon-reload")


def test_an_unreachable_primary_is_fenced_first_when_it_answers_again(replicated, tmp_path):
    # app1 dies with its database and Ansible cannot reach it (SSH to a TEST-NET address).
    inventory = tmp_path / "unreachable.yml"
    inventory.write_text("all:\n  hosts:\n    app1:\n      ansible_connection: ansible.builtin.ssh\n"
                         "      ansible_host: 192.0.2.1\n      ansible_ssh_common_args: -o ConnectTimeout=2\n")
    sh("systemctl stop postgresql@15-main")
    # The app runs on app1 too: this run has none to repoint.
    alone = json.dumps({"lifeboat_failover": {"postgresql": {"hosts": ["app1", "db2"]}}})
    failover(replicated, "database_failure", "-i", "inventories/lab/hosts.yml", "-i", str(inventory), "-e", alone)
    run = newest_record(replicated, "database_failure")
    assert [(s["action"], s["host"]) for s in run["steps"]] == [
        ("record_pending_fence", "app1"), ("promote", "db2"), ("prove_write", "db2")]
    held = os.path.join(replicated, "fences", "app1.json")
    with open(held) as handle:
        assert json.load(handle)["state"] == "pending"
    assert pg(DB2, "SELECT pg_is_in_recovery()") == "f"

    # app1 comes back with its database running: a second primary. The next run fences it before
    # anything else, keeps db2 (app1 carries the fence) and repoints the app; it fails, saying so.
    sh("systemctl start postgresql@15-main")
    assert pg(APP1, "SELECT pg_is_in_recovery()") == "f"
    proc = failover(replicated, "database_failure", ok=False)
    assert proc.returncode != 0
    again = newest_record(replicated, "database_failure")
    assert again["plan"]["outcome"] == "fence_only" and "keeping db2" in again["plan"]["refusal"]
    assert [s["action"] for s in again["steps"]] == ["apply_pending_fence", "repoint_app", "restart_app",
                                                     "check_health"]
    assert refuses_write(APP1)[0] and not os.path.exists(held)
    assert sh("systemctl is-enabled postgresql@15-main || true").strip() == "masked"
    assert health()["targets"]["postgresql"] == "db2"
