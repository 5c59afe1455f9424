# -*- coding: utf-8 -*-
"""The failover filters the playbook calls: held fences, WAL comparisons, health answers, requests."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.lifeboat.dr.plugins.filter import failover


def test_held_fences_are_read_from_the_directory_and_a_broken_one_stops_the_run(tmp_path):
    assert failover.held_fences(str(tmp_path / "absent")) == {}
    record = failover.fence_record("app1", "unreachable", "INC-003", "test", "db2", "pending")
    (tmp_path / "app1.json").write_text(json.dumps(record))
    assert failover.held_fences(str(tmp_path)) == {"app1": record}
    (tmp_path / "db2.json").write_text("{not json")
    with pytest.raises(Exception, match="held fence record .*db2.json is not valid JSON"):
        failover.held_fences(str(tmp_path))


def test_wal_reached_compares_positions_not_text():
    assert failover.wal_reached("0/A000000", "0/9FFFFFF")
    assert failover.wal_reached("1/0", "0/FFFFFFFF")
    assert not failover.wal_reached("0/9000000", "0/A000000")
    assert not failover.wal_reached(None, "0/1")


def test_value_at_follows_a_dotted_path():
    answer = {"status": "ok", "targets": {"postgresql": "db2"}}
    assert failover.value_at(answer, "targets.postgresql") == "db2"
    assert failover.value_at(answer, "targets.redis") is None
    assert failover.value_at("not a dict", "targets") is None


def test_a_bad_request_is_a_filter_error_naming_the_known_incidents():
    with pytest.raises(AnsibleFilterError, match="unknown incident 'database_down'.*database_failure"):
        failover.failover_request("database_down", {})
    with pytest.raises(AnsibleFilterError, match="service_failure needs service"):
        failover.failover_request("service_failure", {"service": "", "candidate": "", "force": False})
    assert failover.failover_request("status", {"service": "", "candidate": "", "force": False})["changes"] is False
