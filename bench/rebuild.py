#!/usr/bin/env python3
"""Whole-server loss, measured: ``rebuild.yml`` from a blank SSH host to ``/healthz`` 200, with a large database.

    .venv/bin/python bench/rebuild.py                       # 1 GB in app1's PostgreSQL cluster, 3 repeats
    .venv/bin/python bench/rebuild.py --size-gb 0.2 --repeat 1
    .venv/bin/python bench/rebuild.py --keep-dataset        # leave the generated database on app1

The lab must be up (``make lab-up``). app1's PostgreSQL cluster gets a generated database ``benchdb``
(``bench/dataset.sql``: customers, orders, events; word-list text, JSON, 5 indexes) next to the sample
app's services; a new base backup is taken and shipped offsite with the WAL after it, every service is
backed up (``backup.yml``), then app1 is stopped (lost) and ``rebuild.yml`` rebuilds it onto ``blank1``,
reset to blank before each repeat, from the offsite copies alone. Each rebuild ships its own WAL under
``bench-rebuild/`` so app1's archive is left as it was.

Per repeat: the rebuild's own report (the time of every phase, the RTO from the start of the run to the
app's ``/healthz`` 200, the RPO per service) and a check that ``benchdb`` on the new server holds what it
held on app1 (row count and content hash per table; a difference fails the run). Afterwards app1 is
started again, DNS points at it again, blank1 is reset and (unless ``--keep-dataset``) ``benchdb`` is
dropped and a new, small base backup taken, so the lab's tests recover the small cluster again.

No peer does the whole of this: the reference plans do it by hand in 1 to 4 hours. The PostgreSQL part,
the biggest phase, has its peer figure (pgBackRest's restore) in ``bench/results/*-pitr-offsite.md``.
Results go to ``bench/results/<date>-rebuild.json`` and ``.md``. A measurement, not a test.
"""
import argparse
import datetime
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dataset  # noqa: E402  (bench/dataset.py, beside this script)
import pitr  # noqa: E402  (bench/pitr.py)
import stats  # noqa: E402  (bench/stats.py, beside this script)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, ".venv", "bin")
LOST = "app1"
TARGET = "blank1"
PITR_REPO = "/var/backups/lifeboat-pitr/15-main"
TABLES = ("customers", "orders", "events")
OFFSITE_PREFIX = "bench-rebuild"
# Waits until systemd has finished booting a started container.
BOOTED = ("for i in $(seq 1 240); do s=$(systemctl is-system-running 2>/dev/null); "
          "case $s in running|degraded) break;; esac; sleep 0.5; done")


def log(message):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), message), flush=True)


def sh(host, script, check=True):
    proc = subprocess.run(["docker", "exec", "lifeboat-lab-" + host, "bash", "-c", script], capture_output=True,
                          text=True)
    if check and proc.returncode != 0:
        raise SystemExit("on %s: %s\nfailed (%d): %s%s"
                         % (host, script, proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:]))
    return proc.stdout


def psql(sql, database="postgres", host=LOST):
    return sh(host, "runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1 -d %s -c %s"
              % (database, shlex.quote(sql))).strip()


def playbook(name, *extra, check=True):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_DEPRECATION_WARNINGS="0", PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    argv = [os.path.join(BIN, "ansible-playbook"), os.path.join(ROOT, "playbooks", name)] + list(extra)
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise SystemExit("%s failed:\n%s\n%s" % (name, proc.stdout[-5000:], proc.stderr[-2000:]))
    return proc


def content(host):
    """Row count and an order-independent hash of every row, per table: what the rebuild must reproduce."""
    return {table: psql("SELECT count(*) || ':' || coalesce(sum(hashtext(t::text)::numeric), 0) FROM %s t" % table,
                        "benchdb", host=host) for table in TABLES}


def base_backup_offsite():
    """A new base backup (it holds the dataset), then every WAL segment and base backup offsite."""
    sh(LOST, "systemctl start lifeboat-pitr-basebackup-15-main.service")
    psql("SELECT pg_switch_wal()")
    sh(LOST, pitr.wait_offsite_script(PITR_REPO, 900))


def cluster_size():
    return int(psql("SELECT sum(pg_database_size(datname)) FROM pg_database"))


