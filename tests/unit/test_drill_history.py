# -*- coding: utf-8 -*-
"""The drills' history: results checked against the fixed schema (every bad field named with its file), the
history read oldest first with the unusable files listed, not skipped, the trends per scenario, and the Markdown
summary of the newest drill. Fixtures: tests/unit/fixtures/drills (four drills - one with a failed recovery that
never finished, one with a missed RPO, a not-runnable scenario in each - a file that is not JSON and one that
breaks the schema)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import os
import shutil

import pytest

from ansible_collections.lifeboat.dr.plugins.module_utils import drill_history
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "drills")
NEWEST = os.path.join(FIXTURES, "drill-20261207T180000Z.json")
PHASE = {"name": "x", "start": "2026-12-07T18:00:00Z", "end": "2026-12-07T18:00:01Z", "seconds": 1}


def _doc(name="drill-20261207T180000Z.json"):
    with open(os.path.join(FIXTURES, name)) as handle:
        return json.load(handle)


@pytest.mark.parametrize("name", ["drill-20261201T180000Z.json", "drill-20261203T180000Z.json",
                                  "drill-20261205T180000Z.json", "drill-20261207T180000Z.json"])
def test_the_fixtures_match_the_schema(name):
    assert drill_history.problems(_doc(name)) == []
    assert drill_history.load(os.path.join(FIXTURES, name))["kind"] == "lifeboat-drill"


def _breaks(change):
    doc = _doc()
    change(doc)
    return drill_history.problems(doc)


def _set(path, value):
    def change(doc):
        target = doc
        for key in path[:-1]:
            target = target[key]
        if value is KeyError:
            del target[path[-1]]
        else:
            target[path[-1]] = value
    return change


@pytest.mark.parametrize("change, expected", [
    (_set(["kind"], "lifeboat-failover"), "kind: 'lifeboat-failover', expected 'lifeboat-drill'"),
    (_set(["version"], 2), "version: 2, expected 1"),
    (_set(["environment"], KeyError), "environment: missing"),
    (_set(["started"], "2026-12-07 18:00:00"), "started: '2026-12-07 18:00:00' is not a UTC time"),
    (_set(["result"], "OK"), "result: 'OK' is not one of PASS, FAIL"),
    (_set(["result"], "PASS"), "result: PASS, but 1 scenario(s) failed"),
    (_set(["scenarios"], {}), "scenarios: 'dict' is not a list"),
    (_set(["scenarios", 0, "name"], "meteor_strike"), "scenarios[0].name: 'meteor_strike' is not a scenario Lifeboat knows"),
    (_set(["scenarios", 1, "name"], "database_failure"), "scenarios[1].name: database_failure appears twice in this drill"),
    (_set(["scenarios", 0, "status"], "ok"), "scenarios[0] (database_failure).status: 'ok' is not one of passed, failed, not_runnable"),
    (_set(["scenarios", 0, "reason"], "why not"), "scenarios[0] (database_failure).reason: a passed scenario has no reason"),
    (_set(["scenarios", 1, "reason"], None), "scenarios[1] (db_corruption).reason: a failed scenario says why"),
    (_set(["scenarios", 0, "rto", "objective_seconds"], KeyError), "scenarios[0] (database_failure).rto.objective_seconds: missing"),
    (_set(["scenarios", 0, "rto", "achieved_seconds"], "7.3"), "scenarios[0] (database_failure).rto.achieved_seconds: '7.3' is not a number"),
    (_set(["scenarios", 0, "rto", "achieved_seconds"], -1), "rto.achieved_seconds: -1 is not a number of 0 or more"),
    (_set(["scenarios", 0, "rto", "met"], False), "scenarios[0] (database_failure).rto.met: false, but 7.3 s achieved against an objective of 600 s"),
    (_set(["scenarios", 0, "rto", "achieved_seconds"], None), "rto.met: true, but nothing achieved against an objective of 600 s"),
    (_set(["scenarios", 0, "rpo", "restored_data_age_seconds"], KeyError), "(database_failure).rpo.restored_data_age_seconds: missing"),
    (_set(["scenarios", 0, "rto"], None), "scenarios[0] (database_failure).rto: null, but the scenario ran (passed)"),
    (_set(["scenarios", 3, "rto"], {"achieved_seconds": 1, "objective_seconds": 2, "met": True}),
     "scenarios[3] (security_breach).rto: a not_runnable scenario has none (null)"),
    (_set(["scenarios", 3, "started"], "2026-12-07T18:00:00Z"), "scenarios[3] (security_breach).started: a not_runnable scenario has none"),
    (_set(["scenarios", 3, "phases"], [PHASE]), "scenarios[3] (security_breach).phases: a not_runnable scenario has none ([])"),
    (_set(["scenarios", 0, "writes", "lost"], 39), "(database_failure).writes.lost: 39 lost of 38 acknowledged"),
    (_set(["scenarios", 0, "writes", "acknowledged"], 38.5), "writes.acknowledged: 38.5 is not a whole number"),
    (_set(["scenarios", 0, "breakdown"], None), "scenarios[0] (database_failure).breakdown: null, an object is needed here"),
    (_set(["scenarios", 0, "breakdown", "decision_seconds"], KeyError), "breakdown.decision_seconds: missing"),
    (_set(["scenarios", 0, "phases", 2, "start"], "2026-12-07T17:00:00Z"),
     "scenarios[0] (database_failure).phases[2] (inject).start: before the start of the phase before it"),
    (_set(["scenarios", 0, "phases", 0, "seconds"], None), "phases[0] (prepare).seconds: None is not a number"),
    (_set(["scenarios", 0, "checks", 0, "result"], "ok"), "scenarios[0] (database_failure).checks[0].result: 'ok' is not one of PASS, FAIL"),
    (_set(["scenarios", 0, "record"], 7), "scenarios[0] (database_failure).record: 7 is not a path or null"),
    (_set(["finished"], "2026-12-07T17:00:00.000000Z"), "finished: before its start"),
])
def test_every_bad_field_is_named(change, expected):
    found = _breaks(change)
    assert any(expected in problem for problem in found), found


def test_a_result_that_is_not_an_object():
    assert drill_history.problems([]) == ["(top level): list is not an object"]


def test_fail_needs_a_failed_scenario():
    doc = _doc("drill-20261203T180000Z.json")
    doc["result"] = "FAIL"
    assert drill_history.problems(doc) == ["result: FAIL, but every runnable scenario passed"]


def test_validate_names_the_source_and_every_field():
    doc = _doc()
    doc["version"] = 3
    doc["scenarios"][0]["status"] = "done"
    with pytest.raises(drill_history.DrillResultError) as error:
        drill_history.validate(doc, "/reports/drills/drill-x.json")
    assert str(error.value).startswith("/reports/drills/drill-x.json is not a valid drill result (2 problems): version: 3")
    assert "scenarios[0] (database_failure).status: 'done'" in str(error.value)
    assert isinstance(error.value, LifeboatError)


def test_load_names_a_file_that_is_missing_or_not_json(tmp_path):
    with pytest.raises(drill_history.DrillResultError, match="missing.json cannot be read"):
        drill_history.load(str(tmp_path / "missing.json"))
    broken = tmp_path / "drill-1.json"
    broken.write_text('{"kind": ')
    with pytest.raises(drill_history.DrillResultError, match="drill-1.json is not JSON"):
        drill_history.load(str(broken))


def test_the_history_is_oldest_first_and_lists_the_files_it_could_not_use():
    history = drill_history.load_history(FIXTURES)
    assert [os.path.basename(item["file"]) for item in history["drills"]] == [
        "drill-20261201T180000Z.json", "drill-20261203T180000Z.json", "drill-20261205T180000Z.json",
        "drill-20261207T180000Z.json"]
    assert history["newest"] == 3 and drill_history.newest(history)["result"] == "FAIL"
    assert [os.path.basename(p["file"]) for p in history["problems"]] == [
        "drill-20261204T000000Z.json", "drill-20261206T120000Z.json"]
    assert "drill-20261204T000000Z.json is not JSON" in history["problems"][0]["error"]
    assert "drill-20261206T120000Z.json is not a valid drill result (3 problems)" in history["problems"][1]["error"]
    assert "scenarios[2].name: 'meteor_strike'" in history["problems"][1]["error"]


def test_the_history_is_sorted_by_start_not_by_name(tmp_path):
    early = _doc("drill-20261201T180000Z.json")
    (tmp_path / "drill-b.json").write_text(json.dumps(early))
    shutil.copy(NEWEST, str(tmp_path / "drill-a.json"))
    (tmp_path / "notes.txt").write_text("not a drill")
    history = drill_history.load_history(str(tmp_path))
    assert [os.path.basename(item["file"]) for item in history["drills"]] == ["drill-b.json", "drill-a.json"]
    assert history["problems"] == []


def test_the_run_just_written_is_the_newest_and_must_be_valid(tmp_path):
    own = tmp_path / "elsewhere" / "drill-20261130T000000Z.json"
    own.parent.mkdir()
    doc = _doc("drill-20261203T180000Z.json")
    doc["started"] = "2026-11-30T00:00:00.000000Z"
    own.write_text(json.dumps(doc))
    history = drill_history.load_history(FIXTURES, result=str(own))
    # Read although it is not in the directory; sorted by its start, and the newest because it was named.
    assert len(history["drills"]) == 5 and history["newest"] == 0
    assert drill_history.newest(history)["started"] == "2026-11-30T00:00:00.000000Z"
    # Named twice (it is in the directory too): read once.
    history = drill_history.load_history(FIXTURES, result=NEWEST)
    assert len(history["drills"]) == 4 and history["newest"] == 3
    doc["result"] = "maybe"
    own.write_text(json.dumps(doc))
    with pytest.raises(drill_history.DrillResultError, match="drill-20261130T000000Z.json is not a valid drill result"):
        drill_history.load_history(FIXTURES, result=str(own))


def test_last_keeps_the_newest_drills_and_a_missing_directory_is_empty(tmp_path):
    history = drill_history.load_history(FIXTURES, last=2)
    assert [os.path.basename(item["file"]) for item in history["drills"]] == [
        "drill-20261205T180000Z.json", "drill-20261207T180000Z.json"]
    empty = drill_history.load_history(str(tmp_path / "nothing"))
    assert empty["drills"] == [] and empty["newest"] is None and drill_history.newest(empty) is None
    with pytest.raises(LifeboatError, match="no drill in the history"):
        drill_history.markdown(empty)


def test_trends_per_scenario_in_the_newest_drills_order():
    trends = drill_history.trends(drill_history.load_history(FIXTURES))
    assert list(trends) == ["database_failure", "db_corruption", "vector_store_corruption", "security_breach"]
    database = trends["database_failure"]
    assert (database["passed"], database["failed"], database["not_runnable"]) == (3, 1, 0)
    assert [r["rto_achieved"] for r in database["runs"]] == [9.8, 8.1, None, 7.3]
    assert [r["rto_objective"] for r in database["runs"]] == [600, 600, 600, 600]
    assert [r["rto_met"] for r in database["runs"]] == [True, True, False, True]
    assert [r["lost"] for r in database["runs"]] == [0, 0, 3, 0]
    assert [r["acknowledged"] for r in database["runs"]] == [35, 37, 40, 38]
    assert [r["passed"] for r in database["runs"]] == [True, True, False, True]
    assert database["runs"][2]["drill"] == "drill-20261205T180000Z.json"
    corruption = trends["db_corruption"]
    assert [r["rpo_achieved"] for r in corruption["runs"]] == [8.1, 9.4, 7.7, 19.2]
    assert [r["rpo_met"] for r in corruption["runs"]] == [True, True, True, False]
    assert len(trends["vector_store_corruption"]["runs"]) == 1
    breach = trends["security_breach"]
    assert breach["not_runnable"] == 4 and all(r["rto_achieved"] is None for r in breach["runs"])


def test_scenarios_only_in_older_drills_come_after_the_newest_drills():
    history = drill_history.load_history(FIXTURES)
    history["drills"][0]["drill"] = copy.deepcopy(history["drills"][0]["drill"])
    history["drills"][0]["drill"]["scenarios"][0]["name"] = "service_failure"
    assert drill_history.scenario_order(history)[-1] == "service_failure"


def test_the_markdown_summary_of_the_newest_drill():
    text = drill_history.markdown(drill_history.load_history(FIXTURES))
    lines = text.splitlines()
    assert lines[0] == "# Lifeboat drill on lab: FAIL"
    assert lines[2] == ("2026-12-07 18:00:00 to 18:01:36 UTC (96.1 s); 4 scenario(s): 2 passed, 1 failed, "
                        "1 not runnable")
    assert lines[4] == "| scenario | status | RTO achieved / objective | RPO achieved / objective | writes lost | reason |"
    assert lines[6] == "| database_failure (INC-003) | PASS | 7.3 s / 600 s (10 min) | 0 s / 900 s (15 min) | 0 of 38 |  |"
    assert lines[7] == ("| db_corruption (INC-004) | FAIL | 10.6 s / 1800 s (30 min) | 19.2 s / 15 s (missed) | 19 of 25 | "
                        "RPO 19.2 s over the 15 s objective: the offsite shipping timer ran late |")
    assert lines[8] == "| vector_store_corruption (INC-007) | PASS | 6.1 s / 3600 s (1 h) | 0 s / 86400 s (24 h) | - |  |"
    assert lines[9] == "| security_breach (INC-009) | NOT RUNNABLE | - | - | - | security_breach.yml does not exist yet |"
    assert lines[11] == "History: 4 drill(s) in %s, 2 passed, 2 failed" % FIXTURES
    assert lines[12].startswith("- NOT READ: %s/drill-20261204T000000Z.json is not JSON" % FIXTURES)
    assert len(lines) == 14


def test_a_recovery_that_never_finished_and_pipes_in_a_reason():
    doc = _doc("drill-20261205T180000Z.json")
    doc["scenarios"][0]["reason"] = "a | b\nc"
    text = drill_history.markdown({"directory": "/h", "drills": [{"file": "/h/x.json", "drill": doc}], "problems": [],
                                   "newest": 0})
    assert "| database_failure (INC-003) | FAIL | not reached / 600 s (10 min) (missed) | 0.6 s / 900 s (15 min) | 3 of 40 | a \\| b c |" in text


@pytest.mark.parametrize("value, text", [(None, "-"), (0, "0 s"), (7.34, "7.3 s"), (99.96, "100 s"), (600, "600 s (10 min)"),
                                         (150, "150 s (2.5 min)"), (5400, "5400 s (1.5 h)")])
def test_seconds_text(value, text):
    assert drill_history.seconds_text(value) == text
