"""The drill's decisions: which scenarios an argument selects, and when a scenario and the drill pass - only with
every check passed and both objectives met; a scenario that could not run is never reported as passed."""
import os

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.lifeboat.dr.plugins.filter.drill import drill_result_document, drill_scenarios
from ansible_collections.lifeboat.dr.plugins.module_utils import drill_result, runbook

RUNBOOK = {
    "environment": "test",
    "incidents": [
        {"id": "INC-001", "title": "Backend service failure", "scenario": "service_failure", "rto_minutes": 5,
         "rpo_minutes": 0},
        {"id": "INC-003", "title": "Database down", "scenario": "database_failure", "rto_minutes": 1,
         "rpo_minutes": 0},
    ],
}


def measured(**change):
    base = {"started": "2026-12-07T18:00:00.000000Z", "finished": "2026-12-07T18:00:30.000000Z",
            "rto_seconds": 12.5, "rpo_seconds": 0.0, "writes": {"acknowledged": 60, "lost": 0},
            "breakdown": {"detection_seconds": 2.0, "execution_seconds": 9.0},
            "phases": [{"name": "inject", "start": "2026-12-07T18:00:00Z", "end": "2026-12-07T18:00:01Z",
                        "seconds": 1.0}],
            "checks": [{"name": "healthy again", "result": "PASS"}], "record": "/r.json"}
    base.update(change)
    return base


def test_all_selects_every_scenario_with_the_failover_last():
    chosen = drill_scenarios("all")
    assert sorted(chosen) == sorted(s.name for s in runbook.SCENARIOS)
    assert chosen[-1] == "database_failure"
    assert drill_scenarios(None) == chosen


def test_a_list_is_run_in_run_order_and_an_unknown_name_is_refused():
    assert drill_scenarios("database_failure, service_failure") == ["service_failure", "database_failure"]
    with pytest.raises(AnsibleFilterError, match="unknown drill scenario 'meteor'"):
        drill_scenarios("service_failure,meteor")


def test_a_scenario_within_its_objectives_passes():
    entry = drill_result.scenario_result("service_failure", RUNBOOK, measured())
    assert entry["status"] == "passed" and entry["reason"] is None
    assert entry["incident"] == "INC-001"
    assert entry["rto"] == {"achieved_seconds": 12.5, "objective_seconds": 300.0, "met": True}
    assert entry["rpo"]["met"] is True and entry["rpo"]["objective_seconds"] == 0.0
    assert entry["breakdown"] == {"detection_seconds": 2.0, "decision_seconds": None, "execution_seconds": 9.0,
                                  "verification_seconds": None}


def test_a_missed_objective_a_failed_check_or_an_unfinished_recovery_fails_it():
    slow = drill_result.scenario_result("database_failure", RUNBOOK, measured(rto_seconds=75.0))
    assert slow["status"] == "failed" and "RTO 75.0 s missed the objective of 60 s" in slow["reason"]
    lossy = drill_result.scenario_result("database_failure", RUNBOOK, measured(rpo_seconds=0.4))
    assert lossy["status"] == "failed" and "RPO 0.4 s missed" in lossy["reason"]
    broken = drill_result.scenario_result("service_failure", RUNBOOK, measured(
        checks=[{"name": "the notes are all there", "result": "FAIL", "detail": "3 missing"}]))
    assert broken["status"] == "failed" and "check failed: the notes are all there (3 missing)" in broken["reason"]
    unfinished = drill_result.scenario_result("service_failure", RUNBOOK, measured(rto_seconds=None))
    assert unfinished["status"] == "failed" and unfinished["rto"]["met"] is False
    assert "did not finish" in unfinished["reason"]
    empty = drill_result.scenario_result("service_failure", RUNBOOK, measured(checks=[]))
    assert empty["status"] == "failed" and "checked nothing" in empty["reason"]


def test_no_objective_means_met_is_unknown_not_passed_or_failed():
    entry = drill_result.scenario_result("redis_failure", RUNBOOK, measured())
    assert entry["incident"] is None and entry["rto"]["met"] is None
    assert entry["status"] == "passed"


def test_a_scenario_that_did_not_run_is_not_runnable_with_its_reason():
    entry = drill_result.scenario_result("security_breach", RUNBOOK)
    assert entry["status"] == "not_runnable" and entry["reason"]
    assert entry["rto"] is None and entry["phases"] == []
    assert drill_result.scenario_result("server_loss", RUNBOOK, None, "no blank host")["reason"] == "no blank host"


def test_the_drill_passes_only_when_every_scenario_that_ran_passed():
    doc = drill_result_document({"service_failure": measured()}, RUNBOOK, ["service_failure", "security_breach"],
                                "2026-12-07T18:00:00Z", "2026-12-07T18:01:00Z")
    assert doc["kind"] == "lifeboat-drill" and doc["version"] == 1 and doc["environment"] == "test"
    statuses = [(s["name"], s["status"]) for s in doc["scenarios"]]
    assert statuses == [("service_failure", "passed"), ("security_breach", "not_runnable")]
    assert doc["result"] == "PASS"
    failed = drill_result_document({"service_failure": measured(rto_seconds=None)}, RUNBOOK, ["service_failure"],
                                   "a", "b")
    assert failed["result"] == "FAIL"
    nothing = drill_result_document({}, RUNBOOK, ["security_breach"], "a", "b")
    assert nothing["result"] == "FAIL"


def test_lost_writes_give_the_rpo_of_their_span():
    assert drill_result.rpo_of_lost_writes(0, 0.2) == 0.0
    assert drill_result.rpo_of_lost_writes(3, 0.2) == 0.6


def test_marks_become_phases_each_running_to_the_next_mark():
    marks = [["inject", 1796666400.0], ["detect", 1796666401.5], ["recover", 1796666404.0], ["done", 1796666405.0]]
    found = drill_result.phases(marks)
    assert [(p["name"], p["seconds"]) for p in found] == [("inject", 1.5), ("detect", 2.5), ("recover", 1.0)]
    assert found[0]["start"] == "2026-12-07T18:00:00.000000Z" and found[0]["end"] == "2026-12-07T18:00:01.500000Z"
    assert drill_result.span(marks, "inject", "recover") == 4.0
    assert drill_result.span(marks, "inject", "missing") is None


def test_a_table_row_shows_achieved_and_objective_and_lost_of_acknowledged():
    row = drill_result.table_row(drill_result.scenario_result("service_failure", RUNBOOK, measured()))
    assert row.split()[:6] == ["service_failure", "PASSED", "12.5", "(300)", "0.0", "(0)"]
    assert "0/60" in row
    assert "NOT_RUNNABLE" in drill_result.table_row(drill_result.scenario_result("security_breach", RUNBOOK))


DRILL_PLAYBOOK = os.path.join(os.path.dirname(__file__), "..", "..", "playbooks", "drill.yml")


@pytest.mark.skipif(not os.path.exists(DRILL_PLAYBOOK), reason="the built collection ships no lab drill playbook")
def test_the_drill_playbook_runs_exactly_the_scenarios_the_runbook_calls_rehearsed():
    with open(DRILL_PLAYBOOK) as handle:
        text = handle.read()
    core = ("db_corruption", "vector_store_corruption")
    runs = set(name for name in runbook.BY_NAME if "'%s' in drill_selected" % name in text)
    runs |= set(core) if "intersect(%r)" % list(core) in text.replace('"', "'") else set()
    assert runs == set(s.name for s in runbook.SCENARIOS if s.drill is not None)
