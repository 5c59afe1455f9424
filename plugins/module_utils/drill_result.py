# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a drill run decides, apart from running it: which scenarios a ``scenario`` argument selects, and the
result document (``kind: lifeboat-drill``, version 1) from what each scenario measured, held against the
runbook's objectives. A scenario passes only when every check passed and both objectives were met; one
that cannot run yet is reported as ``not_runnable`` with the reason, never as passed.

A measurement (what the drill's tasks collect per scenario) is a dict with any of: ``started``, ``finished``
(UTC, ``...Z``), ``rto_seconds`` (None when the recovery never finished), ``rpo_seconds``,
``restored_data_age_seconds``, ``writes`` (``acknowledged``, ``lost``), ``breakdown`` (``detection_seconds``,
``decision_seconds``, ``execution_seconds``, ``verification_seconds``), ``phases`` (``name``, ``start``,
``end``, ``seconds``), ``checks`` (``name``, ``result`` PASS/FAIL, ``detail``), ``record``, ``failure``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lifeboat.dr.plugins.module_utils import runbook as runbook_mod

KIND = "lifeboat-drill"
VERSION = 1
# The order "all" runs them in: scenarios that leave the lab changed (the database fails over) come last.
RUN_ORDER = ("service_failure", "db_corruption", "vector_store_corruption", "accidental_deletion", "redis_failure",
             "server_loss", "datacenter_loss", "security_breach", "database_failure")
BREAKDOWN = ("detection_seconds", "decision_seconds", "execution_seconds", "verification_seconds")


class DrillError(Exception):
    pass


def select(scenario):
    """The scenario names an argument selects, in run order: ``all``, one name, or a comma-separated list."""
    if scenario is None or str(scenario).strip() in ("", "all"):
        return list(RUN_ORDER)
    names = [n.strip() for n in str(scenario).split(",") if n.strip()]
    unknown = [n for n in names if n not in runbook_mod.BY_NAME]
    if unknown:
        raise DrillError("unknown drill scenario %s; known: all, %s" % (
            ", ".join(repr(n) for n in unknown), ", ".join(RUN_ORDER)))
    return [n for n in RUN_ORDER if n in names]


def _incident(runbook, name):
    for incident in (runbook or {}).get("incidents") or []:
        if incident.get("scenario") == name:
            return incident
    return None


def _seconds(minutes):
    return None if minutes is None else round(float(minutes) * 60, 3)


def _figure(achieved, objective):
    met = None if objective is None else (achieved is not None and achieved <= objective)
    return achieved, objective, met


def scenario_result(name, runbook, measured=None, not_runnable=None):
    """One scenario's entry. ``measured`` None with ``not_runnable`` (a reason) reports it as not runnable."""
    if name not in runbook_mod.BY_NAME:
        raise DrillError("unknown drill scenario %r" % name)
    incident = _incident(runbook, name)
    entry = {"name": name, "incident": incident.get("id") if incident else None,
             "title": runbook_mod.BY_NAME[name].title, "status": None, "reason": None, "started": None,
             "finished": None, "rto": None, "rpo": None, "writes": None, "breakdown": None, "phases": [],
             "checks": [], "record": None}
    if measured is None:
        entry["status"] = "not_runnable"
        entry["reason"] = not_runnable or runbook_mod.BY_NAME[name].not_yet or "the drill did not run it"
        return entry
    objective_rto = _seconds(incident.get("rto_minutes")) if incident else None
    objective_rpo = _seconds(incident.get("rpo_minutes")) if incident else None
    rto, rto_objective, rto_met = _figure(measured.get("rto_seconds"), objective_rto)
    rpo, rpo_objective, rpo_met = _figure(measured.get("rpo_seconds"), objective_rpo)
    checks = [{"name": c["name"], "result": "PASS" if c.get("result") in (True, "PASS") else "FAIL",
               "detail": c.get("detail")} for c in measured.get("checks") or []]
    breakdown = measured.get("breakdown")
    phases = list(measured.get("phases") or [])
    entry.update({
        "started": measured.get("started") or (phases[0]["start"] if phases else None),
        "finished": measured.get("finished") or (phases[-1]["end"] if phases else None),
        "rto": {"achieved_seconds": rto, "objective_seconds": rto_objective, "met": rto_met},
        "rpo": {"achieved_seconds": rpo, "objective_seconds": rpo_objective, "met": rpo_met,
                "restored_data_age_seconds": measured.get("restored_data_age_seconds")},
        "writes": measured.get("writes"),
        "breakdown": dict((k, (breakdown or {}).get(k)) for k in BREAKDOWN) if breakdown is not None else None,
        "phases": phases,
        "checks": checks, "record": measured.get("record")})
    reasons = []
    if measured.get("failure"):
        reasons.append(str(measured["failure"]))
    reasons += ["check failed: %s%s" % (c["name"], " (%s)" % c["detail"] if c.get("detail") else "")
                for c in checks if c["result"] != "PASS"]
    if rto is None:
        reasons.append("the recovery did not finish")
    elif rto_met is False:
        reasons.append("RTO %.1f s missed the objective of %.0f s" % (rto, rto_objective))
    if rpo_met is False:
        rpo_text = "unknown" if rpo is None else "%.1f s" % rpo
        reasons.append("RPO %s missed the objective of %.0f s" % (rpo_text, rpo_objective))
    if not checks:
        reasons.append("the scenario checked nothing")
    entry["status"] = "failed" if reasons else "passed"
    entry["reason"] = "; ".join(reasons) if reasons else None
    return entry


def document(environment, started, finished, entries):
    """The drill's result: PASS only when every scenario that ran passed and at least one ran."""
    ran = [e for e in entries if e["status"] != "not_runnable"]
    result = "PASS" if ran and all(e["status"] == "passed" for e in ran) else "FAIL"
    return {"kind": KIND, "version": VERSION, "environment": environment, "started": started,
            "finished": finished, "result": result, "scenarios": list(entries)}


def build(runbook, selected, measured, started, finished, not_runnable=None):
    """The whole document for the ``selected`` scenarios: ``measured`` maps a scenario to its measurement,
    ``not_runnable`` a scenario to the reason it cannot run here (else the runbook's)."""
    not_runnable = not_runnable or {}
    entries = []
    for name in selected:
        if name in (measured or {}):
            entries.append(scenario_result(name, runbook, measured[name]))
        else:
            entries.append(scenario_result(name, runbook, None, not_runnable.get(name)))
    return document((runbook or {}).get("environment"), started, finished, entries)


def rpo_of_lost_writes(lost, interval):
    """The RPO a writer measures: the span of acknowledged writes lost (0 when none was)."""
    return round(float(lost) * float(interval), 3)


def _iso(timestamp):
    import datetime
    return datetime.datetime.fromtimestamp(float(timestamp), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def phases(marks):
    """Phases from ``marks``, a list of ``[name, epoch seconds]`` in order: each phase runs from its mark to the
    next one; the last mark only ends the one before it."""
    found = []
    for (name, start), (_next, end) in zip(marks, marks[1:]):
        found.append({"name": name, "start": _iso(start), "end": _iso(end),
                      "seconds": round(float(end) - float(start), 3)})
    return found


def span(marks, first, last):
    """Seconds from mark ``first`` to mark ``last`` (None when either is missing)."""
    times = dict((name, float(at)) for name, at in marks)
    if first not in times or last not in times:
        return None
    return round(times[last] - times[first], 3)


def _figure_text(figure):
    if not figure:
        return "-"
    achieved = "-" if figure.get("achieved_seconds") is None else "%.1f" % figure["achieved_seconds"]
    objective = "-" if figure.get("objective_seconds") is None else "%.0f" % figure["objective_seconds"]
    return "%s (%s)" % (achieved, objective)


def table_row(entry):
    """One scenario as a line of the drill's terminal table."""
    writes = entry.get("writes")
    lost = "-" if not writes else "%s/%s" % (writes.get("lost"), writes.get("acknowledged"))
    columns = (entry["name"], entry["status"].upper(), _figure_text(entry.get("rto")), _figure_text(entry.get("rpo")),
               lost, entry.get("reason") or "")
    return "%-24s %-12s %-16s %-16s %-9s %s" % columns
