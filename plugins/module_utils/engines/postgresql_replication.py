# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL's replication capabilities: status, fence, promote, probe a write.

The PostgreSQL engine (``postgresql.py``) hands these calls here, so that its dump and
restore code and this code each stay readable. What to do is decided elsewhere
(``module_utils/failover/``); these functions observe a Debian cluster
(``<version>/<cluster>``, unit ``postgresql@<version>-<cluster>``) and carry out one step.

Privileged work (psql over the Unix socket with peer authentication, pg_controldata)
runs as ``os_user`` (``postgres``) through ``runuser`` when the module runs as root; the
unit is stopped and masked with systemctl. The fence record lives beside the clusters,
not in the data directory, so that neither pg_basebackup nor pg_rewind can replace it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import pwd
import shutil
import tempfile
import time

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils.failover import fence as fence_records

PROBE_TABLE = "public.lifeboat_probe"


def layout(spec):
    """Where the cluster of ``spec`` lives: ``{"version", "cluster", "data_directory", "unit", "fence_file"}``."""
    version, cluster = spec.get("version") or 15, spec.get("cluster") or "main"
    data = spec.get("data_directory") or "/var/lib/postgresql/%s/%s" % (version, cluster)
    return {"version": version, "cluster": cluster, "data_directory": data,
            "unit": "postgresql@%s-%s.service" % (version, cluster),
            "fence_file": spec.get("fence_file") or "/var/lib/postgresql/lifeboat-fence-%s-%s.json" % (version, cluster),
            "bindir": "/usr/lib/postgresql/%s/bin" % version}


def as_os_user(spec, argv):
    """``argv`` run as ``os_user`` (runuser keeps the environment: PGPASSWORD stays out of argv)."""
    user = spec.get("os_user")
    if user and os.geteuid() == 0:
        return ["runuser", "-u", user, "--"] + argv
    return argv


def sql(runner, spec, text, database="postgres"):
    """Rows of ``text`` run through psql on stdin, as ``os_user`` over the connection of ``spec``."""
    from ansible_collections.lifeboat.dr.plugins.module_utils.engines.postgresql import _psql_argv
    conn = spec["connection"]
    argv = as_os_user(spec, _psql_argv(runner, conn, database))
    out = runner.run(argv, input_bytes=text.encode("utf-8"), env=conn.env())
    return [line.split("\t") for line in out.decode("utf-8").splitlines() if line]


def _value(text):
    if text in ("", None):
        return None
    if text in ("t", "f"):
        return text == "t"
    return text


def controldata(runner, spec):
    """pg_controldata of the cluster as ``{label: value}`` (readable while the server is down)."""
    paths = layout(spec)
    out = runner.run(as_os_user(spec, [os.path.join(paths["bindir"], "pg_controldata"), "-D",
                                       paths["data_directory"]]), env={"LC_ALL": "C"})
    found = {}
    for line in out.decode("utf-8", "replace").splitlines():
        label, sep, value = line.partition(":")
        if sep:
            found[label.strip()] = value.strip()
    return found


def read_fence(spec):
    """The fence record on this host, or None. An unreadable record raises (the caller fails closed)."""
    return fence_records.read_record_file(layout(spec)["fence_file"])


def unit_state(runner, unit):
    """``(active, masked)`` of a systemd unit."""
    active = runner.run(["systemctl", "show", "-p", "ActiveState", "--value", unit]).decode().strip()
    load = runner.run(["systemctl", "show", "-p", "LoadState", "--value", unit]).decode().strip()
    return active, load == "masked"


PRIMARY_SQL = (
    "SELECT pg_current_wal_lsn(), ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int, "
    "current_setting('synchronous_standby_names')"
)
REPLICAS_SQL = (
    "SELECT application_name, coalesce(client_addr::text, ''), state, sync_state, coalesce(replay_lsn::text, ''), "
    "coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint::text, '') FROM pg_stat_replication "
    "ORDER BY application_name"
)
SLOTS_SQL = ("SELECT slot_name, active, coalesce(wal_status, ''), coalesce(restart_lsn::text, '') "
             "FROM pg_replication_slots WHERE slot_type = 'physical' ORDER BY slot_name")
