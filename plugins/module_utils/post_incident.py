# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A post-incident report from what a run recorded: the facts the reference plans ask a person to gather
(timeline, RTO achieved, data lost, actions taken) read from the JSON record of a failover, a rebuild or a
drill, set against the runbook's objectives, with the checklist items only a person can do left open.

Pure functions: ``summary(record, runbook)`` gives the facts as one dict that a template (a Jinja template
users can replace) renders; nothing here reads files or the clock.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json

from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils.rebuild import parse_time

# The post-incident checklists of the reference plans (001's checklist, 004's review), in their order. The
# ``answered_by`` key names the summary field that answers the item, when the record does.
CHECKLIST = (
    {"item": "Document what happened (who, what, when, where, why)"},
    {"item": "Calculate the RTO achieved", "answered_by": "rto"},
    {"item": "Calculate the data loss (RPO)", "answered_by": "rpo"},
    {"item": "Root cause analysis"},
    {"item": "Impact assessment: users affected, downtime, financial impact"},
    {"item": "Review the monitoring alerts: did they fire, and when?"},
    {"item": "Test backup and restore if not already done"},
    {"item": "Update the runbook with what was learned"},
    {"item": "Schedule the post-mortem meeting (within 48 hours)"},
    {"item": "Action items, each with an owner and a due date"},
)

