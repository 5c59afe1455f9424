# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""From what each host reported (``db_replication action=status``) to the facts the decisions read.

The failover playbook asks every database server for its status; a host that does not
answer is recorded as unreachable. ``postgresql_facts(observed, addresses)`` turns those
answers into the host facts of ``facts.py``:

- ``observed``: ``{inventory name: {"reachable": bool, "status": the module's result or None}}``,
  or the registered results of the status loop (``from_results``);
- ``addresses``: ``{inventory name: the address or DNS name others reach it by}`` (unlisted: its
  inventory name), to name a replica's upstream from its WAL receiver's ``sender_host``;
- a replica's ``slot`` and ``sync_state`` come from the primary's report (its slots and its
  ``pg_stat_replication`` rows, whose ``application_name`` is the replica's inventory name);
- a host with an applied or pending fence record whose server does not run is ``fenced``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils.failover.facts import HOST_KEYS, fence_state


def from_results(results):
    """``observed`` from a registered loop of ``db_replication action=status`` over the hosts
    (``delegate_to: item``, ``ignore_unreachable``): each result's ``item`` is the host."""
    observed = {}
    for result in results or ():
        host = result.get("item")
        if not host:
            raise LifeboatError("a status result without its host (loop item): %r" % sorted(result))
        if result.get("unreachable"):
            observed[host] = {"reachable": False, "status": None}
        elif result.get("failed"):
            raise LifeboatError("%s answered but its status failed: %s" % (host, result.get("msg")))
        else:
            observed[host] = {"reachable": True, "status": {"facts": result["facts"], "details": result["details"]}}
    return observed


def postgresql_facts(observed, addresses=None, held=None):
    """The list of host facts (``facts.HOST_KEYS``), sorted by host name.

    ``held``: ``{host: fence record}`` the controller keeps for hosts fenced while unreachable;
    such a record is the host's ``fence`` unless the host reports one of its own.
    """
    held = dict(held or {})
    if isinstance(observed, list):
        observed = from_results(observed)
    if not isinstance(observed, dict):
        raise LifeboatError("observed must map inventory names to their status, not %r" % type(observed).__name__)
    names = _names(addresses)
    reports = {}
    for host, seen in observed.items():
        if seen.get("reachable") and not seen.get("status"):
            raise LifeboatError("%s answered but reported no status" % host)
        reports[host] = seen.get("status") if seen.get("reachable") else None
    primaries = [r for r in reports.values() if r and r["details"].get("running") and not r["facts"].get("in_recovery")]
    slots = dict((s["name"], s) for r in primaries for s in r["details"].get("slots") or ())
    sync = dict((row["application_name"], row["sync_state"]) for r in primaries for row in r["details"].get("replicas") or ())
    out = []
    for host in sorted(reports):
        report = reports[host]
        if report is None:
            out.append({"host": host, "reachable": False, "fence": held.get(host)})
            continue
        facts = dict((k, v) for k, v in report["facts"].items() if k in HOST_KEYS)
        if facts.get("fence") is None and held.get(host):
            facts["fence"] = held[host]
        details = report["details"]
        facts.update(host=host, reachable=True)
        if not details.get("running") and fence_state(facts.get("fence")) in ("applied", "pending"):
            facts["role"] = "fenced"
        if facts.get("in_recovery"):
            sender = details.get("sender_host")
            if sender:
                facts["upstream"] = names.get(sender, sender)
            slot_name = details.get("primary_slot_name")
            if slot_name and slot_name in slots:
                found = slots[slot_name]
                facts["slot"] = {"name": found["name"], "active": found["active"], "wal_status": found["wal_status"]}
            if host in sync:
                facts["sync_state"] = sync[host]
        out.append(facts)
    return out


def redis_facts(observed, held=None):
    """The Redis host facts ``redis_decision`` reads (``{"host", "reachable", "info", "fence", "running"}``).

    ``observed`` as for ``postgresql_facts`` (a registered loop of ``db_replication engine=redis
    action=status``); ``held``: ``{host: fence record}`` the controller keeps for unreachable hosts.
    """
    held = dict(held or {})
    if isinstance(observed, list):
        observed = from_results(observed)
    out = []
    for host in sorted(observed or {}):
        seen = observed[host]
        if not seen.get("reachable"):
            out.append({"host": host, "reachable": False, "info": None, "fence": held.get(host), "running": None})
            continue
        if not seen.get("status"):
            raise LifeboatError("%s answered but reported no Redis status" % host)
        facts = seen["status"]["facts"]
        out.append({"host": host, "reachable": True, "info": facts.get("info"),
                    "fence": facts.get("fence") or held.get(host), "running": bool(facts.get("running"))})
    return out


def app_facts(app, env_text, addresses=None):
    """``{"service", "host", "points_at", "redis_points_at"}``: which hosts the application's environment
    file names for its database and its Redis.

    ``app``: the inventory's application entry (``service``, ``host``, ``database_setting``,
    ``redis_setting``); ``env_text``: its environment file's content (``KEY=value`` lines; quotes
    stripped). Values are mapped back to inventory names through ``addresses`` (``{name: address}``).
    """
    if not app:
        return None
    values = {}
    for line in (env_text or "").splitlines():
        key, sep, rest = line.strip().partition("=")
        if sep:
            values[key.strip()] = rest.strip().strip("'\"") or None
    names = _names(addresses)

    def host_of(setting):
        value = values.get(setting) if setting else None
        return names.get(value, value) if value else None
    return {"service": app.get("service"), "host": app.get("host"),
            "points_at": host_of(app.get("database_setting")), "redis_points_at": host_of(app.get("redis_setting"))}


def _names(addresses):
    """``{address: inventory name}`` from the inventory's ``{inventory name: address}``."""
    return dict((address, name) for name, address in (addresses or {}).items())


def rejoin_target(observed, host=None, addresses=None, held=None):
    """Which host ``-e incident=rejoin`` turns into a replica of which primary, or why not.

    ``{"host", "primary", "outcome": "rejoin" | "nothing" | "refused", "refusal", "running", "notes"}``.
    ``host`` defaults to the one host that carries a fence record, else the one host besides the primary. Refused: no single running primary
    (none, or two: a split brain to fence first), the host is that primary, unreachable, or runs as a
    second primary.
    """
    hosts = postgresql_facts(observed, addresses, held)
    out = {"host": host or None, "primary": None, "outcome": "refused", "refusal": None, "running": False, "notes": []}
    primaries = [h for h in hosts if h["reachable"] and h.get("in_recovery") is False]
    if len(primaries) != 1:
        out["refusal"] = ("no PostgreSQL primary answers: fail over first (-e incident=database_failure)" if not primaries
                          else "split brain: %s all answer as primaries; run database_failure to fence one first" %
                          " and ".join(h["host"] for h in primaries))
        return out
    primary = primaries[0]
    out["primary"] = primary["host"]
    if not host:
        # The one fenced host; else the one host besides the primary (a rejoin run again finds it streaming).
        fenced = [h["host"] for h in hosts if h is not primary and fence_state(h.get("fence")) in ("applied", "pending")]
        others = [h["host"] for h in hosts if h is not primary]
        chosen = fenced if fenced else others
        if len(chosen) != 1:
            out["refusal"] = "name the host to rejoin with -e host=NAME (fenced hosts: %s)" % (", ".join(fenced) or "none")
            return out
        host = out["host"] = chosen[0]
    target = next((h for h in hosts if h["host"] == host), None)
    if target is None:
        out["refusal"] = "%s is not one of the PostgreSQL hosts (%s)" % (host, ", ".join(h["host"] for h in hosts))
    elif target is primary:
        out["refusal"] = "%s is the current primary: there is nothing to rejoin it to" % host
    elif not target["reachable"]:
        out["refusal"] = "%s is unreachable: rejoin it once it answers (its fence stays recorded)" % host
    if out["refusal"]:
        return out
    running = target.get("in_recovery") is not None
    if running and target.get("in_recovery") is False:
        out["refusal"] = "%s runs as a primary while %s is the primary: fence it first (database_failure)" % (
            host, primary["host"])
        return out
    if running and target.get("upstream") == primary["host"] and target.get("wal_receiver") == "streaming":
        out["outcome"] = "nothing"
        out["notes"].append("%s already streams from %s" % (host, primary["host"]))
        return out
    out.update(outcome="rejoin", running=running)
    if running:
        out["notes"].append("%s runs as a replica that does not stream from %s: it is stopped first" % (host, primary["host"]))
    return out
