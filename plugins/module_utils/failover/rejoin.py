# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""rejoin: turn the old primary into a streaming replica of the new one.

``decide_rejoin(host, primary, others)`` picks one of:
- ``follow``: its last WAL record lies before the point where the new primary's timeline
  branched off (a clean switchover), so it can simply follow;
- ``rewind``: ``pg_rewind``, which needs ``wal_log_hints=on`` or data checksums, a cleanly
  shut down data directory (else crash recovery in single-user mode first, as Patroni
  does), and the WAL around the divergence point: on the host (or its archive, for
  ``--restore-target-wal``) and on the new primary (or its archive) to replay after;
- ``base_backup``: a fresh ``pg_basebackup -R`` when a rewind is impossible (the reasons
  are listed), the old data directory moved aside, not deleted;
and refuses a host that is the current primary, unreachable, or running as a primary
(unfenced or not) while another primary exists.

``host`` facts: ``host``, ``reachable``, ``role``, ``running`` (PostgreSQL runs), ``timeline``,
``cluster_state`` (pg_controldata's "Database cluster state"), ``last_lsn`` (its last WAL record:
"Latest checkpoint location" after a clean shutdown), ``wal_log_hints``, ``data_checksums``,
``wal_from`` (the oldest WAL in its pg_wal), ``archive`` (its restore_command reaches the
archive), ``upstream`` and ``wal_receiver`` (when it runs as a replica), ``fence``.
``primary`` facts: ``host``, ``reachable``, ``role``, ``timeline``, ``history`` (its timeline
history: ``[{"timeline": 1, "switchpoint": "0/3000060"}, ...]``), ``wal_from`` (oldest WAL
in its pg_wal), ``archive_from`` (oldest WAL in the archive, or None), ``slot`` (the
host's replication slot on it, or None).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lifeboat.dr.plugins.module_utils.failover import lsn, steps
from ansible_collections.lifeboat.dr.plugins.module_utils.failover.facts import fence_state

STOP = "stop"
CRASH_RECOVERY = "crash_recovery"
REWIND = "rewind"
BASE_BACKUP = "base_backup"
CREATE_SLOT = "create_slot"
CONFIGURE_STANDBY = "configure_standby"
LIFT_FENCE = "lift_fence"
START_REPLICA = "start_replica"
CHECK_STREAMING = "check_streaming"
CLEAN_STATES = ("shut down", "shut down in recovery")
RECOVERABLE_STATES = ("in production", "in crash recovery", "in archive recovery", "shutting down")


def switchpoint(history, timeline):
    """Where ``history`` left ``timeline`` (a byte position), or None when it never was on it."""
    for entry in history or ():
        if entry["timeline"] == timeline:
            return lsn.parse_lsn(entry["switchpoint"])
    return None


def _wal_on(facts, key, position):
    start = lsn.parse_lsn(facts.get(key))
    return start is not None and start <= position


def rewind_obstacles(host, primary, fork):
    """Why pg_rewind cannot rejoin ``host`` to ``primary`` from ``fork`` (empty: it can)."""
    name, obstacles = host["host"], []
    if not (host.get("wal_log_hints") or host.get("data_checksums")):
        obstacles.append("%s has neither wal_log_hints=on nor data checksums" % name)
    state = host.get("cluster_state")
    if state not in CLEAN_STATES + RECOVERABLE_STATES:
        obstacles.append("%s's data directory state is %s (pg_controldata), neither shut down nor recoverable" % (
            name, state or "unreadable"))
    if fork is None:
        obstacles.append("%s's timeline %s is not in %s's history (a branch rewind cannot follow)" % (
            name, host.get("timeline"), primary["host"]))
        return obstacles
    at = lsn.format_lsn(fork)
    if not (_wal_on(host, "wal_from", fork) or host.get("archive")):
        obstacles.append("%s no longer has its WAL from the divergence point %s (pg_wal starts at %s, no archive)" % (
            name, at, host.get("wal_from") or "unknown"))
    if not (_wal_on(primary, "wal_from", fork) or _wal_on(primary, "archive_from", fork)):
        obstacles.append("neither %s's pg_wal (from %s) nor its archive (from %s) reaches back to %s" % (
            primary["host"], primary.get("wal_from") or "unknown", primary.get("archive_from") or "none", at))
    return obstacles


def decide_rejoin(host, primary, others=()):
    """The plan for ``-e incident=rejoin``: ``outcome`` follow, rewind, base_backup, nothing or refused."""
    name = host["host"]
    plan = steps.new_plan("rejoin", host=name, primary=primary["host"], method=None, obstacles=[])
    if name == primary["host"]:
        return steps.refuse(plan, "%s is the current primary: there is nothing to rejoin it to" % name)
    if not primary.get("reachable") or primary.get("role") != "primary":
        return steps.refuse(plan, "the new primary %s does not answer as a primary (reachable: %s, role: %s)" % (
            primary["host"], primary.get("reachable"), primary.get("role")))
    second = sorted(o["host"] for o in others if o.get("reachable") and o.get("role") == "primary"
                    and o["host"] not in (name, primary["host"]))
    if second:
        return steps.refuse(plan, "%s also answers as a primary besides %s (split brain): run database_failure "
                                  "to fence one before any rejoin" % (" and ".join(second), primary["host"]))
    if not host.get("reachable"):
        return steps.refuse(plan, "%s is unreachable: rejoin it once it answers (its fence stays recorded)" % name)
    if host.get("running") and host.get("role") == "primary":
        return steps.refuse(plan, "%s runs as a primary (%s) while %s is the primary: fence it first "
                                  "(database_failure fences it)" % (
                                      name, "fenced but running" if fence_state(host.get("fence")) else "unfenced",
                                      primary["host"]))
    if (host.get("role") == "replica" and host.get("upstream") == primary["host"]
            and host.get("wal_receiver") == "streaming"):
        plan["outcome"] = "nothing"
        plan["notes"].append("%s already streams from %s" % (name, primary["host"]))
        return plan
    if fence_state(host.get("fence")) == "pending":
        plan["steps"].append(steps.step(steps.APPLY_PENDING_FENCE, name, "apply the fence recorded on %s first" %
                                        host["fence"].get("time"), record=host["fence"]))
    if host.get("running"):
        plan["steps"].append(steps.step(STOP, name, "stop PostgreSQL on %s (fast shutdown)" % name))
    return _method(plan, host, primary)


def _method(plan, host, primary):
    name, source = host["host"], primary["host"]
    same = host.get("timeline") == primary.get("timeline")
    fork = None if same else switchpoint(primary.get("history"), host.get("timeline"))
    last = lsn.parse_lsn(host.get("last_lsn"))
    clean = host.get("cluster_state") in CLEAN_STATES
    if same:
        plan.update(outcome="follow", method="follow")
        plan["notes"].append("%s is on %s's timeline %s (it was a replica): it can follow as it is" % (
            name, source, host.get("timeline")))
    elif fork is not None and clean and last is not None and last < fork:
        plan.update(outcome="follow", method="follow")
        plan["notes"].append("%s's last WAL record %s lies before the branch point %s: it can follow %s as it is" % (
            name, lsn.format_lsn(last), lsn.format_lsn(fork), source))
    else:
        plan["obstacles"] = rewind_obstacles(host, primary, fork)
    if plan["method"] is None and not plan["obstacles"]:
        plan.update(outcome="rewind", method="rewind")
        if not clean:
            plan["steps"].append(steps.step(CRASH_RECOVERY, name, "%s was not shut down cleanly (%s): finish crash "
                                            "recovery in single-user mode, then shut down" % (
                                                name, host.get("cluster_state"))))
        plan["steps"].append(steps.step(REWIND, name, "pg_rewind --source-server=%s%s from the divergence point %s" % (
            source, " --restore-target-wal" if host.get("archive") else "", lsn.format_lsn(fork)),
            source=source, divergence=lsn.format_lsn(fork), fallback=BASE_BACKUP))
    elif plan["method"] is None:
        plan.update(outcome="base_backup", method="base_backup")
        plan["notes"].append("pg_rewind is not possible: %s" % "; ".join(plan["obstacles"]))
    if not primary.get("slot"):
        plan["steps"].append(steps.step(CREATE_SLOT, source, "create the physical replication slot for %s" % name))
    if plan["method"] == "base_backup":
        plan["steps"].append(steps.step(BASE_BACKUP, name, "move the data directory aside, then pg_basebackup -R "
                                        "-X stream from %s into a fresh one" % source, source=source))
    else:
        plan["steps"].append(steps.step(CONFIGURE_STANDBY, name, "standby.signal, primary_conninfo and "
                                        "primary_slot_name pointing at %s" % source, source=source))
    if host.get("fence"):
        plan["steps"].append(steps.step(LIFT_FENCE, name, "mark the fence lifted by this rejoin (replica of %s), "
                                        "unmask the unit" % source, primary=source))
    plan["steps"].append(steps.step(START_REPLICA, name, "start PostgreSQL on %s as a replica" % name))
    plan["steps"].append(steps.step(CHECK_STREAMING, name, "wait for streaming from %s and lag 0, then see a new "
                                    "row arrive" % source, source=source))
    return plan
