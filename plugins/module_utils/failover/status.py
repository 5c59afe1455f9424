# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``-e incident=status``: roles, lag, slots, Redis roles and what the app points at.

``build_status(postgresql, redis, app)`` takes the same facts as the decisions and
returns a JSON-able dict (``postgresql`` and ``redis`` rows, ``app``, ``warnings``);
``render_status`` turns it into the text tables the playbook prints.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lifeboat.dr.plugins.module_utils.failover import facts, lsn, redis_decision, redis_info
from ansible_collections.lifeboat.dr.plugins.module_utils.failover.facts import fence_state

PG_COLUMNS = ("host", "role", "timeline", "lsn", "lag_bytes", "lag_seconds", "wal_receiver", "slot", "sync_state",
              "fence")
REDIS_COLUMNS = ("host", "role", "link", "offset", "lag_bytes", "fence")


def _role(host, running_primary):
    state = fence_state(host["fence"])
    if state == "applied" and not running_primary:
        return "fenced"
    if state == "pending":
        return "%s (fence pending)" % host["role"]
    return host["role"]


def _slot(slot):
    if not slot:
        return None
    return "%s %s%s" % (slot.get("name"), "active" if slot.get("active") else "inactive",
                        " (%s)" % slot["wal_status"] if slot.get("wal_status") else "")


def postgresql_rows(hosts):
    hosts = facts.normalize_hosts(hosts)
    primaries = [h for h in hosts if h["reachable"] and h["role"] == "primary"]
    reference = primaries[0]["current_lsn"] if len(primaries) == 1 else None
    rows = []
    for h in hosts:
        is_primary = h in primaries
        position = facts.wal_position(h)
        source = reference if reference is not None else h["primary_lsn"]
        lag = None if is_primary or position is None or source is None else max(source - position, 0)
        rows.append({"host": h["host"], "role": _role(h, is_primary), "timeline": h["timeline"],
                     "lsn": lsn.format_lsn(position) if position is not None else None,
                     "lag_bytes": 0 if is_primary else lag,
                     "lag_seconds": 0 if is_primary or lag == 0 else h["lag_seconds"],
                     "wal_receiver": h["wal_receiver"], "slot": _slot(h["slot"]), "sync_state": h["sync_state"],
                     "fence": fence_state(h["fence"])})
    return rows, hosts


def redis_rows(hosts):
    hosts = redis_decision.normalize(hosts, None)[0]
    masters = [h for h in hosts if h["reachable"] and h["role"] == "master"]
    reference = redis_info.offset(masters[0]["info"]) if len(masters) == 1 else None
    rows = []
    for h in hosts:
        off = redis_info.offset(h["info"]) if h["info"] else None
        lag = 0 if h in masters else None
        if h["role"] == "replica" and off is not None and reference is not None:
            lag = max(reference - off, 0)
        link = h["info"].get("master_link_status") if h["role"] == "replica" else None
        rows.append({"host": h["host"], "role": _role(h, h in masters) if h["reachable"] else "unreachable",
                     "link": link, "offset": off, "lag_bytes": lag, "fence": fence_state(h["fence"])})
    return rows, hosts


def _warnings(pg_rows, pg_hosts, redis_rows_, app):
    out = []
    for kind, rows, role in (("PostgreSQL", pg_rows, "primary"), ("Redis", redis_rows_, "master")):
        writable = [r["host"] for r in rows if r["role"] == role]
        if len(writable) > 1:
            out.append("split brain: more than one %s %s: %s" % (kind, role, ", ".join(writable)))
        if rows and not writable:
            out.append("no %s %s answers" % (kind, role))
        out.extend("%s %s has a pending fence: it is applied first when the host answers" % (kind, r["host"])
                   for r in rows if r["fence"] == "pending")
    for h in pg_hosts:
        if h["reachable"] and h["role"] == "replica" and h["wal_receiver"] != "streaming":
            out.append("PostgreSQL replica %s is not streaming (wal receiver: %s)" % (
                h["host"], h["wal_receiver"] or "not running"))
        slot = h["slot"] or {}
        if slot and (not slot.get("active") or slot.get("wal_status") == "lost"):
            out.append("replication slot %s of %s is %s" % (slot.get("name"), h["host"], _slot(slot)))
    out.extend("Redis replica %s's link is %s" % (r["host"], r["link"]) for r in redis_rows_
               if r["role"] == "replica" and r["link"] != "up")
    for key, rows, role in (("points_at", pg_rows, "primary"), ("redis_points_at", redis_rows_, "master")):
        target = (app or {}).get(key)
        writable = [r["host"] for r in rows if r["role"] == role]
        if target and writable and target not in writable:
            out.append("the application points at %s, which is not the %s (%s)" % (target, role, ", ".join(writable)))
    return out


def build_status(postgresql=(), redis=(), app=None):
    """``{"postgresql": rows, "redis": rows, "app": {...}, "warnings": [...]}``, JSON-able."""
    pg_rows, pg_hosts = postgresql_rows(postgresql)
    r_rows = redis_rows(redis)[0]
    app = dict(app or {})
    return {"postgresql": pg_rows, "redis": r_rows, "app": app,
            "warnings": _warnings(pg_rows, pg_hosts, r_rows, app)}


def render_table(rows, columns):
    """A plain text table: a header, a rule, one line a row; None prints as ``-``."""
    cells = [[str(c) for c in columns]] + [["-" if r.get(c) is None else str(r.get(c)) for c in columns]
                                           for r in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_status(report):
    """The whole report as text: the tables, what the app points at, the warnings."""
    parts = []
    if report["postgresql"]:
        parts += ["PostgreSQL", render_table(report["postgresql"], PG_COLUMNS), ""]
    if report["redis"]:
        parts += ["Redis", render_table(report["redis"], REDIS_COLUMNS), ""]
    app = report["app"]
    if app:
        parts.append("Application %s: PostgreSQL %s, Redis %s" % (
            app.get("service") or "", app.get("points_at") or "-", app.get("redis_points_at") or "-"))
    parts += ["warning: %s" % w for w in report["warnings"]] or ["no warnings"]
    return "\n".join(parts).strip() + "\n"
