# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A DNS switch's decisions: what each authoritative server answers, whether they all answer
the new value, what to roll back to. Pure functions: ``dns_verify`` (the module) asks the
servers, the ``dns_switch`` role sends the update with the well-kept modules, and both read
these answers.

An observation is what one server said, as ``dns_verify`` records it::

    {"server": "ns2.lab.test.", "address": "172.30.57.251", "values": ["172.30.57.9"],
     "ttl": 60, "serial": 2026120702, "authoritative": True, "error": None}

A server counts as switched only when it answers authoritatively (the AA flag: a cache or a
forwarder proves nothing), with exactly the expected set of values, and, when a TTL is
expected, with that TTL. A server that does not answer is never counted as switched: the
switch is proven on every authoritative server or not at all.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

TYPES = ("A", "AAAA", "CNAME", "TXT")


class DnsSwitchError(Exception):
    """A request the switch refuses (bad values, nothing to compare)."""


def absolute_name(name, zone):
    """``app`` in ``lab.test`` -> ``app.lab.test.``; an absolute name (trailing dot, or one that
    ends in the zone) stays what it is."""
    name = (name or "").strip()
    zone = (zone or "").strip().rstrip(".").lower()
    if not zone:
        raise DnsSwitchError("the zone is empty")
    if not name or name == "@":
        return zone + "."
    if name.endswith("."):
        return name.lower()
    lowered = name.lower()
    if lowered == zone or lowered.endswith("." + zone):
        return lowered + "."
    return "%s.%s." % (lowered, zone)


def canonical_value(rtype, value):
    """One value in the form servers' answers are compared in."""
    rtype = rtype.upper()
    text = str(value).strip()
    if rtype in ("A", "AAAA"):
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            raise DnsSwitchError("%r is not an IP address (record type %s)" % (text, rtype))
        if (rtype == "A") != (address.version == 4):
            raise DnsSwitchError("%s is not an IPv%s address (record type %s)" % (text, 4 if rtype == "A" else 6, rtype))
        return str(address)
    if rtype == "CNAME":
        if not text:
            raise DnsSwitchError("an empty CNAME target")
        return text.lower().rstrip(".") + "."
    if rtype == "TXT":
        if len(text) >= 2 and text[0] == text[-1] == '"':
            text = text[1:-1]
        return text
    raise DnsSwitchError("record type %s is not one the switch handles (%s)" % (rtype, ", ".join(TYPES)))


def canonical_values(rtype, values):
    """The sorted, de-duplicated canonical set; a CNAME has exactly one value."""
    if values is None:
        return None
    if isinstance(values, (str, bytes)):
        values = [values]
    result = sorted(set(canonical_value(rtype, v) for v in values))
    if rtype.upper() == "CNAME" and len(result) > 1:
        raise DnsSwitchError("a CNAME has one target, not %d (%s)" % (len(result), ", ".join(result)))
    return result


def server_label(observation):
    name = (observation.get("server") or "").rstrip(".")
    address = observation.get("address") or ""
    if name and address and name != address:
        return "%s (%s)" % (name, address)
    return name or address or "an unnamed server"


def server_state(observation, expected, expected_ttl=None):
    """``switched``, ``old`` (answers something else), ``unreachable`` or ``not authoritative``."""
    if observation.get("error"):
        return "unreachable"
    if not observation.get("authoritative"):
        return "not authoritative"
    if observation.get("values") != expected:
        return "old"
    if expected_ttl is not None and observation.get("ttl") != expected_ttl:
        return "old"
    return "switched"


def describe_answer(observation):
    if observation.get("error"):
        return observation["error"]
    values = observation.get("values") or []
    answer = ", ".join(values) if values else "no such record"
    extras = []
    if values and observation.get("ttl") is not None:
        extras.append("TTL %s" % observation["ttl"])
    if observation.get("serial") is not None:
        extras.append("serial %s" % observation["serial"])
    if not observation.get("authoritative"):
        extras.append("not authoritative")
    return answer + (" (%s)" % ", ".join(extras) if extras else "")


