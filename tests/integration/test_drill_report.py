"""playbooks/report.yml on the controller over a history of drill results (tests/unit/fixtures/drills: four drills,
a file that is not JSON, one that breaks the schema), and the page it writes opened in headless Chromium (Debian's
``chromium``, which lab/setup.sh installs): the summary and every scenario's charts are in the browser's DOM, the
page asks the network for nothing, and its screenshot is a picture, not a blank page. No lab host is needed."""
import json
import os
import re
import shutil
import stat
import subprocess

import pytest

from labhost import ROOT, playbook

FIXTURES = os.path.join(ROOT, "tests", "unit", "fixtures", "drills")
WIDTH, HEIGHT = 1280, 4000
# The charts each scenario of the newest fixture drill has: RTO and RPO against the objectives, the phases'
# timeline and the trend over the history; security_breach never ran, so it has none.
CHARTS = {"database_failure": ["objectives", "timeline", "trend"], "db_corruption": ["objectives", "timeline", "trend"],
          "vector_store_corruption": ["objectives", "timeline", "trend"], "security_breach": []}


def _said(proc):
    return " ".join((proc.stdout + proc.stderr).split())


def _chromium():
    path = shutil.which("chromium")
    assert path, "Debian's chromium is needed (apt-get install chromium; lab/setup.sh installs it)"
    return path


def _browse(tmp_path, url, *extra):
    """Headless Chromium on a page with no way out: a proxy that does not exist, Chromium's own background
    traffic off, and a net log of every request it still makes."""
    netlog = tmp_path / ("netlog-%d.json" % len(list(tmp_path.glob("netlog-*.json"))))
    proc = subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
         "--user-data-dir=%s" % (tmp_path / "profile"), "--proxy-server=127.0.0.1:9", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-extensions", "--log-net-log=%s" % netlog]
        + list(extra) + [url], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(str(netlog)) as handle:
        log = json.load(handle)
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    # Chromium's own requests (updates, time) have no origin; a page's subresources carry the page's ("null" for
    # a file:// page).
    asked = [e["params"]["url"] for e in log["events"]
             if e["type"] == start and e.get("params", {}).get("initiator") not in (None, "not an origin")]
    return proc.stdout, asked


@pytest.fixture
def history(tmp_path):
    reports = tmp_path / "reports"
    shutil.copytree(FIXTURES, str(reports / "drills"))
    return reports


def test_the_report_is_written_printed_and_published(history):
    history.chmod(0o1777)   # an existing report directory (as /tmp would be) keeps its mode
    proc = playbook("report.yml", "-e", "lifeboat_report_dir=%s" % history)
    assert proc.returncode == 0, proc.stdout[-3000:]
    page = history / "drill-report.html"
    assert "Report: %s" % page in proc.stdout
    # The Markdown summary of the newest drill, printed as it is.
    assert "# Lifeboat drill on lab: FAIL" in proc.stdout
    assert ("| db_corruption (INC-004) | FAIL | 10.6 s / 1800 s (30 min) | 19.2 s / 15 s (missed) | 19 of 25 | "
            "RPO 19.2 s over the 15 s objective: the offsite shipping timer ran late |") in proc.stdout
    assert "- NOT READ: %s/drills/drill-20261206T120000Z.json is not a valid drill result" % history in proc.stdout
    assert stat.S_IMODE(os.stat(str(page)).st_mode) == 0o640
    assert stat.S_IMODE(os.stat(str(history)).st_mode) == 0o1777
    # The same history again: the same page, nothing changed.
    again = playbook("report.yml", "-e", "lifeboat_report_dir=%s" % history)
    assert again.returncode == 0 and re.search(r"localhost\s+: ok=\d+\s+changed=0", again.stdout), again.stdout[-2000:]


