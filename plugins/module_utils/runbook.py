# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runbook as data: the drill scenarios Lifeboat knows, the checks a runbook must pass beyond its
argument spec (references between its parts, and against the scenarios), and its renderings -
Markdown, self-contained HTML, and the JSON shape the reference plan kept (``.incidents[] |
select(.id=="INC-003")`` works on it).

A runbook (the inventory's ``lifeboat_runbook``; the ``runbook`` role's argument spec says each
field)::

    {"environment": "lab", "version": "...", "objectives": [{"service", "rto_minutes", "rpo_minutes"}],
     "contacts": [{"name", "role", "reach"}], "escalation": [{"level", "after_minutes", "contacts"}],
     "incidents": [{"id", "title", "severity", "detection", "scenario", "rto_minutes", "rpo_minutes",
                    "decisions": [...], "steps": [{"name", "run", "timeout_seconds", "verify",
                                                   "on_failure", "retries", "rollback_to"}]}]}
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import html
import json
import re

SEVERITIES = ("critical", "high", "medium", "low")
ON_FAILURE = ("retry", "rollback", "stop")


class Scenario:
    """A drill scenario: what recovers from it, and whether a drill can rehearse it today."""

    def __init__(self, name, title, recovery, drill=None, not_yet=None):
        self.name = name
        self.title = title
        self.recovery = recovery    # the playbook that recovers (what the runbook's steps run)
        self.drill = drill          # how a drill rehearses it today, or None
        self.not_yet = not_yet      # why it cannot be rehearsed yet

    def as_dict(self):
        return {"name": self.name, "title": self.title, "recovery": self.recovery, "drill": self.drill,
                "runnable": self.drill is not None, "not_yet": self.not_yet}


# The scenarios of issue 15's drills (playbooks/drill.yml -e scenario=NAME). A scenario whose recovery exists but
# whose own drill does not yet says so; the runbook may name it (the document then says it is not rehearsed),
# never one not listed. tests/unit/test_drill_result.py checks drill.yml runs exactly the ones with a drill.
_DRILLS_LATER = "its own drill scenario (playbooks/drill.yml -e scenario=NAME) is not written yet"
SCENARIOS = (
    Scenario("service_failure", "A backend service stops answering",
             "playbooks/failover.yml -e incident=service_failure -e service=UNIT",
             drill="playbooks/drill.yml -e scenario=service_failure (the app hangs while a client posts notes)"),
    Scenario("database_failure", "The PostgreSQL primary is down",
             "playbooks/failover.yml -e incident=database_failure",
             drill="playbooks/drill.yml -e scenario=database_failure (failover under load, writes lost counted)"),
    Scenario("redis_failure", "The Redis master is down",
             "playbooks/failover.yml -e incident=redis_failure",
             drill="playbooks/drill.yml -e scenario=redis_failure (the master stops while a client writes)"),
    Scenario("db_corruption", "The database runs but its data is damaged",
             "playbooks/restore.yml -e lifeboat_type=pitr|full -e lifeboat_confirm=yes",
             drill="playbooks/drill.yml -e scenario=db_corruption (destroy, restore from offsite, recover to points "
                   "in time)"),
    Scenario("accidental_deletion", "Rows deleted by mistake",
             "playbooks/restore.yml -e lifeboat_type=missing_rows -e '{\"lifeboat_only\": [\"<service>\"]}' "
             "-e lifeboat_confirm=yes (restored beside production, only the missing rows copied back)",
             drill="playbooks/drill.yml -e scenario=accidental_deletion (old orders deleted after a backup while a "
                   "client writes; copied back, writes since kept)"),
    Scenario("vector_store_corruption", "The vector store's index files are damaged",
             "playbooks/restore.yml -e '{\"lifeboat_only\": [\"<directory service>\"]}' -e lifeboat_confirm=yes",
             drill="playbooks/drill.yml -e scenario=vector_store_corruption (the directory service destroyed and "
                   "restored)"),
    Scenario("server_loss", "The whole server is lost", "rebuild.yml -e lifeboat_rebuild_host=<lost> "
             "-e lifeboat_rebuild_target=<new>",
             not_yet="rebuild.yml runs and is tested on the lab (tests/integration/test_rebuild.py), but no drill "
                     "rehearses it with a writer yet; " + _DRILLS_LATER),
    Scenario("datacenter_loss", "The whole site is lost: the DR site takes over, DNS follows",
             "playbooks/failover.yml -e incident=datacenter_failure (rebuild.yml onto the DR site, then the DNS switch)",
             not_yet="the DR-site rebuild runs and is tested on the lab (tests/integration/test_rebuild.py), but no "
                     "drill rehearses it with a writer yet; " + _DRILLS_LATER),
    Scenario("security_breach", "A host is compromised",
             "playbooks/security_breach.yml -e lifeboat_rebuild_host=<compromised> -e lifeboat_rebuild_target=<new> "
             "-e lifeboat_compromised_at=<time> -e lifeboat_confirm=yes",
             not_yet="security_breach.yml runs and is tested on the lab (tests/integration/test_security_breach.py), "
                     "but no drill rehearses it with a writer yet; " + _DRILLS_LATER),
)
BY_NAME = dict((s.name, s) for s in SCENARIOS)