def drop_offsite_prefix():
    """The rebuilt servers' own shipments (under bench-rebuild/) are of no further use: the S3 stand-in keeps them in memory."""
    import boto3
    with open(os.path.join(ROOT, ".lab", "secrets", "s3_secret")) as handle:
        secret = handle.read().split()[0]
    client = boto3.client("s3", endpoint_url="http://172.30.57.1:9555", region_name="us-east-1",
                          aws_access_key_id="lab-access-key-id", aws_secret_access_key=secret)
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket="lifeboat-lab", Prefix=OFFSITE_PREFIX + "/"):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket="lifeboat-lab", Delete={"Objects": keys})


def phase_seconds(report):
    figures = {"rto": report["rto_seconds"]}
    for phase in report["phases"]:
        figures[phase["name"]] = phase["seconds"]
    return figures


def markdown(result):
    lines = ["# Rebuild of a lost server onto a blank host (%s)" % result["date"], "",
             "app1's PostgreSQL cluster held %.2f GB (a generated database of %.1f GB next to the sample app's); "
             "%d other services (MariaDB, SQLite, Redis, a directory of files, the app's configuration). "
             "`rebuild.yml` onto the blank SSH host blank1, from the offsite store (the lab's S3 stand-in) alone; "
             "%d repeats, blank1 reset before each. Machine: %s." % (
                 result["cluster_bytes"] / 1024 ** 3, result["size_gb"], result["other_services"], result["repeat"],
                 result["machine"]), "",
             "| phase | median s | min s | max s |", "|---|---:|---:|---:|"]
    for name in result["phase_order"]:
        entry = result["summary"].get(name)
        if entry:
            label = {"rto": "**RTO** (start to /healthz 200)", "playbook_wall_s": "the whole playbook"}.get(name, name)
            lines.append("| %s | %.1f | %.1f | %.1f |" % (label, entry["median"], entry["min"], entry["max"]))
    rto = result["summary"]["rto"]["median"]
    verdict = ("met" if rto < 300 else "missed") if result["size_gb"] >= 1 else "not measured (a dataset under 1 GB)"
    lines += ["", "Goal of issue 14: RTO under 300 s on the lab with at least 1 GB: **%s** (median %.0f s). "
              "The reference plans' objectives are 1 to 4 hours, done by hand." % (verdict, rto),
              "", "RPO per service (median age of the restored data when the server was lost): " + ", ".join(
                  "%s %.0f s" % (name, value) for name, value in sorted(result["rpo_median"].items())) + ".",
              "", "Every repeat's benchdb on blank1 held app1's rows (count and content hash of each table).",
              "The phases after /healthz 200 (protecting the new server again: agent, PITR and its first base backup; "
              "the `full` verification; DNS) are outside the RTO; their medians: " + ", ".join(
                  "%s %.0f s" % (name, result["summary"][name]["median"]) for name in ("protect", "verify", "dns")
                  if name in result["summary"]) + ".",
              "", "No peer tool rebuilds a whole server; the PostgreSQL recovery's peer figure (pgBackRest) is in "
              "`2026-12-07-pitr-offsite.md`."]
    return "\n".join(lines) + "\n"


def rebuild_once(repeat, lost_at, report_dir, before):
    """One rebuild onto a blank blank1; its figures, after checking benchdb there against app1's."""
    playbook("lab_blank.yml", "-e", "lab_blank_reset=true")
    started = time.monotonic()
    proc = playbook("../rebuild.yml", "-e", "lifeboat_rebuild_host=%s" % LOST, "-e",
                    "lifeboat_rebuild_target=%s" % TARGET, "-e", "rebuild_lost_at=%s" % lost_at,
                    "-e", "rebuild_pitr_offsite_prefix=%s/%d/15-main" % (OFFSITE_PREFIX, repeat),
                    "-e", "rebuild_report_dir=%s" % report_dir)
    wall = time.monotonic() - started
    line = [ln for ln in proc.stdout.splitlines() if "Report: " in ln][-1]
    with open(line.split("Report: ", 1)[1].strip().strip("'\",")) as handle:
        report = json.load(handle)
    if report["verify_failed"]:
        raise SystemExit("rebuild %d: verification failed: %s" % (repeat + 1, report["verify_failed"]))
    after = content(TARGET)
    if after != before:
        raise SystemExit("rebuild %d: benchdb differs on blank1: %s != %s" % (repeat + 1, after, before))
    figures = phase_seconds(report)
    figures["playbook_wall_s"] = round(wall, 1)
    figures["order"] = [phase["name"] for phase in report["phases"]]
    figures["rpo"] = {name: entry["seconds"] for name, entry in report["rpo"].items()}
    return figures