# The runbook scenario a record stands for, when the record does not name its incident.
_SCENARIO_OF_FAILOVER = {"datacenter_failure": "datacenter_loss"}
# The drill's phases in the order it runs them (its summary's keys are sorted).
DRILL_PHASES = ("install_agent", "write_data", "backup", "destroy", "restore", "verify", "pitr", "failover")
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def _moment(value):
    """An epoch number or an ISO text (``Z``, an offset, PostgreSQL's ``+00``) as an aware datetime, or None."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
    return parse_time(str(value).strip().replace(" ", "T"))


def _iso(value):
    """``YYYY-MM-DDTHH:MM:SSZ`` (UTC); None stays None, and a text that is no time is kept as it is."""
    moment = _moment(value)
    if moment is None:
        return None if value in (None, "") else str(value)
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def kind(record):
    """``failover``, ``rebuild`` or ``drill``; a LifeboatError naming what was expected otherwise."""
    if not isinstance(record, dict):
        raise LifeboatError("the record is not a JSON object (a failover, rebuild or drill record)")
    if "incident" in record and "steps" in record and "plan" in record:
        return "failover"
    if isinstance(record.get("phases"), list) and "rto_seconds" in record:
        return "rebuild"
    if isinstance(record.get("phases"), dict) and "result" in record:
        return "drill"
    raise LifeboatError("the record is not one Lifeboat writes: a failover record has incident, plan and steps, a "
                        "rebuild report phases and rto_seconds, a drill summary phases and result (keys found: %s)"
                        % ", ".join(sorted(record)) if record else "the record is empty")


def _incident(runbook, record_kind, record, incident_id):
    """The runbook's incident for this record: the id given, else the record's own, else by scenario."""
    incidents = (runbook or {}).get("incidents") or []
    wanted = incident_id or record.get("runbook_id")
    if wanted:
        for incident in incidents:
            if incident.get("id") == wanted:
                return incident
        if incident_id:
            raise LifeboatError("the runbook has no incident %s (it has %s)"
                                % (incident_id, ", ".join(i.get("id", "?") for i in incidents) or "none"))
        return {"id": wanted}
    scenario = None
    if record_kind == "failover":
        scenario = _SCENARIO_OF_FAILOVER.get(record["incident"], record["incident"])
    elif record_kind == "rebuild":
        scenario = "server_loss"
    for incident in incidents:
        if scenario and incident.get("scenario") == scenario:
            return incident
    return {}


def _met(achieved, objective):
    if achieved is None or objective is None:
        return None
    return achieved <= objective


# failover.yml records that are not a recovery: nothing to review in them.
_NOT_RECOVERIES = {
    "status": "a status report",
    "rejoin": "the rejoin after a failover (make the report from the failover's own record)",
}


def _failover(record):
    figures = record.get("figures") or {}
    plan = record.get("plan") or {}
    if record.get("check_mode"):
        raise LifeboatError("the record is of a run in check mode (a simulation: nothing was recovered)")
    if record["incident"] in _NOT_RECOVERIES:
        raise LifeboatError("the record is %s, not a recovery" % _NOT_RECOVERIES[record["incident"]])
    if not (record.get("steps") or plan.get("steps")) and not plan.get("refusal") and record.get("ok"):
        # INC-005's record holds the plan; the recovery is rebuild.yml's, whose report has the phases.
        raise LifeboatError(
            "the record holds %s's plan only (%s); the recovery's facts are in the report of the playbook that ran "
            "it (rebuild.yml prints it as Report: PATH): make the report from that one, with -e incident=%s"
            % (record["incident"], plan.get("outcome") or "no steps", record.get("runbook_id") or "ID"))
    steps = record.get("steps") or plan.get("steps") or []
    actions = ["%s: %s" % (step.get("host", ""), step.get("detail") or step.get("action")) for step in steps]
    timeline = [{"at": _iso(record.get("started")), "what": "%s started" % record["incident"]}]
    for name, label in (("fenced_after_seconds", "old primary fenced"), ("writable_after_seconds", "new primary writable")):
        if figures.get(name) is not None:
            timeline.append({"after_seconds": round(figures[name], 1), "what": label})
    timeline.append({"at": _iso(record.get("ended")), "what": "%s ended (%s)" % (
        record["incident"], "recovered" if record.get("ok") else "FAILED")})
    loss = plan.get("data_loss") or {}
    # The time to recovery: the new primary took a write, or the restarted service answered its health check.
    achieved = figures.get("writable_after_seconds", figures.get("healthy_after_seconds"))
    return {
        "host": plan.get("old_primary") or record.get("host"),
        "started": _iso(record.get("started")), "ended": _iso(record.get("ended")),
        "duration_seconds": record.get("seconds"),
        "ok": bool(record.get("ok")), "failure": record.get("failure") or (plan.get("refusal") or None),
        "timeline": timeline, "actions": actions, "rto_seconds": achieved,
        "rpo": [{"service": "database", "seconds": loss.get("seconds"),
                 "detail": "%s bytes of WAL (%s s of writes) were not on the promoted replica"
                           % (loss.get("bytes"), loss.get("seconds"))}] if loss else [],
        "writes": None, "notes": plan.get("notes") or [], "downtime_seconds": None,
    }


def _rebuild(record):
    phases = record.get("phases") or []
    names = set(p["name"] for p in phases)
    timeline = [{"at": _iso(p.get("start")), "what": p["name"], "seconds": p.get("seconds")} for p in phases]
    if record.get("lost_at"):
        timeline.append({"at": _iso(record["lost_at"]), "what": "%s lost" % record.get("host")})
    if record.get("healthy_at"):
        timeline.append({"at": _iso(record["healthy_at"]), "what": "/healthz answered 200 at %s" % record.get("address")})
    # In time order; an event and a phase in the same second: the event first.
    timeline.sort(key=lambda event: (_moment(event["at"]) or _EPOCH,
                                     event.get("seconds") is not None or event["what"] in names))
    lost, healthy = _moment(record.get("lost_at")), _moment(record.get("healthy_at"))
    actions = ["%s: %s" % (p["name"], "%s s" % p.get("seconds")) for p in phases]
    for name, restored in sorted((record.get("restored") or {}).items()):
        backup = ", " + restored["backup_id"] if restored.get("backup_id") else ""
        actions.append("restored %s (%s%s)" % (name, restored.get("how", "backup"), backup))
    ends = [p.get("end") for p in phases if p.get("end")]
    rpo = [{"service": name, "seconds": entry.get("seconds"), "objective_seconds": entry.get("objective_seconds"),
            "data_time": _iso(entry.get("data_time"))} for name, entry in sorted((record.get("rpo") or {}).items())]
    failed = record.get("verify_failed") or []
    return {
        "host": record.get("host"), "started": _iso(record.get("started")), "ended": _iso(ends[-1]) if ends else None,
        "duration_seconds": round(sum(p.get("seconds") or 0 for p in phases), 1),
        "ok": not failed, "failure": ("verification failed: %s" % ", ".join(failed)) if failed else None,
        "timeline": timeline, "actions": actions, "rto_seconds": record.get("rto_seconds"),
        "rto_objective_seconds": record.get("rto_objective_seconds"), "rpo": rpo, "writes": None,
        "notes": [] if record.get("lost_at") else ["the time of the loss was not given (rebuild_lost_at): no downtime"],
        "downtime_seconds": round((healthy - lost).total_seconds(), 1) if lost and healthy else None,
    }


def _drill(record):
    phases = record.get("phases") or {}
    order = [name for name in DRILL_PHASES if name in phases] + sorted(
        name for name in phases if name not in DRILL_PHASES and name != "total")
    timeline = [{"what": name, "seconds": phases[name]} for name in order]
    failover = record.get("failover") or {}
    pitr = record.get("pitr") or {}
    actions = ["%s: %s" % (service.get("name"), service.get("result")) for service in record.get("services") or []]
    rpo = []
    if pitr.get("lost_seconds") is not None:
        rpo.append({"service": "postgresql (PITR)", "seconds": pitr["lost_seconds"],
                    "objective_seconds": pitr.get("rpo_limit")})
    writes = None
    if failover.get("acknowledged") is not None:
        writes = {"acknowledged": failover["acknowledged"], "lost": failover.get("lost")}
    return {
        "host": record.get("host"), "started": _iso(record.get("started")), "ended": _iso(record.get("ended")),
        "duration_seconds": phases.get("total"), "ok": record.get("result") == "PASS",
        "failure": None if record.get("result") == "PASS" else "the drill's result is %s" % record.get("result"),
        "timeline": timeline, "actions": actions,
        "rto_seconds": failover.get("writable_after_seconds"), "rpo": rpo, "writes": writes, "notes": [],
        "downtime_seconds": None,
    }


def summary(record, runbook=None, incident_id=None, source=None):
    """The facts of a post-incident report, from a failover record, a rebuild report or a drill summary
    (parsed, or its JSON text).

    ``runbook`` (the inventory's ``lifeboat_runbook``) gives the incident's title, severity, objectives and the
    decisions a person took; ``incident_id`` picks the incident when the record does not name it."""
    if isinstance(record, (str, bytes)):
        try:
            record = json.loads(record)
        except ValueError as exc:
            raise LifeboatError("the record %sis not JSON: %s" % (source + " " if source else "", exc))
    record_kind = kind(record)
    facts = {"failover": _failover, "rebuild": _rebuild, "drill": _drill}[record_kind](record)
    incident = _incident(runbook, record_kind, record, incident_id)
    objectives = {o.get("service"): o for o in (runbook or {}).get("objectives") or []}
    rto_objective = facts.pop("rto_objective_seconds", None)
    if rto_objective is None and incident.get("rto_minutes") is not None:
        rto_objective = incident["rto_minutes"] * 60
    # Every entry has every key (None when the record lacks it): templates need not guard each one.
    facts["timeline"] = [dict({"at": None, "after_seconds": None, "seconds": None}, **event) for event in facts["timeline"]]
    facts["rpo"] = [dict({"seconds": None, "objective_seconds": None, "data_time": None, "detail": None}, **entry)
                    for entry in facts["rpo"]]
    for entry in facts["rpo"]:
        if entry.get("objective_seconds") is None:
            # A rebuild's services have their own objectives (the runbook's per service); the incident's RPO is
            # for the one figure of a failover or a drill.
            fallback = None if record_kind == "rebuild" else incident.get("rpo_minutes")
            objective = objectives.get(entry["service"], {}).get("rpo_minutes", fallback)
            entry["objective_seconds"] = objective * 60 if objective is not None else None
        entry["met"] = _met(entry.get("seconds"), entry.get("objective_seconds"))
    facts.update({
        "kind": record_kind, "source": source,
        "incident": {key: incident.get(key) for key in ("id", "title", "severity", "scenario", "detection")},
        "decisions": list(incident.get("decisions") or []),
        "rto": {"seconds": facts.pop("rto_seconds"), "objective_seconds": rto_objective},
    })
    facts["rto"]["met"] = _met(facts["rto"]["seconds"], rto_objective)
    answered = {"rto": facts["rto"]["seconds"] is not None, "rpo": bool(facts["rpo"]) or facts["writes"] is not None}
    facts["checklist"] = [{"item": entry["item"], "done": answered.get(entry.get("answered_by"), False)}
                          for entry in CHECKLIST]
    return facts
