#!/usr/bin/env python3
"""Failover side by side: Lifeboat's failover.yml against Patroni 3.0 with etcd and Redis Sentinel, in one run.

    .venv/bin/python bench/failover.py              # 3 repeats of every contender
    .venv/bin/python bench/failover.py --repeat 5 --only patroni-auto-fast,sentinel-auto-fast

The lab must be up (``make lab-up``). Lifeboat fails over the lab itself (app1 -> db2, PostgreSQL and
Redis) and the lab is put back with ``lab_replication.yml`` between repeats (not timed). The peers run on
three extra containers of the lab image, made here and left for the next run (``make bench-down``
removes them): ``benchpg1`` and ``benchpg2`` (PostgreSQL 15 under Patroni, Redis with a replica),
``benchdcs`` (etcd, the third Sentinel). Packages come from Debian: ``patroni``, ``etcd-server``,
``redis-sentinel``.

What is measured, from the same moment for every contender (the trigger) to:

* ``writable_s``: the new primary accepts a write (a loop inside its container, 50 ms apart);
* ``fenced_s``: the old primary refused a write (a second loop in its container; not measured when the
  trigger kills the primary, which refuses at once);
* ``command_s``: the trigger's command returned (for Lifeboat the whole playbook).

Triggers: ``*-manual`` are asked for by hand (``failover.yml``, ``patronictl failover``, ``SENTINEL
FAILOVER``); ``*-auto-*`` kill the primary's processes (``systemctl kill -s KILL``: a dead host, the DCS
and the other nodes survive) and wait for the peer's own detection, with its default settings and with
a common fast tuning. Lifeboat has no automatic trigger: it is run on demand.

Results go to ``bench/results/<date>-failover.json`` and ``.md``. A measurement, not a test.
"""
import argparse
import datetime
import json
import os
import platform
import secrets
import shlex
import subprocess
import sys
import tempfile
import time

import stats

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, ".venv", "bin")
NETWORK = "lifeboat-lab"
PG_NODES = ("benchpg1", "benchpg2")
DCS = "benchdcs"
LABEL = "lifeboat.bench=failover"
PATRONI_CONFIG = "/etc/patroni/bench.yml"
PATRONI_DATA = "/var/lib/postgresql/15/bench"
REDIS_CONFIG = "/var/lib/redis/bench.conf"
SENTINEL_CONFIG = "/var/lib/redis/bench-sentinel.conf"
MASTER_NAME = "benchredis"
# Patroni's documented defaults, and the fast tuning its docs allow (ttl >= loop_wait + 2 * retry_timeout).
PATRONI_SETTINGS = {"default": {"ttl": 30, "loop_wait": 10, "retry_timeout": 10},
                    "fast": {"ttl": 10, "loop_wait": 2, "retry_timeout": 4}}
# Sentinel's default down-after-milliseconds, and a common fast one.
SENTINEL_SETTINGS = {"default": 30000, "fast": 2000}


def log(message):
    print("[bench-failover %s] %s" % (time.strftime("%H:%M:%S"), message), flush=True)


def container(host):
    return "lifeboat-lab-" + host


def sh(host, script, check=True, stdin=None, timeout=900):
    argv = ["docker", "exec"] + (["-i"] if stdin is not None else []) + [container(host), "bash", "-c", script]
    proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise SystemExit("on %s: %s\nfailed (%d): %s%s" % (host, script, proc.returncode, proc.stdout[-2000:],
                                                          proc.stderr[-2000:]))
    return proc.stdout


def write_file(host, path, text, owner="root", mode="0600"):
    # Through stdin: the passwords in these files never reach an argv.
    sh(host, "install -o %s -m %s /dev/stdin %s" % (owner, mode, shlex.quote(path)), stdin=text)


def lab_image():
    with open(os.path.join(ROOT, ".lab", "images.env")) as handle:
        return dict(line.strip().split("=", 1) for line in handle if "=" in line)["LIFEBOAT_LAB_IMAGE"]


