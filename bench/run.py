#!/usr/bin/env python3
"""Lifeboat's benchmark: backup and restore of one PostgreSQL dataset by every contender, in one run.

    .venv/bin/python bench/run.py                 # 1 GB dataset, 3 repeats, scaling on 1, 5 and 10 hosts
    .venv/bin/python bench/run.py --size-gb 5 --repeat 5
    .venv/bin/python bench/run.py --size-gb 0.1 --repeat 1 --hosts 1,2   # a quick look

The contenders run on the same lab container (inventories/bench, made by
playbooks/lab_up.yml), alternating, repeat after repeat:

* reference: the users' plans, ``pg_dump | gzip -9`` and ``gunzip | psql``;
* lifeboat-module: ``lifeboat.dr.db_dump`` / ``db_restore`` through ``ansible``;
* lifeboat-playbook: ``backup.yml`` / ``restore.yml`` (Ansible's fixed overhead shows as the difference);
* pgbackrest: full backup and in-place restore (zstd, process-max = cores);
* lifeboat-pitr: the physical path, the base backup of ``lifeboat.dr.postgresql_pitr`` and ``pitr_restore``,
  from the local repository and from the offsite copy the role ships to the lab's S3 stand-in;

pgBackRest with an S3 repository is not measured: it speaks only HTTPS to S3, and against moto's
TLS server (werkzeug's ad-hoc certificate) every request fails with OpenSSL 3's "unexpected eof while
reading" (the server closes without a TLS close_notify), so the offsite contender is compared with
pgBackRest's local repository.
* floor: ``tar -cf - DATADIR | cat > /dev/null`` and ``pg_dump -Fd -Z0 -j<cores>`` into tmpfs.

Every restore is checked against the source (row count and content hash per
table); a restore that differs fails the run. Results go to
``bench/results/<date>.json`` and ``.md``. This is a measurement, not a test:
nothing here asserts on time.
"""
import argparse
import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dataset  # noqa: E402  (bench/dataset.py, beside this script)
import pitr  # noqa: E402  (bench/pitr.py)
import stats  # noqa: E402  (bench/stats.py, beside this script)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, ".venv", "bin")
INVENTORY = os.path.join(ROOT, "inventories", "bench")
DB_HOST = "benchdb"
WORK = "/var/lib/lifeboat-bench"
MEASURE = "/usr/local/bin/lifeboat-bench-measure"
MEASURE_LOG = "/var/tmp/lifeboat-bench/measure.jsonl"
DATA_DIR = "/var/lib/postgresql/15/main"
PG_BIN = "/usr/lib/postgresql/15/bin"
TABLES = ("customers", "orders", "events")
RESTORED = "benchdb_restored"
INTERPRETER = "ansible_python_interpreter=/usr/local/bin/lifeboat-bench-python"
# The same wrapper around the Lifeboat virtualenv's Python (the offsite store's client library is there).
VENV_INTERPRETER = "ansible_python_interpreter=/usr/local/bin/lifeboat-bench-venv-python"
PITR_REPO = "/var/backups/lifeboat-pitr/15-main"


def log(message):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), message), flush=True)


def container(host):
    return "lifeboat-lab-" + host


