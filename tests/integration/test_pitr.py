"""Point-in-time recovery of app1's PostgreSQL cluster from the WAL archive lifeboat-pitr keeps.

Rows carry the time they were written; a recovery to an instant must keep exactly the rows
committed before it. Recoveries go to ever earlier instants, so each one's history is part of
the newest timeline (a later instant would lie on a branch the previous recovery discarded).
"""
import datetime
import json
import random

import pytest

from labhost import psql, run_module, sh

REPO = "/var/backups/lifeboat-pitr/15-main"
DATA = "/var/lib/postgresql/15/main"


def _ticks():
    rows = psql("SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') FROM ticks ORDER BY id",
                "pitrcheck").splitlines()
    return [(int(row.split("|")[0]), datetime.datetime.fromisoformat(row.split("|")[1])) for row in rows]


def _archive_everything():
    """Close the current segment and wait until the archiver has stored it."""
    segment = psql("SELECT pg_walfile_name(pg_switch_wal())")
    sh("for i in $(seq 1 100); do test -e %s/wal/%s.zst && exit 0; sleep 0.2; done; exit 1" % (REPO, segment))
    return segment


def _cleanup_kept():
    sh("rm -rf %s.pre-pitr-* %s.failed-pitr-*" % (DATA, DATA))


@pytest.fixture(scope="module")
def ticks(lab):
    psql("DROP DATABASE IF EXISTS pitrcheck")
    psql("CREATE DATABASE pitrcheck")
    psql("CREATE TABLE ticks (id int PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())", "pitrcheck")
    # A base backup older than every row, so each instant below is inside the window.
    sh("systemctl start lifeboat-pitr-basebackup-15-main.service")
    sh("for i in $(seq 1 40); do runuser -u postgres -- psql -XAtq -d pitrcheck "
       "-c \"INSERT INTO ticks (id) VALUES ($i)\"; sleep 0.2; done")
    _archive_everything()
    rows = _ticks()
    assert [row[0] for row in rows] == list(range(1, 41))
    yield rows
    _cleanup_kept()


def test_recovers_exactly_the_rows_committed_before_each_instant(ticks):
    picks = sorted(random.Random(20261123).sample(range(5, 38), 3), reverse=True)
    for index in picks:
        # Halfway between two inserts: commits take milliseconds, the inserts are 200 ms apart.
        instant = ticks[index - 1][1] + (ticks[index][1] - ticks[index - 1][1]) / 2
        result = run_module("pitr_restore", {"until": instant.isoformat(sep=" ") + "+00:00", "confirm": True})
        assert not result.get("failed"), result.get("msg")
        assert result["kept_data_directory"].startswith(DATA + ".pre-pitr-")
        assert psql("SELECT pg_is_in_recovery()") == "f"
        assert [row[0] for row in _ticks()] == list(range(1, index + 1)), "recovery to %s" % instant
        # The recovery settings are gone from the configuration, so a restart cannot replay again.
        assert "recovery_target" not in sh("cat %s/postgresql.auto.conf" % DATA)
        assert "restore_command" not in sh("cat %s/postgresql.auto.conf" % DATA)
        _cleanup_kept()


def test_check_mode_reports_the_plan_and_touches_nothing(ticks):
    before = psql("SELECT count(*) FROM ticks", "pitrcheck")
    result = run_module("pitr_restore", {"until": "latest", "confirm": True}, check=True)
    assert result["changed"] and "base_" in result["base_backup"] and result["target"] == "latest archived WAL"
    assert psql("SELECT count(*) FROM ticks", "pitrcheck") == before
    assert sh("ls -d %s.pre-pitr-* 2>/dev/null || true" % DATA).strip() == ""


@pytest.mark.parametrize("until", ["2001-01-01 00:00:00", "2999-01-01 00:00:00+02:00"])
def test_a_target_outside_the_window_is_refused_with_the_window(ticks, until):
    window = json.loads(sh("lifeboat-pitr window --repository %s" % REPO))
    result = run_module("pitr_restore", {"until": until, "confirm": True})
    assert result["failed"]
    assert "outside the recoverable window" in result["msg"]
    assert window["earliest"].replace("T", " ") in result["msg"]
    assert psql("SELECT pg_is_in_recovery()") == "f"


def test_a_damaged_wal_segment_aborts_recovery_and_puts_the_original_back(ticks):
    psql("INSERT INTO ticks (id) VALUES (1000)", "pitrcheck")
    segment = _archive_everything()
    victim = "%s/wal/%s.zst" % (REPO, segment)
    sh("cp -p %s /tmp/victim.zst && printf 'garbage' | dd of=%s bs=1 seek=20 conv=notrunc 2>/dev/null"
       % (victim, victim))
    try:
        result = run_module("pitr_restore", {"until": "latest", "confirm": True})
        assert result["failed"]
        assert segment in result["msg"] and "original data directory is back" in result["msg"]
        sh("systemctl start postgresql@15-main")
        assert psql("SELECT max(id) FROM ticks", "pitrcheck") == "1000"
    finally:
        sh("cp -p /tmp/victim.zst %s" % victim)
        sh("systemctl start postgresql@15-main")
        _cleanup_kept()


def test_archive_command_refuses_to_overwrite_a_segment_with_other_content(ticks):
    segment = sh("ls %s/wal | grep -E '^[0-9A-F]{24}\\.zst$' | tail -1" % REPO).strip()[:-4]
    out = sh("head -c 1000 /dev/urandom > /tmp/other && runuser -u postgres -- lifeboat-pitr archive-wal "
             "--repository %s /tmp/other %s; echo rc=$?" % (REPO, segment))
    assert "rc=1" in out
    status = json.loads(sh("cat %s/.archive_status.json" % REPO))
    assert status["last_failed_wal"] == segment and status["failed_count"] >= 1


def test_metrics_show_the_window_and_archive_state(ticks):
    sh("systemctl start lifeboat-pitr-status-15-main.service")
    text = sh("cat /var/lib/prometheus/node-exporter/lifeboat_pitr_15-main.prom")
    values = {line.split("{")[0]: float(line.split()[-1]) for line in text.splitlines() if not line.startswith("#")}
    assert values["lifeboat_pitr_base_backups"] >= 1
    assert values["lifeboat_pitr_window_end_timestamp_seconds"] >= values["lifeboat_pitr_window_start_timestamp_seconds"]
    assert values["lifeboat_wal_archive_last_success_timestamp_seconds"] > 0
    assert sh("systemctl is-active lifeboat-pitr-status-15-main.timer lifeboat-pitr-basebackup-15-main.timer").split() \
        == ["active", "active"]
