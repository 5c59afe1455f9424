# -*- coding: utf-8 -*-
"""The drill report's filters: the HTML page is self-contained (charts as inline SVG, nothing fetched), escapes every
text the results carry, has the charts each scenario needs, and says so clearly when matplotlib is missing.
tests/integration/test_drill_report.py renders the same page in headless Chromium."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import sys

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.lifeboat.dr.plugins.filter.drill_report import (drill_history, drill_report_html,
                                                                         drill_report_markdown)

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "drills")


def _sections(page):
    """Each scenario's section: name -> its HTML."""
    found = re.findall(r'<section class="card scenario[^"]*" id="[^"]+" data-scenario="([^"]+)">(.*?)</section>', page, re.S)
    return dict(found)


def test_the_page_has_the_summary_the_history_and_every_scenarios_charts():
    page = drill_report_html(drill_history(FIXTURES))
    assert page.startswith("<!DOCTYPE html>")
    assert "<title>Lifeboat drill report - lab - FAIL</title>" in page
    assert '<table class="summary" id="summary-table">' in page
    sections = _sections(page)
    assert list(sections) == ["database_failure", "db_corruption", "vector_store_corruption", "security_breach"]
    charts = dict((name, re.findall(r'<svg [^>]*data-chart="([a-z]+)"', html)) for name, html in sections.items())
    assert charts == {"database_failure": ["objectives", "timeline", "trend"],
                      "db_corruption": ["objectives", "timeline", "trend"],
                      "vector_store_corruption": ["objectives", "timeline", "trend"],
                      "security_breach": []}
    assert "Never run in this history" in sections["security_breach"]
    assert "security_breach.yml does not exist yet" in sections["security_breach"]
    # The history's status matrix, and both unreadable files named.
    assert page.count('data-chart="matrix"') == 1
    assert "Files not read (2)" in page and "drill-20261204T000000Z.json is not JSON" in page
    # The figures as the summary shows them.
    assert '<td class="num missed">19.2 s / 15 s (missed)</td>' in page
    assert "RTO: 7.3 s achieved, met (objective 600 s (10 min))" in sections["database_failure"]


def test_nothing_is_fetched_from_anywhere():
    page = drill_report_html(drill_history(FIXTURES))
    for tag in ("<script", "<link", "<img", "<iframe", "@import"):
        assert tag not in page
    # url() only for the charts' own clip paths.
    assert not re.search(r"url\((?!#)", page)
    # The only URIs left are the SVG namespaces' names.
    assert set(re.findall(r'(\S+)="https?://', page)) <= {"xmlns", "xmlns:xlink"}
    assert not re.search(r'(src|href)="(?!#)', page.replace('href="#scenario-', ""))


def test_every_text_from_the_results_is_escaped(tmp_path):
    with open(os.path.join(FIXTURES, "drill-20261207T180000Z.json")) as handle:
        doc = json.load(handle)
    doc["environment"] = "<b>lab</b>"
    doc["scenarios"][1]["title"] = "<script>alert(1)</script>"
    doc["scenarios"][1]["reason"] = 'RPO "missed" & <img src=x onerror=alert(2)>'
    doc["scenarios"][0]["phases"][0]["name"] = "<prepare> & $x$"
    doc["scenarios"][0]["checks"][0]["detail"] = "</td></tr></table><script>alert(3)</script>"
    doc["scenarios"][0]["record"] = "/tmp/<x>.json"
    (tmp_path / "drill-20261207T180000Z.json").write_text(json.dumps(doc))
    page = drill_report_html(drill_history(str(tmp_path)))
    assert "<script" not in page and "<img" not in page and "<b>" not in page and "<prepare>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "RPO &quot;missed&quot; &amp; &lt;img src=x onerror=alert(2)&gt;" in page
    assert "&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;script&gt;alert(3)" in page
    assert "/tmp/&lt;x&gt;.json" in page
    # The phase's name is drawn as text in the timeline's SVG, escaped there by matplotlib (and $ is no mathtext).
    assert "&lt;prepare&gt; &amp; $x$" in page


def test_the_markdown_filter_and_bad_inputs():
    history = drill_history(FIXTURES)
    assert drill_report_markdown(history).startswith("# Lifeboat drill on lab: FAIL\n")
    with pytest.raises(AnsibleFilterError, match="needs what lifeboat.dr.drill_history returns"):
        drill_report_html("/somewhere")
    with pytest.raises(AnsibleFilterError, match="no drill in the history /nowhere"):
        drill_report_markdown(drill_history("/nowhere"))
    with pytest.raises(AnsibleFilterError, match="no drill in the history /nowhere"):
        drill_report_html(drill_history("/nowhere"))
    with pytest.raises(AnsibleFilterError, match="drill-20261206T120000Z.json is not a valid drill result"):
        drill_history(FIXTURES, result=os.path.join(FIXTURES, "drill-20261206T120000Z.json"))
    assert len(drill_history(FIXTURES, last="2")["drills"]) == 2


def test_without_matplotlib_the_report_says_what_is_missing(monkeypatch):
    history = drill_history(FIXTURES)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(AnsibleFilterError, match="draws its charts with matplotlib, which the controller's Python lacks"):
        drill_report_html(history)
    # The summary needs no matplotlib.
    assert "| database_failure (INC-003) | PASS |" in drill_report_markdown(history)


def test_a_recovery_that_never_finished_is_drawn_as_not_reached():
    # The failed drill of 2026-12-05 as the newest (the run just written): db2 never took writes.
    history = drill_history(FIXTURES, result=os.path.join(FIXTURES, "drill-20261205T180000Z.json"))
    page = drill_report_html(history)
    section = _sections(page)["database_failure"]
    assert "Why it failed:</strong> db2 did not take writes within 60 s: the promotion timed out" in section
    assert "not reached: the recovery never finished" in section
    assert '<div class="v">not reached <small>of 600 s (10 min)</small></div>' in section
    assert '<span class="badge FAIL">FAIL</span>' in section   # the failed check
    assert "<title>Lifeboat drill report - lab - FAIL</title>" in page
