"""The fence record and the start-time check: never a second primary while a fence exists."""
import datetime
import json

import pytest
from hypothesis import given, strategies as st

from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils.failover import fence

WHEN = datetime.datetime(2025, 1, 2, 3, 4, 5, 678, tzinfo=datetime.timezone.utc)


def record(state="applied", host="app1"):
    return fence.make_record(host, "database_failure", "INC-003", "failover.yml (alice)", WHEN, "db2", state)


def test_record_format():
    rec = record()
    assert rec == {"version": 1, "host": "app1", "time": "2025-01-02T03:04:05Z", "reason": "database_failure",
                   "incident": "INC-003", "by": "failover.yml (alice)", "successor": "db2", "state": "applied",
                   "lifted": None}
    text = fence.dump_record(rec)
    assert text.endswith("}\n") and json.loads(text) == rec
    assert fence.load_record(text) == rec
    other_zone = WHEN.astimezone(datetime.timezone(datetime.timedelta(hours=2)))
    assert fence.make_record("a", "r", None, "b", other_zone)["time"] == "2025-01-02T03:04:05Z"


@given(st.text(min_size=1).filter(lambda s: s.strip()), st.text(min_size=1).filter(lambda s: s.strip()),
       st.sampled_from(["pending", "applied"]))
def test_record_round_trip(host, reason, state):
    rec = fence.make_record(host, reason, "INC-003", "tester", WHEN, None, state)
    assert fence.load_record(fence.dump_record(rec)) == rec


@pytest.mark.parametrize("text, message", [
    ("{not json", "not valid JSON .*treat the host as fenced"),
    ("[]", "must be a JSON object"),
    ('{"version": 1}', "lacks host, time"),
])
def test_unreadable_records_are_errors(text, message):
    with pytest.raises(LifeboatError, match=message):
        fence.load_record(text)


def test_bad_values():
    with pytest.raises(LifeboatError, match="version 2"):
        fence.check_record(dict(record(), version=2))
    with pytest.raises(LifeboatError, match="state 'gone'"):
        fence.check_record(dict(record(), state="gone"))
    with pytest.raises(LifeboatError, match="needs a host"):
        fence.make_record("", "r", None, "b", WHEN)
    with pytest.raises(LifeboatError, match="aware datetimes"):
        fence.make_record("a", "r", None, "b", datetime.datetime(2025, 1, 1))


def test_fenced_host_never_starts():
    for standby in (False, True):
        answer = fence.may_start("app1", record(), standby, {"primaries": [], "answered": []})
        assert answer["allowed"] is False and answer["as"] is None
        assert answer["reason"] == ("app1 is fenced since 2025-01-02T03:04:05Z by failover.yml (alice) "
                                    "(database_failure, incident INC-003, successor db2): it must not start; "
                                    "rejoin it (-e incident=rejoin) to lift the fence")


def test_a_peer_copy_fences_a_host_that_lost_its_own_record():
    answer = fence.may_start("app1", None, False, {"fences": [record("pending")], "answered": ["db2"]})
    assert answer["allowed"] is False and "app1 is fenced since" in answer["reason"]


def test_lifted_by_rejoin_allows_only_a_replica():
    lifted = fence.lifted(record(), "db2", WHEN, "failover.yml rejoin")
    assert lifted["state"] == "lifted" and lifted["lifted"]["incident"] == "rejoin"
    assert fence.may_start("app1", lifted, True, {}) == {
        "allowed": True, "as": "replica",
        "reason": "fence lifted by a rejoin on 2025-01-02T03:04:05Z: starting as a replica of db2"}
    answer = fence.may_start("app1", lifted, False, {})
    assert answer["allowed"] is False and "may start only as a replica (standby.signal is missing)" in answer["reason"]
    with pytest.raises(LifeboatError, match="was lifted"):
        fence.applied(lifted)
    assert fence.applied(record("pending"))["state"] == "applied"


def test_unfenced_host_and_the_cluster():
    assert fence.may_start("app1", None, False, {"answered": ["db2"], "primaries": []}) == {
        "allowed": True, "as": "primary", "reason": "no fence record and no other primary (peers asked: db2)"}
    answer = fence.may_start("app1", None, False, {"answered": ["db2"], "primaries": ["db2"]})
    assert answer == {"allowed": False, "as": None,
                      "reason": "db2 reports being the primary: app1 must not start as a second primary; rejoin it"}
    assert fence.may_start("app1", None, True, {"primaries": ["db2"]})["as"] == "replica"
    assert fence.may_start("app1", None, False, None)["reason"].endswith("(no peer answered)")


def test_a_record_for_another_host_fails_closed():
    answer = fence.may_start("app1", record(host="db9"), True, {})
    assert answer["allowed"] is False and "holds a fence record for db9" in answer["reason"]