def assess(observations, expected, expected_ttl=None):
    """Whether every server answers the expected values (and TTL).

    Returns ``{"done", "states": {label: state}, "waiting": [labels], "summary"}``; with no
    server at all nothing is proven, so ``done`` is false.
    """
    states = {}
    waiting = []
    for observation in observations:
        label = server_label(observation)
        state = server_state(observation, expected, expected_ttl)
        states[label] = state
        if state != "switched":
            waiting.append("%s: %s" % (label, describe_answer(observation)))
    done = bool(observations) and not waiting
    if not observations:
        summary = "no authoritative server was found to ask"
    elif done:
        summary = "all %d authoritative servers answer %s" % (len(observations), ", ".join(expected) or "nothing")
    else:
        summary = "%d of %d servers do not answer %s yet: %s" % (
            len(waiting), len(observations), ", ".join(expected) or "nothing", "; ".join(waiting))
    return {"done": done, "states": states, "waiting": waiting, "summary": summary}


def current_answer(observations, primary=None):
    """The answer a rollback restores: the primary's (the server updates go to) when it answered
    authoritatively, else the one answer every answering server agrees on. Servers that
    disagree before the switch (a transfer still under way) leave no safe value: refused."""
    answered = [o for o in observations if not o.get("error") and o.get("authoritative")]
    if primary:
        wanted = [o for o in answered if primary in (o.get("address"), (o.get("server") or "").rstrip("."))]
        if wanted:
            return {"values": wanted[0]["values"], "ttl": wanted[0].get("ttl"), "serial": wanted[0].get("serial"),
                    "from": server_label(wanted[0])}
    if not answered:
        answers = "; ".join("%s: %s" % (server_label(o), describe_answer(o)) for o in observations)
        raise DnsSwitchError("no authoritative server answered, so the current record cannot be recorded for a "
                             "rollback: %s" % answers)
    distinct = set(tuple(o["values"]) for o in answered)
    if len(distinct) > 1:
        raise DnsSwitchError("the authoritative servers disagree before the switch, so there is no one answer to roll "
                             "back to: %s" % "; ".join("%s: %s" % (server_label(o), describe_answer(o)) for o in answered))
    first = answered[0]
    return {"values": first["values"], "ttl": first.get("ttl"), "serial": first.get("serial"),
            "from": server_label(first)}


def plan(observations, desired, desired_ttl, primary=None, lower_ttl_first=False):
    """What the switch will do, from the servers' answers before it.

    Returns ``{"change": bool, "current": ..., "desired": ..., "ttl": ..., "lower_ttl": seconds or None,
    "wait_seconds": seconds, "steps": [text]}``. ``lower_ttl`` is set when the old TTL is above the new
    one and ``lower_ttl_first``: the old value is first republished with the new TTL, and the switch
    waits the old TTL out, so that no resolver keeps the old answer longer than the new TTL.
    """
    if not desired:
        raise DnsSwitchError("no value to switch to")
    current = current_answer(observations, primary)
    everywhere = assess(observations, desired, desired_ttl)
    change = not everywhere["done"]
    lower = None
    wait = 0
    steps = []
    if change and lower_ttl_first and current["values"] and current["ttl"] is not None and current["ttl"] > desired_ttl:
        lower = desired_ttl
        wait = current["ttl"]
        steps.append("republish %s with TTL %d, then wait %d s (the old TTL) for caches to expire"
                     % (", ".join(current["values"]), desired_ttl, wait))
    if change:
        steps.append("set the record to %s (TTL %d), was %s (from %s)" % (
            ", ".join(desired), desired_ttl, ", ".join(current["values"]) or "no record", current["from"]))
        steps.append("ask each of the %d authoritative servers until all answer the new value" % len(observations))
        steps.append("when they do not within the deadline, set the record back to %s"
                     % (", ".join(current["values"]) or "no record (delete it)"))
    return {"change": change, "current": current, "desired": desired, "ttl": desired_ttl, "lower_ttl": lower,
            "wait_seconds": wait, "steps": steps,
            "summary": everywhere["summary"] if not change else "; ".join(steps)}