def problems(runbook):
    """What is wrong with a runbook beyond its argument spec: each problem names the part and the cause."""
    found = []
    contacts = set(c.get("name") for c in runbook.get("contacts") or [])
    for level in runbook.get("escalation") or []:
        for name in level.get("contacts") or []:
            if name not in contacts:
                found.append("escalation level %s names %s, who is not among the contacts" % (level.get("level"), name))
    seen = set()
    for incident in runbook.get("incidents") or []:
        ident = incident.get("id") or "an incident without an id"
        if not re.match(r"^[A-Z][A-Z0-9]*-\d+$", ident):
            found.append("%s: an id is letters, a dash and a number (INC-003)" % ident)
        if ident in seen:
            found.append("%s: the id is used twice" % ident)
        seen.add(ident)
        if incident.get("severity") not in SEVERITIES:
            found.append("%s: severity %r is not one of %s" % (ident, incident.get("severity"), ", ".join(SEVERITIES)))
        scenario = incident.get("scenario")
        if scenario not in BY_NAME:
            found.append("%s: scenario %r is not one Lifeboat knows (%s)" % (ident, scenario, ", ".join(sorted(BY_NAME))))
        for field in ("rto_minutes", "rpo_minutes"):
            value = incident.get(field)
            if value is not None and value < 0:
                found.append("%s: %s is negative" % (ident, field))
        names = []
        for step in incident.get("steps") or []:
            name = step.get("name")
            if name in names:
                found.append("%s: step %s appears twice" % (ident, name))
            if (step.get("timeout_seconds") or 0) <= 0:
                found.append("%s: step %s needs a timeout_seconds above 0" % (ident, name))
            action = step.get("on_failure", "stop")
            if action not in ON_FAILURE:
                found.append("%s: step %s: on_failure %r is not one of %s" % (ident, name, action, ", ".join(ON_FAILURE)))
            if action == "rollback" and step.get("rollback_to") not in names:
                found.append("%s: step %s rolls back to %r, which is not an earlier step" % (
                    ident, name, step.get("rollback_to")))
            names.append(name)
        if not names:
            found.append("%s: no steps" % ident)
    return found


def drift(runbook):
    """The ways the runbook and the drills disagree: scenarios no incident covers, incidents whose scenario
    does not exist. Empty when the document and the automation describe the same set."""
    named = set(i.get("scenario") for i in runbook.get("incidents") or [])
    found = ["incident %s names scenario %r, which no drill knows" % (i.get("id"), i.get("scenario"))
             for i in runbook.get("incidents") or [] if i.get("scenario") not in BY_NAME]
    found += ["scenario %s has no incident in the runbook" % name for name in sorted(BY_NAME) if name not in named]
    return found