def sh(host, script, check=True, user=None):
    argv = ["docker", "exec"] + (["-u", user] if user else []) + [container(host), "bash", "-c", script]
    proc = subprocess.run(argv, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise SystemExit("on %s: %s\nfailed (%d): %s%s" % (host, script, proc.returncode, proc.stdout[-2000:],
                                                          proc.stderr[-2000:]))
    return proc.stdout


def psql(sql, database="postgres", host=DB_HOST):
    return sh(host, "runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1 -d %s -c %s"
              % (database, shlex.quote(sql))).strip()


def ansible_env():
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_DEPRECATION_WARNINGS="0", PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    return env


def playbook(name, *extra, inventory=INVENTORY, check=True):
    argv = [os.path.join(BIN, "ansible-playbook"), "-i", inventory, os.path.join(ROOT, "playbooks", name)] + list(extra)
    proc = subprocess.run(argv, cwd=ROOT, env=ansible_env(), capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise SystemExit("%s failed:\n%s\n%s" % (name, proc.stdout[-5000:], proc.stderr[-2000:]))
    return proc


def module(name, args, host=DB_HOST, interpreter=INTERPRETER):
    """Run lifeboat.dr.<name> through ``ansible`` (JSON callback); return its result."""
    env = dict(ansible_env(), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
    argv = [os.path.join(BIN, "ansible"), host, "-i", INVENTORY, "-m", "lifeboat.dr." + name, "-a", json.dumps(args),
            "-e", interpreter]
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    try:
        doc = json.loads(proc.stdout[proc.stdout.find("{"):])
        result = doc["plays"][0]["tasks"][0]["hosts"][host]
    except (ValueError, KeyError, IndexError):
        raise SystemExit("ansible %s: unexpected output\n%s\n%s" % (name, proc.stdout[-3000:], proc.stderr[-2000:]))
    if result.get("failed"):
        raise SystemExit("%s failed: %s" % (name, result.get("msg")))
    return result


# ---------------------------------------------------------------- measuring

def _cgroup_cpu_file(host):
    cid = subprocess.run(["docker", "inspect", "-f", "{{.Id}}", container(host)], capture_output=True, text=True,
                         check=True).stdout.strip()
    for path, scale in (("/sys/fs/cgroup/cpuacct/docker/%s/cpuacct.usage" % cid, 1e-9),
                        ("/sys/fs/cgroup/system.slice/docker-%s.scope/cpu.stat" % cid, 1e-6),
                        ("/sys/fs/cgroup/docker/%s/cpu.stat" % cid, 1e-6)):
        if os.path.exists(path):
            return path, scale
    return None, None


def host_cpu(host):
    """CPU seconds used so far by everything in the container, PostgreSQL's server processes included."""
    path, scale = _cgroup_cpu_file(host)
    if not path:
        return None
    with open(path) as handle:
        text = handle.read()
    if path.endswith("cpu.stat"):
        text = dict(line.split() for line in text.splitlines())["usage_usec"]
    return int(text.strip()) * scale


class Measurement:
    """Wall time on the controller, CPU and peak RSS of the measured processes, CPU of the whole container."""

    def __init__(self, host=DB_HOST):
        self.host = host

    def __enter__(self):
        # world-writable: the wrapper also runs as postgres
        sh(self.host, "mkdir -p -m 1777 {d} && : > {f} && chmod 0666 {f}".format(d=os.path.dirname(MEASURE_LOG),
                                                                                  f=MEASURE_LOG))
        self.cpu0 = host_cpu(self.host)
        self.start = time.monotonic()
        self.figures = {}
        return self

    def __exit__(self, *exc):
        wall = time.monotonic() - self.start
        cpu1 = host_cpu(self.host)
        lines = [json.loads(line) for line in sh(self.host, "cat %s" % MEASURE_LOG).splitlines() if line.strip()]
        self.figures.update(
            wall_s=round(wall, 3),
            cpu_s=round(sum(line["cpu_s"] for line in lines), 3) if lines else None,
            peak_rss_mb=round(max(line["peak_rss_mb"] for line in lines), 1) if lines else None,
            host_cpu_s=round(cpu1 - self.cpu0, 3) if cpu1 is not None else None)
        return False

    def run(self, script, user=None):
        """Run a shell script under the measuring wrapper."""
        wrapped = "%s bash -o pipefail -c %s" % (MEASURE, shlex.quote(script))
        if user:
            wrapped = "runuser -u %s -- %s" % (user, wrapped)
        return sh(self.host, "LIFEBOAT_BENCH_LOG=%s %s" % (MEASURE_LOG, wrapped))


# ---------------------------------------------------------------- the lab part

def setup(args):
    log("bench hosts: lab_up.yml with inventories/bench (the lab image, %s)" % ", ".join([DB_HOST, "fleet01-10"]))
    playbook("lab_up.yml")
    for host in [DB_HOST] + ["fleet%02d" % i for i in range(1, 11)]:
        subprocess.run(["docker", "cp", os.path.join(ROOT, "bench", "measure.py"), "%s:%s" % (container(host), MEASURE)],
                       check=True)
        sh(host, "chmod 0755 {m} && ln -sf {m} /usr/local/bin/lifeboat-bench-python && "
                 "ln -sf {m} /usr/local/bin/lifeboat-bench-venv-python && "
                 "install -d -o postgres -g postgres -m 0755 {w}".format(m=MEASURE, w=WORK))
        if host != DB_HOST:
            sh(host, "test -s %s/fleet.db || sqlite3 %s/fleet.db \"CREATE TABLE t (id integer PRIMARY KEY, v text); "
                     "INSERT INTO t (v) SELECT hex(randomblob(64)) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL "
                     "SELECT x + 1 FROM c WHERE x < 2000) SELECT x FROM c);\"" % (WORK, WORK))
    log("tools on %s: pgBackRest, zstd (Debian packages)" % DB_HOST)
    sh(DB_HOST, "command -v pgbackrest >/dev/null && command -v zstd >/dev/null || "
                "(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbackrest zstd >/dev/null)")
    log("WAL archiving and a base backup: postgresql_pitr.yml (lifeboat.dr.postgresql_pitr)")
    playbook("postgresql_pitr.yml")
    lifeboat_archive = psql("SHOW archive_command")
    if "pgbackrest" not in lifeboat_archive:
        sh(DB_HOST, "install -d -o postgres -g postgres -m 0750 /var/lib/pgbackrest /var/log/pgbackrest && "
                    "cat > /etc/pgbackrest.conf <<'EOF'\n[global]\nrepo1-path=/var/lib/pgbackrest\n"
                    "repo1-retention-full=2\ncompress-type=zst\nprocess-max=%d\nstart-fast=y\nlog-level-console=warn\n"
                    "\n[bench]\npg1-path=%s\nEOF" % (os.cpu_count(), DATA_DIR))
        # Both archives get every segment: Lifeboat's first, then pgBackRest's.
        chained = "%s && pgbackrest --stanza=bench archive-push %%p" % lifeboat_archive
        psql("ALTER SYSTEM SET archive_command = '%s'" % chained.replace("'", "''"))
        psql("SELECT pg_reload_conf()")
        sh(DB_HOST, "runuser -u postgres -- pgbackrest --stanza=bench stanza-create")
    dataset.ensure(psql, lambda script: sh(DB_HOST, script), container(DB_HOST), args.size_gb, log, owner="lifeboat",
                   scratch=WORK)


def content(database):
    """Row count and an order-independent hash of every row, per table: what a restore must reproduce."""
    return {table: psql("SELECT count(*) || ':' || coalesce(sum(hashtext(t::text)::numeric), 0) FROM %s t" % table,
                        database) for table in TABLES}


# ---------------------------------------------------------------- contenders

def backup_reference(m):
    m.run("pg_dump -d benchdb | gzip -9 > %s/reference.sql.gz" % WORK, user="postgres")
    return size(WORK + "/reference.sql.gz")


def restore_reference(m):
    psql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % RESTORED)
    m.run("createdb -O lifeboat %s && gunzip -c %s/reference.sql.gz | psql -q -X -v ON_ERROR_STOP=1 -d %s > /dev/null"
          % (RESTORED, WORK, RESTORED), user="postgres")
    return RESTORED


def _lifeboat_args():
    return {"engine": "postgresql", "service": "benchdb", "database": "benchdb", "login_user": "lifeboat",
            "login_password": "{{ lab_pg_lifeboat_password }}", "backup_root": WORK + "/lifeboat",
            "owner": "root", "group": "root"}


# The backup the Lifeboat restores read: the default-settings one of this repeat.
LIFEBOAT_BACKUP = {}


def backup_lifeboat_module(m):
    result = module("db_dump", _lifeboat_args())
    m.figures["in_module_s"] = result.get("duration_seconds")
    LIFEBOAT_BACKUP["path"] = result["path"]
    return result["size_bytes"] / 1e6


def backup_lifeboat_module_zstd7(m):
    result = module("db_dump", dict(_lifeboat_args(), compression_level=7))
    m.figures["in_module_s"] = result.get("duration_seconds")
    return result["size_bytes"] / 1e6


def restore_lifeboat_module(m):
    psql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % RESTORED)
    args = dict(_lifeboat_args(), database=RESTORED, confirm=True, backup=LIFEBOAT_BACKUP["path"])
    args.pop("owner"), args.pop("group")
    result = module("db_restore", args)
    m.figures["in_module_s"] = result.get("duration_seconds")
    return RESTORED


def backup_lifeboat_playbook(m):
    playbook("backup.yml", "-e", "lifeboat_hosts=%s" % DB_HOST, "-e", "lifeboat_rotate=false", "-e", INTERPRETER)
    newest = sh(DB_HOST, "ls -t %s/lifeboat/benchdb/*/*.dump* | head -1" % WORK).strip()
    return size(newest)


def restore_lifeboat_playbook(m):
    psql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % RESTORED)
    playbook("restore.yml", "-e", "lifeboat_hosts=%s" % DB_HOST, "-e", "lifeboat_target=%s" % RESTORED,
             "-e", "lifeboat_file=%s" % LIFEBOAT_BACKUP["path"], "-e", "lifeboat_confirm=yes", "-e", INTERPRETER)
    return RESTORED