def put_the_lab_back(address, was_lost, keep_dataset, report_dir):
    """Every step tried, whatever failed before it; the failures returned. blank1 first: until it is blank it
    answers as app1 (its agent and WAL shipping run) and app1 must not come back beside it."""
    steps = [("resetting blank1", lambda: playbook("lab_blank.yml", "-e", "lab_blank_reset=true"))]
    if was_lost:
        steps += [
            ("starting app1", lambda: subprocess.run(["docker", "start", "lifeboat-lab-" + LOST], check=True,
                                                     capture_output=True)),
            ("starting the sample app on app1", lambda: sh(LOST, BOOTED + "; systemctl start sampleapp")),
            ("pointing DNS at app1 again", lambda: playbook("dns_switch.yml", "-e", "value=%s" % address)),
        ]
    steps.append(("removing the rebuilt servers' offsite objects", drop_offsite_prefix))
    if not keep_dataset:
        steps += [("dropping benchdb on app1", lambda: psql("DROP DATABASE IF EXISTS benchdb WITH (FORCE)")),
                  ("taking a small base backup on app1", base_backup_offsite)]
    steps.append(("removing the reports' directory", lambda: shutil.rmtree(report_dir, ignore_errors=True)))
    failed = []
    for what, step in steps:
        log(what)
        try:
            step()
        except (Exception, SystemExit) as exc:  # SystemExit: the helpers' way to fail
            failed.append("%s: %s" % (what, exc))
    return failed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-gb", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep-dataset", action="store_true")
    args = parser.parse_args()

    address = subprocess.run(["docker", "inspect", "-f", '{{ (index .NetworkSettings.Networks "lifeboat-lab").IPAddress }}',
                              "lifeboat-lab-" + LOST], capture_output=True, text=True, check=True).stdout.strip()
    report_dir = tempfile.mkdtemp(prefix="lifeboat-bench-rebuild-")
    runs, was_lost = [], False
    try:
        dataset.ensure(psql, lambda script: sh(LOST, script), "lifeboat-lab-" + LOST, args.size_gb, log)
        log("backing up every service, a base backup with the dataset, everything offsite")
        playbook("backup.yml")
        base_backup_offsite()
        before = content(LOST)
        size = cluster_size()
        was_lost = True
        subprocess.run(["docker", "stop", "lifeboat-lab-" + LOST], check=True, capture_output=True)
        lost_at = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        for repeat in range(args.repeat):
            log("rebuild %d of %d" % (repeat + 1, args.repeat))
            figures = rebuild_once(repeat, lost_at, report_dir, before)
            runs.append(figures)
            timed = ", ".join("%s %.0f" % (k, v) for k, v in figures.items() if isinstance(v, (int, float)))
            log("RTO %.0f s (%s)" % (figures["rto"], timed))
    finally:
        # The run's own error (if any) goes on after this; the lab's failures are said either way.
        failed = put_the_lab_back(address, was_lost, args.keep_dataset, report_dir)
        for failure in failed:
            log("NOT put back: " + failure)
    if failed:
        raise SystemExit("the lab was not put back: %s" % "; ".join(failed))

    names = sorted({key for run in runs for key in run if isinstance(run[key], (int, float))})
    # The phases in the order the first rebuild ran them, the RTO right after the app's.
    order = []
    for name in runs[0]["order"]:
        order += [name, "rto"] if name == "app" else [name]
    order += [name for name in names if name not in order]
    summary = stats.summary(runs, fields=names)
    summary.pop("runs", None)
    rpo_names = sorted({name for run in runs for name in run["rpo"]})
    rpo_median = {name: stats.summary([{"s": run["rpo"][name]} for run in runs if run["rpo"].get(name) is not None],
                                      fields=("s",)).get("s", {}).get("median") for name in rpo_names}
    date = datetime.date.today().isoformat()
    result = {"date": date, "size_gb": args.size_gb, "cluster_bytes": size, "repeat": args.repeat,
              "machine": "%s, %d cores, Python %s"
                         % (platform.platform(terse=True), os.cpu_count(), platform.python_version()),
              "other_services": len(rpo_names) - 1, "runs": runs, "summary": summary, "phase_order": order,
              "rpo_median": {k: v for k, v in rpo_median.items() if v is not None}}
    base = os.path.join(ROOT, "bench", "results", "%s-rebuild" % date)
    with open(base + ".json", "w") as handle:
        json.dump(result, handle, indent=2)
    with open(base + ".md", "w") as handle:
        handle.write(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