REPLICA_SQL = (
    "SELECT coalesce(pg_last_wal_receive_lsn()::text, ''), coalesce(pg_last_wal_replay_lsn()::text, ''), "
    "CASE WHEN pg_last_wal_receive_lsn() IS NULL OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
    "ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) END, "
    "(SELECT timeline_id FROM pg_control_checkpoint()), current_setting('primary_slot_name')"
)
RECEIVER_SQL = ("SELECT status, coalesce(sender_host, ''), coalesce(latest_end_lsn::text, ''), received_tli "
                "FROM pg_stat_wal_receiver")


def status(runner, spec):
    """``{"facts": {...}, "details": {...}}``: the facts ``failover/facts.py`` reads (without ``host`` and
    ``reachable``, which the caller knows), and what the status report shows besides."""
    facts = {"fence": read_fence(spec)}
    details = {"running": False, "cluster_state": None, "replicas": [], "slots": [], "sender_host": None,
               "primary_slot_name": None, "synchronous_standby_names": None}
    try:
        in_recovery = sql(runner, spec, "SELECT pg_is_in_recovery()")[0][0] == "t"
    except LifeboatError as exc:
        details["error"] = str(exc).splitlines()[-1] if str(exc) else "psql failed"
        control = controldata(runner, spec)
        details["cluster_state"] = control.get("Database cluster state")
        facts["timeline"] = int(control["Latest checkpoint's TimeLineID"]) if control.get(
            "Latest checkpoint's TimeLineID") else None
        if details["cluster_state"] in ("shut down", "shut down in recovery"):
            facts["primary_lsn"] = control.get("Latest checkpoint location")
        return {"facts": facts, "details": details}
    details["running"] = True
    facts["in_recovery"] = in_recovery
    if not in_recovery:
        current, timeline, sync_names = sql(runner, spec, PRIMARY_SQL)[0]
        facts.update(current_lsn=current, timeline=int(timeline))
        details["synchronous_standby_names"] = sync_names
        details["replicas"] = [{"application_name": r[0], "client_addr": r[1] or None, "state": r[2],
                                "sync_state": r[3], "replay_lsn": r[4] or None,
                                "lag_bytes": int(r[5]) if r[5] else None} for r in sql(runner, spec, REPLICAS_SQL)]
    else:
        receive, replay, lag, timeline, slot_name = sql(runner, spec, REPLICA_SQL)[0]
        facts.update(receive_lsn=receive or None, replay_lsn=replay or None, lag_seconds=round(float(lag), 3),
                     timeline=int(timeline))
        details["primary_slot_name"] = slot_name or None
        receiver = sql(runner, spec, RECEIVER_SQL)
        if receiver:
            state, sender, latest, received_tli = receiver[0]
            facts.update(wal_receiver=state, primary_lsn=latest or None)
            details["sender_host"] = sender or None
            if received_tli and int(received_tli) > facts["timeline"]:
                facts["timeline"] = int(received_tli)
    details["slots"] = [{"name": r[0], "active": r[1] == "t", "wal_status": r[2] or None, "restart_lsn": r[3] or None}
                        for r in sql(runner, spec, SLOTS_SQL)]
    return {"facts": facts, "details": details}