def test_chromium_shows_the_summary_and_every_scenarios_charts_with_no_network(history, tmp_path):
    proc = playbook("report.yml", "-e", "lifeboat_report_dir=%s" % history)
    assert proc.returncode == 0, proc.stdout[-3000:]
    page = history / "drill-report.html"
    text = page.read_text()
    # Nothing in the page points anywhere: no script, style sheet, font or image, no URL but the SVG namespaces.
    assert not re.search(r"<(script|link|img|iframe)\b", text) and "@import" not in text
    assert not re.search(r'\b(src|href)="(?!#)', text) and not re.search(r"url\((?!#)", text)

    dom, asked = _browse(tmp_path, page.as_uri(), "--dump-dom")
    assert asked == [], "the page asked the network for %s" % asked
    assert "<title>Lifeboat drill report - lab - FAIL</title>" in dom
    assert '<table class="summary" id="summary-table">' in dom
    summary = dom[dom.index('id="summary-table"'):]
    summary = summary[:summary.index("</table>")]
    assert summary.count("<tr>") == 1 + 4   # the header and one row per scenario of the newest drill
    sections = dict(re.findall(r'<section class="card scenario[^"]*" id="[^"]+" data-scenario="([^"]+)">(.*?)</section>',
                               dom, re.S))
    assert dict((name, re.findall(r'<svg [^>]*data-chart="([a-z]+)"', html)) for name, html in sections.items()) == CHARTS
    for name, html in sections.items():
        # Every chart drew something: paths (bars, lines, axes) and its text.
        for chart in re.findall(r"<svg .*?</svg>", html, re.S):
            assert chart.count("<path") >= 5 and "<text" in chart, name
    assert dom.count('data-chart="matrix"') == 1 and "Files not read (2)" in dom

    # The control: the same net log does see a page that fetches something.
    leak = tmp_path / "leak.html"
    leak.write_text('<html><body><img src="http://198.51.100.7/x.png"></body></html>')
    _, leaked = _browse(tmp_path, leak.as_uri(), "--dump-dom")
    assert leaked == ["http://198.51.100.7/x.png"]

    screenshot = tmp_path / "report.png"
    _browse(tmp_path, page.as_uri(), "--screenshot=%s" % screenshot, "--window-size=%d,%d" % (WIDTH, HEIGHT))
    from PIL import Image
    with Image.open(str(screenshot)) as image:
        assert image.size == (WIDTH, HEIGHT)
        picture = image.convert("RGB")
        colours = picture.getcolors(maxcolors=WIDTH * HEIGHT)
        # A rendered report, not a blank or half-drawn page: many colours (text, charts), the page's background
        # most of all, and the pass green and the fail red of the badges and charts among them.
        assert len(colours) > 500, len(colours)
        counts = dict((colour, n) for n, colour in colours)
        assert max(counts, key=counts.get) == (0xEE, 0xF1, 0xF4) or max(counts, key=counts.get) == (0xFF, 0xFF, 0xFF)
        assert counts.get((0x1A, 0x7F, 0x37), 0) > 1000 and counts.get((0xCF, 0x22, 0x2E), 0) > 1000
    # Kept for a person to look at: .lab/drill-report/ (pytest's own tmp_path goes after three runs).
    kept = os.path.join(ROOT, ".lab", "drill-report")
    os.makedirs(kept, exist_ok=True)
    shutil.copy(str(screenshot), os.path.join(kept, "report.png"))
    shutil.copy(str(page), os.path.join(kept, "drill-report.html"))


def test_the_drills_own_result_and_a_new_report_directory(history, tmp_path):
    # The drill's end names the run it just wrote, which need not be in the history directory.
    own = tmp_path / "run" / "drill-20261208T090000Z.json"
    own.parent.mkdir()
    with open(os.path.join(FIXTURES, "drill-20261203T180000Z.json")) as handle:
        doc = json.load(handle)
    doc["started"], doc["finished"], doc["environment"] = "2026-12-08T09:00:00.000000Z", "2026-12-08T09:05:00.000000Z", "staging"
    own.write_text(json.dumps(doc))
    output = tmp_path / "new" / "deeper" / "report.html"
    proc = playbook("report.yml", "-e", "lifeboat_report_dir=%s" % history, "-e", "drill_report_result=%s" % own,
                    "-e", "drill_report_output=%s" % output, "-e", "drill_report_last=3")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "# Lifeboat drill on staging: PASS" in proc.stdout
    # The newest three: 12-05 and 12-07 (both FAIL) and this one.
    assert "History: 3 drill(s) in %s/drills, 1 passed, 2 failed" % history in proc.stdout
    assert stat.S_IMODE(os.stat(str(output.parent)).st_mode) == 0o750
    assert "<title>Lifeboat drill report - staging - PASS</title>" in output.read_text()


def test_no_drill_or_a_bad_result_fails_naming_it_and_writes_nothing(tmp_path):
    empty = tmp_path / "empty"
    proc = playbook("report.yml", "-e", "lifeboat_report_dir=%s" % empty)
    assert proc.returncode != 0 and "No drill in %s/drills" % empty in _said(proc)
    assert not empty.exists()

    broken = tmp_path / "broken" / "drills"
    broken.mkdir(parents=True)
    shutil.copy(os.path.join(FIXTURES, "drill-20261206T120000Z.json"), str(broken))
    proc = playbook("report.yml", "-e", "lifeboat_report_dir=%s" % broken.parent)
    said = _said(proc)
    assert proc.returncode != 0 and "No drill in %s" % broken in said
    assert "drill-20261206T120000Z.json is not a valid drill result (3 problems)" in said

    bad = tmp_path / "drill-bad.json"
    doc = {"kind": "lifeboat-drill", "version": 1, "environment": "lab", "started": "2026-12-07T18:00:00Z",
           "finished": "2026-12-07T18:20:00Z", "result": "PASS", "scenarios": [{"name": "database_failure"}]}
    bad.write_text(json.dumps(doc))
    proc = playbook("report.yml", "-e", "lifeboat_report_dir=%s" % empty, "-e", "drill_report_result=%s" % bad)
    said = _said(proc)
    assert proc.returncode != 0 and "%s is not a valid drill result" % bad in said
    assert "scenarios[0] (database_failure).status: missing" in said
    assert not empty.exists()
