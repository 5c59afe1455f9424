"""Post-incident reports: the facts read from each kind of record Lifeboat writes, set against the runbook, with the
records' shapes taken from real runs (trimmed), and every bad input refused naming the cause."""
import json
import os

import pytest

from ansible_collections.lifeboat.dr.plugins.filter.post_incident import post_incident_summary
from ansible_collections.lifeboat.dr.plugins.module_utils import post_incident
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError

RUNBOOK = {
    "environment": "test",
    "objectives": [{"service": "appdb", "rto_minutes": 15, "rpo_minutes": 15},
                   {"service": "appcache", "rpo_minutes": 60}],
    "incidents": [
        {"id": "INC-003", "title": "Database failure - down", "severity": "critical", "scenario": "database_failure",
         "detection": "PostgreSQL does not answer", "rto_minutes": 20, "rpo_minutes": 0,
         "decisions": ["Promote although the replica lags"]},
        {"id": "INC-005", "title": "Datacenter failure", "severity": "critical", "scenario": "datacenter_loss",
         "rto_minutes": 240},
        {"id": "INC-008", "title": "Complete server loss", "severity": "critical", "scenario": "server_loss",
         "rto_minutes": 5, "rpo_minutes": 15},
    ],
}

FAILOVER = {
    "check_mode": False, "started": 1796650794.731973, "ended": 1796650804.693943, "seconds": 9.965, "ok": True,
    "failure": None, "incident": "database_failure", "runbook_id": "INC-003",
    "figures": {"fenced_after_seconds": 4.44, "writable_after_seconds": 7.32},
    "plan": {"old_primary": "app1", "candidate": "db2", "data_loss": {"bytes": 0, "seconds": 0}, "notes": [],
             "refusal": None, "steps": []},
    "steps": [{"action": "fence", "detail": "stop PostgreSQL and mask the unit", "host": "app1"},
              {"action": "promote", "detail": "pg_promote(wait => true) on db2", "host": "db2"}],
}

# A rebuild report as rebuild.yml writes it (trimmed); tests/integration/test_post_incident.py reads it too.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "rebuild-report.json")) as _handle:
    REBUILD = json.load(_handle)

DRILL = {
    "host": "app1", "result": "PASS",
    # Sorted keys, as drill.yml's to_nice_json writes them.
    "phases": {"backup": 44.5, "destroy": 7.4, "failover": 54.5, "install_agent": 150.0, "restore": 31.2, "total": 412.6},
    "failover": {"acknowledged": 38, "lost": 0, "writable_after_seconds": 7.32},
    "pitr": {"lost_seconds": 6.3, "rpo_limit": 21},
    "services": [{"name": "appdb", "result": "PASS"}, {"name": "shopdb", "result": "PASS"}],
}


def test_a_failover_record_gives_its_timeline_actions_and_objectives():
    facts = post_incident.summary(FAILOVER, RUNBOOK, source="/reports/failover.json")
    assert facts["kind"] == "failover" and facts["ok"] and facts["host"] == "app1"
    assert facts["incident"]["id"] == "INC-003" and facts["incident"]["severity"] == "critical"
    assert facts["started"] == "2026-12-07T13:39:54Z" and facts["ended"] == "2026-12-07T13:40:04Z"
    assert [event["what"] for event in facts["timeline"]] == [
        "database_failure started", "old primary fenced", "new primary writable", "database_failure ended (recovered)"]
    assert facts["timeline"][2]["after_seconds"] == 7.3
    # The RTO of a failover is the time until the new primary takes writes, against the incident's 20 minutes.
    assert facts["rto"] == {"seconds": 7.32, "objective_seconds": 1200, "met": True}
    assert facts["rpo"][0]["seconds"] == 0 and facts["rpo"][0]["met"] is True
    assert facts["actions"] == ["app1: stop PostgreSQL and mask the unit", "db2: pg_promote(wait => true) on db2"]
    assert facts["decisions"] == ["Promote although the replica lags"]
    assert facts["source"] == "/reports/failover.json"


