"""Verification levels, restores into side databases, and the restore test, on the real lab hosts."""
import json
import subprocess

import pytest

from labhost import pg_content, playbook, psql, run_module, sh

SIDE = "appdb_side"


@pytest.fixture(scope="module")
def side_copy(lab_backups):
    """appdb's newest backup restored into a side database (production must not notice)."""
    before = pg_content("appdb")
    result = run_module("db_restore", {"engine": "postgresql", "service": "appdb", "database": SIDE,
                                       "login_user": "lifeboat", "login_password": lab_backups["password"],
                                       "age_identity_file": "/etc/lifeboat/services/appdb.age-identity",
                                       "confirm": True})
    assert result["changed"] and result["target"] == SIDE, result.get("msg")
    assert pg_content("appdb") == before
    yield result
    psql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % SIDE)


def _verify(lab, level="full", **extra):
    args = {"engine": "postgresql", "service": "appdb", "database": SIDE, "level": level,
            "login_user": "lifeboat", "login_password": lab["password"]}
    args.update(extra)
    result = run_module("service_verify", args)
    assert not result.get("failed"), result.get("msg")
    return {entry["check"].split(": ", 1)[1]: entry for entry in result["checks"]}, result


def test_a_definition_as_written_with_the_database_given_checks_the_side_copy(lab, side_copy):
    # The inventory item as it is (fields service_verify does not use included); the option wins.
    definition = {"name": "appdb", "engine": "postgresql", "database": "appdb", "login_user": "lifeboat",
                  "schedule": "*-*-* 02:00:00", "app_services": ["sampleapp"], "encryption": "age"}
    result = run_module("service_verify", {"definition": definition, "database": SIDE, "level": "full",
                                           "rows": "exact", "login_password": lab["password"]})
    assert not result.get("failed"), result.get("msg")
    assert result["summary"]["failed"] == 0, result["checks"]
    assert any((entry.get("detail") or "").endswith("database %s" % SIDE) for entry in result["checks"]), result["checks"]


def test_side_database_holds_the_backup_and_passes_full_checks(lab, side_copy):
    assert pg_content(SIDE)  # restored tables are there
    checks, result = _verify(lab, rows="exact")
    assert result["summary"]["failed"] == 0, result["checks"]
    assert "consistent" in checks["integrity"]["detail"]
    # amcheck was installed for the check only: it must not ride into the next backup.
    assert psql("SELECT count(*) FROM pg_extension WHERE extname = 'amcheck'", SIDE) == "0"
    assert lab["password"] not in result.output


def test_full_catches_a_wrong_row_count(lab, side_copy):
    table = "public.orders"  # referenced by no other table
    psql("DELETE FROM %s WHERE ctid IN (SELECT ctid FROM %s LIMIT 3)" % (table, table), SIDE)
    checks, _ = _verify(lab)
    assert checks["data matches the backup"]["status"] == "FAIL"
    assert "fewer than the backup's" in checks["data matches the backup"]["detail"]


def test_full_catches_a_corrupted_index(lab, side_copy):
    # An index over a function declared IMMUTABLE that then changes: the index no longer matches the heap.
    psql("CREATE TABLE probe (n int); INSERT INTO probe SELECT generate_series(1, 2000); "
         "CREATE FUNCTION flip(int) RETURNS int IMMUTABLE LANGUAGE sql AS 'SELECT $1'; "
         "CREATE INDEX probe_flip ON probe (flip(n)); "
         "CREATE OR REPLACE FUNCTION flip(int) RETURNS int IMMUTABLE LANGUAGE sql AS 'SELECT -$1'", SIDE)
    checks, _ = _verify(lab)
    assert checks["integrity"]["status"] == "FAIL"
    assert "probe_flip" in checks["integrity"]["detail"]


def test_quick_catches_a_stopped_service_and_a_stale_backup(lab, side_copy):
    sh("systemctl stop sampleapp")
    try:
        checks, _ = _verify(lab, level="quick", units=["sampleapp"], health_url="http://127.0.0.1:8080/healthz",
                            max_backup_age_hours=0.0001)
    finally:
        sh("systemctl start sampleapp")
    assert checks["unit sampleapp running"]["status"] == "FAIL"
    assert checks["health endpoint http://127.0.0.1:8080/healthz"]["status"] == "FAIL"
    assert checks["newest backup recent"]["status"] == "FAIL"
    assert checks["newest backup checksum"]["status"] == "PASS"
    assert checks["accepts connections"]["status"] == "PASS"



def test_verify_playbook_reports_and_fails_on_a_failed_check(lab_backups, tmp_path):
    report = tmp_path / "report.json"
    proc = playbook("verify.yml", "-e", "lifeboat_max_backup_age_hours=0.0001", "-e",
                     "lifeboat_verify_report=%s" % report)
    assert proc.returncode != 0
    assert "RESULT: SOME CHECKS FAILED" in proc.stdout
    data = json.loads(report.read_text())
    failed = {entry["check"] for entry in data["checks"] if entry["status"] == "FAIL"}
    assert failed == {"%s: newest backup recent" % name for name in ("appdb", "shopdb", "appsqlite", "appvectors",
                                                                      "appcache", "appconfig")}
    assert data["failed"] == 6 and data["total"] > 10


def test_restore_test_runs_end_to_end_and_leaves_no_scratch_copy(lab_backups, tmp_path):
    report = tmp_path / "restore-test.json"
    proc = playbook("restore_test.yml", "-e", "lifeboat_restore_test_report=%s" % report)
    assert proc.returncode == 0, proc.stdout[-3000:]
    tests = json.loads(report.read_text())["tests"]
    assert {t["service"]: t["result"] for t in tests} == {name: "PASS" for name in (
        "appdb", "shopdb", "appsqlite", "appvectors", "appcache", "appconfig")}
    assert all(t["test_host"] == "restoretest1" and t["checks"] for t in tests)
    test_host = ["docker", "exec", "lifeboat-lab-restoretest1", "bash", "-c"]
    left = subprocess.run(test_host + [
        "runuser -u postgres -- psql -XAtc \"SELECT datname FROM pg_database WHERE datname LIKE '%restore_test%'\"; "
        "mariadb -N -e \"SHOW DATABASES LIKE '%restore_test%'\"; "
        "find /var/tmp/lifeboat-restore-test /var/backups/lifeboat-restore-test -mindepth 2; "
        "find /var/lib/redis -maxdepth 1 -name 'pre-restore-*'"], capture_output=True, text=True, check=True)
    assert left.stdout.strip() == ""
    metrics = subprocess.run(test_host + ["cat /var/lib/prometheus/node-exporter/lifeboat_restore_test_app1_appdb.prom"],
                             capture_output=True, text=True, check=True).stdout
    assert 'lifeboat_restore_test_success{host="app1",service="appdb"} 1' in metrics
    # The source host's own data was never the scratch target.
    assert sh("ls /var/lib/prometheus/node-exporter | grep -c restore_test || true").strip() == "0"
