"""playbooks/runbook.yml as users run it, on the controller (no lab host needed): the lab's runbook renders to
Markdown, HTML and the reference plan's JSON; a runbook the argument spec or the drift check refuses writes nothing."""
import json
import os

from labhost import playbook


def run(output, *extra):
    return playbook("runbook.yml", "-e", "runbook_output_dir=%s" % output, *extra)


def test_the_lab_runbook_renders_in_three_forms(tmp_path):
    proc = run(tmp_path)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert sorted(os.listdir(tmp_path)) == ["runbook-lab.html", "runbook-lab.json", "runbook-lab.md"]
    with open(tmp_path / "runbook-lab.json") as handle:
        document = json.load(handle)
    # jq '.incidents[] | select(.id=="INC-003")'
    assert [i["title"] for i in document["incidents"] if i["id"] == "INC-003"] == ["Database failure - down"]
    markdown = (tmp_path / "runbook-lab.md").read_text()
    assert "### INC-005: Datacenter failure" in markdown and "not yet (" in markdown
    html = (tmp_path / "runbook-lab.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and 'id="INC-009"' in html
    assert oct(os.stat(tmp_path / "runbook-lab.json").st_mode & 0o777) == "0o640"
    assert "9 incidents, 6 rehearsed by a drill today" in proc.stdout


def test_a_bad_runbook_is_refused_naming_the_cause_and_nothing_is_written(tmp_path):
    bad = {"environment": "broken", "incidents": [{"id": "INC-001", "title": "x", "severity": "high",
                                                   "scenario": "meteor", "steps": [
                                                       {"name": "a", "run": "b", "timeout_seconds": 5}]}]}
    proc = run(tmp_path, "-e", json.dumps({"lifeboat_runbook": bad}))
    assert proc.returncode != 0
    assert "INC-001: scenario 'meteor' is not one Lifeboat knows" in proc.stdout
    assert "scenario server_loss has no incident in the runbook" in proc.stdout
    assert not os.path.exists(tmp_path / "runbook-broken.json")

    no_steps = {"environment": "broken", "incidents": [{"id": "INC-001", "title": "x", "severity": "high",
                                                        "scenario": "service_failure"}]}
    proc = run(tmp_path, "-e", json.dumps({"lifeboat_runbook": no_steps}))
    assert proc.returncode != 0 and "steps" in proc.stdout and "required" in proc.stdout
    assert os.listdir(tmp_path) == []
