"""The runbook as data: the checks beyond its argument spec, the drift test against the drills' scenarios, and its
three renderings. The lab's own runbook must pass all of them: the document cannot drift from the automation."""
import copy
import json
import os

import pytest
import yaml

from ansible_collections.lifeboat.dr.plugins.module_utils import runbook

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB_VARS = os.path.join(ROOT, "inventories", "lab", "group_vars", "all.yml")
# make unit runs these in the working copy; ansible-test units runs on the built collection, which has no inventory.
needs_lab_inventory = pytest.mark.skipif(not os.path.exists(LAB_VARS),
                                         reason="the lab inventory is not part of the built collection")


def lab_runbook():
    with open(LAB_VARS) as handle:
        return yaml.safe_load(handle)["lifeboat_runbook"]


def step(name, **extra):
    return dict({"name": name, "run": "ansible-playbook playbooks/x.yml", "timeout_seconds": 60}, **extra)


def small():
    return {"environment": "test", "contacts": [{"name": "Ann"}], "escalation": [{"level": 1, "contacts": ["Ann"]}],
            "incidents": [{"id": "INC-003", "title": "Database down", "severity": "critical",
                           "scenario": "database_failure", "rto_minutes": 20,
                           "steps": [step("status"), step("failover", on_failure="rollback", rollback_to="status")]}]}


@needs_lab_inventory
def test_the_lab_runbook_has_no_problem_and_no_drift():
    document = lab_runbook()
    assert runbook.problems(document) == []
    assert runbook.drift(document) == []
    ids = [i["id"] for i in document["incidents"]]
    assert ids[:6] == ["INC-001", "INC-002", "INC-003", "INC-004", "INC-005", "INC-006"]


def test_every_scenario_drills_name_is_in_the_catalogue_once():
    names = [s.name for s in runbook.SCENARIOS]
    assert len(names) == len(set(names)) == 9
    assert all((s.drill is None) != (s.not_yet is None) for s in runbook.SCENARIOS)


@pytest.mark.parametrize("change, problem", [
    (lambda d: d["incidents"].append(copy.deepcopy(d["incidents"][0])), "INC-003: the id is used twice"),
    (lambda d: d["incidents"][0].update(id="incident 3"), "incident 3: an id is letters, a dash and a number"),
    (lambda d: d["incidents"][0].update(severity="urgent"), "INC-003: severity 'urgent' is not one of critical"),
    (lambda d: d["incidents"][0].update(scenario="meteor"), "INC-003: scenario 'meteor' is not one Lifeboat knows"),
    (lambda d: d["incidents"][0].update(rto_minutes=-1), "INC-003: rto_minutes is negative"),
    (lambda d: d["incidents"][0].update(steps=[]), "INC-003: no steps"),
    (lambda d: d["incidents"][0]["steps"].append(step("status")), "INC-003: step status appears twice"),
    (lambda d: d["incidents"][0]["steps"][0].update(timeout_seconds=0), "step status needs a timeout_seconds above 0"),
    (lambda d: d["incidents"][0]["steps"][1].update(rollback_to="later"),
     "INC-003: step failover rolls back to 'later', which is not an earlier step"),
    (lambda d: d["incidents"][0]["steps"][0].update(on_failure="pray"), "on_failure 'pray' is not one of retry"),
    (lambda d: d["escalation"][0]["contacts"].append("Bob"), "escalation level 1 names Bob, who is not among"),
])
def test_each_problem_is_named(change, problem):
    document = small()
    assert runbook.problems(document) == []
    change(document)
    found = runbook.problems(document)
    assert any(problem in p for p in found), found


def test_drift_names_uncovered_scenarios_and_unknown_ones():
    document = small()
    found = runbook.drift(document)
    assert "scenario server_loss has no incident in the runbook" in found
    assert not any("database_failure" in p for p in found)
    document["incidents"][0]["scenario"] = "meteor"
    assert "incident INC-003 names scenario 'meteor', which no drill knows" in runbook.drift(document)


@needs_lab_inventory
def test_the_reference_json_selects_an_incident_like_jq():
    document = json.loads(runbook.render(lab_runbook())["json"])
    inc3 = [i for i in document["incidents"] if i["id"] == "INC-003"]
    assert len(inc3) == 1 and inc3[0]["rto_minutes"] == 20 and inc3[0]["scenario"] == "database_failure"
    assert inc3[0]["recovery"] == "playbooks/failover.yml -e incident=database_failure"
    assert inc3[0]["rehearsed_by"].startswith("playbooks/drill.yml")
    assert inc3[0]["steps"][0]["on_failure"] == "stop"
    assert document["escalation_matrix"][1] == {"level": 2, "after_minutes": 15, "contacts": ["Platform lead"]}
    server_loss = [i for i in document["incidents"] if i["scenario"] == "server_loss"][0]
    assert server_loss["rehearsed_by"] is None and server_loss["not_rehearsed_because"]


def test_markdown_and_html_say_the_same_and_escape_what_they_quote():
    document = small()
    document["incidents"][0]["title"] = "Database <script>alert(1)</script> | down"
    document["incidents"][0]["steps"][1]["verify"] = "a write on db2 & none on app1"
    out = runbook.render(document)
    assert "<script>" not in out["html"] and "&lt;script&gt;" in out["html"]
    assert "a write on db2 &amp; none on app1" in out["html"]
    assert "| INC-003 | Database <script>alert(1)</script> \\| down | critical | 20 min | - | yes |" in out["markdown"]
    assert "| 2 | failover | `ansible-playbook playbooks/x.yml` | 60 s | a write on db2 & none on app1 | roll back to " \
           "step status |" in out["markdown"]
    # Self-contained: no script, no external resource.
    assert "<script" not in out["html"].replace("&lt;script", "") and "src=" not in out["html"]
    assert "http://" not in out["html"] and "https://" not in out["html"]


def test_the_filters_give_the_same_answers():
    from ansible_collections.lifeboat.dr.plugins.filter.runbook import FilterModule
    filters = FilterModule().filters()
    assert filters["runbook_problems"](small()) == []
    assert filters["runbook_drift"](small()) == runbook.drift(small()) != []
    assert set(filters["runbook_render"](small())) == {"markdown", "html", "json"}
    assert [s["name"] for s in filters["runbook_scenarios"]() if s["runnable"]] == [
        "service_failure", "database_failure", "redis_failure", "db_corruption", "accidental_deletion",
        "vector_store_corruption"]
