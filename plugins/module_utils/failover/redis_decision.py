# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""redis_failure: promote the replica (``REPLICAOF NO ONE``) or restore the newest backup.

``redis_decision(hosts, policy, app, backup)``; a host is ``{"host", "reachable", "info",
"fence"}`` with ``info`` the ``INFO replication`` text or its parse (``redis_info``).
Policy: ``max_lag_bytes`` (replication offset, 1 MiB), ``max_link_down_seconds`` (60),
``force``, ``candidate``, ``master`` (the configured master).

A replica is promoted when it is linked (``master_link_status:up``) to a running master,
or, with the master gone, its link has been down no longer than ``max_link_down_seconds``
(Redis Sentinel likewise drops replicas disconnected too long); and its offset is within
``max_lag_bytes`` of the master's (or of the best replica's when the master is gone). A
replica in a full sync or of ``slave_priority`` 0 never is. Among the eligible, as
Sentinel does: the lowest ``slave_priority``, then the largest offset, then the name.
Otherwise (unless ``force``) the newest backup is restored through the restore path,
onto the old master when it answers, else onto a replica; the old master is fenced
(``min-replicas-to-write``, stopped and masked) unless it is the restore target.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils.failover import lsn, redis_info, steps
from ansible_collections.lifeboat.dr.plugins.module_utils.failover.facts import fence_state, merge_policy, number

SERVICE = "redis"
DEFAULTS = {"max_lag_bytes": 1 << 20, "max_link_down_seconds": 60, "force": False, "candidate": None,
            "master": None}


def normalize(hosts, policy):
    """The Redis hosts (``info`` parsed, ``role`` derived) sorted by name, and the policy with its defaults."""
    merged = merge_policy(policy, DEFAULTS, "Redis failover policy")
    for key in ("max_lag_bytes", "max_link_down_seconds"):
        merged[key] = number(merged[key], key, integer=True)
    out = []
    for facts in sorted(hosts or (), key=lambda h: h.get("host") or ""):
        if not facts.get("host") or not isinstance(facts.get("reachable"), bool):
            raise LifeboatError("Redis host facts need 'host' and 'reachable', got %r" % (facts,))
        info = facts.get("info")
        if isinstance(info, (str, bytes)):
            info = redis_info.parse_info_replication(info)
        if facts["reachable"] and not info and facts.get("running") is not False:
            raise LifeboatError("%s is reachable but its INFO replication is missing" % facts["host"])
        # A host that answers while its Redis does not (running false) is "down": it can be fenced in place.
        role = (info["role"] if info else "down") if facts["reachable"] else "unknown"
        if role in ("master", "down") and fence_state(facts.get("fence")) == "applied":
            role = "fenced"
        out.append({"host": facts["host"], "reachable": facts["reachable"], "info": info or {}, "role": role,
                    "fence": facts.get("fence")})
    return out, merged


def describe(host):
    off = redis_info.offset(host["info"]) if host["info"] else None
    return "%s (%s, offset %s)" % (host["host"], host["role"], off if off is not None else "unknown")


def _problems(replica, old, reference, policy):
    name, info, hard, soft = replica["host"], replica["info"], [], []
    if not replica["reachable"]:
        return ["%s is unreachable" % name], soft
    if replica["role"] != "replica" or fence_state(replica["fence"]) in ("pending", "applied"):
        return ["%s is not an unfenced replica (role %s)" % (name, replica["role"])], soft
    if info.get("master_sync_in_progress"):
        hard.append("%s is in the middle of a full sync" % name)
    if info.get("slave_priority") == 0:
        hard.append("%s has slave_priority 0 (never promoted)" % name)
    old_runs = old is not None and old["reachable"] and old["role"] == "master"
    down = info.get("master_link_down_since_seconds")
    if old_runs and not redis_info.linked(info):
        soft.append("%s is not linked to %s (master_link_status:%s)" % (name, old["host"],
                                                                        info.get("master_link_status")))
    elif not old_runs and info.get("master_link_status") != "up" and isinstance(down, int) \
            and down > policy["max_link_down_seconds"]:
        soft.append("%s's link has been down for %d s, over the limit of %d s" % (
            name, down, policy["max_link_down_seconds"]))
    off = redis_info.offset(info)
    lag = None if off is None or reference is None else max(reference - off, 0)
    if lag is None:
        hard.append("%s reports no replication offset" % name)
    elif lag > policy["max_lag_bytes"]:
        soft.append("%s is %s behind, over the limit of %s" % (name, lsn.human_bytes(lag),
                                                               lsn.human_bytes(policy["max_lag_bytes"])))
    return hard, soft