def as_reference_json(runbook):
    """The reference plan's shape: ``incidents`` (each with its scenario's recovery and whether a drill
    rehearses it), ``escalation_matrix``, ``contacts``, ``objectives``."""
    incidents = []
    for incident in runbook.get("incidents") or []:
        scenario = BY_NAME.get(incident.get("scenario"))
        entry = dict(incident)
        entry["decisions"] = list(incident.get("decisions") or [])
        entry["steps"] = [dict(step, on_failure=step.get("on_failure", "stop")) for step in incident.get("steps") or []]
        entry["recovery"] = scenario.recovery if scenario else None
        entry["rehearsed_by"] = scenario.drill if scenario else None
        entry["not_rehearsed_because"] = scenario.not_yet if scenario else "unknown scenario"
        incidents.append(entry)
    return {"environment": runbook.get("environment"), "version": runbook.get("version"),
            "objectives": list(runbook.get("objectives") or []), "contacts": list(runbook.get("contacts") or []),
            "escalation_matrix": list(runbook.get("escalation") or []), "incidents": incidents}


def _on_failure(step):
    action = step.get("on_failure", "stop")
    if action == "retry":
        return "retry %s time(s), then stop and page" % step.get("retries", 1)
    if action == "rollback":
        return "roll back to step %s" % step.get("rollback_to")
    return "stop and page"


def _minutes(value):
    return "-" if value is None else "%s min" % value


def _cell(text):
    return str(text if text is not None else "-").replace("|", "\\|").replace("\n", " ")


def render_markdown(runbook):
    doc = as_reference_json(runbook)
    out = ["# Runbook: %s" % (doc["environment"] or "unnamed environment"), ""]
    if doc["version"]:
        out += ["Version %s." % doc["version"], ""]
    out += ["## Objectives", "", "| service | RTO | RPO |", "|---|---|---|"]
    out += ["| %s | %s | %s |" % (_cell(o.get("service")), _minutes(o.get("rto_minutes")), _minutes(o.get("rpo_minutes")))
            for o in doc["objectives"]]
    out += ["", "## Contacts and escalation", "", "| contact | role | reach |", "|---|---|---|"]
    out += ["| %s | %s | %s |" % (_cell(c.get("name")), _cell(c.get("role")), _cell(c.get("reach")))
            for c in doc["contacts"]]
    out += [""] + ["- Level %s, after %s: %s" % (e.get("level"), _minutes(e.get("after_minutes")),
                                                 ", ".join(e.get("contacts") or []))
                   for e in doc["escalation_matrix"]]
    out += ["", "## Incidents", "", "| id | title | severity | RTO | RPO | rehearsed |", "|---|---|---|---|---|---|"]
    out += ["| %s | %s | %s | %s | %s | %s |" % (
        _cell(i["id"]), _cell(i.get("title")), _cell(i.get("severity")), _minutes(i.get("rto_minutes")),
        _minutes(i.get("rpo_minutes")), "yes" if i["rehearsed_by"] else "not yet") for i in doc["incidents"]]
    for incident in doc["incidents"]:
        out += ["", "### %s: %s" % (incident["id"], incident.get("title")), "",
                "- Severity: %s; RTO %s, RPO %s" % (incident.get("severity"), _minutes(incident.get("rto_minutes")),
                                                    _minutes(incident.get("rpo_minutes"))),
                "- Detection: %s" % (incident.get("detection") or "-"),
                "- Scenario: `%s`; recovery: `%s`" % (incident.get("scenario"), incident["recovery"]),
                "- Rehearsed by: %s" % (incident["rehearsed_by"] or "not yet (%s)" % incident["not_rehearsed_because"])]
        if incident["decisions"]:
            out += ["", "Decisions a person takes:", ""] + ["- %s" % d for d in incident["decisions"]]
        out += ["", "| # | step | runs | timeout | verified by | on failure |", "|---|---|---|---|---|---|"]
        out += ["| %d | %s | `%s` | %s s | %s | %s |" % (
            n, _cell(s.get("name")), _cell(s.get("run")), s.get("timeout_seconds"), _cell(s.get("verify")),
            _on_failure(s)) for n, s in enumerate(incident["steps"], 1)]
    return "\n".join(out) + "\n"


_STYLE = ("body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}"
          "table{border-collapse:collapse;margin:.5rem 0 1.5rem}th,td{border:1px solid #d0d7de;padding:.3rem .6rem;"
          "text-align:left;vertical-align:top}th{background:#f3f5f7}code{background:#f3f5f7;padding:0 .2rem}"
          ".sev-critical{color:#b00020;font-weight:600}.sev-high{color:#c25e00}.nr{color:#8a6d00}")