def playbook(name, *extra, check=True):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    argv = [os.path.join(BIN, "ansible-playbook"), os.path.join(ROOT, "playbooks", name)] + list(extra)
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise SystemExit("%s failed:\n%s%s" % (name, proc.stdout[-4000:], proc.stderr[-2000:]))
    return proc


# --- the peers' lab ---------------------------------------------------------------------------------------

def ensure_containers():
    image = lab_image()
    for host in PG_NODES + (DCS,):
        state = subprocess.run(["docker", "inspect", "-f", "{{.State.Running}} {{.Config.Image}}", container(host)],
                               capture_output=True, text=True).stdout.split()
        if state == ["true", image]:
            continue
        subprocess.run(["docker", "rm", "-f", container(host)], capture_output=True)
        subprocess.run(["docker", "run", "-d", "--name", container(host), "--hostname", host, "--network", NETWORK,
                        "--network-alias", host, "--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp",
                        "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--cgroupns", "host", "--cap-add", "SYS_ADMIN",
                        "--stop-signal", "SIGRTMIN+3", "--label", LABEL, image, "/sbin/init"],
                       check=True, capture_output=True)
        for _ in range(100):
            if sh(host, "systemctl is-system-running 2>/dev/null || true", check=False).strip() in ("running",
                                                                                                   "degraded"):
                break
            time.sleep(0.2)
    packages = {"benchpg1": "patroni python3-etcd redis-sentinel", "benchpg2": "patroni python3-etcd redis-sentinel",
                DCS: "etcd-server etcd-client redis-sentinel"}
    for host, wanted in packages.items():
        missing = sh(host, "for p in %s; do dpkg -s $p >/dev/null 2>&1 || echo $p; done" % wanted).split()
        if missing:
            log("installing %s on %s" % (" ".join(missing), host))
            sh(host, "export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && "
                     "apt-get install -y -qq --no-install-recommends %s >/dev/null" % " ".join(missing))
        # The packaged units stay off: the bench runs its own instances with its own settings.
        sh(host, "systemctl disable --now redis-sentinel redis-server patroni 2>/dev/null; true")


def start_etcd():
    if sh(DCS, "ETCDCTL_API=3 etcdctl --endpoints=http://benchdcs:2379 endpoint health 2>&1 || true",
          check=False).count("is healthy"):
        return
    write_file(DCS, "/etc/default/etcd", "ETCD_NAME=benchdcs\nETCD_DATA_DIR=/var/lib/etcd/bench\n"
               "ETCD_LISTEN_CLIENT_URLS=http://0.0.0.0:2379\nETCD_ADVERTISE_CLIENT_URLS=http://benchdcs:2379\n"
               "ETCD_LISTEN_PEER_URLS=http://127.0.0.1:2380\nETCD_INITIAL_ADVERTISE_PEER_URLS=http://127.0.0.1:2380\n"
               "ETCD_INITIAL_CLUSTER=benchdcs=http://127.0.0.1:2380\n", mode="0644")
    sh(DCS, "systemctl restart etcd && systemctl enable etcd")
    for _ in range(100):
        if "is healthy" in sh(DCS, "ETCDCTL_API=3 etcdctl --endpoints=http://benchdcs:2379 endpoint health 2>&1",
                              check=False):
            return
        time.sleep(0.2)
    raise SystemExit("etcd on benchdcs did not become healthy")


