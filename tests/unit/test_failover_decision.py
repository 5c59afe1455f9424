"""database_failure decisions (fence, promote which replica, or refuse and why) and WAL positions."""
import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils.failover import decision, fence, lsn
from ansible_collections.lifeboat.dr.plugins.module_utils.failover.steps import actions

APP = {"service": "sampleapp", "host": "web1", "points_at": "app1"}
WHEN = "2025-01-02T03:04:05Z"
TAIL = [("promote", "db2"), ("prove_write", "db2"), ("repoint_app", "web1"), ("restart_app", "web1"),
        ("check_health", "web1")]


def primary(name="app1", current="0/5000000", timeline=1, **extra):
    facts = {"host": name, "reachable": True, "in_recovery": False, "timeline": timeline, "current_lsn": current}
    facts.update(extra)
    return facts


def replica(name="db2", receive="0/5000000", replay=None, timeline=1, streaming=True, **extra):
    facts = {"host": name, "reachable": True, "in_recovery": True, "timeline": timeline, "receive_lsn": receive,
             "replay_lsn": replay or receive, "wal_receiver": "streaming" if streaming else None,
             "upstream": "app1", "lag_seconds": 0}
    facts.update(extra)
    return facts


def down(name="app1", **extra):
    facts = {"host": name, "reachable": False}
    facts.update(extra)
    return facts


def record(host, state="applied", successor="db2"):
    return fence.make_record(host, "database_failure", "INC-003", "failover.yml", WHEN, successor, state)


# --- WAL positions ------------------------------------------------------------------------------

def test_lsn_examples():
    assert lsn.parse_lsn("16/B374D848") == 0x16B374D848
    assert lsn.parse_lsn("0/0") == 0
    assert lsn.format_lsn(0x16B374D848) == "16/B374D848"
    assert lsn.format_lsn(0) == "0/0"
    assert lsn.lsn_diff("0/3000060", "0/3000000") == 0x60
    assert lsn.lsn_diff("1/0", "0/FFFFFFFF") == 1
    assert lsn.parse_lsn(None) is None
    assert lsn.human_bytes(1536) == "1536 bytes (1.5 KiB)" and lsn.human_bytes(12) == "12 bytes"


@pytest.mark.parametrize("bad", ["16-B374D848", "0/", "/0", "123456789/0", "G/0", "", True, -1, 1 << 64])
def test_lsn_rejects(bad):
    with pytest.raises(LifeboatError):
        lsn.parse_lsn(bad)


positions = st.integers(min_value=0, max_value=lsn.MAX_LSN)


@settings(max_examples=500)
@given(positions)
def test_lsn_round_trip(position):
    text = lsn.format_lsn(position)
    assert lsn.parse_lsn(text) == position
    assert lsn.parse_lsn(text.lower()) == position
    assert lsn.format_lsn(lsn.parse_lsn(text)) == text


@settings(max_examples=300)
@given(positions, positions)
def test_lsn_diff_is_subtraction_and_order(a, b):
    assert lsn.lsn_diff(lsn.format_lsn(a), lsn.format_lsn(b)) == a - b
    assert (lsn.lsn_diff(lsn.format_lsn(a), lsn.format_lsn(b)) > 0) == (a > b)


# --- plans --------------------------------------------------------------------------------------

def test_primary_down_promotes_the_replica_and_records_the_fence():
    plan = decision.decide_failover([down(), replica(streaming=False)], {}, APP)
    assert plan["outcome"] == "failover" and plan["refusal"] is None
    assert actions(plan) == [("record_pending_fence", "app1")] + TAIL
    assert plan["steps"][0]["successor"] == "db2" and plan["steps"][1]["timeline"] == 2
    assert plan["data_loss"] == {"bytes": 0, "seconds": 0, "synchronous": False}


def test_reachable_primary_is_fenced_first_then_waited_for():
    plan = decision.decide_failover([primary(), replica(receive="0/4FFFF00")], {}, APP)
    assert actions(plan) == [("fence", "app1"), ("wait_replay", "db2")] + TAIL
    assert plan["lag"]["db2"] == {"bytes": 0x100, "seconds": 0}