def redis_decision(hosts, policy=None, app=None, backup=None):
    """The plan for redis_failure; ``backup``: ``{"path", "time"}`` of the newest backup, or None."""
    hosts, policy = normalize(hosts, policy)
    plan = steps.new_plan("redis_failure", old_primary=None, candidate=None, lag={}, backup=None)
    if not hosts:
        return steps.refuse(plan, "no Redis hosts in the facts")
    plan["steps"].extend(steps.pending_fences(hosts, SERVICE))
    masters = [h for h in hosts if h["reachable"] and h["role"] == "master"]
    if len(masters) > 1:
        chosen, why = steps.choose_survivor(masters, policy["candidate"], app, SERVICE)
        text = "split brain: %s all accept writes; no promotion" % " and ".join(describe(m) for m in masters)
        return steps.split_brain(plan, masters, chosen, why, text, SERVICE, app)
    if masters and (policy["candidate"] == masters[0]["host"] or steps.successor_of(hosts, masters[0])):
        return steps.continue_promoted(plan, hosts, masters[0], describe(masters[0]), SERVICE, app, writer="master")
    old = masters[0] if masters else next((h for h in hosts if h["host"] == policy["master"]), None)
    if old is None:
        away = [h for h in hosts if h["role"] in ("unknown", "fenced", "down")]
        old = away[0] if len(away) == 1 else None
    if old is None:
        return steps.refuse(plan, "cannot tell which host was the Redis master: none answers as master and the "
                                  "policy names none (hosts: %s)" % ", ".join(describe(h) for h in hosts))
    plan["old_primary"] = old["host"]
    replicas = [h for h in hosts if h is not old]
    offsets = [redis_info.offset(h["info"]) for h in replicas if h["reachable"] and h["info"]]
    reference = redis_info.offset(old["info"]) if old["reachable"] and old["info"] else None
    if reference is None and any(o is not None for o in offsets):
        reference = max(o for o in offsets if o is not None)
        plan["notes"].append("%s's offset is unknown: keys written after its replicas last heard from it cannot "
                             "be counted" % old["host"])
    verdicts = dict((r["host"], _problems(r, old, reference, policy)) for r in replicas)
    for r in replicas:
        off = redis_info.offset(r["info"]) if r["info"] else None
        plan["lag"][r["host"]] = None if off is None or reference is None else max(reference - off, 0)
    pool = [policy["candidate"]] if policy["candidate"] in verdicts else sorted(verdicts)
    clean = [n for n in pool if not verdicts[n][0] and not verdicts[n][1]]
    forced = [n for n in pool if not verdicts[n][0] and verdicts[n][1]] if policy["force"] else []
    ranked = sorted(clean or forced, key=lambda n: (
        _priority(hosts, n), plan["lag"][n] if plan["lag"][n] is not None else 1 << 64, n))
    reasons = [r for n in pool for r in verdicts[n][0] + verdicts[n][1]] or ["no replica configured"]
    if ranked:
        chosen = ranked[0]
        plan.update(candidate=chosen, outcome="failover")
        if verdicts[chosen][1]:
            plan["notes"].append("forced: keys may be lost: %s (%s)" % (
                lsn.human_bytes(plan["lag"][chosen]), "; ".join(verdicts[chosen][1])))
        steps.fence_old(plan, old, chosen, SERVICE)
        plan["steps"].append(steps.step(steps.PROMOTE, chosen, "REPLICAOF NO ONE on %s" % chosen))
        plan["steps"].append(steps.step(steps.PROVE_WRITE, chosen, "write and read back a test key on %s" % chosen))
        steps.app_steps(plan, app, chosen, SERVICE)
        return plan
    return _restore(plan, hosts, old, backup, reasons, app)


def _priority(hosts, name):
    info = next(h["info"] for h in hosts if h["host"] == name)
    value = info.get("slave_priority", info.get("replica_priority", 100))
    return value if isinstance(value, int) else 100


def _restore(plan, hosts, old, backup, reasons, app):
    why = "no replica may be promoted in place of %s: %s" % (old["host"], "; ".join(reasons))
    if not backup:
        return steps.refuse(plan, "%s; and there is no backup to restore" % why)
    target = old if old["reachable"] else next((h for h in hosts if h["reachable"] and h["role"] == "replica"), None)
    if target is None:
        return steps.refuse(plan, "%s; and no host answers to restore the backup %s onto" % (why, backup["path"]))
    plan.update(candidate=target["host"], outcome="restore", backup=backup)
    plan["notes"].append(why)
    plan["notes"].append("keys written after the backup (%s) are lost" % backup.get("time", "time unknown"))
    if target is not old:
        steps.fence_old(plan, old, target["host"], SERVICE)
    plan["steps"].append(steps.step(steps.RESTORE_BACKUP, target["host"], "restore %s onto %s with the restore path "
                                    "(REPLICAOF NO ONE first when it is a replica)" % (backup["path"], target["host"]),
                                    backup=backup["path"]))
    plan["steps"].append(steps.step(steps.PROVE_WRITE, target["host"], "write and read back a test key on %s" %
                                    target["host"]))
    steps.app_steps(plan, app, target["host"], SERVICE)
    return plan
