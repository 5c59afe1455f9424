# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""database_failure: which replica to promote, what to fence first, and what to refuse.

``decide_failover(hosts, policy, app)`` reads the facts (``facts.py``) and returns a
plan (``steps.py``). The module runs ``plan["steps"]`` in order, then fails with
``plan["refusal"]`` when there is one: a refused plan carries only steps that are
due whatever happens (a fence recorded while a host was away, or fencing the
second primary of a split brain), never a promotion.

The rules, after Patroni's ``ha.py`` (``is_failover_possible``, ``_is_healthiest_node``)
and repmgr:
- a replica is compared by its WAL position ``max(receive_lsn, replay_lsn)`` against the
  old primary's (its ``current_lsn`` when it runs, else its last known ``primary_lsn``,
  else the best replica's); over ``max_lag_bytes`` or ``max_lag_seconds`` it is refused
  unless ``force``, and the plan then states the figure that may be lost;
- with the old primary running, a replica that is not streaming from it is refused
  (unless ``force``); with the old primary gone, streaming has stopped by nature;
- a replica on an older timeline than the cluster's, fenced, unreachable or of
  priority 0 is never promoted, force or not;
- with ``synchronous`` standbys configured only one of them is promoted (unless
  ``force``): then no acknowledged commit is lost;
- among the eligible: least lag, then the highest priority, then the name;
- two primaries (split brain): no promotion; the one not chosen is fenced, or the
  operator names the survivor when nothing tells them apart;
- the candidate already primary (a second run): nothing to promote, the run goes on
  with proving a write and repointing the application.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils.failover import facts, lsn, steps
from ansible_collections.lifeboat.dr.plugins.module_utils.failover.facts import fence_state

SERVICE = "postgresql"


def describe(host):
    """``db2 (timeline 2, 0/3000060)``: a host as refusals name it."""
    position = facts.wal_position(host)
    return "%s (timeline %s, %s)" % (host["host"], host["timeline"] if host["timeline"] is not None else "unknown",
                                     lsn.format_lsn(position) if position is not None else "no WAL position")


def _old_primary(hosts, policy):
    if policy["primary"]:
        named = [h for h in hosts if h["host"] == policy["primary"]]
        if not named:
            raise LifeboatError("policy names %s as the primary, but the facts have no such host (hosts: %s)" % (
                policy["primary"], ", ".join(h["host"] for h in hosts)))
        return named[0]
    upstreams = set(h["upstream"] for h in hosts if h["role"] == "replica" and h["upstream"])
    if len(upstreams) == 1:
        return next((h for h in hosts if h["host"] in upstreams), None)
    others = [h for h in hosts if h["role"] in ("unknown", "fenced")]
    return others[0] if len(others) == 1 else None


def _lag(replica, reference):
    position = facts.wal_position(replica)
    if position is None or reference is None:
        return None, None
    lag_bytes = max(reference - position, 0)
    return lag_bytes, (0 if lag_bytes == 0 else replica["lag_seconds"])


def _problems(replica, old, reference, timeline, policy):
    """``(hard, soft)``: reasons it may never be promoted, and reasons that ``force`` overrides."""
    name, hard, soft = replica["host"], [], []
    if not replica["reachable"]:
        hard.append("%s is unreachable" % name)
    elif fence_state(replica["fence"]) in ("pending", "applied") or replica["role"] == "fenced":
        hard.append("%s is fenced" % name)
    elif replica["role"] != "replica":
        hard.append("%s is not a replica (role %s)" % (name, replica["role"]))
    elif facts.wal_position(replica) is None:
        hard.append("%s reports no WAL position" % name)
    if facts.priority(policy, name) == 0:
        hard.append("%s has priority 0 (never promoted)" % name)
    if hard:
        return hard, soft
    if timeline is not None and replica["timeline"] is not None and replica["timeline"] < timeline:
        hard.append("%s is on timeline %d, behind the cluster's timeline %d" % (name, replica["timeline"], timeline))
    old_runs = old is not None and old["reachable"] and old["role"] == "primary"
    if old_runs and replica["wal_receiver"] != "streaming":
        soft.append("%s is not streaming from %s (wal receiver: %s)" % (
            name, old["host"], replica["wal_receiver"] or "not running"))
    slot = replica["slot"] or {}
    if slot.get("wal_status") == "lost":
        soft.append("%s's replication slot %s has lost WAL it needs (wal_status lost)" % (name, slot.get("name")))
    lag_bytes, lag_seconds = _lag(replica, reference)
    if lag_bytes is not None and lag_bytes > policy["max_lag_bytes"]:
        soft.append("%s is %s behind %s, over the limit of %s" % (
            name, lsn.human_bytes(lag_bytes), old["host"] if old else "the newest replica",
            lsn.human_bytes(policy["max_lag_bytes"])))
    if lag_seconds is not None and lag_seconds > policy["max_lag_seconds"]:
        soft.append("%s is %s s behind, over the limit of %s s" % (name, lag_seconds, policy["max_lag_seconds"]))
    if policy["synchronous"] and not _synchronous(replica, policy):
        soft.append("%s is not a synchronous standby (synchronous: %s)" % (name, ", ".join(policy["synchronous"])))
    return hard, soft


def _synchronous(replica, policy):
    if replica["sync_state"] is not None:
        return replica["sync_state"] in ("sync", "quorum")
    return replica["host"] in policy["synchronous"]


def _split_brain(plan, primaries, policy, app):
    text = "split brain: %s all accept writes; no promotion" % " and ".join(describe(p) for p in primaries)
    chosen, why = steps.choose_survivor(primaries, policy["candidate"], app, SERVICE, newest=lambda p: p["timeline"] or 0)
    return steps.split_brain(plan, primaries, chosen, why, text, SERVICE, app)