def fence(runner, spec, record, check_mode=False):
    """Write ``record`` beside the cluster, stop it, mask its unit; then prove that it refuses a write
    and read its last WAL position (``write_refused``, ``final_lsn``). Idempotent."""
    paths = layout(spec)
    record = fence_records.applied(record) if record.get("state") == "pending" else fence_records.check_record(record)
    current = read_fence(spec)
    active, masked = unit_state(runner, paths["unit"])
    running = _postmaster_running(paths)
    done = current is not None and current.get("state") == "applied" and masked and active != "active" and not running
    if check_mode:
        return {"changed": not done, "record": current if done else record, "unit": paths["unit"],
                "write_refused": None, "final_lsn": None}
    if done:
        return dict(_fenced_proof(runner, spec), changed=False, record=current, unit=paths["unit"])
    # The record first: whatever happens next, the next run (and status) sees this host fenced.
    bf_write(paths["fence_file"], fence_records.dump_record(record))
    # Stop through the unit's own ExecStop (a fast shutdown: the walsenders send the replicas
    # everything up to the shutdown checkpoint), then mask. Masking first would leave systemd
    # to SIGTERM the whole cgroup, walsenders included, before that checkpoint is sent.
    runner.run(["systemctl", "stop", paths["unit"]])
    runner.run(["systemctl", "mask", paths["unit"]])
    if _postmaster_running(paths):
        # Started outside systemd (pg_ctl): stop it the same way.
        runner.run(as_os_user(spec, [os.path.join(paths["bindir"], "pg_ctl"), "stop", "-m", "fast", "-w",
                                     "-D", paths["data_directory"]]))
    active, masked = unit_state(runner, paths["unit"])
    if active == "active" or not masked or _postmaster_running(paths):
        raise LifeboatError("%s is still running or not masked after fencing (ActiveState %s, masked %s)" % (
            paths["unit"], active, masked))
    return dict(_fenced_proof(runner, spec), changed=True, record=record, unit=paths["unit"])


def _fenced_proof(runner, spec):
    """A write the fenced server must refuse, and its last WAL position (the shutdown checkpoint)."""
    probe = probe_write(runner, spec)
    if probe["accepted"]:
        raise LifeboatError("SPLIT BRAIN: the fenced server accepted probe row %s" % probe["id"])
    control = controldata(runner, spec)
    final = control.get("Latest checkpoint location") if control.get("Database cluster state") in (
        "shut down", "shut down in recovery") else None
    return {"write_refused": probe["error"], "final_lsn": final, "cluster_state": control.get("Database cluster state")}


def bf_write(path, text):
    with bf.atomic_file(path, mode=0o644) as handle:
        handle.write(text.encode("utf-8"))


