# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The drills' history: the result a drill writes (``<report dir>/drills/drill-<UTC stamp>.json``), checked
against its fixed schema, the history directory read in order, the per-scenario trends over it, and the
Markdown summary of the newest drill. The HTML report (``plugins/filter/drill_report.py``) draws from what
this module computes; nothing here imports anything beyond the standard library.

A drill result (version 1)::

    {"kind": "lifeboat-drill", "version": 1, "environment": "lab",
     "started": "2026-12-07T18:00:00.000000Z", "finished": "...Z", "result": "PASS" | "FAIL",
     "scenarios": [{"name": <a runbook.SCENARIOS name>, "incident": "INC-003" | null, "title": "...",
                    "status": "passed" | "failed" | "not_runnable", "reason": null | "...",
                    "started": "...Z" | null, "finished": "...Z" | null,
                    "rto": {"achieved_seconds", "objective_seconds", "met"} | null,
                    "rpo": {"achieved_seconds", "objective_seconds", "met", "restored_data_age_seconds"} | null,
                    "writes": {"acknowledged", "lost"} | null,
                    "breakdown": {"detection_seconds", "decision_seconds", "execution_seconds",
                                  "verification_seconds"},
                    "phases": [{"name", "start", "end", "seconds"}], "checks": [{"name", "result", "detail"}],
                    "record": "/path" | null}]}

``result`` is PASS exactly when every runnable scenario passed. A not-runnable scenario has no times, no RTO
or RPO and no phases; a passed one has no reason, a failed or not-runnable one says why.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import os
import re

from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils.runbook import BY_NAME, SCENARIOS

KIND = "lifeboat-drill"
VERSION = 1
STATUSES = ("passed", "failed", "not_runnable")
STATUS_LABELS = {"passed": "PASS", "failed": "FAIL", "not_runnable": "NOT RUNNABLE"}
CHECK_RESULTS = ("PASS", "FAIL")
BREAKDOWN = ("detection_seconds", "decision_seconds", "execution_seconds", "verification_seconds")
# The history's files: drill-20261207T180214Z.json (other files in the directory are not drills).
FILE_PATTERN = re.compile(r"^drill-.*\.json$")
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")


class DrillResultError(LifeboatError):
    """A drill result that does not match the schema; the message names the file and the fields."""


def parse_time(text):
    """``2026-12-07T18:00:00.000000Z`` (the schema's form: UTC, ``Z``) as an aware datetime; None otherwise."""
    if not isinstance(text, str) or not _TIME.match(text):
        return None
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if "." in text else "%Y-%m-%dT%H:%M:%SZ"
    try:
        return datetime.datetime.strptime(text, fmt).replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return None


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _Checker:
    """Collects the problems of one document, each as ``<field>: <what is wrong>``."""

    def __init__(self):
        self.problems = []

    def add(self, field, text):
        self.problems.append("%s: %s" % (field, text))

    def has(self, doc, key, field):
        if key not in doc:
            self.add(field, "missing")
            return False
        return True

    def text(self, doc, key, field, nullable=False, choices=None):
        if not self.has(doc, key, field):
            return None
        value = doc[key]
        if value is None and nullable:
            return None
        if not isinstance(value, str) or not value.strip():
            self.add(field, "%r is not a non-empty text%s" % (value, " or null" if nullable else ""))
            return None
        if choices and value not in choices:
            self.add(field, "%r is not one of %s" % (value, ", ".join(choices)))
            return None
        return value

    def time(self, doc, key, field, nullable=False):
        if not self.has(doc, key, field):
            return None
        value = doc[key]
        if value is None and nullable:
            return None
        moment = parse_time(value)
        if moment is None:
            self.add(field, "%r is not a UTC time like 2026-12-07T18:00:00.000000Z%s"
                     % (value, " or null" if nullable else ""))
        return moment

    def number(self, doc, key, field, nullable=False, integer=False):
        if not self.has(doc, key, field):
            return None
        value = doc[key]
        if value is None and nullable:
            return None
        wanted = isinstance(value, int) and not isinstance(value, bool) if integer else _is_number(value)
        if not wanted or value < 0:
            self.add(field, "%r is not a%s number of 0 or more%s"
                     % (value, " whole" if integer else "", " or null" if nullable else ""))
            return None
        return value

    def boolean(self, doc, key, field):
        if not self.has(doc, key, field):
            return None
        if not isinstance(doc[key], bool):
            self.add(field, "%r is not true or false" % (doc[key],))
            return None
        return doc[key]

    def obj(self, doc, key, field, nullable=False):
        """The dict at ``key``; None when missing, null (allowed or not) or not a dict."""
        if not self.has(doc, key, field):
            return None
        value = doc[key]
        if value is None:
            if not nullable:
                self.add(field, "null, an object is needed here")
            return None
        if not isinstance(value, dict):
            self.add(field, "%r is not an object" % (type(value).__name__,))
            return None
        return value

    def items(self, doc, key, field):
        if not self.has(doc, key, field):
            return []
        value = doc[key]
        if not isinstance(value, list):
            self.add(field, "%r is not a list" % (type(value).__name__,))
            return []
        return value