def backup_pgbackrest(m):
    m.run("pgbackrest --stanza=bench --type=full backup", user="postgres")
    label = sh(DB_HOST, "ls -1d /var/lib/pgbackrest/backup/bench/*F | tail -1").strip()
    return size(label)


def restore_pgbackrest(m):
    m.run("systemctl stop postgresql@15-main && mv {d} {d}.bench-old && install -d -o postgres -g postgres -m 0700 {d} "
          "&& runuser -u postgres -- pgbackrest --stanza=bench restore && systemctl start postgresql@15-main && "
          "{wait}".format(d=DATA_DIR, wait=_WAIT_PROMOTED))
    sh(DB_HOST, "rm -rf %s.bench-old" % DATA_DIR)
    return "benchdb"


_WAIT_PROMOTED = ("for i in $(seq 1 1200); do [ \"$(runuser -u postgres -- psql -XAtc 'SELECT pg_is_in_recovery()' "
                  "2>/dev/null)\" = f ] && exit 0; sleep 0.1; done; exit 1")


def backup_lifeboat_pitr(m):
    exec_start = sh(DB_HOST, "systemctl show -p ExecStart --value lifeboat-pitr-basebackup-15-main.service")
    argv = exec_start.split("argv[]=", 1)[1].split(" ;", 1)[0]
    m.run(argv, user="postgres")
    newest = sh(DB_HOST, "ls -1d /var/backups/lifeboat-pitr/15-main/base/base_* | tail -1").strip()
    return size(newest)


