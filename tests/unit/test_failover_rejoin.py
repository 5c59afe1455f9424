"""rejoin: follow, pg_rewind or a fresh base backup, and the hosts it must refuse."""
from ansible_collections.lifeboat.dr.plugins.module_utils.failover import fence, rejoin
from ansible_collections.lifeboat.dr.plugins.module_utils.failover.steps import actions

REWOUND = [("rewind", "app1"), ("configure_standby", "app1"), ("lift_fence", "app1"), ("start_replica", "app1"),
           ("check_streaming", "app1")]


def old(**extra):
    facts = {"host": "app1", "reachable": True, "role": "fenced", "running": False, "timeline": 1,
             "cluster_state": "shut down", "last_lsn": "0/5000100", "wal_log_hints": True, "data_checksums": False,
             "wal_from": "0/4000000", "archive": False,
             "fence": fence.make_record("app1", "database_failure", "INC-003", "failover.yml",
                                        "2025-01-02T03:04:05Z", "db2")}
    facts.update(extra)
    return facts


def new(**extra):
    facts = {"host": "db2", "reachable": True, "role": "primary", "timeline": 2,
             "history": [{"timeline": 1, "switchpoint": "0/5000000"}], "wal_from": "0/3000000",
             "archive_from": None, "slot": {"name": "app1", "active": False}}
    facts.update(extra)
    return facts


def test_diverged_old_primary_is_rewound():
    plan = rejoin.decide_rejoin(old(), new())
    assert plan["outcome"] == "rewind" and plan["refusal"] is None
    assert actions(plan) == REWOUND
    assert plan["steps"][0]["divergence"] == "0/5000000" and plan["steps"][0]["fallback"] == "base_backup"


def test_data_checksums_also_allow_rewind_and_a_crash_is_recovered_first():
    plan = rejoin.decide_rejoin(old(wal_log_hints=False, data_checksums=True, cluster_state="in production"), new())
    assert actions(plan) == [("crash_recovery", "app1")] + REWOUND
    assert "not shut down cleanly (in production)" in plan["steps"][0]["detail"]


def test_without_hints_or_checksums_a_base_backup():
    plan = rejoin.decide_rejoin(old(wal_log_hints=False), new(slot=None))
    assert plan["outcome"] == "base_backup"
    assert actions(plan) == [("create_slot", "db2"), ("base_backup", "app1"), ("lift_fence", "app1"),
                             ("start_replica", "app1"), ("check_streaming", "app1")]
    assert plan["obstacles"] == ["app1 has neither wal_log_hints=on nor data checksums"]


def test_missing_wal_at_the_divergence_point_means_base_backup():
    plan = rejoin.decide_rejoin(old(wal_from="0/6000000"), new(wal_from="0/6000000", archive_from="0/5800000"))
    assert plan["method"] == "base_backup"
    assert plan["obstacles"] == [
        "app1 no longer has its WAL from the divergence point 0/5000000 (pg_wal starts at 0/6000000, no archive)",
        "neither db2's pg_wal (from 0/6000000) nor its archive (from 0/5800000) reaches back to 0/5000000"]
    plan = rejoin.decide_rejoin(old(wal_from="0/6000000", archive=True), new(archive_from="0/1000000"))
    assert plan["method"] == "rewind" and "--restore-target-wal" in plan["steps"][0]["detail"]


def test_timeline_not_in_history_or_unreadable_state():
    plan = rejoin.decide_rejoin(old(timeline=7, cluster_state=None), new())
    assert plan["method"] == "base_backup"
    assert plan["obstacles"] == [
        "app1's data directory state is unreadable (pg_controldata), neither shut down nor recoverable",
        "app1's timeline 7 is not in db2's history (a branch rewind cannot follow)"]


def test_clean_switchover_just_follows():
    plan = rejoin.decide_rejoin(old(last_lsn="0/4FFFF28"), new())
    assert plan["outcome"] == "follow"
    assert actions(plan) == REWOUND[1:]
    plan = rejoin.decide_rejoin(old(role="replica", timeline=2, fence=None, running=True, upstream="app9"), new())
    assert actions(plan) == [("stop", "app1"), ("configure_standby", "app1"), ("start_replica", "app1"),
                             ("check_streaming", "app1")]


def test_already_streaming_from_the_new_primary():
    plan = rejoin.decide_rejoin(old(role="replica", running=True, upstream="db2", wal_receiver="streaming"), new())
    assert plan["outcome"] == "nothing" and plan["steps"] == []


def test_refusals():
    assert rejoin.decide_rejoin(new(), new())["refusal"] == (
        "db2 is the current primary: there is nothing to rejoin it to")
    assert rejoin.decide_rejoin(old(role="primary", running=True, fence=None), new())["refusal"] == (
        "app1 runs as a primary (unfenced) while db2 is the primary: fence it first (database_failure fences it)")
    assert rejoin.decide_rejoin(old(reachable=False), new())["refusal"].startswith("app1 is unreachable")
    assert rejoin.decide_rejoin(old(), new(role="replica"))["refusal"] == (
        "the new primary db2 does not answer as a primary (reachable: True, role: replica)")
    plan = rejoin.decide_rejoin(old(), new(), [{"host": "db3", "reachable": True, "role": "primary"}])
    assert plan["refusal"].startswith("db3 also answers as a primary besides db2 (split brain)")
    assert plan["steps"] == []


def test_pending_fence_is_applied_before_the_rejoin():
    pending = fence.make_record("app1", "unreachable", "INC-003", "failover.yml", "2025-01-02T03:04:05Z", "db2",
                                state="pending")
    plan = rejoin.decide_rejoin(old(fence=pending, running=True, role="unknown"), new())
    assert actions(plan)[:2] == [("apply_pending_fence", "app1"), ("stop", "app1")]
    assert actions(plan)[2:] == REWOUND