def test_no_replica_configured():
    plan = decision.decide_failover([primary()], {}, APP)
    assert plan["outcome"] == "refused" and plan["steps"] == []
    assert plan["refusal"] == "no replica configured: the facts list only app1 (timeline 1, 0/5000000)"


def test_replica_not_streaming_from_a_running_primary():
    plan = decision.decide_failover([primary(), replica(streaming=False)], {}, APP)
    assert plan["outcome"] == "refused" and plan["steps"] == []
    assert "db2 is not streaming from app1 (wal receiver: not running)" in plan["refusal"]
    assert plan["refusal"].endswith("pass -e lifeboat_force=yes to promote anyway, accepting the loss")


def test_lag_over_the_limit_is_refused_with_the_figures():
    facts = [primary(current="0/5000000"), replica(receive="0/4000000", lag_seconds=12.5)]
    plan = decision.decide_failover(facts, {"max_lag_bytes": 1000, "max_lag_seconds": 10}, APP)
    assert plan["outcome"] == "refused"
    assert "db2 is 16777216 bytes (16.0 MiB) behind app1, over the limit of 1000 bytes" in plan["refusal"]
    assert "db2 is 12.5 s behind, over the limit of 10 s" in plan["refusal"]


def test_force_promotes_and_says_what_may_be_lost():
    facts = [down(), replica(receive="0/4000000", lag_seconds=12.5, primary_lsn="0/5000000")]
    plan = decision.decide_failover(facts, {"max_lag_bytes": 1000, "force": True}, APP)
    assert plan["outcome"] == "failover" and actions(plan) == [("record_pending_fence", "app1")] + TAIL
    assert plan["data_loss"]["bytes"] == 0x1000000 and plan["data_loss"]["seconds"] == 12.5
    assert any(n.startswith("forced: data may be lost: 16777216 bytes (16.0 MiB), 12.5 s of writes")
               for n in plan["notes"])


def test_split_brain_keeps_the_one_the_app_uses_and_fences_the_other():
    facts = [primary("app1", timeline=1), primary("db2", timeline=2)]
    plan = decision.decide_failover(facts, {}, dict(APP, points_at="db2"))
    assert plan["outcome"] == "fence_only"
    assert actions(plan) == [("fence", "app1"), ("check_health", "web1")]
    assert plan["refusal"].startswith("split brain: app1 (timeline 1, 0/5000000) and db2 (timeline 2, 0/5000000) "
                                      "all accept writes; no promotion; keeping db2 (the one the application uses)")


def test_a_host_fenced_while_unreachable_that_comes_back_writable_never_wins():
    # app1 was fenced on the controller while unreachable, db2 promoted; the app could not be repointed.
    facts = [primary("app1", timeline=1, fence=record("app1", state="pending")), primary("db2", timeline=2)]
    plan = decision.decide_failover(facts, {}, dict(APP, points_at="app1"))
    assert plan["outcome"] == "fence_only"
    assert actions(plan) == [("apply_pending_fence", "app1"), ("repoint_app", "web1"), ("restart_app", "web1"),
                             ("check_health", "web1")]
    assert "keeping db2 (the only one without a fence record)" in plan["refusal"]


def test_split_brain_by_timeline_and_undecidable():
    plan = decision.decide_failover([primary("app1"), primary("db2", timeline=3)], {}, None)
    assert actions(plan) == [("fence", "app1")] and "keeping db2 (the newest timeline)" in plan["refusal"]
    plan = decision.decide_failover([primary("app1"), primary("db2")], {}, None)
    assert plan["outcome"] == "refused" and plan["steps"] == []
    assert "cannot tell which one to keep" in plan["refusal"] and "-e candidate=HOST" in plan["refusal"]


def test_second_run_after_promotion_is_idempotent():
    facts = [down(fence=record("app1", state="pending")), primary("db2", timeline=2)]
    plan = decision.decide_failover(facts, {}, dict(APP, points_at="db2"))
    assert plan["outcome"] == "already_promoted" and plan["candidate"] == "db2"
    assert actions(plan) == [("prove_write", "db2"), ("check_health", "web1")]
    assert "db2 (timeline 2, 0/5000000) is already the primary: nothing to promote" in plan["notes"]