def _check_objective(check, doc, field, extra=()):
    before = len(check.problems)
    achieved = check.number(doc, "achieved_seconds", field + ".achieved_seconds", nullable=True)
    objective = check.number(doc, "objective_seconds", field + ".objective_seconds")
    met = check.boolean(doc, "met", field + ".met")
    for key in extra:
        check.number(doc, key, "%s.%s" % (field, key), nullable=True)
    if len(check.problems) == before and met != (achieved is not None and achieved <= objective):
        check.add(field + ".met", "%s, but %s achieved against an objective of %s s" % (
            "true" if met else "false", "nothing" if achieved is None else "%s s" % achieved, objective))


def _check_scenario(check, scenario, field, seen):
    if not isinstance(scenario, dict):
        check.add(field, "%r is not an object" % (type(scenario).__name__,))
        return None
    name = check.text(scenario, "name", field + ".name")
    if name is not None:
        if name not in BY_NAME:
            check.add(field + ".name", "%r is not a scenario Lifeboat knows (%s)" % (name, ", ".join(s.name for s in SCENARIOS)))
        elif name in seen:
            check.add(field + ".name", "%s appears twice in this drill" % name)
        seen.add(name)
        field = "%s (%s)" % (field, name)
    check.text(scenario, "incident", field + ".incident", nullable=True)
    check.text(scenario, "title", field + ".title")
    status = check.text(scenario, "status", field + ".status", choices=STATUSES)
    reason = check.text(scenario, "reason", field + ".reason", nullable=True)
    if status == "passed" and reason is not None:
        check.add(field + ".reason", "a passed scenario has no reason (null), found %r" % reason)
    if status in ("failed", "not_runnable") and "reason" in scenario and scenario["reason"] is None:
        check.add(field + ".reason", "a %s scenario says why (a text), found null" % status)
    runnable = status != "not_runnable"
    started = check.time(scenario, "started", field + ".started", nullable=True)
    finished = check.time(scenario, "finished", field + ".finished", nullable=True)
    for key in ("started", "finished", "rto", "rpo"):
        if key not in scenario:
            continue
        if status == "not_runnable" and scenario[key] is not None:
            check.add("%s.%s" % (field, key), "a not_runnable scenario has none (null)")
        elif status in ("passed", "failed") and scenario[key] is None:
            check.add("%s.%s" % (field, key), "null, but the scenario ran (%s)" % status)
    if started and finished and finished < started:
        check.add(field + ".finished", "before its start")
    rto = check.obj(scenario, "rto", field + ".rto", nullable=True)
    if rto is not None:
        _check_objective(check, rto, field + ".rto")
    rpo = check.obj(scenario, "rpo", field + ".rpo", nullable=True)
    if rpo is not None:
        _check_objective(check, rpo, field + ".rpo", extra=("restored_data_age_seconds",))
    writes = check.obj(scenario, "writes", field + ".writes", nullable=True)
    if writes is not None:
        acknowledged = check.number(writes, "acknowledged", field + ".writes.acknowledged", integer=True)
        lost = check.number(writes, "lost", field + ".writes.lost", integer=True)
        if acknowledged is not None and lost is not None and lost > acknowledged:
            check.add(field + ".writes.lost", "%d lost of %d acknowledged: more than were acknowledged" % (lost, acknowledged))
    breakdown = check.obj(scenario, "breakdown", field + ".breakdown", nullable=not runnable)
    if breakdown is not None:
        for key in BREAKDOWN:
            check.number(breakdown, key, "%s.breakdown.%s" % (field, key), nullable=True)
    phases = check.items(scenario, "phases", field + ".phases")
    if status == "not_runnable" and phases:
        check.add(field + ".phases", "a not_runnable scenario has none ([])")
    previous = None
    for index, phase in enumerate(phases):
        where = "%s.phases[%d]" % (field, index)
        if not isinstance(phase, dict):
            check.add(where, "%r is not an object" % (type(phase).__name__,))
            continue
        name = check.text(phase, "name", where + ".name")
        where = "%s (%s)" % (where, name) if name else where
        start = check.time(phase, "start", where + ".start")
        end = check.time(phase, "end", where + ".end")
        check.number(phase, "seconds", where + ".seconds")
        if start and end and end < start:
            check.add(where + ".end", "before its start")
        if start and previous and start < previous:
            check.add(where + ".start", "before the start of the phase before it (phases are in order)")
        previous = start or previous
    for index, item in enumerate(check.items(scenario, "checks", field + ".checks")):
        where = "%s.checks[%d]" % (field, index)
        if not isinstance(item, dict):
            check.add(where, "%r is not an object" % (type(item).__name__,))
            continue
        check.text(item, "name", where + ".name")
        check.text(item, "result", where + ".result", choices=CHECK_RESULTS)
        if check.has(item, "detail", where + ".detail") and not isinstance(item["detail"], (str, type(None))):
            check.add(where + ".detail", "%r is not a text or null" % (item["detail"],))
    if check.has(scenario, "record", field + ".record") and not isinstance(scenario["record"], (str, type(None))):
        check.add(field + ".record", "%r is not a path or null" % (scenario["record"],))
    return status