def patroni_config(host, passwords, settings):
    return json.dumps({
        "scope": "bench", "name": host,
        "restapi": {"listen": "0.0.0.0:8008", "connect_address": host + ":8008"},
        "etcd3": {"hosts": ["benchdcs:2379"]},
        "bootstrap": {"dcs": dict(settings, maximum_lag_on_failover=1048576,
                                  postgresql={"use_pg_rewind": True, "parameters": {"wal_log_hints": "on"}}),
                      "initdb": [{"encoding": "UTF8"}, "data-checksums"]},
        "postgresql": {"listen": "0.0.0.0:5432", "connect_address": host + ":5432", "data_dir": PATRONI_DATA,
                       "bin_dir": "/usr/lib/postgresql/15/bin", "pgpass": "/var/lib/postgresql/.pgpass_bench",
                       "authentication": {"superuser": {"username": "postgres", "password": passwords["superuser"]},
                                          "replication": {"username": "replicator",
                                                          "password": passwords["replication"]}},
                       "pg_hba": ["local all all peer", "host all all 0.0.0.0/0 scram-sha-256",
                                  "host replication replicator 0.0.0.0/0 scram-sha-256"]},
    }, indent=1)


def bench_passwords():
    """The peers' passwords, made once and kept in .lab/secrets (a cluster keeps the ones it was made with).

    ``fresh`` is True when they were made now: a cluster left by an earlier run cannot be used then."""
    path = os.path.join(ROOT, ".lab", "secrets", "bench-failover.json")
    try:
        with open(path) as handle:
            return json.load(handle), False
    except (OSError, ValueError):
        pass
    passwords = {name: secrets.token_urlsafe(18) for name in ("superuser", "replication", "redis")}
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
        json.dump(passwords, handle)
    return passwords, True


def patroni_cluster(passwords, settings, fresh=False):
    """Both nodes under Patroni, one leader and one streaming replica, with ``settings`` in the DCS."""
    if fresh:
        for host in PG_NODES:
            sh(host, "systemctl stop lifeboat-bench-patroni 2>/dev/null; rm -rf %s; true" % PATRONI_DATA)
        sh(DCS, "ETCDCTL_API=3 etcdctl --endpoints=http://benchdcs:2379 del --prefix /service/bench >/dev/null")
    for host in PG_NODES:
        # The stock cluster would hold port 5432; Patroni owns its own data directory.
        sh(host, "systemctl disable --now postgresql 2>/dev/null; pg_lsclusters -h | grep -q '^15 main' && "
                 "pg_dropcluster --stop 15 main; true")
        write_file(host, PATRONI_CONFIG, patroni_config(host, passwords, settings), owner="postgres")
        if sh(host, "systemctl is-active lifeboat-bench-patroni || true", check=False).strip() != "active":
            sh(host, "systemctl reset-failed lifeboat-bench-patroni 2>/dev/null; systemd-run -q "
                     "--unit lifeboat-bench-patroni -p User=postgres /usr/bin/patroni %s" % PATRONI_CONFIG)
    members = wait_patroni_healthy()
    sh(PG_NODES[0], "patronictl -c %s edit-config --force %s >/dev/null"
       % (PATRONI_CONFIG, " ".join("-s %s=%d" % item for item in settings.items())))
    return members


def patroni_members():
    out = sh(PG_NODES[0], "patronictl -c %s list -f json" % PATRONI_CONFIG, check=False)
    try:
        return {m["Member"]: m for m in json.loads(out)}
    except ValueError:
        return {}


STREAMING_COUNT = ("runuser -u postgres -- psql -XAtq -c "
                   "\"SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'\"")