def test_a_rebuild_report_is_read_in_time_order_with_the_rpo_per_service():
    facts = post_incident.summary(json.dumps(REBUILD), RUNBOOK)
    assert facts["kind"] == "rebuild" and facts["incident"]["id"] == "INC-008"  # found by its scenario
    whats = [event["what"] for event in facts["timeline"]]
    assert whats[0] == "app1 lost" and facts["timeline"][0]["at"] == "2026-12-07T12:36:40Z"
    assert whats.index("/healthz answered 200 at 172.30.57.240") == whats.index("protect") - 1
    # Down from the loss to /healthz 200, longer than the RTO, which counts from the start of the rebuild.
    assert facts["downtime_seconds"] == 113.5 and facts["notes"] == []
    assert facts["rto"] == {"seconds": 103.5, "objective_seconds": 300, "met": True}
    rpo = {entry["service"]: entry for entry in facts["rpo"]}
    # Objectives: the record's own first, else the runbook's per service, else the incident's.
    assert rpo["appcache"]["objective_seconds"] == 3600 and rpo["appcache"]["met"] is False
    assert rpo["appdb"]["objective_seconds"] == 900 and rpo["appdb"]["met"] is True
    # No objective for the service anywhere: the incident's RPO is not stretched over it.
    assert rpo["appconfig"]["objective_seconds"] is None and rpo["appconfig"]["met"] is None
    assert "restored appcache (backup, backup_daily_20261207_123437)" in facts["actions"]


def test_the_objective_the_run_was_held_to_comes_first():
    facts = post_incident.summary(dict(REBUILD, rto_objective_seconds=60), RUNBOOK)
    assert facts["rto"] == {"seconds": 103.5, "objective_seconds": 60, "met": False}
    without_loss = dict(REBUILD)
    del without_loss["lost_at"]
    facts = post_incident.summary(without_loss, RUNBOOK)
    assert facts["downtime_seconds"] is None and "no downtime" in facts["notes"][0]


def test_times_in_every_shape_the_records_use_are_utc():
    assert post_incident._iso(1796650794.731973) == "2026-12-07T13:39:54Z"
    assert post_incident._iso("2026-12-07 12:36:35.8+00") == "2026-12-07T12:36:35Z"  # PostgreSQL's
    assert post_incident._iso("2026-12-07T14:36:35+02:00") == "2026-12-07T12:36:35Z"
    assert post_incident._iso("2026-12-07T12:36:35.000001Z") == "2026-12-07T12:36:35Z"
    assert post_incident._iso("yesterday") == "yesterday" and post_incident._iso(None) is None


def test_a_service_failures_rto_is_the_time_to_healthy_and_a_refusal_has_none():
    service = dict(FAILOVER, incident="service_failure", runbook_id="INC-001", steps=[{"action": "restart", "host": "app1"}],
                   figures={"healthy_after_seconds": 3.2}, plan={"steps": [], "notes": [], "refusal": None})
    assert post_incident.summary(service, RUNBOOK)["rto"]["seconds"] == 3.2
    refused = dict(FAILOVER, ok=False, steps=[], figures={},
                   plan=dict(FAILOVER["plan"], refusal="db2 lags 16 MB behind app1", steps=[]))
    facts = post_incident.summary(refused, RUNBOOK)
    assert not facts["ok"] and facts["failure"] == "db2 lags 16 MB behind app1"
    assert facts["rto"] == {"seconds": None, "objective_seconds": 1200, "met": None}


@pytest.mark.parametrize("change, cause", [
    ({"check_mode": True}, "a run in check mode (a simulation: nothing was recovered)"),
    ({"incident": "status"}, "the record is a status report, not a recovery"),
    ({"incident": "rejoin"}, "the rejoin after a failover"),
    ({"incident": "datacenter_failure", "runbook_id": "INC-005", "steps": [],
      "plan": {"outcome": "rebuild at the DR site", "steps": [], "refusal": None}},
     "the record holds datacenter_failure's plan only (rebuild at the DR site); the recovery's facts are in the "
     "report of the playbook that ran it (rebuild.yml prints it as Report: PATH): make the report from that one, "
     "with -e incident=INC-005"),
])
def test_failover_records_that_are_no_recovery_are_refused(change, cause):
    with pytest.raises(LifeboatError) as error:
        post_incident.summary(dict(FAILOVER, **change), RUNBOOK)
    assert cause in str(error.value)


