# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan steps and the parts the PostgreSQL and Redis plans share: fencing first, the application last.

A step is ``{"action", "host", "detail", ...}``; the module runs them in order and
stops at the first that fails. A plan is ``{"incident", "outcome", "steps",
"refusal", "notes", ...}``: ``refusal`` is None or the reason nothing (more) may
be done, ``notes`` say what was skipped because it was already done.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lifeboat.dr.plugins.module_utils.failover.facts import fence_state

APPLY_PENDING_FENCE = "apply_pending_fence"
FENCE = "fence"
RECORD_PENDING_FENCE = "record_pending_fence"
WAIT_REPLAY = "wait_replay"
PROMOTE = "promote"
PROVE_WRITE = "prove_write"
RESTORE_BACKUP = "restore_backup"
REPOINT_APP = "repoint_app"
RESTART_APP = "restart_app"
CHECK_HEALTH = "check_health"
ACTIONS = (APPLY_PENDING_FENCE, FENCE, RECORD_PENDING_FENCE, WAIT_REPLAY, PROMOTE, PROVE_WRITE, RESTORE_BACKUP,
           REPOINT_APP, RESTART_APP, CHECK_HEALTH)

FENCE_HOW = {"postgresql": "stop PostgreSQL, write the fence record and mask the unit so that it cannot "
                           "start again as a primary",
             "redis": "refuse writes (min-replicas-to-write above the replicas it can have), stop Redis "
                      "and mask the unit"}


APP_KEYS = {"postgresql": "points_at", "redis": "redis_points_at"}


def points_at(app, service):
    """The host ``app`` (``{"service", "host", "points_at", "redis_points_at"}``) uses for ``service``."""
    return (app or {}).get(APP_KEYS[service])


def step(action, host, detail, **extra):
    out = {"action": action, "host": host, "detail": detail}
    out.update(extra)
    return out


def new_plan(incident, **fields):
    plan = {"incident": incident, "outcome": None, "steps": [], "refusal": None, "notes": []}
    plan.update(fields)
    return plan


def refuse(plan, reason, outcome="refused"):
    plan["outcome"] = outcome
    plan["refusal"] = reason
    return plan


def actions(plan):
    """The ``(action, host)`` pairs of a plan, in order (what tests and check mode compare)."""
    return [(s["action"], s["host"]) for s in plan["steps"]]


def pending_fences(hosts, service):
    """A fence recorded for a host while it was unreachable is applied before anything else."""
    return [step(APPLY_PENDING_FENCE, h["host"], "apply the fence recorded on %s (%s) before anything else: %s" % (
                 h["fence"].get("time"), h["fence"].get("reason"), FENCE_HOW[service]), record=h["fence"])
            for h in hosts if h["reachable"] and fence_state(h["fence"]) == "pending"]


def fence_old(plan, old, successor, service):
    """Fence the old primary ``old`` (a normalised host) in favour of ``successor``."""
    state = fence_state(old["fence"])
    if state == "applied" and old["role"] != "primary":
        plan["notes"].append("%s is already fenced (since %s)" % (old["host"], old["fence"].get("time")))
    elif state == "pending" and old["reachable"]:
        pass  # pending_fences() applies it first
    elif old["reachable"]:
        plan["steps"].append(step(FENCE, old["host"], FENCE_HOW[service], successor=successor))
    elif state == "pending":
        plan["notes"].append("%s is unreachable; its fence is already recorded (%s) and will be applied "
                             "first when it answers" % (old["host"], old["fence"].get("time")))
    else:
        plan["steps"].append(step(RECORD_PENDING_FENCE, old["host"],
                                  "%s is unreachable: record its fence on the controller (naming %s), to be "
                                  "applied before anything else when it answers again" % (old["host"], successor),
                                  successor=successor))


def app_steps(plan, app, target, service):
    """Repoint and restart the application unless it already uses ``target``; then check its health."""
    if not app:
        plan["notes"].append("no application configured: nothing to repoint")
        return
    name = app.get("service") or "the application"
    current = points_at(app, service)
    if current == target:
        plan["notes"].append("%s already uses %s on %s" % (name, service, target))
    else:
        plan["steps"].append(step(REPOINT_APP, app.get("host") or target, "point %s's %s settings at %s (was %s)" % (
            name, service, target, current or "unknown"), target=target))
        plan["steps"].append(step(RESTART_APP, app.get("host") or target, "restart %s" % name))
    plan["steps"].append(step(CHECK_HEALTH, app.get("host") or target,
                              "%s's health check must report %s as its %s" % (name, target, service), target=target))


def choose_survivor(primaries, candidate, app, service, newest=None, label="timeline"):
    """Which of several writable hosts (split brain) to keep, and why; ``(None, None)`` when nothing tells.

    In order: the candidate the operator named, the only one without a fence record (a host fenced
    while unreachable that comes back writable never wins, whatever the application still points
    at), the one the application uses, the single newest by ``newest(host)`` (its ``label``, e.g.
    the timeline).
    """
    names = [p["host"] for p in primaries]
    if candidate in names:
        return candidate, "the candidate named"
    unfenced = [p["host"] for p in primaries if fence_state(p["fence"]) is None]
    if len(unfenced) == 1:
        return unfenced[0], "the only one without a fence record"
    if points_at(app, service) in names:
        return points_at(app, service), "the one the application uses"
    if newest is not None:
        ranked = sorted(primaries, key=newest, reverse=True)
        if newest(ranked[0]) > newest(ranked[1]):
            return ranked[0]["host"], "the newest %s" % label
    return None, None


def split_brain(plan, primaries, chosen, why, text, service, app):
    """Fence every writable host but ``chosen``; never promote. The plan is refused either way."""
    if chosen is None:
        return refuse(plan, "%s; cannot tell which one to keep: fence the other by hand or name the survivor "
                            "with -e candidate=HOST" % text)
    for primary in primaries:
        # A pending fence is applied first (pending_fences): no second fence step for it.
        if primary["host"] != chosen and fence_state(primary["fence"]) != "pending":
            plan["steps"].append(step(FENCE, primary["host"], FENCE_HOW[service], successor=chosen))
    app_steps(plan, app, chosen, service)
    plan["candidate"] = chosen
    return refuse(plan, "%s; keeping %s (%s), fencing %s" % (
        text, chosen, why, ", ".join(p["host"] for p in primaries if p["host"] != chosen)), outcome="fence_only")


def successor_of(hosts, current):
    """True when a fence record on another host names ``current`` as the host promoted in its place."""
    return any(h is not current and fence_state(h["fence"]) in ("pending", "applied")
               and h["fence"].get("successor") == current["host"] for h in hosts)


def continue_promoted(plan, hosts, current, what, service, app, writer="primary"):
    """A second run after the promotion: fence what is due, prove a write, repoint, check.
    ``writer`` is what the service calls its writable node (Redis: master)."""
    plan.update(candidate=current["host"], outcome="already_promoted")
    plan["notes"].append("%s is already the %s: nothing to promote" % (what, writer))
    for host in hosts:
        if host is not current and (fence_state(host["fence"]) in ("pending", "applied") or not host["reachable"]):
            fence_old(plan, host, current["host"], service)
    plan["steps"].append(step(PROVE_WRITE, current["host"], "write and read back a test value on %s" % current["host"]))
    app_steps(plan, app, current["host"], service)
    return plan
