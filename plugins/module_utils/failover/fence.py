# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fence record and the start-time check that obeys it.

A fenced server keeps a JSON record beside its data (and the controller and the new
primary keep copies):

    {"version": 1, "host": "app1", "time": "2025-01-02T03:04:05Z", "reason": "...",
     "incident": "INC-003", "by": "failover.yml (operator alice)", "successor": "db2",
     "state": "applied", "lifted": null}

``state`` is ``pending`` while the host could not be reached (the copy on the controller
and on the successor; applied the moment the host answers), ``applied`` on the host, and
``lifted`` once a rejoin made it a replica of ``lifted["primary"]``. The unit's start-time
check (``may_start``) refuses to start PostgreSQL while any copy is not lifted, and
after a lift allows it only as a replica: only a later failover promotes it again.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError

VERSION = 1
STATES = ("pending", "applied", "lifted")
REQUIRED = ("version", "host", "time", "reason", "incident", "by", "successor", "state", "lifted")


def _stamp(when):
    """ISO 8601 UTC with a Z: the record's times (``when`` is an aware datetime or such a string)."""
    if isinstance(when, str):
        return when
    if when.utcoffset() is None:
        raise LifeboatError("fence times must be aware datetimes (UTC), not %r" % (when,))
    return (when - when.utcoffset()).replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def make_record(host, reason, incident, by, when, successor=None, state="applied"):
    """A new fence record (a dict, see the module docstring)."""
    if state not in ("pending", "applied"):
        raise LifeboatError("a new fence record is pending or applied, not %r" % (state,))
    for name, value in (("host", host), ("reason", reason), ("by", by)):
        if not isinstance(value, str) or not value.strip():
            raise LifeboatError("a fence record needs a %s" % name)
    return {"version": VERSION, "host": host, "time": _stamp(when), "reason": reason, "incident": incident,
            "by": by, "successor": successor, "state": state, "lifted": None}


def dump_record(record):
    """The record as the file holds it: JSON, sorted keys, one trailing newline."""
    return json.dumps(check_record(record), sort_keys=True, indent=2) + "\n"


def load_record(text, source="fence record"):
    """The record in ``text``; a record that cannot be read is an error (the caller fails closed)."""
    try:
        record = json.loads(text)
    except ValueError as exc:
        raise LifeboatError("%s is not valid JSON (%s): treat the host as fenced until it is repaired" % (
            source, exc))
    return check_record(record, source)


def read_record_file(path):
    """The fence record kept in ``path``, or None when there is none. An unreadable record raises."""
    if not os.path.exists(path):
        return None
    with open(path) as handle:
        return load_record(handle.read(), "fence record %s" % path)


def check_record(record, source="fence record"):
    if not isinstance(record, dict):
        raise LifeboatError("%s must be a JSON object, not %r" % (source, type(record).__name__))
    missing = [key for key in REQUIRED if key not in record]
    if missing:
        raise LifeboatError("%s lacks %s" % (source, ", ".join(missing)))
    if record["version"] != VERSION:
        raise LifeboatError("%s has version %r; this Lifeboat reads version %d" % (source, record["version"], VERSION))
    if record["state"] not in STATES:
        raise LifeboatError("%s has state %r (expected %s)" % (source, record["state"], ", ".join(STATES)))
    if (record["state"] == "lifted") != isinstance(record["lifted"], dict):
        raise LifeboatError("%s: state %s does not match its 'lifted' entry %r" % (
            source, record["state"], record["lifted"]))
    return record


def applied(record):
    """A pending record, as written on the host when it answers again."""
    out = dict(check_record(record))
    if out["state"] == "lifted":
        raise LifeboatError("the fence of %s was lifted (%s): it is not applied again" % (
            out["host"], out["lifted"]["time"]))
    out["state"] = "applied"
    return out


def lifted(record, primary, when, by):
    """The record once a rejoin made its host a replica of ``primary``; only a rejoin lifts a fence."""
    out = dict(check_record(record))
    out["state"] = "lifted"
    out["lifted"] = {"time": _stamp(when), "by": by, "primary": primary, "incident": "rejoin"}
    return out


def may_start(host, record, standby, cluster=None):
    """May PostgreSQL on ``host`` start now? ``{"allowed", "as", "reason"}`` (``as``: primary, replica, None).

    ``record``: the local fence record (dict) or None; ``standby``: the server would start in
    recovery (standby.signal); ``cluster``: what the peers that answered report,
    ``{"answered": [names], "primaries": [names of other hosts that are primary],
    "fences": [copies of fence records they hold for this host]}``.
    """
    cluster = cluster or {}
    copies = ([check_record(record, "the local fence record")] if record else []) + [
        check_record(c, "a peer's fence record") for c in cluster.get("fences") or ()]
    others = [c for c in copies if c["host"] != host]
    if others:
        return _no("%s holds a fence record for %s: refusing to start until it is checked" % (host, others[0]["host"]))
    active = [c for c in copies if c["state"] != "lifted"]
    if active:
        first = sorted(active, key=lambda c: c["time"])[0]
        return _no("%s is fenced since %s by %s (%s, incident %s, successor %s): it must not start; rejoin it "
                   "(-e incident=rejoin) to lift the fence" % (host, first["time"], first["by"], first["reason"],
                                                               first["incident"], first["successor"]))
    if copies:
        lift = sorted(copies, key=lambda c: c["lifted"]["time"])[-1]["lifted"]
        if not standby:
            return _no("%s's fence was lifted by a rejoin on %s to follow %s: it may start only as a replica "
                       "(standby.signal is missing)" % (host, lift["time"], lift["primary"]))
        return {"allowed": True, "as": "replica", "reason": "fence lifted by a rejoin on %s: starting as a replica "
                                                            "of %s" % (lift["time"], lift["primary"])}
    if standby:
        return {"allowed": True, "as": "replica", "reason": "no fence record: starting as a replica"}
    primaries = sorted(p for p in cluster.get("primaries") or () if p != host)
    if primaries:
        return _no("%s reports being the primary: %s must not start as a second primary; rejoin it" % (
            " and ".join(primaries), host))
    answered = sorted(cluster.get("answered") or ())
    return {"allowed": True, "as": "primary", "reason": "no fence record and no other primary (%s)" % (
        "peers asked: %s" % ", ".join(answered) if answered else "no peer answered")}


def _no(reason):
    return {"allowed": False, "as": None, "reason": reason}
