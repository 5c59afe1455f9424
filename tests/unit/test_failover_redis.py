"""INFO replication (real Redis 7.0 samples) and the redis_failure decision."""
import os

import pytest

from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils.failover import fence, redis_info
from ansible_collections.lifeboat.dr.plugins.module_utils.failover.redis_decision import redis_decision
from ansible_collections.lifeboat.dr.plugins.module_utils.failover.steps import actions

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
APP = {"service": "sampleapp", "host": "web1", "redis_points_at": None, "points_at": "app1"}


def sample(name):
    """``redis-cli info replication`` of redis-server 7.0.15, with the CRLF line ends of the wire.

    The files keep LF line ends (the sanity test's rule); the reply is rebuilt as Redis sends it.
    """
    with open(os.path.join(DATA, "redis7_info_replication_%s.txt" % name), "rb") as handle:
        return handle.read().replace(b"\n", b"\r\n")


def test_parse_master():
    info = redis_info.parse_info_replication(sample("master"))
    assert info["role"] == "master" and info["connected_slaves"] == 1
    assert info["master_repl_offset"] == 50 and info["second_repl_offset"] == -1
    assert info["replicas"] == [{"ip": "127.0.0.1", "port": 16391, "state": "online", "offset": 50, "lag": 1,
                                 "index": 0}]
    assert redis_info.offset(info) == 50 and not redis_info.linked(info)


def test_parse_replica_linked_and_down():
    info = redis_info.parse_info_replication(sample("replica"))
    assert info["role"] == "replica" and info["master_link_status"] == "up" and info["slave_priority"] == 100
    assert redis_info.offset(info) == 50 and redis_info.linked(info)
    assert "master_link_down_since_seconds" not in info
    down = redis_info.parse_info_replication(sample("replica_down").decode())
    assert down["master_link_status"] == "down" and down["master_last_io_seconds_ago"] == -1
    assert down["master_link_down_since_seconds"] == 12 and not redis_info.linked(down)


@pytest.mark.parametrize("text", ["", "# Replication\r\nconnected_slaves:0\r\n", "role:master\r\ngarbage\r\n"])
def test_parse_rejects(text):
    with pytest.raises(LifeboatError):
        redis_info.parse_info_replication(text)


def master_text(offset=50):
    return sample("master").decode().replace("master_repl_offset:50", "master_repl_offset:%d" % offset)


def test_master_gone_the_replica_whose_link_just_dropped_is_promoted():
    hosts = [{"host": "app1", "reachable": False}, {"host": "db2", "reachable": True, "info": sample("replica_down")}]
    plan = redis_decision(hosts, {"master": "app1"}, APP)
    assert plan["outcome"] == "failover" and plan["candidate"] == "db2"
    assert actions(plan) == [("record_pending_fence", "app1"), ("promote", "db2"), ("prove_write", "db2"),
                             ("repoint_app", "web1"), ("restart_app", "web1"), ("check_health", "web1")]
    assert plan["steps"][1]["detail"] == "REPLICAOF NO ONE on db2"


def test_master_running_replica_behind_falls_back_to_the_backup():
    hosts = [{"host": "app1", "reachable": True, "info": master_text(5000000)},
             {"host": "db2", "reachable": True, "info": sample("replica")}]
    backup = {"path": "/srv/backups/redis/daily/backup_daily_20250102_030000.rdb.zst", "time": "2025-01-02T03:00Z"}
    plan = redis_decision(hosts, {"max_lag_bytes": 1000}, APP, backup)
    assert plan["outcome"] == "restore" and plan["candidate"] == "app1"
    assert actions(plan) == [("restore_backup", "app1"), ("prove_write", "app1"), ("repoint_app", "web1"),
                             ("restart_app", "web1"), ("check_health", "web1")]
    assert "db2 is 4999950 bytes (4.8 MiB) behind, over the limit of 1000 bytes" in plan["notes"][0]
    forced = redis_decision(hosts, {"max_lag_bytes": 1000, "force": True}, APP, backup)
    assert forced["outcome"] == "failover" and actions(forced)[:2] == [("fence", "app1"), ("promote", "db2")]
    assert forced["notes"][0].startswith("forced: keys may be lost: 4999950 bytes (4.8 MiB)")


def test_not_linked_to_a_running_master():
    hosts = [{"host": "app1", "reachable": True, "info": master_text()},
             {"host": "db2", "reachable": True, "info": sample("replica_down")}]
    plan = redis_decision(hosts, {}, APP)
    assert plan["outcome"] == "refused" and plan["steps"] == []
    assert plan["refusal"] == ("no replica may be promoted in place of app1: db2 is not linked to app1 "
                               "(master_link_status:down); and there is no backup to restore")


def test_link_down_too_long_with_the_master_gone():
    hosts = [{"host": "app1", "reachable": False}, {"host": "db2", "reachable": True, "info": sample("replica_down")}]
    plan = redis_decision(hosts, {"master": "app1", "max_link_down_seconds": 5}, APP,
                          {"path": "/b/x.rdb", "time": "T"})
    assert plan["outcome"] == "restore" and plan["candidate"] == "db2"
    assert actions(plan)[:2] == [("record_pending_fence", "app1"), ("restore_backup", "db2")]
    assert any("db2's link has been down for 12 s, over the limit of 5 s" in n for n in plan["notes"])


def test_no_replica_and_no_backup():
    plan = redis_decision([{"host": "app1", "reachable": False}], {"master": "app1"}, APP)
    assert plan["refusal"] == ("no replica may be promoted in place of app1: no replica configured; and there is "
                               "no backup to restore")


def test_split_brain_and_second_run():
    pending = fence.make_record("app1", "redis_failure", "INC-004", "t", "2025-01-02T03:04:05Z", "db2", "pending")
    promoted = sample("master").decode()
    hosts = [{"host": "app1", "reachable": True, "info": master_text(), "fence": pending},
             {"host": "db2", "reachable": True, "info": promoted}]
    plan = redis_decision(hosts, {}, dict(APP, redis_points_at="db2"))
    assert plan["outcome"] == "fence_only"
    assert actions(plan) == [("apply_pending_fence", "app1"), ("check_health", "web1")]  # one fence step, not two
    hosts[0] = {"host": "app1", "reachable": False, "fence": pending}
    plan = redis_decision(hosts, {}, dict(APP, redis_points_at="db2"))
    assert plan["outcome"] == "already_promoted"
    assert actions(plan) == [("prove_write", "db2"), ("check_health", "web1")]


def test_bad_policy_and_facts():
    with pytest.raises(LifeboatError, match=r"unknown Redis failover policy key\(s\) max_lag"):
        redis_decision([], {"max_lag": 1})
    with pytest.raises(LifeboatError, match="max_link_down_seconds must be a whole number >= 0"):
        redis_decision([], {"max_link_down_seconds": -1})
    with pytest.raises(LifeboatError, match="force must be true or false"):
        redis_decision([], {"force": "yes"})
    with pytest.raises(LifeboatError, match="db2 is reachable but its INFO replication is missing"):
        redis_decision([{"host": "db2", "reachable": True}], {})