def _postmaster_running(paths):
    """True when postmaster.pid names a live process."""
    pid_file = os.path.join(paths["data_directory"], "postmaster.pid")
    try:
        with open(pid_file) as handle:
            pid = int(handle.readline().strip())
    except (OSError, ValueError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def promote(runner, spec, check_mode=False):
    """``pg_promote(wait => true)``; a server already out of recovery is left alone."""
    if sql(runner, spec, "SELECT pg_is_in_recovery()")[0][0] != "t":
        return {"changed": False, "promoted": False, "seconds": 0.0}
    if check_mode:
        return {"changed": True, "promoted": False, "seconds": 0.0}
    timeout = int(spec.get("timeout") or 60)
    started = time.monotonic()
    done = sql(runner, spec, "SELECT pg_promote(true, %d)" % timeout)[0][0]
    if done != "t" or sql(runner, spec, "SELECT pg_is_in_recovery()")[0][0] != "f":
        raise LifeboatError("pg_promote did not finish within %d s: the server is still in recovery" % timeout)
    return {"changed": True, "promoted": True, "seconds": round(time.monotonic() - started, 3)}


def probe_write(runner, spec, check_mode=False):
    """Write a row to ``lifeboat_probe`` and read it back: ``{"accepted", "id", "error"}``."""
    marker = spec.get("marker") or "lifeboat probe"
    database = spec.get("database") or "postgres"
    if check_mode:
        return {"changed": False, "accepted": None, "id": None, "error": None}
    text = ("CREATE TABLE IF NOT EXISTS %s (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), "
            "marker text NOT NULL);\nINSERT INTO %s (marker) VALUES (%s) RETURNING id;" % (
                PROBE_TABLE, PROBE_TABLE, _literal(marker)))
    try:
        rows = sql(runner, spec, text, database)
        written = rows[-1][0]
        back = sql(runner, spec, "SELECT marker FROM %s WHERE id = %s" % (PROBE_TABLE, int(written)), database)
    except LifeboatError as exc:
        lines = [line for line in str(exc).splitlines() if line.strip()]
        return {"changed": False, "accepted": False, "id": None, "error": lines[0].strip() if lines else "psql failed"}
    if not back or back[0][0] != marker:
        raise LifeboatError("row %s was written to %s but did not read back" % (written, PROBE_TABLE))
    return {"changed": True, "accepted": True, "id": int(written), "error": None}


def _literal(value):
    return "'" + value.replace("'", "''") + "'"


def rewind(runner, spec, check_mode=False):
    """pg_rewind the stopped cluster onto ``spec["source"]`` (``{"host", "port", "user", "password"}``).

    Keeps a copy of the data directory first (``<data>.pre-rewind-<stamp>``) unless ``safety_copy`` is
    false, and writes the recovery settings (``--write-recovery-conf``: standby.signal and a
    primary_conninfo through a passfile, never the password). A rewind that fails leaves the copy and
    reports ``rewound: false`` with pg_rewind's reason: the caller falls back to a fresh base backup.
    """
    paths = layout(spec)
    source = spec.get("source") or {}
    if not source.get("host"):
        raise LifeboatError("rewind needs the source server (the new primary)")
    if _postmaster_running(paths):
        raise LifeboatError("%s runs: stop it before pg_rewind (a fenced old primary is stopped)" % paths["unit"])
    if check_mode:
        return {"changed": True, "rewound": False, "safety_copy": None, "error": None}
    copy = None
    if spec.get("safety_copy", True):
        copy = "%s.pre-rewind-%s" % (paths["data_directory"], time.strftime("%Y%m%dT%H%M%S", time.gmtime()))
        runner.run(["cp", "-a", paths["data_directory"], copy])
    work = tempfile.mkdtemp(prefix="lifeboat-rewind-")
    try:
        passfile = os.path.join(work, "pgpass")
        with open(passfile, "w") as handle:
            handle.write("%s:%s:*:%s:%s\n" % (_pgpass(source["host"]), source.get("port") or 5432,
                                              _pgpass(source.get("user") or "replicator"),
                                              _pgpass(source.get("password") or "")))
        os.chmod(passfile, 0o600)
        if spec.get("os_user") and os.geteuid() == 0:
            user = pwd.getpwnam(spec["os_user"])
            for path in (work, passfile):
                os.chown(path, user.pw_uid, user.pw_gid)
        conninfo = "host=%s port=%s user=%s dbname=postgres passfile=%s" % (
            source["host"], source.get("port") or 5432, source.get("user") or "replicator", passfile)
        argv = as_os_user(spec, [os.path.join(paths["bindir"], "pg_rewind"), "--target-pgdata", paths["data_directory"],
                                 "--source-server", conninfo, "--write-recovery-conf",
                                 "--config-file", "/etc/postgresql/%s/%s/postgresql.conf" % (
                                     paths["version"], paths["cluster"])])
        started = time.monotonic()
        try:
            runner.run(argv, env={"LC_ALL": "C"})
        except LifeboatError as exc:
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            return {"changed": True, "rewound": False, "safety_copy": copy, "error": lines[-1] if lines else str(exc)}
        # Its primary_conninfo names the temporary passfile: postgresql_replica writes the lasting line.
        return {"changed": True, "rewound": True, "safety_copy": copy, "error": None,
                "seconds": round(time.monotonic() - started, 3)}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _pgpass(value):
    return str(value).replace("\\", "\\\\").replace(":", "\\:")