def test_old_primary_back_with_a_pending_fence_gets_it_first():
    old = dict(replica("app1", timeline=1), in_recovery=None, role="unknown", fence=record("app1", "pending"))
    plan = decision.decide_failover([old, primary("db2", timeline=2)], {"candidate": "db2"}, APP)
    assert actions(plan)[0] == ("apply_pending_fence", "app1")
    assert actions(plan)[1:] == [("prove_write", "db2"), ("repoint_app", "web1"), ("restart_app", "web1"),
                                 ("check_health", "web1")]


def test_candidate_choice_least_lag_then_priority_then_name():
    facts = [down(), replica("db2", receive="0/4000000"), replica("db3", receive="0/5000000"),
             replica("db4", receive="0/5000000")]
    assert decision.decide_failover(facts, {}, None)["candidate"] == "db3"
    assert decision.decide_failover(facts, {"priorities": {"db4": 5}}, None)["candidate"] == "db4"
    assert decision.decide_failover(facts, {"priorities": {"db3": 0}}, None)["candidate"] == "db4"
    assert decision.decide_failover(list(reversed(facts)), {}, None) == decision.decide_failover(facts, {}, None)


def test_synchronous_mode_prefers_the_sync_standby():
    facts = [primary(), replica("db2", sync_state="async"), replica("db3", receive="0/4FFFFF0", sync_state="sync")]
    plan = decision.decide_failover(facts, {"synchronous": ["db3"]}, None)
    assert plan["candidate"] == "db3" and plan["data_loss"]["synchronous"] is True
    assert "db3 is a synchronous standby: no acknowledged commit is lost" in plan["notes"]


def test_timeline_behind_is_never_promoted_even_forced():
    facts = [down(), replica("db2", timeline=1), replica("db3", timeline=2, receive="0/1000")]
    plan = decision.decide_failover(facts, {"force": True, "primary": "app1"}, None)
    assert plan["candidate"] == "db3"
    plan = decision.decide_failover(facts, {"force": True, "primary": "app1", "candidate": "db2"}, None)
    assert plan["refusal"] == ("no replica may be promoted in place of app1: db2 is on timeline 1, behind the "
                               "cluster's timeline 2")


def test_unknown_old_primary_is_refused():
    facts = [down("app1"), down("app9"), replica("db2", upstream=None)]
    plan = decision.decide_failover(facts, {}, None)
    assert plan["refusal"].startswith("cannot tell which host was the primary")
    with pytest.raises(LifeboatError, match="policy names nope as the primary"):
        decision.decide_failover(facts, {"primary": "nope"}, None)


def test_bad_facts_are_errors():
    with pytest.raises(LifeboatError, match="db2: unknown fact"):
        decision.decide_failover([dict(replica(), lagg=1)], {}, None)
    with pytest.raises(LifeboatError, match="unknown failover policy key"):
        decision.decide_failover([replica()], {"max_lag": 1}, None)
    with pytest.raises(LifeboatError, match="listed twice"):
        decision.decide_failover([replica(), replica()], {}, None)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1 << 30), st.integers(0, 3)), min_size=1, max_size=5), st.randoms())
def test_choice_is_the_least_lagging_and_order_free(replicas, rnd):
    facts = [down()] + [replica("db%d" % i, receive=lsn.format_lsn(pos)) for i, (pos, dummy) in enumerate(replicas)]
    policy = {"priorities": dict(("db%d" % i, prio) for i, (dummy, prio) in enumerate(replicas)), "force": True,
              "max_lag_bytes": 1 << 40}
    plan = decision.decide_failover(facts, policy, None)
    eligible = [(pos, prio, "db%d" % i) for i, (pos, prio) in enumerate(replicas) if prio > 0]
    if not eligible:
        assert plan["outcome"] == "refused"
        return
    best = sorted(eligible, key=lambda e: (-e[0], -e[1], e[2]))[0][2]
    assert plan["candidate"] == best
    assert actions(plan)[0] == ("record_pending_fence", "app1") and ("promote", best) in actions(plan)
    shuffled = list(facts)
    rnd.shuffle(shuffled)
    assert decision.decide_failover(shuffled, policy, None) == plan
