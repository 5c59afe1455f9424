# -*- coding: utf-8 -*-
"""From db_replication status results to the facts the failover decision reads."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils.failover import decision, observe, steps

PRIMARY = {"item": "app1", "changed": False,
           "facts": {"fence": None, "in_recovery": False, "current_lsn": "0/3000200", "timeline": 1},
           "details": {"running": True, "replicas": [{"application_name": "db2", "sync_state": "async"}],
                       "slots": [{"name": "db2", "active": True, "wal_status": "reserved", "restart_lsn": "0/3000000"}]}}
REPLICA = {"item": "db2", "changed": False,
           "facts": {"fence": None, "in_recovery": True, "receive_lsn": "0/3000200", "replay_lsn": "0/3000200",
                     "lag_seconds": 0, "timeline": 1, "wal_receiver": "streaming", "primary_lsn": "0/3000200"},
           "details": {"running": True, "sender_host": "10.0.0.5", "primary_slot_name": "db2", "slots": []}}
DOWN = {"item": "app1", "changed": False,
        "facts": {"fence": None, "timeline": 1, "primary_lsn": "0/3000200"},
        "details": {"running": False, "cluster_state": "shut down", "slots": []}}


def test_results_become_facts_with_upstream_slot_and_sync_state():
    hosts = observe.postgresql_facts([REPLICA, PRIMARY], {"app1": "10.0.0.5"})
    assert [h["host"] for h in hosts] == ["app1", "db2"]
    db2 = hosts[1]
    assert db2["upstream"] == "app1" and db2["sync_state"] == "async"
    assert db2["slot"] == {"name": "db2", "active": True, "wal_status": "reserved"}
    plan = decision.decide_failover(hosts, {}, {"service": "sampleapp", "host": "app1", "points_at": "app1"})
    assert steps.actions(plan) == [("fence", "app1"), ("wait_replay", "db2"), ("promote", "db2"), ("prove_write", "db2"),
                                   ("repoint_app", "app1"), ("restart_app", "app1"), ("check_health", "app1")]


def test_a_crashed_primary_is_fenced_without_waiting_and_an_unreachable_one_gets_a_pending_fence():
    lost = dict(REPLICA, facts=dict(REPLICA["facts"], wal_receiver=None))
    lost["details"] = dict(REPLICA["details"], sender_host=None)
    plan = decision.decide_failover(observe.postgresql_facts([DOWN, lost]), {"primary": "app1"})
    assert steps.actions(plan)[:2] == [("fence", "app1"), ("promote", "db2")]
    gone = decision.decide_failover(observe.postgresql_facts([{"item": "app1", "unreachable": True}, lost]),
                                    {"primary": "app1"})
    assert steps.actions(gone)[:2] == [("record_pending_fence", "app1"), ("promote", "db2")]


def test_a_fenced_host_that_does_not_run_is_reported_fenced():
    record = {"version": 1, "host": "app1", "time": "2026-12-02T10:00:00Z", "reason": "r", "incident": "INC-003",
              "by": "t", "successor": "db2", "state": "applied", "lifted": None}
    fenced = dict(DOWN, facts=dict(DOWN["facts"], fence=record))
    assert observe.postgresql_facts([fenced])[0]["role"] == "fenced"


def test_a_failed_status_stops_the_run_and_names_the_host():
    with pytest.raises(LifeboatError, match="db2 answered but its status failed: boom"):
        observe.postgresql_facts([PRIMARY, {"item": "db2", "failed": True, "msg": "boom"}])


def test_app_facts_read_the_environment_file_and_map_addresses_back():
    app = {"service": "sampleapp", "host": "app1", "database_setting": "APP_DB_HOST", "redis_setting": "APP_REDIS"}
    text = "# comment\nAPP_DB_HOST='10.0.0.6'\nOTHER=x\nAPP_REDIS=app1\n"
    assert observe.app_facts(app, text, {"db2": "10.0.0.6"}) == {"service": "sampleapp", "host": "app1",
                                                                 "points_at": "db2", "redis_points_at": "app1"}
    assert observe.app_facts(app, "", {})["points_at"] is None
    assert observe.app_facts(None, text) is None


FENCE = {"version": 1, "host": "app1", "time": "2026-12-02T10:00:00Z", "reason": "r", "incident": "INC-003",
         "by": "t", "successor": "db2", "state": "applied", "lifted": None}
PROMOTED = {"item": "db2", "facts": {"fence": None, "in_recovery": False, "current_lsn": "0/5000000", "timeline": 2},
            "details": {"running": True, "replicas": [], "slots": []}}


def test_rejoin_takes_the_fenced_host_back_to_the_one_primary():
    fenced = dict(DOWN, facts=dict(DOWN["facts"], fence=FENCE))
    plan = observe.rejoin_target([fenced, PROMOTED])
    assert (plan["host"], plan["primary"], plan["outcome"], plan["running"]) == ("app1", "db2", "rejoin", False)


def test_rejoin_refuses_without_one_primary_or_for_the_primary_itself():
    fenced = dict(DOWN, facts=dict(DOWN["facts"], fence=FENCE))
    assert "no PostgreSQL primary answers" in observe.rejoin_target([fenced])["refusal"]
    assert "split brain" in observe.rejoin_target([PRIMARY, PROMOTED])["refusal"]
    assert "is the current primary" in observe.rejoin_target([fenced, PROMOTED], "db2")["refusal"]
    assert "unreachable" in observe.rejoin_target([{"item": "app1", "unreachable": True}, PROMOTED], "app1")["refusal"]
    third = dict(DOWN, item="db3")
    assert "name the host" in observe.rejoin_target([DOWN, third, PROMOTED])["refusal"]
    assert observe.rejoin_target([DOWN, PROMOTED])["host"] == "app1"  # the only other host


def test_rejoin_of_a_streaming_replica_does_nothing():
    plan = observe.rejoin_target([REPLICA, PRIMARY], "db2", {"app1": "10.0.0.5"})
    assert plan["outcome"] == "nothing" and plan["refusal"] is None


REDIS_MASTER = {"item": "app1", "facts": {"fence": None, "running": True,
                                          "info": {"role": "master", "master_repl_offset": 900, "replicas": []}},
                "details": {"unit_active": "active"}}
REDIS_DOWN = {"item": "app1", "facts": {"fence": None, "running": False, "info": None},
              "details": {"unit_active": "failed"}}
REDIS_REPLICA = {"item": "db2", "facts": {"fence": None, "running": True, "info": {
    "role": "replica", "master_link_status": "down", "master_link_down_since_seconds": 3, "slave_repl_offset": 900,
    "slave_priority": 100, "master_sync_in_progress": 0, "replicas": []}}, "details": {}}


def test_redis_facts_keep_a_down_instance_reachable_and_take_held_fences():
    facts = observe.redis_facts([REDIS_DOWN, REDIS_REPLICA])
    assert [(f["host"], f["reachable"], f["running"]) for f in facts] == [("app1", True, False), ("db2", True, True)]
    held = observe.redis_facts([{"item": "app1", "unreachable": True}, REDIS_REPLICA], held={"app1": FENCE})
    assert held[0] == {"host": "app1", "reachable": False, "info": None, "fence": FENCE, "running": None}


def test_a_down_redis_master_is_fenced_in_place_and_its_replica_promoted():
    from ansible_collections.lifeboat.dr.plugins.module_utils.failover import redis_decision, steps
    plan = redis_decision.redis_decision(observe.redis_facts([REDIS_DOWN, REDIS_REPLICA]))
    assert plan["outcome"] == "failover" and plan["old_primary"] == "app1"
    assert steps.actions(plan) == [("fence", "app1"), ("promote", "db2"), ("prove_write", "db2")]
    running = observe.redis_facts([REDIS_MASTER, dict(REDIS_REPLICA, facts=dict(REDIS_REPLICA["facts"], info=dict(
        REDIS_REPLICA["facts"]["info"], master_link_status="up")))])
    assert steps.actions(redis_decision.redis_decision(running))[:2] == [("fence", "app1"), ("promote", "db2")]
