# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The observed facts the decisions read, and the failover policy: their shape, checked.

A PostgreSQL host (what ``replication_status`` reports; unknown keys are errors):

``host``          inventory name (required)
``reachable``     the host and its PostgreSQL answered (required)
``role``          ``primary`` | ``replica`` | ``fenced`` | ``unknown``; derived from ``in_recovery``
                  when left out (unreachable: unknown)
``in_recovery``   ``pg_is_in_recovery()``
``timeline``      its current timeline (``pg_control_checkpoint()`` or ``timeline_id``)
``current_lsn``   a primary's ``pg_current_wal_lsn()``
``receive_lsn``   a replica's ``pg_last_wal_receive_lsn()``
``replay_lsn``    a replica's ``pg_last_wal_replay_lsn()``
``primary_lsn``   ``pg_stat_wal_receiver.latest_end_lsn``: the primary's position as last reported,
                  or the old primary's last position known otherwise (``pg_controldata`` after a
                  clean shutdown)
``lag_seconds``   how old the newest data the replica has not replayed is (0 when nothing is behind)
``wal_receiver``  ``pg_stat_wal_receiver.status`` (``streaming``, ``catchup``, ...), None without a row
``upstream``      ``pg_stat_wal_receiver.sender_host`` as an inventory name
``slot``          its replication slot on the primary: ``{"name", "active", "wal_status"}``
``sync_state``    ``pg_stat_replication.sync_state`` on the primary (``async``, ``potential``,
                  ``sync``, ``quorum``)
``fence``         the fence record (``fence.make_record``) found on the host or held for it
                  on the controller, or None

The policy (all optional): ``max_lag_bytes`` (1 MiB, Patroni's ``maximum_lag_on_failover``),
``max_lag_seconds`` (30), ``force``, ``synchronous`` (names of the configured synchronous
standbys; empty: asynchronous), ``priorities`` (``{host: n}``, default 1, higher first, 0 never
promoted, like repmgr's ``priority``), ``candidate`` (the operator's choice), ``primary`` (the
primary the inventory or the last failover record names).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils.failover import lsn

ROLES = ("primary", "replica", "fenced", "unknown")
HOST_KEYS = ("host", "reachable", "role", "in_recovery", "timeline", "current_lsn", "receive_lsn", "replay_lsn",
             "primary_lsn", "lag_seconds", "wal_receiver", "upstream", "slot", "sync_state", "fence")
LSN_KEYS = ("current_lsn", "receive_lsn", "replay_lsn", "primary_lsn")
POLICY_DEFAULTS = {"max_lag_bytes": 1 << 20, "max_lag_seconds": 30, "force": False, "synchronous": (),
                   "priorities": {}, "candidate": None, "primary": None}


def number(value, what, integer=False):
    kinds = (int,) if integer else (int, float)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, kinds) or value < 0:
        raise LifeboatError("%s must be a %snumber >= 0, not %r" % (what, "whole " if integer else "", value))
    return value


def fence_state(record):
    """``None`` (no record), ``pending`` (held on the controller), ``applied`` or ``lifted``."""
    return record.get("state") if record else None


def normalize_host(facts):
    """A copy of one host's facts with every key present, LSNs as byte positions, the role derived."""
    if not isinstance(facts, dict) or not facts.get("host"):
        raise LifeboatError("host facts need a 'host' name, got %r" % (facts,))
    unknown = sorted(set(facts) - set(HOST_KEYS))
    if unknown:
        raise LifeboatError("%s: unknown fact(s) %s (known: %s)" % (facts["host"], ", ".join(unknown),
                                                                    ", ".join(HOST_KEYS)))
    if not isinstance(facts.get("reachable"), bool):
        raise LifeboatError("%s: 'reachable' must be true or false" % facts["host"])
    out = dict((key, facts.get(key)) for key in HOST_KEYS)
    for key in LSN_KEYS:
        out[key] = lsn.parse_lsn(out[key])
    out["timeline"] = number(out["timeline"], "%s: timeline" % out["host"], integer=True)
    out["lag_seconds"] = number(out["lag_seconds"], "%s: lag_seconds" % out["host"])
    if out["role"] is None:
        if not out["reachable"] or out["in_recovery"] is None:
            out["role"] = "unknown"
        else:
            out["role"] = "replica" if out["in_recovery"] else "primary"
    if out["role"] not in ROLES:
        raise LifeboatError("%s: role %r is not one of %s" % (out["host"], out["role"], ", ".join(ROLES)))
    return out


def normalize_hosts(hosts):
    """Every host normalised, sorted by name (so that the input order never matters); names unique."""
    out = sorted((normalize_host(h) for h in hosts or ()), key=lambda h: h["host"])
    names = [h["host"] for h in out]
    twice = sorted(set(n for n in names if names.count(n) > 1))
    if twice:
        raise LifeboatError("host(s) %s listed twice in the facts" % ", ".join(twice))
    return out


def merge_policy(policy, defaults, what="failover policy"):
    """``policy`` over ``defaults`` (None keeps the default); unknown keys and a non-boolean force are errors."""
    policy = dict(policy or {})
    unknown = sorted(set(policy) - set(defaults))
    if unknown:
        raise LifeboatError("unknown %s key(s) %s (known: %s)" % (
            what, ", ".join(unknown), ", ".join(sorted(defaults))))
    out = dict(defaults)
    out.update((k, v) for k, v in policy.items() if v is not None)
    if not isinstance(out["force"], bool):
        raise LifeboatError("force must be true or false, not %r" % (out["force"],))
    return out


def normalize_policy(policy):
    """The policy with defaults filled in; unknown keys and impossible values are errors."""
    out = merge_policy(policy, POLICY_DEFAULTS)
    out["max_lag_bytes"] = number(out["max_lag_bytes"], "max_lag_bytes", integer=True)
    out["max_lag_seconds"] = number(out["max_lag_seconds"], "max_lag_seconds")
    if isinstance(out["synchronous"], str):
        out["synchronous"] = [out["synchronous"]]
    out["synchronous"] = tuple(sorted(out["synchronous"]))
    for host, value in out["priorities"].items():
        number(value, "priority of %s" % host, integer=True)
    return out


def wal_position(host):
    """How far a normalised host's WAL goes: a primary's ``current_lsn``, a replica's received or replayed."""
    if host["role"] == "primary" and host["current_lsn"] is not None:
        return host["current_lsn"]
    known = [p for p in (host["receive_lsn"], host["replay_lsn"]) if p is not None]
    return max(known) if known else None


def priority(policy, host):
    return policy["priorities"].get(host, 1)
