"""Integration tests: Lifeboat's modules run by Ansible against the real lab host app1.

The lab is brought up (idempotently) by the ``lab`` fixture; tests talk to the
real PostgreSQL 15 and SQLite in the container and check data, not exit codes.
"""
import os

import pytest

from labhost import ROOT, playbook


def _run(name, *extra):
    proc = playbook(name, *extra)
    assert proc.returncode == 0, "%s failed:\n%s\n%s" % (name, proc.stdout[-4000:], proc.stderr[-2000:])
    return proc


@pytest.fixture(scope="session")
def lab():
    # The lab, and the agent on it: tests run where users run Lifeboat, with its tools installed.
    for name in ("lab_up.yml", "backup_agent.yml", "postgresql_pitr.yml"):
        _run(name)
    with open(os.path.join(ROOT, ".lab", "secrets", "pg_lifeboat")) as handle:
        password = handle.read().split()[0]
    return {"password": password, "root": ROOT}


@pytest.fixture(scope="session")
def lab_backups(lab):
    """A fresh backup of every service on app1, local and offsite, made by this run's keys:
    tests that restore "the newest backup" must not depend on what earlier tests or runs left."""
    _run("backup.yml")
    return lab


@pytest.fixture
def pg_args(lab):
    return {"engine": "postgresql", "login_user": "lifeboat", "login_password": lab["password"],
            "backup_root": "/var/backups/lifeboat-it"}
