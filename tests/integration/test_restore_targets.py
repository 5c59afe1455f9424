"""restore.yml's targets through the playbook, as users run it, and the PITR role's idempotence."""
import json
import subprocess

import pytest

from labhost import pg_content, playbook, psql, sh, sqlite_content

APP_DB = "/var/lib/sampleapp/app.db"



def test_staging_target_restores_beside_production_without_stopping_the_app(lab_backups):
    sh("rm -f %s.staging" % APP_DB)
    before = sqlite_content(APP_DB)
    proc = playbook("restore.yml", "-e", "lifeboat_target=staging", "-e", '{"lifeboat_only": ["appsqlite"]}')
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "into %s.staging" % APP_DB in proc.stdout
    assert sqlite_content(APP_DB) == before
    staged = sqlite_content(APP_DB + ".staging")
    assert staged["notes"].split(":")[0].isdigit() and set(staged) == set(before)
    assert sh("systemctl show -p NRestarts --value sampleapp").strip() == "0"
    sh("rm -f %s.staging" % APP_DB)


def test_check_mode_prints_the_plan_and_changes_nothing(lab_backups):
    """Issue 12: restore.yml --check failed on the report's duration_seconds."""
    before, listing = sqlite_content(APP_DB), sh("ls -A /var/lib/sampleapp")
    proc = playbook("restore.yml", "--check", "-e", "lifeboat_confirm=yes", "-e", "lifeboat_from=latest",
                    "-e", '{"lifeboat_only": ["appsqlite"]}')
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "appsqlite: check mode, nothing changed: would restore" in proc.stdout
    assert "after keeping a safety copy; safety copies: keep" in proc.stdout
    assert sqlite_content(APP_DB) == before and sh("ls -A /var/lib/sampleapp") == listing
    assert sh("systemctl is-active sampleapp").strip() == "active"


def test_a_redis_service_has_no_staging_target(lab):
    proc = playbook("restore.yml", "-e", "lifeboat_target=staging", "-e", '{"lifeboat_only": ["appcache"]}')
    assert proc.returncode != 0
    assert "one dataset per instance" in proc.stdout


def test_skip_verify_into_production_needs_confirmation(lab):
    proc = playbook("restore.yml", "-e", "lifeboat_skip_verify=yes", "-e", '{"lifeboat_only": ["appsqlite"]}')
    assert proc.returncode != 0
    assert "lifeboat_skip_verify=yes into production" in proc.stdout


def test_another_host_target_restores_there_from_offsite(lab_backups):
    proc = playbook("restore.yml", "-e", "lifeboat_target=restoretest1", "-e", "lifeboat_source=offsite",
                     "-e", '{"lifeboat_only": ["appdb"]}')
    try:
        assert proc.returncode == 0, proc.stdout[-3000:]
        on_test_host = subprocess.run(
            ["docker", "exec", "lifeboat-lab-restoretest1", "runuser", "-u", "postgres", "--", "psql", "-XAtq",
             "-d", "appdb", "-c", "SELECT count(*) FROM orders"], capture_output=True, text=True, check=True)
        assert int(on_test_host.stdout.strip()) > 0
        assert pg_content("appdb")  # production still there, untouched by the run
        left = subprocess.run(["docker", "exec", "lifeboat-lab-restoretest1", "ls", "/run/lifeboat-restore"],
                              capture_output=True, text=True, check=False)
        assert left.returncode != 0  # the identities were removed
    finally:
        subprocess.run(["docker", "exec", "lifeboat-lab-restoretest1", "bash", "-c",
                        "runuser -u postgres -- psql -XAtqc 'DROP DATABASE IF EXISTS appdb WITH (FORCE)'; "
                        "rm -rf /var/backups/lifeboat/appdb"], check=False)


def test_pitr_role_is_idempotent(lab):
    proc = playbook("postgresql_pitr.yml")
    assert proc.returncode == 0, proc.stdout[-3000:]
    recap = [line for line in proc.stdout.splitlines() if line.startswith("app1 ")][-1]
    assert "changed=0" in recap, recap
    assert psql("SHOW archive_mode") == "on"
    assert psql("SHOW archive_command").startswith("/usr/local/bin/lifeboat-pitr archive-wal")
    assert sh("stat -c '%a %U' /var/backups/lifeboat-pitr/15-main").split() == ["700", "postgres"]


@pytest.mark.parametrize("bad", ["relative/repo", "/var/backups/it's"])
def test_pitr_role_refuses_a_repository_path_that_cannot_go_into_archive_command(lab, bad):
    proc = playbook("postgresql_pitr.yml", "-e", json.dumps({"postgresql_pitr_repository": bad}))
    assert proc.returncode != 0
    assert "postgresql_pitr_repository must be an absolute path" in proc.stdout
