"""The status report: rows, JSON, the text table, and the warnings an operator must see."""
import json

from ansible_collections.lifeboat.dr.plugins.module_utils.failover import fence, status

PENDING = fence.make_record("app1", "unreachable", "INC-003", "failover.yml", "2025-01-02T03:04:05Z", "db2",
                            "pending")
HEALTHY = [
    {"host": "app1", "reachable": True, "in_recovery": False, "timeline": 1, "current_lsn": "0/5000000"},
    {"host": "db2", "reachable": True, "in_recovery": True, "timeline": 1, "receive_lsn": "0/4FFFF00",
     "replay_lsn": "0/4FFFE00", "lag_seconds": 0.4, "wal_receiver": "streaming", "sync_state": "async",
     "slot": {"name": "db2", "active": True, "wal_status": "reserved"}},
]
REDIS_MASTER = ("# Replication\r\nrole:master\r\nconnected_slaves:1\r\n"
                "slave0:ip=10.0.0.2,port=6379,state=online,offset=40,lag=0\r\nmaster_repl_offset:50\r\n")
REDIS_REPLICA = "role:slave\r\nmaster_link_status:up\r\nslave_repl_offset:40\r\nmaster_sync_in_progress:0\r\n"


def test_rows_and_json():
    report = status.build_status(HEALTHY, [{"host": "app1", "reachable": True, "info": REDIS_MASTER},
                                           {"host": "db2", "reachable": True, "info": REDIS_REPLICA}],
                                 {"service": "sampleapp", "points_at": "app1", "redis_points_at": "app1"})
    assert report["postgresql"] == [
        {"host": "app1", "role": "primary", "timeline": 1, "lsn": "0/5000000", "lag_bytes": 0, "lag_seconds": 0,
         "wal_receiver": None, "slot": None, "sync_state": None, "fence": None},
        {"host": "db2", "role": "replica", "timeline": 1, "lsn": "0/4FFFF00", "lag_bytes": 256, "lag_seconds": 0.4,
         "wal_receiver": "streaming", "slot": "db2 active (reserved)", "sync_state": "async", "fence": None}]
    assert report["redis"] == [
        {"host": "app1", "role": "master", "link": None, "offset": 50, "lag_bytes": 0, "fence": None},
        {"host": "db2", "role": "replica", "link": "up", "offset": 40, "lag_bytes": 10, "fence": None}]
    assert report["warnings"] == []
    assert json.loads(json.dumps(report)) == report


def test_text_table():
    text = status.render_table([{"host": "app1", "role": "primary"}, {"host": "db2", "role": None}],
                               ("host", "role"))
    assert text == "host  role\n----  -------\napp1  primary\ndb2   -"
    report = status.build_status(HEALTHY, (), {"service": "sampleapp", "points_at": "app1"})
    rendered = status.render_status(report)
    assert rendered.startswith("PostgreSQL\nhost  role     timeline  lsn        lag_bytes")
    assert "db2   replica  1         0/4FFFF00  256        0.4          streaming" in rendered
    assert rendered.endswith("Application sampleapp: PostgreSQL app1, Redis -\nno warnings\n")


def test_after_failover_with_the_old_primary_away():
    facts = [{"host": "app1", "reachable": False, "fence": PENDING},
             {"host": "db2", "reachable": True, "in_recovery": False, "timeline": 2, "current_lsn": "0/6000000"},
             {"host": "db3", "reachable": True, "in_recovery": True, "timeline": 1, "receive_lsn": "0/5000000",
              "wal_receiver": None, "slot": {"name": "db3", "active": False, "wal_status": "lost"}}]
    report = status.build_status(facts, [{"host": "app1", "reachable": False}],
                                 {"points_at": "app1", "redis_points_at": "db2"})
    roles = [(r["host"], r["role"], r["lag_bytes"]) for r in report["postgresql"]]
    assert roles == [("app1", "unknown (fence pending)", None), ("db2", "primary", 0), ("db3", "replica", 0x1000000)]
    assert report["warnings"] == [
        "PostgreSQL app1 has a pending fence: it is applied first when the host answers",
        "no Redis master answers",
        "PostgreSQL replica db3 is not streaming (wal receiver: not running)",
        "replication slot db3 of db3 is db3 inactive (lost)",
        "the application points at app1, which is not the primary (db2)"]


def test_split_brain_is_a_warning():
    facts = [dict(HEALTHY[0]), dict(HEALTHY[0], host="db2", timeline=2)]
    report = status.build_status(facts)
    assert report["warnings"] == ["split brain: more than one PostgreSQL primary: app1, db2"]