def restore_lifeboat_pitr(m):
    result = module("pitr_restore", {"until": "latest", "confirm": True, "timeout": 1800})
    m.figures["in_module_s"] = result.get("duration_seconds")
    if result.get("kept_data_directory"):
        sh(DB_HOST, "rm -rf %s" % shlex.quote(result["kept_data_directory"]))
    return "benchdb"


def wait_offsite():
    """Before the offsite recovery: the newest base backup and WAL shipped (the role's timer ships them)."""
    sh(DB_HOST, pitr.wait_offsite_script(PITR_REPO, 600))


def restore_lifeboat_pitr_offsite(m):
    # The store's settings and credentials as the role wrote them on the host, never in argv.
    result = module("pitr_restore", {"until": "latest", "confirm": True, "timeout": 1800,
                                     "offsite_config": "/etc/lifeboat-pitr/15-main.offsite.json",
                                     "offsite_prefix": "pitr/benchdb/15-main"}, interpreter=VENV_INTERPRETER)
    m.figures["in_module_s"] = result.get("duration_seconds")
    if result.get("kept_data_directory"):
        sh(DB_HOST, "rm -rf %s" % shlex.quote(result["kept_data_directory"]))
    return "benchdb"


def floor_tar(m):
    m.run("tar -cf - -C %s . | cat > /dev/null" % DATA_DIR)
    return None