def wait_patroni_healthy(timeout=180):
    """The leader's name once there is one leader and one streaming replica with no lag."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        members = patroni_members()
        leaders = [n for n, m in members.items() if m["Role"] == "Leader" and m["State"] == "running"]
        # Patroni 3.0 shows a streaming replica as "running" (3.1 says "streaming"): ask the leader too.
        replicas = [n for n, m in members.items() if m["Role"] == "Replica" and m["State"] in ("running", "streaming")
                    and m.get("Lag in MB", 1) == 0]
        if len(leaders) == 1 and len(replicas) == 1 and sh(leaders[0], STREAMING_COUNT, check=False).strip() == "1":
            return leaders[0]
        time.sleep(1)
    raise SystemExit("Patroni cluster not healthy after %d s: %s" % (timeout, patroni_members()))


def start_writable_probe(host, probe):
    """A loop inside ``host`` that prints the epoch at which a write first succeeds (``probe`` is the write)."""
    script = ("until %s >/dev/null 2>&1; do sleep 0.05; done; date +%%s.%%N" % probe)
    return subprocess.Popen(["docker", "exec", container(host), "bash", "-c", script], stdout=subprocess.PIPE,
                            text=True)


def start_refused_probe(host, probe):
    """A loop inside ``host`` that prints the epoch at which ``probe`` (a write) is first refused."""
    script = ("while %s >/dev/null 2>&1; do sleep 0.05; done; date +%%s.%%N" % probe)
    return subprocess.Popen(["docker", "exec", container(host), "bash", "-c", script], stdout=subprocess.PIPE,
                            text=True)


def finish_probe(probe, started, timeout=240):
    try:
        out, _ = probe.communicate(timeout=timeout)
        return round(float(out.strip()) - started, 3)
    except (subprocess.TimeoutExpired, ValueError):
        probe.kill()
        return None


PG_WRITE = ("runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1 -c "
            "'CREATE TABLE IF NOT EXISTS bench_probe (at timestamptz); INSERT INTO bench_probe VALUES (now())'")


def measure_patroni(kind):
    leader = wait_patroni_healthy()
    candidate = next(h for h in PG_NODES if h != leader)
    probe = start_writable_probe(candidate, PG_WRITE)
    refused = start_refused_probe(leader, PG_WRITE) if kind == "manual" else None
    time.sleep(0.3)  # the probe's first attempt is refused (a replica): it is looping
    started = time.time()
    if kind == "manual":
        sh(PG_NODES[0], "patronictl -c %s failover bench --candidate %s --force >/dev/null" % (PATRONI_CONFIG, candidate))
    else:
        sh(leader, "systemctl kill -s KILL lifeboat-bench-patroni")
    command = round(time.time() - started, 3)
    writable = finish_probe(probe, started)
    fenced = finish_probe(refused, started) if refused else None
    if kind != "manual":
        # The dead node comes back and rejoins (pg_rewind): the next repeat starts healthy.
        sh(leader, "systemctl reset-failed lifeboat-bench-patroni 2>/dev/null; systemd-run -q "
                   "--unit lifeboat-bench-patroni -p User=postgres /usr/bin/patroni %s" % PATRONI_CONFIG)
    rejoin_started = time.time()
    wait_patroni_healthy()
    return {"writable_s": writable, "fenced_s": fenced, "command_s": command,
            "rejoined_s": round(time.time() - rejoin_started, 3), "from": leader, "to": candidate}


# --- Redis with Sentinel ----------------------------------------------------------------------------------

def redis_cli(host, *args, port=6379, check=False):
    return sh(host, "REDISCLI_AUTH=$(cat /var/lib/redis/bench.pass) redis-cli --no-auth-warning -p %d %s"
              % (port, " ".join(shlex.quote(a) for a in args)), check=check)


def redis_role(host):
    info = redis_cli(host, "info", "replication")
    return next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("role:")), "down")


def sentinel_setup(password, down_after_ms):
    """Redis on benchpg1 (master) and benchpg2 (replica), a Sentinel on all three containers."""
    for host in PG_NODES + (DCS,):
        write_file(host, "/var/lib/redis/bench.pass", password + "\n", owner="redis")
        sh(host, "systemctl stop lifeboat-bench-sentinel lifeboat-bench-redis 2>/dev/null; "
                 "systemctl reset-failed lifeboat-bench-sentinel lifeboat-bench-redis 2>/dev/null; true")
    for host in PG_NODES:
        replica = "" if host == PG_NODES[0] else "replicaof %s 6379\n" % PG_NODES[0]
        write_file(host, REDIS_CONFIG, "bind 0.0.0.0\nport 6379\nprotected-mode no\ndir /var/lib/redis\n"
                   "dbfilename bench.rdb\nappendonly no\nrequirepass %s\nmasterauth %s\nreplica-announce-ip %s\n%s"
                   % (password, password, host, replica), owner="redis")
        sh(host, "rm -f /var/lib/redis/bench.rdb; systemd-run -q --unit lifeboat-bench-redis -p User=redis "
                 "/usr/bin/redis-server %s" % REDIS_CONFIG)
    for host in PG_NODES + (DCS,):
        write_file(host, SENTINEL_CONFIG, "port 26379\nprotected-mode no\nsentinel resolve-hostnames yes\n"
                   "sentinel announce-hostnames yes\nsentinel announce-ip %s\n"
                   "sentinel monitor %s %s 6379 2\nsentinel auth-pass %s %s\n"
                   "sentinel down-after-milliseconds %s %d\n"
                   % (host, MASTER_NAME, PG_NODES[0], MASTER_NAME, password, MASTER_NAME, down_after_ms),
                   owner="redis")
        sh(host, "systemd-run -q --unit lifeboat-bench-sentinel -p User=redis /usr/bin/redis-sentinel %s"
           % SENTINEL_CONFIG)
    wait_sentinel_healthy()


def sentinel_master():
    out = sh(DCS, "redis-cli -p 26379 sentinel get-master-addr-by-name %s" % MASTER_NAME, check=False).split()
    return out[0] if out else None


def wait_sentinel_healthy(timeout=120):
    """The master's host once it is a master, the other a linked replica, and all three Sentinels know both."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        master = sentinel_master()
        if master in PG_NODES:
            other = next(h for h in PG_NODES if h != master)
            linked = "master_link_status:up" in redis_cli(other, "info", "replication")
            known = sh(DCS, "redis-cli -p 26379 sentinel master %s" % MASTER_NAME, check=False).split()
            counts = dict(zip(known[::2], known[1::2]))
            if (redis_role(master) == "master" and linked and counts.get("num-slaves") == "1"
                    and counts.get("num-other-sentinels") == "2" and counts.get("flags") == "master"):
                return master
        time.sleep(0.5)
    raise SystemExit("Redis with Sentinel not healthy after %d s (master %s)" % (timeout, sentinel_master()))