def _table(headers, rows):
    head = "".join("<th>%s</th>" % html.escape(h) for h in headers)
    body = "".join("<tr>%s</tr>" % "".join("<td>%s</td>" % cell for cell in row) for row in rows)
    return "<table><thead><tr>%s</tr></thead><tbody>%s</tbody></table>" % (head, body)


def render_html(runbook):
    """One self-contained page (no script, no external resource); every value is escaped."""
    doc = as_reference_json(runbook)
    e = html.escape
    parts = ["<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Runbook: %s</title>"
             "<style>%s</style></head><body>" % (e(str(doc["environment"] or "")), _STYLE),
             "<h1>Runbook: %s</h1>" % e(str(doc["environment"] or "unnamed environment"))]
    if doc["version"]:
        parts.append("<p>Version %s.</p>" % e(str(doc["version"])))
    parts.append("<h2>Objectives</h2>" + _table(["service", "RTO", "RPO"], [
        (e(str(o.get("service"))), e(_minutes(o.get("rto_minutes"))), e(_minutes(o.get("rpo_minutes"))))
        for o in doc["objectives"]]))
    parts.append("<h2>Contacts and escalation</h2>" + _table(["contact", "role", "reach"], [
        (e(str(c.get("name"))), e(str(c.get("role") or "-")), e(str(c.get("reach") or "-"))) for c in doc["contacts"]]))
    parts.append(_table(["level", "after", "contacts"], [
        (e(str(x.get("level"))), e(_minutes(x.get("after_minutes"))), e(", ".join(x.get("contacts") or [])))
        for x in doc["escalation_matrix"]]))
    parts.append("<h2>Incidents</h2>" + _table(["id", "title", "severity", "RTO", "RPO", "rehearsed"], [
        ("<a href=\"#%s\">%s</a>" % (e(i["id"]), e(i["id"])), e(str(i.get("title"))),
         "<span class=\"sev-%s\">%s</span>" % (e(str(i.get("severity"))), e(str(i.get("severity")))),
         e(_minutes(i.get("rto_minutes"))), e(_minutes(i.get("rpo_minutes"))),
         "yes" if i["rehearsed_by"] else "<span class=\"nr\">not yet</span>") for i in doc["incidents"]]))
    for i in doc["incidents"]:
        parts.append("<h3 id=\"%s\">%s: %s</h3><ul><li>Severity: %s; RTO %s, RPO %s</li><li>Detection: %s</li>"
                     "<li>Scenario: <code>%s</code>; recovery: <code>%s</code></li><li>Rehearsed by: %s</li></ul>" % (
                         e(i["id"]), e(i["id"]), e(str(i.get("title"))), e(str(i.get("severity"))),
                         e(_minutes(i.get("rto_minutes"))), e(_minutes(i.get("rpo_minutes"))),
                         e(str(i.get("detection") or "-")), e(str(i.get("scenario"))), e(str(i["recovery"])),
                         e(i["rehearsed_by"] or "not yet (%s)" % i["not_rehearsed_because"])))
        if i["decisions"]:
            parts.append("<p>Decisions a person takes:</p><ul>%s</ul>" % "".join(
                "<li>%s</li>" % e(str(d)) for d in i["decisions"]))
        parts.append(_table(["#", "step", "runs", "timeout", "verified by", "on failure"], [
            (str(n), e(str(s.get("name"))), "<code>%s</code>" % e(str(s.get("run"))), "%s s" % e(str(s.get("timeout_seconds"))),
             e(str(s.get("verify") or "-")), e(_on_failure(s))) for n, s in enumerate(i["steps"], 1)]))
    parts.append("</body></html>\n")
    return "".join(parts)


def render(runbook):
    """``{"markdown", "html", "json"}`` (the JSON as text, sorted keys, for files)."""
    return {"markdown": render_markdown(runbook), "html": render_html(runbook),
            "json": json.dumps(as_reference_json(runbook), indent=2, sort_keys=True) + "\n"}
