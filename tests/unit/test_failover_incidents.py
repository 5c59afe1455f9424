"""The incident catalogue and the check of a request: clear errors, nothing silently accepted."""
import pytest

from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils.failover import datacenter, incidents


def test_catalogue_names_and_runbook_ids():
    assert [i.name for i in incidents.CATALOGUE] == [
        "service_failure", "database_failure", "redis_failure", "rejoin", "status", "datacenter_failure"]
    ids = dict((i.name, i.runbook_id) for i in incidents.CATALOGUE)
    assert ids["service_failure"] == "INC-001" and ids["database_failure"] == "INC-003"
    assert ids["redis_failure"] == "INC-004" and ids["datacenter_failure"] == "INC-005"
    assert incidents.INCIDENTS["status"].changes is False
    assert incidents.known_names() == ["service_failure", "database_failure", "redis_failure", "rejoin", "status",
                                       "datacenter_failure"]


def test_service_failure_needs_the_service():
    with pytest.raises(LifeboatError, match=r"incident service_failure needs service \(e\.g\. -e service=\.\.\.\)"):
        incidents.validate_request("service_failure", {"service": "  "})
    request = incidents.validate_request("service_failure", {"service": "backend", "force": False, "host": None})
    assert request == {"incident": "service_failure", "runbook_id": "INC-001", "params": {"service": "backend"},
                       "changes": True}


def test_unknown_incident_lists_the_known_ones():
    with pytest.raises(LifeboatError) as err:
        incidents.validate_request("databse_failure")
    message = str(err.value)
    assert message.startswith("unknown incident 'databse_failure': the known ones are service_failure, "
                              "database_failure, redis_failure, rejoin, status")
    assert "INC-006 is handled by the restore and PITR playbooks" in message


@pytest.mark.parametrize("name", [None, "", "  "])
def test_no_incident(name):
    with pytest.raises(LifeboatError, match="no incident given: pass -e incident=NAME"):
        incidents.validate_request(name)


def test_datacenter_failure_is_available_and_takes_only_force():
    assert incidents.validate_request("datacenter_failure")["runbook_id"] == "INC-005"
    assert incidents.INCIDENTS["datacenter_failure"].as_dict()["available"] is True
    with pytest.raises(LifeboatError, match=r"incident datacenter_failure does not take service"):
        incidents.validate_request("datacenter_failure", {"service": "sampleapp"})


def test_the_dr_site_plan_names_every_missing_part():
    hosts = ["app1", "dr1", "db2"]
    assert datacenter.plan({"host": "app1", "dr_host": "dr1"}, hosts) == {
        "mode": "rebuild", "host": "app1", "dr_host": "dr1", "problems": []}
    assert datacenter.plan({}, hosts)["problems"] == [
        "lifeboat_failover.datacenter.host is not set: name the main site's server to fail over",
        "lifeboat_failover.datacenter.dr_host is not set: name the DR site's machine to rebuild onto"]
    assert datacenter.plan({"host": "app9", "dr_host": "app1"}, hosts)["problems"] == [
        "lifeboat_failover.datacenter.host app9 is not an inventory host"]
    assert datacenter.plan({"host": "app1", "dr_host": "app1"}, hosts)["problems"] == [
        "lifeboat_failover.datacenter.dr_host is the lost server itself (app1)"]
    # A cross-site replica holds newer data than the offsite copies: refused, never rebuilt around.
    refused = datacenter.plan({"host": "app1", "dr_host": "dr1", "replica": "db2"}, hosts)["problems"]
    assert len(refused) == 1 and "promoting a cross-site replica is not implemented yet" in refused[0]


def test_parameter_the_incident_does_not_take():
    with pytest.raises(LifeboatError, match=r"incident database_failure does not take service \(it takes "
                                            r"candidate, force\)"):
        incidents.validate_request("database_failure", {"service": "api"})
    with pytest.raises(LifeboatError, match="incident status does not take force .*no parameters"):
        incidents.validate_request("status", {"force": True})


def test_unknown_parameter():
    with pytest.raises(LifeboatError, match=r"unknown parameter\(s\) servcie \(failover parameters: candidate, "
                                            r"force, host, service, timeout\)"):
        incidents.validate_request("service_failure", {"servcie": "api"})


def test_database_failure_keeps_its_options():
    request = incidents.validate_request(" database_failure ", {"candidate": "db2", "force": True, "service": ""})
    assert request["params"] == {"candidate": "db2", "force": True}
    assert request["runbook_id"] == "INC-003"
    assert incidents.validate_request("rejoin", {"host": "app1"})["runbook_id"] is None