def measure_sentinel(kind):
    master = wait_sentinel_healthy()
    candidate = next(h for h in PG_NODES if h != master)
    write = "test \"$(REDISCLI_AUTH=$(cat /var/lib/redis/bench.pass) redis-cli --no-auth-warning set bench:probe x)\" = OK"
    probe = start_writable_probe(candidate, write)
    refused = start_refused_probe(master, write) if kind == "manual" else None
    time.sleep(0.3)
    started = time.time()
    if kind == "manual":
        sh(DCS, "redis-cli -p 26379 sentinel failover %s >/dev/null" % MASTER_NAME)
    else:
        sh(master, "systemctl kill -s KILL lifeboat-bench-redis")
    command = round(time.time() - started, 3)
    writable = finish_probe(probe, started)
    fenced = finish_probe(refused, started) if refused else None
    if kind != "manual":
        # The old master comes back as it was configured (a master); Sentinel turns it into a replica.
        sh(master, "systemctl reset-failed lifeboat-bench-redis 2>/dev/null; systemd-run -q "
                   "--unit lifeboat-bench-redis -p User=redis /usr/bin/redis-server %s" % REDIS_CONFIG)
    rejoin_started = time.time()
    wait_sentinel_healthy()
    return {"writable_s": writable, "fenced_s": fenced, "command_s": command,
            "rejoined_s": round(time.time() - rejoin_started, 3), "from": master, "to": candidate}


# --- Lifeboat on the lab ----------------------------------------------------------------------------------