def problems(doc):
    """What is wrong with a drill result, each as ``<field>: <what>``; empty when it matches the schema."""
    check = _Checker()
    if not isinstance(doc, dict):
        check.add("(top level)", "%s is not an object" % type(doc).__name__)
        return check.problems
    if doc.get("kind") != KIND:
        check.add("kind", "%r, expected %r" % (doc.get("kind"), KIND))
    if doc.get("version") != VERSION or isinstance(doc.get("version"), bool):
        check.add("version", "%r, expected %d (the only version this collection reads)" % (doc.get("version"), VERSION))
    check.text(doc, "environment", "environment")
    started = check.time(doc, "started", "started")
    finished = check.time(doc, "finished", "finished")
    if started and finished and finished < started:
        check.add("finished", "before its start")
    result = check.text(doc, "result", "result", choices=("PASS", "FAIL"))
    seen = set()
    statuses = [_check_scenario(check, scenario, "scenarios[%d]" % index, seen)
                for index, scenario in enumerate(check.items(doc, "scenarios", "scenarios"))]
    if result and None not in statuses:
        failed = statuses.count("failed")
        if result == "PASS" and failed:
            check.add("result", "PASS, but %d scenario(s) failed" % failed)
        if result == "FAIL" and not failed:
            check.add("result", "FAIL, but every runnable scenario passed")
    return check.problems


def validate(doc, source="the drill result"):
    """``doc`` when it matches the schema; a DrillResultError naming ``source`` and every bad field otherwise."""
    found = problems(doc)
    if found:
        raise DrillResultError("%s is not a valid drill result (%d problem%s): %s" % (
            source, len(found), "" if len(found) == 1 else "s", "; ".join(found)))
    return doc