def floor_pg_dump_directory(m):
    m.run("rm -rf /tmp/floor && pg_dump -d benchdb -Fd -Z0 -j%d -f /tmp/floor" % os.cpu_count(), user="postgres")
    out = size("/tmp/floor")
    sh(DB_HOST, "rm -rf /tmp/floor")
    return out


def size(path):
    return int(sh(DB_HOST, "du -sb %s | cut -f1" % shlex.quote(path)).split()[0]) / 1e6


CONTENDERS = [
    # name, label, function, kind (what the function returns)
    ("backup/reference", "reference: pg_dump | gzip -9", backup_reference, "output"),
    ("backup/lifeboat-module", "Lifeboat db_dump (module)", backup_lifeboat_module, "output"),
    ("backup/lifeboat-module-zstd7", "Lifeboat db_dump, compression_level 7", backup_lifeboat_module_zstd7,
     "output"),
    ("backup/lifeboat-playbook", "Lifeboat backup.yml (playbook)", backup_lifeboat_playbook, "output"),
    ("backup/pgbackrest", "pgBackRest full (zstd, process-max=cores)", backup_pgbackrest, "output"),
    ("backup/lifeboat-pitr", "Lifeboat PITR base backup (pg_basebackup + zstd)", backup_lifeboat_pitr, "output"),
    ("floor/tar", "floor: tar of the data directory to /dev/null", floor_tar, "output"),
    ("floor/pg_dump-directory", "floor: pg_dump -Fd -Z0 -j cores to tmpfs", floor_pg_dump_directory, "output"),
    ("restore/reference", "reference: gunzip | psql", restore_reference, "database"),
    ("restore/lifeboat-module", "Lifeboat db_restore (module)", restore_lifeboat_module, "database"),
    ("restore/lifeboat-playbook", "Lifeboat restore.yml (playbook)", restore_lifeboat_playbook, "database"),
    ("restore/pgbackrest", "pgBackRest restore + recovery to promotion", restore_pgbackrest, "database"),
    ("restore/lifeboat-pitr", "Lifeboat pitr_restore to latest (+ verify)", restore_lifeboat_pitr, "database"),
    ("restore/lifeboat-pitr-offsite", "Lifeboat pitr_restore to latest from the offsite copy (S3)",
     restore_lifeboat_pitr_offsite, "database"),
]

# Run before a contender's measurement starts (not measured).
PREPARE = {"restore/lifeboat-pitr-offsite": wait_offsite}


def measure_round(repeat, source, results, only):
    """One repeat: every backup contender, then every restore, in an order rotated by the repeat number."""
    for phase in ("backup", "floor", "restore"):
        group = [c for c in CONTENDERS if c[0].startswith(phase + "/") and (not only or c[0] in only)]
        # physical restores replace the cluster: keep them after the logical ones
        logical = [c for c in group if "pgbackrest" not in c[0] and "pitr" not in c[0]]
        physical = [c for c in group if c not in logical]
        shift = repeat % max(len(logical), 1)
        for name, label, func, kind in logical[shift:] + logical[:shift] + physical[repeat % 2:] + physical[:repeat % 2]:
            if name in PREPARE:
                PREPARE[name]()
            psql("CHECKPOINT")
            log("repeat %d: %s" % (repeat + 1, label))
            with Measurement() as m:
                returned = func(m)
            figures = dict(m.figures)
            if kind == "output":
                figures["output_mb"] = round(returned, 1) if returned is not None else None
            else:
                restored = content(returned)
                if restored != source:
                    raise SystemExit("%s restored other data than the source: %s != %s" % (label, restored, source))
                if returned == RESTORED:
                    psql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % RESTORED)
            log("  %s" % figures)
            results.setdefault(name, {"label": label, "runs": []})["runs"].append(figures)
    sh(DB_HOST, "rm -rf %s/lifeboat/benchdb %s/reference.sql.gz" % (WORK, WORK))