def measure_lifeboat(incident, report_dir):
    playbook("lab_replication.yml")  # as lab_up.yml leaves the lab: app1 primary, db2 following, app on app1
    probe_host = "db2"
    if incident == "database_failure":
        write = PG_WRITE
    else:
        write = ("test \"$(REDISCLI_AUTH=$(awk '/^requirepass/ {print $2}' /etc/redis/redis.conf | tr -d '\"') "
                 "redis-cli --no-auth-warning set bench:probe x)\" = OK")
    probe = start_writable_probe(probe_host, write)
    refused = start_refused_probe("app1", write)
    time.sleep(0.3)
    started = time.time()
    playbook("failover.yml", "-e", "incident=" + incident, "-e", "lifeboat_report_dir=" + report_dir)
    command = round(time.time() - started, 3)
    writable = finish_probe(probe, started, timeout=30)
    fenced = finish_probe(refused, started, timeout=30)
    records = sorted(f for f in os.listdir(report_dir) if f.startswith("failover-%s-" % incident))
    with open(os.path.join(report_dir, records[-1])) as handle:
        record = json.load(handle)
    figures = record.get("figures", {})
    # The record's own figures count from the playbook's first task, the probes from the command's start.
    result = {"writable_s": writable, "fenced_s": fenced, "command_s": command, "from": "app1", "to": "db2",
              "record_fenced_s": figures.get("fenced_after_seconds"),
              "record_writable_s": figures.get("writable_after_seconds")}
    if incident == "database_failure":
        rejoin_started = time.time()
        playbook("failover.yml", "-e", "incident=rejoin", "-e", "lifeboat_confirm=yes",
                 "-e", "lifeboat_report_dir=" + report_dir)
        result["rejoined_s"] = round(time.time() - rejoin_started, 3)
    return result


# --- the run ----------------------------------------------------------------------------------------------

CONTENDERS = ("lifeboat-postgresql", "patroni-manual", "patroni-auto-default", "patroni-auto-fast",
              "lifeboat-redis", "sentinel-manual", "sentinel-auto-default", "sentinel-auto-fast")


FIELDS = ("writable_s", "fenced_s", "command_s", "rejoined_s")


def markdown(result):
    lines = ["# Failover side by side, %s" % result["date"], "",
             "Machine: %s. Repeats: %d. Medians (min-max) in seconds from the trigger. "
             "`writable`: the new primary accepted a write; `fenced`: the old primary refused one; `command`: the trigger returned; `rejoined`: the old primary is a "
             "streaming replica again (Lifeboat: `incident=rejoin`, the peers: their own rejoin after a restart)."
             % (result["machine"], result["repeat"]), "",
             "| contender | trigger | writable | fenced | command | rejoined |", "|---|---|---|---|---|---|"]
    for name in CONTENDERS:
        entry = result["contenders"].get(name)
        if not entry:
            continue
        cells = []
        for field in FIELDS:
            s = entry["summary"].get(field)
            cells.append("%.1f (%.1f-%.1f)" % (s["median"], s["min"], s["max"]) if s else "-")
        lines.append("| %s | %s | %s |" % (name, entry["trigger"], " | ".join(cells)))
    lines += ["", "A `fenced` later than `writable` is a window in which both the old and the new primary "
              "accepted writes: what the old one took then is lost when it rejoins. A killed primary refuses "
              "at once (`-`).", "", "Settings: Patroni default %s, fast %s; Sentinel down-after-milliseconds default %d, fast %d; "
              "Lifeboat as the lab is configured (`inventories/lab`)." % (
                  PATRONI_SETTINGS["default"], PATRONI_SETTINGS["fast"], SENTINEL_SETTINGS["default"],
                  SENTINEL_SETTINGS["fast"]), ""]
    return "\n".join(lines)