def decide_failover(hosts, policy=None, app=None):
    """The plan for database_failure. ``app``: ``{"service", "host", "points_at"}`` or None."""
    hosts, policy = facts.normalize_hosts(hosts), facts.normalize_policy(policy)
    plan = steps.new_plan("database_failure", old_primary=None, candidate=None, data_loss=None, lag={})
    if not hosts:
        return steps.refuse(plan, "no PostgreSQL hosts in the facts")
    plan["steps"].extend(steps.pending_fences(hosts, SERVICE))
    primaries = [h for h in hosts if h["reachable"] and h["role"] == "primary"]
    if len(primaries) > 1:
        return _split_brain(plan, primaries, policy, app)
    if primaries and (policy["candidate"] == primaries[0]["host"] or steps.successor_of(hosts, primaries[0])):
        return steps.continue_promoted(plan, hosts, primaries[0], describe(primaries[0]), SERVICE, app)
    old = primaries[0] if primaries else _old_primary(hosts, policy)
    if old is None:
        return steps.refuse(plan, "cannot tell which host was the primary: none answers as primary, the replicas "
                                  "name no single upstream, and the policy names none (hosts: %s)" %
                                  ", ".join(describe(h) for h in hosts))
    plan["old_primary"] = old["host"]
    return _promote(plan, hosts, old, policy, app)


def _reference(hosts, old):
    if old["reachable"] and old["role"] == "primary" and old["current_lsn"] is not None:
        return old["current_lsn"], None
    reported = [p for p in [old["primary_lsn"]] + [h["primary_lsn"] for h in hosts if h is not old] if p is not None]
    best = [p for p in (facts.wal_position(h) for h in hosts if h is not old) if p is not None]
    known = reported + best
    if not known:
        return None, None
    if reported:
        return max(known), None
    return max(known), ("%s's last WAL position is unknown: writes it made after its replicas last heard from it "
                        "cannot be counted" % old["host"])


def _promote(plan, hosts, old, policy, app):
    replicas = [h for h in hosts if h is not old]
    if not replicas:
        return steps.refuse(plan, "no replica configured: the facts list only %s" % describe(old))
    reference, caveat = _reference(hosts, old)
    if caveat:
        plan["notes"].append(caveat)
    timelines = [h["timeline"] for h in hosts if h["timeline"] is not None and h["role"] in ("primary", "replica")]
    timeline = max(timelines) if timelines else None
    verdicts = {}
    for replica in replicas:
        lag_bytes, lag_seconds = _lag(replica, reference)
        plan["lag"][replica["host"]] = {"bytes": lag_bytes, "seconds": lag_seconds}
        verdicts[replica["host"]] = _problems(replica, old, reference, timeline, policy)
    if policy["candidate"]:
        if policy["candidate"] not in verdicts:
            return steps.refuse(plan, "candidate %s is not a replica in the facts (replicas: %s)" % (
                policy["candidate"], ", ".join(sorted(verdicts))))
        pool = [policy["candidate"]]
    else:
        pool = sorted(verdicts)
    clean = [n for n in pool if not verdicts[n][0] and not verdicts[n][1]]
    forced = [n for n in pool if not verdicts[n][0] and verdicts[n][1]] if policy["force"] else []
    ranked = sorted(clean or forced, key=lambda n: (
        plan["lag"][n]["bytes"] if plan["lag"][n]["bytes"] is not None else 1 << 64,
        -facts.priority(policy, n), n))
    if not ranked:
        reasons = "; ".join(r for n in pool for r in verdicts[n][0] + verdicts[n][1])
        hint = "" if policy["force"] or not any(not verdicts[n][0] for n in pool) else \
            "; pass -e lifeboat_force=yes to promote anyway, accepting the loss"
        return steps.refuse(plan, "no replica may be promoted in place of %s: %s%s" % (old["host"], reasons, hint))
    chosen = next(h for h in replicas if h["host"] == ranked[0])
    plan.update(candidate=chosen["host"], outcome="failover")
    _data_loss(plan, chosen, verdicts[chosen["host"]][1], policy)
    steps.fence_old(plan, old, chosen["host"], SERVICE)
    if old["reachable"] and old["role"] == "primary":
        plan["steps"].append(steps.step(steps.WAIT_REPLAY, chosen["host"], "wait until %s has received %s's last WAL "
                                        "(its shutdown checkpoint) before promoting" % (chosen["host"], old["host"])))
    plan["steps"].append(steps.step(steps.PROMOTE, chosen["host"], "pg_promote(wait => true) on %s" % describe(chosen),
                                    timeline=(chosen["timeline"] + 1) if chosen["timeline"] is not None else None))
    plan["steps"].append(steps.step(steps.PROVE_WRITE, chosen["host"], "write and read back a row on %s" %
                                    chosen["host"]))
    steps.app_steps(plan, app, chosen["host"], SERVICE)
    for other in replicas:
        if other is not chosen and other["role"] == "replica":
            plan["notes"].append("%s still follows %s: rejoin it to %s" % (other["host"], old["host"], chosen["host"]))
    return plan


def _data_loss(plan, chosen, overridden, policy):
    figures = plan["lag"][chosen["host"]]
    synchronous = bool(policy["synchronous"]) and _synchronous(chosen, policy)
    plan["data_loss"] = {"bytes": figures["bytes"], "seconds": figures["seconds"], "synchronous": synchronous}
    if overridden:
        plan["notes"].append("forced: data may be lost: %s, %s s of writes (%s)" % (
            lsn.human_bytes(figures["bytes"]), figures["seconds"], "; ".join(overridden)))
    if synchronous:
        plan["notes"].append("%s is a synchronous standby: no acknowledged commit is lost" % chosen["host"])
