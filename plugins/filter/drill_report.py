# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The drills' report: the history read and checked (``module_utils/history_utils.py``), the Markdown summary,
and the self-contained HTML report with its charts drawn by matplotlib as inline SVG (for the ``drill`` role's
``report`` entry point)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: drill_report_html
short_description: The drills' history as one self-contained HTML report with inline SVG charts
version_added: "1.2.0"
description:
  - Takes what C(lifeboat.dr.drill_history) returns and renders one HTML page that needs no network - no
    external style sheet, script, font or image. A summary table of the newest drill, the status of every
    scenario in every drill of the history, the files that could not be read, and per scenario a timeline of its
    phases, the RTO and RPO achieved against their objectives, the writes acknowledged and lost, the breakdown
    of the recovery time, the checks, and the trend of RTO, RPO and lost writes over the history with the
    objectives as lines. Every text from the results is HTML-escaped.
  - The charts are drawn on the controller by matplotlib (Agg backend, SVG output). Without matplotlib the
    filter fails saying so; the other filters of this file do not need it.
  - The same file holds C(drill_history) (the history directory read, oldest first by C(started); files that
    are not valid drill results are listed with the reason and left out; the optional O(result) file, the run
    just written, must be valid; C(last) keeps only the newest drills) and C(drill_report_markdown) (the
    terminal summary of the newest drill - a PASS/FAIL table per scenario with RTO and RPO achieved against the
    objectives, writes lost and the reason - and the history's size and unread files).
options:
  _input:
    description: The history, as C(lifeboat.dr.drill_history) returns it (for C(drill_history), the directory).
    type: raw
    required: true
  result:
    description: For C(drill_history), a drill result file to read whatever the directory holds.
    type: str
  last:
    description: For C(drill_history), how many of the newest drills to keep (0 for all).
    type: int
"""

EXAMPLES = r"""
- name: Read the history and write the report
  ansible.builtin.copy:
    dest: /srv/reports/drill-report.html
    content: "{{ (reports_dir ~ '/drills') | lifeboat.dr.drill_history(last=30) | lifeboat.dr.drill_report_html }}"
    mode: "0640"
"""

RETURN = r"""
_value:
  description: The HTML page (C(drill_report_html)), the Markdown text (C(drill_report_markdown)), or the history
    (C(drill_history)) - a dict with C(directory), C(drills) (a list of C(file) and C(drill)), C(problems) (a
    list of C(file) and C(error)) and C(newest) (the index of the newest drill, or None).
  type: raw
"""

import html
import io
import os
import re

from ansible.errors import AnsibleFilterError

from ansible_collections.lifeboat.dr.plugins.module_utils import drill_history as history_utils
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError

PASS_COLOR = "#1a7f37"
FAIL_COLOR = "#cf222e"
IDLE_COLOR = "#8c959f"
INK = "#24292f"
MUTED = "#57606a"
PHASE_COLORS = ("#3b6ea8", "#6f42c1", "#0a7d8c", "#bf8700", "#8250df", "#1f6feb", "#9a6700", "#2da44e")
# Inches; the page stretches each chart to its content's width (1132 px at most), text a little with it.
WIDTH = 10.5
STATUS_COLORS = {"passed": PASS_COLOR, "failed": FAIL_COLOR, "not_runnable": IDLE_COLOR}


def _esc(value):
    return html.escape("" if value is None else str(value), quote=True)


def _label(value):
    """A text for matplotlib: ``$`` would start mathtext."""
    return ("" if value is None else str(value)).replace("$", r"\$")


def _history(value):
    if not isinstance(value, dict) or "drills" not in value:
        raise AnsibleFilterError("the drill report needs what lifeboat.dr.drill_history returns, got %s" % type(value).__name__)
    return value


def drill_history(directory, result=None, last=None):
    try:
        return history_utils.load_history(str(directory) if directory else None, str(result) if result else None,
                                          int(last) if last else None)
    except LifeboatError as exc:
        raise AnsibleFilterError(str(exc))


def drill_report_markdown(history):
    try:
        return history_utils.markdown(_history(history))
    except LifeboatError as exc:
        raise AnsibleFilterError(str(exc))


class _Charts:
    """matplotlib, imported only when a report is drawn (the collection works without it otherwise)."""

    def __init__(self):
        try:
            import matplotlib
            matplotlib.use("Agg", force=True)
            from matplotlib.figure import Figure
        except ImportError as exc:
            raise AnsibleFilterError("lifeboat.dr.drill_report_html draws its charts with matplotlib, which the "
                                     "controller's Python lacks (%s): pip install matplotlib in the environment "
                                     "that runs ansible-playbook" % exc)
        self.matplotlib = matplotlib
        self.Figure = Figure

    def svg(self, draw, salt, label, *args):
        """One chart as an inline ``<svg>`` element; ``draw(figure, *args)`` draws it."""
        settings = {"svg.fonttype": "none", "svg.hashsalt": "lifeboat-" + salt, "font.family": "sans-serif",
                    "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial"], "font.size": 10,
                    "axes.spines.top": False, "axes.spines.right": False, "axes.edgecolor": "#8c959f",
                    "axes.labelcolor": INK, "xtick.color": MUTED, "ytick.color": MUTED, "axes.titlesize": 10,
                    "axes.titleweight": "bold", "axes.titlelocation": "left"}
        with self.matplotlib.rc_context(settings):
            figure = draw(self.Figure, *args)
            buffer = io.StringIO()
            figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight", pad_inches=0.08)
        text = buffer.getvalue()
        # The XML prologue goes (the page is HTML), and the metadata block, whose Dublin Core and licence URIs are
        # names, not links, but would look like network references to a reader of the page.
        text = re.sub(r"\s*<metadata>.*?</metadata>", "", text[text.index("<svg"):], count=1, flags=re.S)
        return text.replace("<svg ", '<svg role="img" aria-label="%s" class="chart" data-chart="%s" ' % (
            _esc(label), _esc(salt.split(":")[0])), 1)


def _offset(moment, origin):
    return (history_utils.parse_time(moment) - origin).total_seconds()


def _timeline(Figure, scenario):
    phases = scenario["phases"]
    origin = history_utils.parse_time(scenario["started"])
    figure = Figure(figsize=(WIDTH, 0.34 * len(phases) + 0.9))
    axes = figure.add_subplot()
    end = max([_offset(p["end"], origin) for p in phases] + [_offset(scenario["finished"], origin), 1.0])
    for index, phase in enumerate(phases):
        left = _offset(phase["start"], origin)
        width = max(_offset(phase["end"], origin) - left, end / 400.0)
        axes.barh(index, width, left=left, height=0.62, color=PHASE_COLORS[index % len(PHASE_COLORS)])
        axes.text(left + width + end / 120.0, index, history_utils.seconds_text(phase["seconds"]), va="center",
                  fontsize=8, color=INK)
    axes.set_yticks(range(len(phases)))
    axes.set_yticklabels([_label(p["name"]) for p in phases])
    axes.invert_yaxis()
    axes.set_xlim(0, end * 1.16)
    axes.set_xlabel("seconds since the scenario started (%s in all)" % history_utils.duration_text(
        scenario["started"], scenario["finished"]))
    axes.set_title("Timeline of the phases", loc="left")
    axes.grid(axis="x", color="#d0d7de", linewidth=0.6)
    axes.set_axisbelow(True)
    return figure


def _objectives(Figure, scenario):
    figure = Figure(figsize=(WIDTH, 1.25))
    for axes, (name, numbers) in zip(figure.subplots(1, 2), (("RTO", scenario["rto"]), ("RPO", scenario["rpo"]))):
        achieved, objective = numbers["achieved_seconds"], numbers["objective_seconds"]
        color = PASS_COLOR if numbers["met"] else FAIL_COLOR
        top = max(objective, achieved or 0, 1.0) * 1.08
        axes.barh(0, objective, height=0.8, color="#eaeef2", edgecolor="#d0d7de")
        axes.plot([objective, objective], [-0.5, 0.5], color=INK, linewidth=2.2)
        if achieved is None:
            axes.text(top / 100.0, 0, "not reached: the recovery never finished", va="center", color=FAIL_COLOR,
                      fontweight="bold")
            verdict = "not reached"
        else:
            axes.barh(0, max(achieved, top / 300.0), height=0.42, color=color)
            verdict = "%s achieved, %s" % (history_utils.seconds_text(achieved), "met" if numbers["met"] else "MISSED")
        axes.set_title("%s: %s (objective %s)" % (name, verdict, history_utils.seconds_text(objective)), color=color, loc="left")
        axes.set_xlim(0, top)
        axes.set_ylim(-0.55, 0.55)
        axes.set_yticks([])
        axes.spines["left"].set_visible(False)
        axes.set_xlabel("seconds")
    figure.tight_layout(w_pad=3.0)
    return figure


def _run_label(run):
    moment = history_utils.parse_time(run["started"])
    return moment.strftime("%m-%d\n%H:%M") if moment else "?"


def _plain_numbers():
    from matplotlib.ticker import FuncFormatter
    return FuncFormatter(lambda value, _position: "%g" % value)


def _trend_axes(axes, runs, key, title):
    xs = list(range(len(runs)))
    achieved = [r[key + "_achieved"] for r in runs]
    objective = [r[key + "_objective"] for r in runs]
    ran = [r["status"] != "not_runnable" for r in runs]
    points = [(x, a) for x, a, r in zip(xs, achieved, ran) if r and a is not None]
    if points:
        axes.plot([p[0] for p in points], [p[1] for p in points], color="#8c959f", linewidth=1.2, zorder=2)
    for x, value, run in zip(xs, achieved, runs):
        if run["status"] == "not_runnable":
            continue
        color = PASS_COLOR if run[key + "_met"] else FAIL_COLOR
        if value is None:
            axes.plot([x], [run[key + "_objective"] or 1], marker="X", markersize=9, color=FAIL_COLOR, zorder=3)
        else:
            axes.plot([x], [value], marker="o", markersize=6, color=color, zorder=3)
    objective_points = [(x, o) for x, o in zip(xs, objective) if o is not None]
    if objective_points:
        axes.step([p[0] for p in objective_points], [p[1] for p in objective_points], where="mid", color=INK,
                  linestyle="--", linewidth=1.3, label="objective", zorder=1)
        if len(objective_points) == 1:
            axes.axhline(objective_points[0][1], color=INK, linestyle="--", linewidth=1.3, zorder=1)
    values = [v for v in achieved + objective if v is not None]
    if values and max(values) > 0 and max(values) > 8 * max([v for v in achieved if v is not None] + [0.1]):
        axes.set_yscale("symlog", linthresh=1.0)
        axes.yaxis.set_major_formatter(_plain_numbers())
        axes.set_ylabel("seconds (log scale)")
    else:
        axes.set_ylabel("seconds")
    axes.set_ylim(bottom=0)
    axes.set_title(title + " - dashed: objective", loc="left")
    axes.grid(axis="y", color="#d0d7de", linewidth=0.6)


def _trend(Figure, trend):
    runs = trend["runs"]
    has_writes = any(r["acknowledged"] is not None for r in runs)
    columns = 3 if has_writes else 2
    figure = Figure(figsize=(WIDTH, 2.7))
    axes = figure.subplots(1, columns)
    _trend_axes(axes[0], runs, "rto", "RTO per run")
    _trend_axes(axes[1], runs, "rpo", "RPO per run")
    if has_writes:
        lost_axes = axes[2]
        for x, run in enumerate(runs):
            if run["acknowledged"] is None:
                continue
            lost = run["lost"] or 0
            lost_axes.bar(x, lost, width=0.6, color=FAIL_COLOR if lost else PASS_COLOR)
            lost_axes.text(x, lost, "%d/%d" % (lost, run["acknowledged"]), ha="center", va="bottom", fontsize=8,
                           color=INK)
        top = max([r["lost"] or 0 for r in runs] + [1])
        lost_axes.set_ylim(0, top * 1.3)
        lost_axes.set_title("Writes lost / acknowledged", loc="left")
        lost_axes.grid(axis="y", color="#d0d7de", linewidth=0.6)
    for index, one in enumerate(axes):
        one.set_xticks(range(len(runs)))
        one.set_xticklabels([_run_label(r) for r in runs], fontsize=8)
        one.set_xlim(-0.6, len(runs) - 0.4)
        for x, run in enumerate(runs):
            if run["status"] == "not_runnable":
                one.axvspan(x - 0.4, x + 0.4, color="#eaeef2", zorder=0)
    if any(r["status"] == "not_runnable" for r in runs):
        figure.text(0.01, -0.04, "grey band: not runnable in that drill", fontsize=8, color=MUTED)
    figure.tight_layout(w_pad=2.0)
    return figure


def _matrix(Figure, history, order):
    drills = history["drills"]
    figure = Figure(figsize=(WIDTH, 0.32 * len(order) + 1.1))
    axes = figure.add_subplot()
    for x, item in enumerate(drills):
        statuses = dict((s["name"], s["status"]) for s in item["drill"]["scenarios"])
        for y, name in enumerate(order):
            status = statuses.get(name)
            if status is None:
                continue
            axes.add_patch(_box(x, y, STATUS_COLORS[status]))
        axes.text(x, -0.85, item["drill"]["result"], ha="center", va="center", fontsize=8, fontweight="bold",
                  color=PASS_COLOR if item["drill"]["result"] == "PASS" else FAIL_COLOR)
    axes.set_xlim(-0.5, len(drills) - 0.5)
    axes.set_ylim(len(order) - 0.5, -1.3)
    axes.set_yticks(range(len(order)))
    axes.set_yticklabels([_label(n) for n in order])
    axes.set_xticks(range(len(drills)))
    axes.set_xticklabels([_run_label({"started": item["drill"]["started"]}) for item in drills], fontsize=8)
    for side in ("left", "bottom"):
        axes.spines[side].set_visible(False)
    axes.tick_params(length=0)
    axes.set_title("Every scenario in every drill (green passed, red failed, grey not runnable)", loc="left")
    return figure


def _box(x, y, color):
    from matplotlib.patches import FancyBboxPatch
    return FancyBboxPatch((x - 0.42, y - 0.36), 0.84, 0.72, boxstyle="round,pad=0,rounding_size=0.08",
                          facecolor=color, edgecolor="white", linewidth=1)


_STYLE = """
:root { --pass: #1a7f37; --fail: #cf222e; --idle: #6e7781; --ink: #24292f; --muted: #57606a; --line: #d0d7de;
        --soft: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; background: #eef1f4; color: var(--ink); line-height: 1.45;
       font: 15px/1.45 -apple-system, "Segoe UI", "DejaVu Sans", "Liberation Sans", Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 20px 40px; }
header.top { background: #fff; border-radius: 10px; padding: 22px 26px; border-left: 10px solid var(--idle);
             display: flex; justify-content: space-between; align-items: center; gap: 16px; }
header.top.pass { border-left-color: var(--pass); } header.top.fail { border-left-color: var(--fail); }
h1 { margin: 0 0 4px; font-size: 26px; } h2 { margin: 0 0 12px; font-size: 20px; } h3 { font-size: 15px; margin: 18px 0 8px; }
.sub { color: var(--muted); margin: 0; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 999px; color: #fff; font-weight: 700;
         font-size: 13px; letter-spacing: .03em; white-space: nowrap; }
.badge.big { font-size: 28px; padding: 6px 22px; }
.passed, .PASS { background: var(--pass); } .failed, .FAIL { background: var(--fail); }
.not_runnable { background: var(--idle); }
section.card { background: #fff; border-radius: 10px; padding: 20px 24px; margin-top: 18px; }
section.scenario { border-top: 6px solid var(--idle); }
section.scenario.status-passed { border-top-color: var(--pass); }
section.scenario.status-failed { border-top-color: var(--fail); }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 7px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
td.num { white-space: nowrap; font-variant-numeric: tabular-nums; }
td.missed { color: var(--fail); font-weight: 700; }
a { color: #0969da; text-decoration: none; } a:hover { text-decoration: underline; }
.stats { display: flex; flex-wrap: wrap; gap: 12px; margin: 6px 0 4px; }
.stat { background: var(--soft); border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; min-width: 170px; }
.stat .k { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.stat .v { font-size: 20px; font-weight: 700; font-variant-numeric: tabular-nums; }
.stat .v small { font-size: 13px; font-weight: 400; color: var(--muted); }
.stat.bad .v { color: var(--fail); } .stat.good .v { color: var(--pass); }
.reason { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 8px; padding: 10px 14px; margin: 8px 0; }
.reason.failed { background: #ffebe9; border-color: #ff8182; }
.figure { margin: 10px 0; }
.figure svg.chart { width: 100%; height: auto; display: block; }
.problems li { margin-bottom: 6px; word-break: break-word; }
.problems { color: var(--fail); }
code { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 13px; background: var(--soft);
       padding: 1px 4px; border-radius: 4px; word-break: break-all; }
.note { color: var(--muted); font-size: 13px; }
footer { color: var(--muted); font-size: 12px; margin-top: 18px; text-align: center; }
"""


def _badge(status, big=False):
    """A scenario's status (passed, failed, not_runnable) or a result (PASS, FAIL) as a coloured label."""
    label = history_utils.STATUS_LABELS.get(status, status)
    return '<span class="badge %s%s">%s</span>' % (_esc(status), " big" if big else "", _esc(label))


def _objective_cell(figure):
    text = history_utils.objective_text(figure)
    missed = figure is not None and not figure.get("met")
    return '<td class="num%s">%s</td>' % (" missed" if missed else "", _esc(text))


def _anchor(name):
    return "scenario-" + "".join(c if c.isalnum() or c in "-_" else "-" for c in name)


def _summary_table(latest):
    rows = []
    for scenario in latest["scenarios"]:
        rows.append("<tr><td><a href=\"#%s\">%s</a><br><span class=\"note\">%s%s</span></td><td>%s</td>%s%s"
                    "<td class=\"num\">%s</td><td>%s</td></tr>" % (
                        _esc(_anchor(scenario["name"])), _esc(scenario["name"]),
                        _esc(scenario["incident"] + " - ") if scenario.get("incident") else "", _esc(scenario["title"]),
                        _badge(scenario["status"]), _objective_cell(scenario.get("rto")),
                        _objective_cell(scenario.get("rpo")), _esc(history_utils.writes_text(scenario.get("writes"))),
                        _esc(scenario.get("reason") or "")))
    return ('<table class="summary" id="summary-table"><thead><tr><th>scenario</th><th>status</th>'
            '<th>RTO achieved / objective</th><th>RPO achieved / objective</th><th>writes lost</th><th>reason</th>'
            '</tr></thead><tbody>%s</tbody></table>' % "".join(rows))


def _stat(key, value, note="", tone=""):
    return '<div class="stat %s"><div class="k">%s</div><div class="v">%s%s</div></div>' % (
        tone, _esc(key), _esc(value), (" <small>%s</small>" % _esc(note)) if note else "")


def _scenario_section(charts, name, scenario, trend):
    status = scenario["status"] if scenario else None
    parts = ['<section class="card scenario status-%s" id="%s" data-scenario="%s">' % (
        _esc(status or "absent"), _esc(_anchor(name)), _esc(name))]
    title = scenario["title"] if scenario else trend["title"]
    incident = (scenario or {}).get("incident") or trend.get("incident")
    parts.append("<h2>%s %s</h2>" % (_esc("%s - %s" % (incident, title) if incident else title),
                                     _badge(status) if status else '<span class="badge not_runnable">NOT IN THE NEWEST DRILL</span>'))
    parts.append('<p class="sub">scenario <code>%s</code>%s</p>' % (_esc(name), _esc(
        ", " + history_utils.span_text(scenario["started"], scenario["finished"]) if scenario and scenario.get("started") else "")))
    if scenario and scenario.get("reason"):
        parts.append('<div class="reason %s"><strong>%s:</strong> %s</div>' % (
            _esc(status), "Why it failed" if status == "failed" else "Why it did not run", _esc(scenario["reason"])))
    if scenario and status != "not_runnable":
        rto, rpo, writes = scenario["rto"], scenario["rpo"], scenario.get("writes")
        stats = [_stat("RTO achieved", history_utils.seconds_text(rto["achieved_seconds"]) if rto["achieved_seconds"] is not None
                       else "not reached", "of %s" % history_utils.seconds_text(rto["objective_seconds"]),
                       "good" if rto["met"] else "bad"),
                 _stat("RPO achieved", history_utils.seconds_text(rpo["achieved_seconds"]) if rpo["achieved_seconds"] is not None
                       else "not reached", "of %s" % history_utils.seconds_text(rpo["objective_seconds"]),
                       "good" if rpo["met"] else "bad")]
        if rpo.get("restored_data_age_seconds") is not None:
            stats.append(_stat("Restored data age", history_utils.seconds_text(rpo["restored_data_age_seconds"])))
        if writes:
            stats.append(_stat("Writes lost", "%d" % writes["lost"], "of %d acknowledged" % writes["acknowledged"],
                               "bad" if writes["lost"] else "good"))
        else:
            stats.append(_stat("Writes", "-", "no writer in this scenario"))
        parts.append('<div class="stats">%s</div>' % "".join(stats))
        breakdown = scenario.get("breakdown") or {}
        pieces = ["%s %s" % (key.replace("_seconds", ""), history_utils.seconds_text(breakdown.get(key)))
                  for key in history_utils.BREAKDOWN if breakdown.get(key) is not None]
        if pieces:
            parts.append('<p class="note">Recovery time by step: %s</p>' % _esc(", ".join(pieces)))
        parts.append('<div class="figure">%s</div>' % charts.svg(
            _objectives, "objectives:" + name, "RTO and RPO of %s against their objectives" % name, scenario))
        if scenario["phases"]:
            parts.append('<div class="figure">%s</div>' % charts.svg(
                _timeline, "timeline:" + name, "Timeline of the phases of %s" % name, scenario))
    runs = [r for r in trend["runs"] if r["status"] != "not_runnable"]
    parts.append("<h3>Over the history</h3>")
    parts.append('<p class="note">%d run(s): %d passed, %d failed, %d not runnable.</p>' % (
        len(trend["runs"]), trend["passed"], trend["failed"], trend["not_runnable"]))
    if runs:
        parts.append('<div class="figure">%s</div>' % charts.svg(
            _trend, "trend:" + name, "RTO, RPO and lost writes of %s over the history" % name, trend))
    else:
        parts.append('<p class="note">Never run in this history: no trend to draw.</p>')
    if scenario and scenario.get("checks"):
        rows = "".join("<tr><td>%s</td><td>%s</td><td>%s</td></tr>" % (
            _esc(c["name"]), _badge(c["result"]), _esc(c.get("detail") or ""))
            for c in scenario["checks"])
        parts.append("<h3>Checks</h3><table class=\"checks\"><thead><tr><th>check</th><th>result</th><th>detail</th>"
                     "</tr></thead><tbody>%s</tbody></table>" % rows)
    if scenario and scenario.get("record"):
        parts.append('<p class="note">The recovery\'s own record: <code>%s</code></p>' % _esc(scenario["record"]))
    parts.append("</section>")
    return "\n".join(parts)


def drill_report_html(history):
    history = _history(history)
    latest = history_utils.newest(history)
    if latest is None:
        raise AnsibleFilterError("no drill in the history %s" % history.get("directory"))
    charts = _Charts()
    order = history_utils.scenario_order(history)
    trends = history_utils.trends(history)
    in_latest = dict((s["name"], s) for s in latest["scenarios"])
    drills = history["drills"]
    result = latest["result"]
    title = "Lifeboat drill report - %s - %s" % (latest["environment"], result)
    body = ['<header class="top %s"><div><h1>Lifeboat drill report</h1><p class="sub">environment <strong>%s</strong>'
            ' &middot; newest drill %s &middot; %d drill(s) in the history</p></div>%s</header>' % (
                "pass" if result == "PASS" else "fail", _esc(latest["environment"]),
                _esc(history_utils.span_text(latest["started"], latest["finished"])),
                len(drills), _badge(result, big=True).replace('class="badge %s big"' % _esc(result),
                                                              'class="badge %s big" id="result"' % _esc(result)))]
    body.append('<section class="card" id="summary"><h2>Newest drill</h2>%s</section>' % _summary_table(latest))
    history_rows = "".join(
        "<tr><td class=\"num\">%s</td><td>%s</td><td>%s</td><td><code>%s</code></td></tr>" % (
            _esc(history_utils.when_text(item["drill"]["started"])), _badge(item["drill"]["result"]), _esc(", ".join(
                "%d %s" % (n, label) for n, label in (
                    (sum(1 for s in item["drill"]["scenarios"] if s["status"] == status), text)
                    for status, text in (("passed", "passed"), ("failed", "failed"), ("not_runnable", "not runnable")))
                if n)), _esc(os.path.basename(item["file"])))
        for item in reversed(drills))
    body.append('<section class="card" id="history"><h2>History</h2><div class="figure">%s</div>'
                '<table><thead><tr><th>started</th><th>result</th><th>scenarios</th><th>file</th></tr></thead>'
                '<tbody>%s</tbody></table><p class="note">from <code>%s</code></p></section>' % (
                    charts.svg(_matrix, "matrix", "Every scenario in every drill", history, order), history_rows,
                    _esc(history.get("directory") or "-")))
    if history.get("problems"):
        body.append('<section class="card" id="problems"><h2>Files not read (%d)</h2><p class="note">These files in '
                    'the history are not valid drill results; the report leaves them out.</p><ul class="problems">%s'
                    '</ul></section>' % (len(history["problems"]), "".join(
                        "<li>%s</li>" % _esc(p["error"]) for p in history["problems"])))
    for name in order:
        body.append(_scenario_section(charts, name, in_latest.get(name), trends[name]))
    body.append('<footer>lifeboat.dr drill report &middot; %d drill(s), %d file(s) not read &middot; self-contained: '
                'nothing is fetched from the network</footer>' % (len(drills), len(history.get("problems") or [])))
    return ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>%s</title>\n<style>%s</style>\n'
            '</head>\n<body>\n<main>\n%s\n</main>\n</body>\n</html>\n' % (_esc(title), _STYLE, "\n".join(body)))


class FilterModule(object):
    def filters(self):
        return {"drill_history": drill_history, "drill_report_markdown": drill_report_markdown,
                "drill_report_html": drill_report_html}