def test_a_failed_verification_is_the_outcome():
    facts = post_incident.summary(dict(REBUILD, verify_failed=["appdb"]), RUNBOOK)
    assert not facts["ok"] and facts["failure"] == "verification failed: appdb"


def test_a_drill_summary_counts_the_acknowledged_writes_lost():
    facts = post_incident.summary(DRILL, RUNBOOK, incident_id="INC-003")
    assert facts["kind"] == "drill" and facts["ok"] and facts["duration_seconds"] == 412.6
    assert facts["writes"] == {"acknowledged": 38, "lost": 0}
    assert [event["what"] for event in facts["timeline"]] == ["install_agent", "backup", "destroy", "restore", "failover"]
    assert facts["rpo"] == [{"service": "postgresql (PITR)", "seconds": 6.3, "objective_seconds": 21, "met": True,
                             "data_time": None, "detail": None}]
    assert facts["actions"] == ["appdb: PASS", "shopdb: PASS"]


def test_the_checklist_ticks_only_what_the_record_answers():
    facts = post_incident.summary(FAILOVER, RUNBOOK)
    done = [entry["item"] for entry in facts["checklist"] if entry["done"]]
    assert done == ["Calculate the RTO achieved", "Calculate the data loss (RPO)"]
    assert len(facts["checklist"]) == len(post_incident.CHECKLIST)
    bare = post_incident.summary(dict(DRILL, failover={}, pitr={}), None)
    assert not any(entry["done"] for entry in bare["checklist"])


def test_without_a_runbook_there_are_no_objectives_and_nothing_is_judged():
    facts = post_incident.summary(REBUILD, None)
    assert facts["incident"]["id"] is None and facts["rto"]["met"] is None
    assert {entry["service"]: entry["met"] for entry in facts["rpo"]} == {"appcache": False, "appdb": None,
                                                                          "appconfig": None}


def test_every_timeline_and_rpo_entry_has_every_key():
    for record in (FAILOVER, REBUILD, DRILL):
        facts = post_incident.summary(record, RUNBOOK, incident_id="INC-003" if record is DRILL else None)
        assert all(set(event) >= {"at", "after_seconds", "seconds", "what"} for event in facts["timeline"])
        assert all(set(entry) >= {"service", "seconds", "objective_seconds", "met", "data_time", "detail"}
                   for entry in facts["rpo"])


@pytest.mark.parametrize("record, cause", [
    ("{not json", "the record /r.json is not JSON"),
    ("[]", "the record is not a JSON object"),
    ("{}", "the record is empty"),
    (json.dumps({"name": "appdb", "checksum": "sha256:00"}), "the record is not one Lifeboat writes"),
])
def test_a_record_that_is_not_lifeboats_is_refused_naming_the_cause(record, cause):
    with pytest.raises(LifeboatError) as error:
        post_incident.summary(record, RUNBOOK, source="/r.json")
    assert cause in str(error.value)


def test_an_incident_the_runbook_lacks_is_refused_through_the_filter():
    from ansible.errors import AnsibleFilterError
    with pytest.raises(AnsibleFilterError) as error:
        post_incident_summary(FAILOVER, RUNBOOK, incident="INC-099")
    assert "the runbook has no incident INC-099 (it has INC-003, INC-005, INC-008)" in str(error.value)
    # A record naming an incident the runbook lacks keeps that id, without the runbook's details.
    facts = post_incident_summary(dict(FAILOVER, runbook_id="INC-042"), RUNBOOK)
    assert facts["incident"]["id"] == "INC-042" and facts["incident"]["title"] is None
