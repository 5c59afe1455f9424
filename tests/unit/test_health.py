"""Run records, Prometheus metrics, size trend and status, on real local backups."""
import datetime
import io
import json
import os
import sqlite3

import pytest

from ansible_collections.lifeboat.dr.plugins.module_utils import cli, health
from ansible_collections.lifeboat.dr.plugins.module_utils.agent import backup_cycle
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError, list_backups

UTC = datetime.timezone.utc


@pytest.fixture
def spec(tmp_path):
    db = str(tmp_path / "app.db")
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE t (x)")
    conn.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(50)])
    conn.commit()
    conn.close()
    metrics = tmp_path / "textfile"
    metrics.mkdir()
    return {"engine": "sqlite", "service": "app", "path": db, "backup_root": str(tmp_path / "repo"),
            "metrics_dir": str(metrics), "retention": {"daily": 2, "weekly": 0, "monthly": 0}}


def metric(text, name, kind):
    for line in text.splitlines():
        if line.startswith('%s{service="app",type="%s"}' % (name, kind)):
            return float(line.split()[-1])
    return None


def test_success_then_failure_is_visible_in_metrics(spec):
    when = datetime.datetime(2025, 3, 4, 2, 0, tzinfo=UTC)  # a Tuesday: daily
    result = backup_cycle(spec, when=when)
    prom = open(result["metrics_file"]).read()
    assert metric(prom, "lifeboat_backup_success", "daily") == 1
    assert metric(prom, "lifeboat_backup_last_success_timestamp_seconds", "daily") == when.timestamp()
    assert metric(prom, "lifeboat_backup_last_size_bytes", "daily") == result["size_bytes"]
    assert "# TYPE lifeboat_backup_last_duration_seconds gauge" in prom

    os.unlink(spec["path"])
    later = when + datetime.timedelta(days=1)
    with pytest.raises(LifeboatError, match="does not exist"):
        backup_cycle(spec, when=later)
    prom = open(os.path.join(spec["metrics_dir"], "lifeboat_app.prom")).read()
    assert metric(prom, "lifeboat_backup_success", "daily") == 0
    assert metric(prom, "lifeboat_backup_last_success_timestamp_seconds", "daily") == when.timestamp()
    assert metric(prom, "lifeboat_backup_last_run_timestamp_seconds", "daily") == later.timestamp()
    report = health.status(spec["backup_root"], "app", later + datetime.timedelta(hours=1))
    assert not report["ok"] and any("failed" in p and "does not exist" in p for p in report["problems"])


def test_cycle_rotates_and_trends(spec):
    for day in range(3, 8):
        backup_cycle(spec, when=datetime.datetime(2025, 3, day, 2, 0, tzinfo=UTC))
    backups = list_backups(spec["backup_root"], "app")[0]
    assert [b["backup_id"] for b in backups] == ["backup_daily_20250307_020000", "backup_daily_20250306_020000"]
    trend = [json.loads(line) for line in open(os.path.join(spec["backup_root"], "app", health.SIZE_TREND))]
    assert [t["backup_id"] for t in trend][-1] == "backup_daily_20250307_020000" and len(trend) == 5
    assert all(t["size_bytes"] > 0 for t in trend)


def test_status_flags_stale_backups(spec):
    when = datetime.datetime(2025, 3, 4, 2, 0, tzinfo=UTC)
    backup_cycle(spec, when=when)
    fresh = health.status(spec["backup_root"], "app", when + datetime.timedelta(hours=25))
    stale = health.status(spec["backup_root"], "app", when + datetime.timedelta(hours=27))
    assert fresh["ok"] and fresh["classes"]["daily"]["verified"] is True
    assert not stale["ok"] and "older than 26 h" in stale["problems"][0]


def test_cli_status_exit_codes(spec, tmp_path):
    config = tmp_path / "etc"
    (config / "services").mkdir(parents=True)
    cfg = dict(spec)
    (config / "services" / "app.json").write_text(json.dumps(cfg))
    out = io.StringIO()
    assert cli.main(["--config-dir", str(config), "run", "app"], out=out) == 0
    assert json.loads(out.getvalue())["status"] == "ok"
    now = datetime.datetime.now(UTC)
    out = io.StringIO()
    assert cli.main(["--config-dir", str(config), "status"], out=out, now=now) == 0
    assert out.getvalue().startswith("OK   app")
    out = io.StringIO()
    assert cli.main(["--config-dir", str(config), "status", "--json"], out=out,
                    now=now + datetime.timedelta(days=2)) == 1
    assert json.loads(out.getvalue())[0]["ok"] is False


def offsite_metric(text, name):
    for line in text.splitlines():
        if line.startswith('%s{service="app"}' % name):
            return float(line.split()[-1])
    return None


def test_cli_run_copies_offsite_and_a_broken_store_fails_the_run_but_keeps_the_backup(spec, tmp_path):
    config = tmp_path / "etc"
    (config / "services").mkdir(parents=True)
    store = tmp_path / "offsite"
    store.mkdir()
    (config / "services" / "app.json").write_text(json.dumps(spec))
    (config / "offsite.json").write_text(json.dumps({"provider": "filesystem", "path": str(store), "prefix": "h1",
                                                     "retention": {"daily": 1, "weekly": 0, "monthly": 0}}))
    out = io.StringIO()
    assert cli.main(["--config-dir", str(config), "run", "app"], out=out) == 0
    summary = json.loads(out.getvalue())
    assert summary["offsite"]["target"] == str(store) and len(summary["offsite"]["pushed"]) == 1
    remote = sorted(os.listdir(store / "h1" / "app" / summary["path"].split("/")[-2]))
    assert remote == sorted([summary["backup_id"] + ".metadata.json", os.path.basename(summary["path"])])
    prom = open(os.path.join(spec["metrics_dir"], "lifeboat_app.prom")).read()
    assert offsite_metric(prom, "lifeboat_backup_offsite_success") == 1

    # The store disappears (an unmounted disk): the run fails, the local backup is there and listed.
    os.rename(store, tmp_path / "gone")
    assert cli.main(["--config-dir", str(config), "run", "app"], out=io.StringIO()) == 1
    assert len(list_backups(spec["backup_root"], "app")[0]) >= 1
    prom = open(os.path.join(spec["metrics_dir"], "lifeboat_app.prom")).read()
    assert offsite_metric(prom, "lifeboat_backup_offsite_success") == 0
    assert offsite_metric(prom, "lifeboat_backup_offsite_last_success_timestamp_seconds") is not None
    report = health.status(spec["backup_root"], "app", datetime.datetime.now(UTC))
    assert not report["ok"] and any("offsite copy" in p and "does not exist" in p for p in report["problems"])
