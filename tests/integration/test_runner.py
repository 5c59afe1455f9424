"""Jobs the way AWX runs them: ansible-runner with a private data directory, the installed collection's
playbooks imported by FQCN from a project's wrapper, AWX's extra variables, and the results read
from the job's events and artifacts (set_stats), never from the working directory."""
import json
import os

import ansible_runner
import pytest

from labhost import BIN, ROOT

INSTALLED = os.path.join(ROOT, ".lab", "build", "collections")
INVENTORY = os.path.join(ROOT, "inventories", "lab", "hosts.yml")
# What AWX puts into env/extravars of every job (besides the job template's own variables).
AWX_VARS = {"awx_job_id": 4242, "awx_job_template_name": "Lifeboat backup", "awx_user_name": "operator",
            "tower_job_id": 4242}


@pytest.fixture(scope="module")
def installed_collection():
    """The collection as built and installed by make build (lab/check-build.sh), not the working copy."""
    if not os.path.isdir(os.path.join(INSTALLED, "ansible_collections", "lifeboat", "dr")):
        pytest.fail("run make build first: the runner tests use the built collection in %s" % INSTALLED)
    return INSTALLED


def run_job(tmp_path, collections, playbook, extravars):
    """One job: a private data directory with a wrapper playbook importing lifeboat.dr.<playbook>."""
    private = tmp_path / ("job-" + playbook)
    (private / "project").mkdir(parents=True)
    (private / "env").mkdir()
    (private / "project" / (playbook + ".yml")).write_text(
        "---\n- name: Lifeboat's %s, as an AWX job template runs it\n  ansible.builtin.import_playbook: lifeboat.dr.%s\n"
        % (playbook, playbook))
    (private / "env" / "extravars").write_text(json.dumps(dict(AWX_VARS, **extravars)))
    # AWX's job environment: no ansible.cfg of ours, the collection from its own path.
    (private / "env" / "envvars").write_text(json.dumps({
        "ANSIBLE_COLLECTIONS_PATH": collections, "ANSIBLE_HOST_KEY_CHECKING": "False", "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_DEPRECATION_WARNINGS": "0", "PATH": BIN + os.pathsep + os.environ.get("PATH", "")}))
    os.environ["PATH"] = BIN + os.pathsep + os.environ.get("PATH", "")
    runner = ansible_runner.run(private_data_dir=str(private), playbook=playbook + ".yml", inventory=INVENTORY,
                                quiet=True, timeout=900)
    events = list(runner.events)
    stats = [event for event in events if event.get("event") == "playbook_on_stats"]
    artifacts = (stats[-1]["event_data"].get("artifact_data") or {}) if stats else {}
    return runner, events, artifacts


def _stdout(events):
    return "\n".join(event.get("stdout", "") for event in events)


def test_a_backup_job_succeeds_and_publishes_its_checksum(lab, tmp_path, installed_collection):
    runner, events, artifacts = run_job(tmp_path, installed_collection, "backup",
                                        {"lifeboat_hosts": "app1", "lifeboat_only": ["appsqlite"]})
    assert (runner.status, runner.rc) == ("successful", 0), _stdout(events)[-3000:]
    published = artifacts["lifeboat_backups"]["app1"]
    assert [entry["service"] for entry in published] == ["appsqlite"]
    checksum = published[0]["checksum"]
    assert checksum.startswith("sha256:") and checksum in _stdout(events)
    assert artifacts["lifeboat_backup_failures"] == {"app1": []}
    # Nothing was written into the job's working directory (AWX deletes it after the job).
    assert sorted(os.listdir(tmp_path / "job-backup" / "project")) == ["backup.yml"]


def test_a_failed_verification_is_a_failed_job_with_the_failed_checks(lab, tmp_path, installed_collection):
    runner, events, artifacts = run_job(tmp_path, installed_collection, "verify", {
        "lifeboat_hosts": "app1", "lifeboat_only": ["appsqlite"],
        "lifeboat_health_url": "http://127.0.0.1:9/healthz", "lifeboat_report_dir": str(tmp_path / "reports")})
    assert runner.status == "failed" and runner.rc != 0
    verified = artifacts["lifeboat_verify"]
    assert verified["failed"] and int(verified["total"]) > len(verified["failed"])
    assert verified["report"].startswith(str(tmp_path / "reports"))


def test_a_refused_restore_is_a_failed_job_that_says_why(lab, tmp_path, installed_collection):
    runner, events, _artifacts = run_job(tmp_path, installed_collection, "restore",
                                         {"lifeboat_hosts": "app1", "lifeboat_only": ["appsqlite"]})
    assert runner.status == "failed" and runner.rc != 0
    assert "lifeboat_confirm=yes" in _stdout(events)


def test_a_confirmed_restore_job_publishes_what_it_restored(lab, tmp_path, installed_collection):
    runner, events, artifacts = run_job(tmp_path, installed_collection, "restore", {
        "lifeboat_hosts": "app1", "lifeboat_only": ["appsqlite"], "lifeboat_confirm": "yes"})
    assert (runner.status, runner.rc) == ("successful", 0), _stdout(events)[-3000:]
    restored = artifacts["lifeboat_restores"]["app1"]
    assert [entry["service"] for entry in restored] == ["appsqlite"]
    assert restored[0]["backup_id"] in _stdout(events) and restored[0]["safety_copy"]


def test_a_drill_scenario_job_publishes_its_result_and_report(lab, tmp_path, installed_collection):
    reports = tmp_path / "reports"
    runner, events, artifacts = run_job(tmp_path, installed_collection, "drill", {
        "scenario": "service_failure,accidental_deletion", "lifeboat_report_dir": str(reports)})
    assert (runner.status, runner.rc) == ("successful", 0), _stdout(events)[-3000:]
    published = artifacts["lifeboat_drill"]["app1"]
    assert published["result"] == "PASS"
    assert published["scenarios"] == {"service_failure": "passed", "accidental_deletion": "passed"}
    with open(published["history"]) as handle:
        result = json.load(handle)
    assert published["history"].startswith(str(reports / "drills"))
    assert len(result["scenarios"]) == 2
    for scenario in result["scenarios"]:
        assert scenario["writes"]["acknowledged"] > 0 and scenario["writes"]["lost"] == 0, scenario["name"]
        assert scenario["rto"]["met"] is True, scenario["name"]
        assert [check["result"] for check in scenario["checks"]] == ["PASS"] * len(scenario["checks"]), scenario
    deletion = [s for s in result["scenarios"] if s["name"] == "accidental_deletion"][0]
    # Rows deleted by mistake: every one back with the same content, the writes made since kept.
    assert deletion["checks"][1]["detail"].startswith("50 of 50 back")
    assert os.path.exists(published["report"]) and published["report"].startswith(str(reports))


def test_an_unknown_drill_scenario_is_a_failed_job_naming_it(lab, tmp_path, installed_collection):
    runner, events, _artifacts = run_job(tmp_path, installed_collection, "drill", {"scenario": "meteor"})
    assert runner.status == "failed" and runner.rc != 0
    assert "unknown drill scenario 'meteor'" in _stdout(events)