def measure_scaling(counts, repeat):
    rows = []
    for n in counts:
        hosts = ",".join("fleet%02d" % i for i in range(1, n + 1))
        runs = []
        for _ in range(repeat):
            start = time.monotonic()
            playbook("backup.yml", "-e", "lifeboat_hosts=%s" % hosts, "-f", str(n))
            runs.append({"wall_s": time.monotonic() - start})
        row = stats.summary(runs)
        row["hosts"] = n
        rows.append(row)
        log("backup.yml on %d host(s): %s s" % (n, row["wall_s"]["median"]))
    return rows


def machine():
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as handle:
        mem_kb = int(handle.readline().split()[1])
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem_kb / 1024 ** 2), "kernel": platform.release(),
            "python": platform.python_version()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-gb", type=float, default=1.0, help="dataset size (database size on disk), up to 5")
    parser.add_argument("--repeat", type=int, default=3, help="measurements per contender (median and spread)")
    parser.add_argument("--hosts", default="1,5,10", help="host counts for backup.yml's scaling; '' to skip")
    parser.add_argument("--only", default="", help="comma-separated contender names (default: all)")
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    args = parser.parse_args()
    if not 0 < args.size_gb <= 5:
        parser.error("--size-gb must be in (0, 5]")
    counts = [int(n) for n in args.hosts.split(",") if n.strip()]
    if any(not 1 <= n <= 10 for n in counts):
        parser.error("--hosts: counts from 1 to 10 (the bench inventory has 10 fleet hosts)")

    setup(args)
    source = content("benchdb")
    dataset = {"size_mb": int(psql("SELECT pg_database_size('benchdb')")) / 1e6,
               "rows": sum(int(v.split(":")[0]) for v in source.values()), "tables": list(TABLES),
               "server_version": psql("SHOW server_version")}
    log("dataset: %.0f MB, %d rows" % (dataset["size_mb"], dataset["rows"]))
    results = {}
    only = [name for name in args.only.split(",") if name]
    for repeat in range(args.repeat):
        measure_round(repeat, source, results, only)
    for name, entry in results.items():
        entry["summary"] = stats.summary(entry["runs"])
        for key, base in (("vs_reference", name.split("/")[0] + "/reference"),
                          ("vs_pgbackrest", name.split("/")[0] + "/pgbackrest")):
            if base in results and base != name:
                entry[key] = stats.paired_ratio(entry["runs"], results[base]["runs"])
    scaling = measure_scaling(counts, args.repeat) if counts else []
    overhead = None
    if "backup/lifeboat-playbook" in results and "backup/lifeboat-module" in results:
        module_inside = stats.median_of({"m": {"summary": stats.summary(
            [{"wall_s": run["in_module_s"]} for run in results["backup/lifeboat-module"]["runs"]])}}, "m")
        overhead = round(stats.median_of(results, "backup/lifeboat-playbook") - module_inside, 2)
    today = datetime.date.today().isoformat()
    report = {"date": today, "machine": machine(), "dataset": dataset,
              "settings": {"repeat": args.repeat, "size_gb": args.size_gb, "hosts": counts},
              "results": results, "scaling": scaling, "ansible_overhead_s": overhead,
              "targets": stats.targets(results, scaling, overhead)}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, today + ".json"), "w") as handle:
        json.dump(report, handle, indent=2)
    table = stats.markdown(report)
    with open(os.path.join(args.out, today + ".md"), "w") as handle:
        handle.write(table)
    print(table)
    log("written: %s/%s.json and .md" % (args.out, today))


if __name__ == "__main__":
    main()