def load(path):
    """A drill result file, read and validated; a DrillResultError naming the file otherwise."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except (IOError, OSError) as exc:
        raise DrillResultError("%s cannot be read: %s" % (path, exc.strerror or exc))
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise DrillResultError("%s is not JSON: %s" % (path, exc))
    return validate(doc, path)


def load_history(directory, result=None, last=None):
    """The drills of a history directory, oldest first (by ``started``), and the files that could not be used.

    ``result`` is one more drill result file (the run just written), read whether or not it is in the
    directory; unlike the history's files, a bad one raises. ``last`` keeps only the newest N drills. Returns
    ``{"directory", "drills": [{"file", "drill"}], "problems": [{"file", "error"}], "newest": <index or None>}``;
    ``newest`` is the drill ``result`` names, else the last one."""
    drills, found = [], []
    own = os.path.realpath(result) if result else None
    if directory and os.path.isdir(directory):
        names = sorted(name for name in os.listdir(directory) if FILE_PATTERN.match(name))
        for name in names:
            path = os.path.join(directory, name)
            if own and os.path.realpath(path) == own:
                continue
            try:
                drills.append({"file": path, "drill": load(path)})
            except DrillResultError as exc:
                found.append({"file": path, "error": str(exc)})
    if result:
        drills.append({"file": result, "drill": load(result)})
    drills.sort(key=lambda item: (parse_time(item["drill"]["started"]), os.path.basename(item["file"])))
    if last is not None and int(last) > 0:
        drills = drills[-int(last):]
    newest = None
    if drills:
        newest = len(drills) - 1
        if own:
            for index, item in enumerate(drills):
                if os.path.realpath(item["file"]) == own:
                    newest = index
    return {"directory": directory, "drills": drills, "problems": found, "newest": newest}


def newest(history):
    """The newest drill of a history (``load_history``'s result), or None."""
    if history.get("newest") is None:
        return None
    return history["drills"][history["newest"]]["drill"]


def scenario_order(history):
    """Every scenario the history holds: the newest drill's in its order, then the others in SCENARIOS' order."""
    order = []
    latest = newest(history)
    for scenario in (latest or {}).get("scenarios") or []:
        order.append(scenario["name"])
    rest = set()
    for item in history.get("drills") or []:
        rest.update(s["name"] for s in item["drill"]["scenarios"])
    order += [s.name for s in SCENARIOS if s.name in rest and s.name not in order]
    return order


def trends(history):
    """Per scenario, one point per drill of the history that has it, oldest first::

        {name: {"title", "incident", "runs": [{"drill": <file basename>, "started", "status", "passed",
                "rto_achieved", "rto_objective", "rto_met", "rpo_achieved", "rpo_objective", "rpo_met",
                "acknowledged", "lost"}], "passed": n, "failed": n, "not_runnable": n}}

    A figure the run lacks (a not-runnable run, a recovery that never finished) is None."""
    series = {}
    for name in scenario_order(history):
        series[name] = {"title": BY_NAME[name].title if name in BY_NAME else name, "incident": None, "runs": [],
                        "passed": 0, "failed": 0, "not_runnable": 0}
    for item in history.get("drills") or []:
        drill = item["drill"]
        for scenario in drill["scenarios"]:
            entry = series[scenario["name"]]
            entry["title"] = scenario["title"]
            entry["incident"] = scenario.get("incident") or entry["incident"]
            entry[scenario["status"]] += 1
            rto = scenario.get("rto") or {}
            rpo = scenario.get("rpo") or {}
            writes = scenario.get("writes") or {}
            entry["runs"].append({
                "drill": os.path.basename(item["file"]),
                "started": scenario.get("started") or drill["started"],
                "status": scenario["status"],
                "passed": scenario["status"] == "passed",
                "rto_achieved": rto.get("achieved_seconds"), "rto_objective": rto.get("objective_seconds"),
                "rto_met": rto.get("met"),
                "rpo_achieved": rpo.get("achieved_seconds"), "rpo_objective": rpo.get("objective_seconds"),
                "rpo_met": rpo.get("met"),
                "acknowledged": writes.get("acknowledged"), "lost": writes.get("lost"),
            })
    return series


def seconds_text(value):
    """``7.3 s``, ``600 s (10 min)``, ``-`` for None."""
    if value is None:
        return "-"
    text = ("%.1f" % value).rstrip("0").rstrip(".") if value < 100 else "%.0f" % value
    if value >= 3600:
        return "%s s (%s h)" % (text, ("%.1f" % (value / 3600.0)).rstrip("0").rstrip("."))
    if value >= 120:
        return "%s s (%s min)" % (text, ("%.1f" % (value / 60.0)).rstrip("0").rstrip("."))
    return "%s s" % text


def objective_text(figure):
    """``7.3 s / 600 s (10 min)``, with ``(missed)`` when the objective was not met; ``-`` without a figure."""
    if not figure:
        return "-"
    text = "%s / %s" % (seconds_text(figure.get("achieved_seconds")) if figure.get("achieved_seconds") is not None
                        else "not reached", seconds_text(figure.get("objective_seconds")))
    return text + ("" if figure.get("met") else " (missed)")


def writes_text(writes):
    if not writes:
        return "-"
    return "%d of %d" % (writes["lost"], writes["acknowledged"])


def when_text(value):
    """``2026-12-07 18:00:00 UTC`` (whole seconds); ``-`` for None."""
    moment = parse_time(value)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "-"


def span_text(start, end):
    """``2026-12-07 18:00:00 to 18:01:36 UTC (96.1 s)``; the end's date is given when it differs."""
    first, second = parse_time(start), parse_time(end)
    if not first or not second:
        return "-"
    until = second.strftime("%H:%M:%S" if second.date() == first.date() else "%Y-%m-%d %H:%M:%S")
    return "%s to %s UTC (%s)" % (first.strftime("%Y-%m-%d %H:%M:%S"), until, duration_text(start, end))


def duration_text(start, end):
    first, second = parse_time(start), parse_time(end)
    if not first or not second:
        return "-"
    return seconds_text((second - first).total_seconds())


def _cell(text):
    return " ".join(str(text).split()).replace("|", "\\|") if text not in (None, "") else ""


def markdown(history):
    """The terminal summary of the newest drill: a PASS/FAIL table per scenario, then the history's size and
    the files that could not be read."""
    latest = newest(history)
    if latest is None:
        raise LifeboatError("no drill in the history %s" % history.get("directory"))
    lines = ["# Lifeboat drill on %s: %s" % (latest["environment"], latest["result"]), ""]
    scenarios = latest["scenarios"]
    counts = dict((status, sum(1 for s in scenarios if s["status"] == status)) for status in STATUSES)
    lines.append("%s; %d scenario(s): %d passed, %d failed, %d not runnable" % (
        span_text(latest["started"], latest["finished"]), len(scenarios),
        counts["passed"], counts["failed"], counts["not_runnable"]))
    lines.append("")
    lines.append("| scenario | status | RTO achieved / objective | RPO achieved / objective | writes lost | reason |")
    lines.append("|---|---|---|---|---|---|")
    for scenario in scenarios:
        name = scenario["name"] + (" (%s)" % scenario["incident"] if scenario.get("incident") else "")
        lines.append("| %s | %s | %s | %s | %s | %s |" % (
            _cell(name), STATUS_LABELS[scenario["status"]], objective_text(scenario.get("rto")),
            objective_text(scenario.get("rpo")), writes_text(scenario.get("writes")), _cell(scenario.get("reason"))))
    drills = history.get("drills") or []
    passed = sum(1 for item in drills if item["drill"]["result"] == "PASS")
    lines.append("")
    lines.append("History: %d drill(s) in %s, %d passed, %d failed" % (
        len(drills), history.get("directory") or "-", passed, len(drills) - passed))
    for problem in history.get("problems") or []:
        lines.append("- NOT READ: %s" % _cell(problem["error"]))
    return "\n".join(lines) + "\n"