TRIGGERS = {"lifeboat-postgresql": "failover.yml -e incident=database_failure",
            "lifeboat-redis": "failover.yml -e incident=redis_failure",
            "patroni-manual": "patronictl failover --candidate", "sentinel-manual": "SENTINEL FAILOVER",
            "patroni-auto-default": "primary killed", "patroni-auto-fast": "primary killed",
            "sentinel-auto-default": "master killed", "sentinel-auto-fast": "master killed"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated contenders (default: all): " + ",".join(CONTENDERS))
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    parser.add_argument("--render", metavar="JSON", help="only write the Markdown of an earlier results file")
    args = parser.parse_args()
    if args.render:
        with open(args.render) as handle:
            text = markdown(json.load(handle))
        with open(os.path.splitext(args.render)[0] + ".md", "w") as handle:
            handle.write(text)
        print(text)
        return 0
    only = [c for c in args.only.split(",") if c] or list(CONTENDERS)
    unknown = set(only) - set(CONTENDERS)
    if unknown:
        parser.error("unknown contender(s): %s" % ", ".join(sorted(unknown)))

    passwords, fresh = bench_passwords()
    redis_password = passwords["redis"]
    runs = {name: [] for name in only}
    report_dir = tempfile.mkdtemp(prefix="lifeboat-bench-failover-")
    if any(not name.startswith("lifeboat") for name in only):
        ensure_containers()
        start_etcd()
    for settings in ("default", "fast"):
        names = [n for n in only if n.startswith("patroni") and
                 (n == "patroni-auto-" + settings or (n == "patroni-manual" and settings == "default"))]
        if not names:
            continue
        log("Patroni with %s settings" % settings)
        patroni_cluster(passwords, PATRONI_SETTINGS[settings], fresh)
        fresh = False
        for i in range(args.repeat):
            for name in names:
                run = measure_patroni("manual" if name == "patroni-manual" else "auto")
                log("%s #%d: %s" % (name, i + 1, run))
                runs[name].append(run)
    for settings in ("default", "fast"):
        names = [n for n in only if n.startswith("sentinel") and
                 (n == "sentinel-auto-" + settings or (n == "sentinel-manual" and settings == "default"))]
        if not names:
            continue
        log("Redis Sentinel with %s settings" % settings)
        sentinel_setup(redis_password, SENTINEL_SETTINGS[settings])
        for i in range(args.repeat):
            for name in names:
                run = measure_sentinel("manual" if name == "sentinel-manual" else "auto")
                log("%s #%d: %s" % (name, i + 1, run))
                runs[name].append(run)
    for name, incident in (("lifeboat-postgresql", "database_failure"), ("lifeboat-redis", "redis_failure")):
        if name in only:
            for i in range(args.repeat):
                run = measure_lifeboat(incident, report_dir)
                log("%s #%d: %s" % (name, i + 1, run))
                runs[name].append(run)
    if any(name.startswith("lifeboat") for name in only):
        playbook("lab_replication.yml")

    versions = {
        "patroni": sh(PG_NODES[0], "patroni --version", check=False).strip() if "patroni-manual" in only or any(
            n.startswith("patroni") for n in only) else None,
        "redis": sh(PG_NODES[0], "redis-server --version | cut -d' ' -f3", check=False).strip() if any(
            n.startswith("sentinel") for n in only) else None,
    }
    result = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "machine": "%s, %d cores, Python %s" % (platform.platform(), os.cpu_count(), platform.python_version()),
              "repeat": args.repeat, "versions": versions,
              "contenders": {name: {"trigger": TRIGGERS[name], "runs": runs[name],
                                    "summary": stats.summary(runs[name], FIELDS)} for name in only}}
    os.makedirs(args.out, exist_ok=True)
    stem = os.path.join(args.out, datetime.date.today().isoformat() + "-failover")
    with open(stem + ".json", "w") as handle:
        json.dump(result, handle, indent=1)
    with open(stem + ".md", "w") as handle:
        handle.write(markdown(result))
    print(markdown(result))
    log("results in %s.{json,md}" % stem)


if __name__ == "__main__":
    sys.exit(main())
