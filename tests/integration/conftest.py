"""Integration tests: Lifeboat's modules run by Ansible against the real lab host app1.

The lab is brought up (idempotently) by the ``lab`` fixture; tests talk to the
real PostgreSQL 15 and SQLite in the container and check data, not exit codes.
"""
import os
import subprocess

import pytest

from labhost import BIN, ROOT, _env

@pytest.fixture(scope="session")
def lab():
    # The lab, and the agent on it: tests run where users run Lifeboat, with its tools installed.
    for playbook in ("playbooks/lab_up.yml", "playbooks/backup_agent.yml", "playbooks/postgresql_pitr.yml"):
        subprocess.run([os.path.join(BIN, "ansible-playbook"), playbook], cwd=ROOT, env=dict(
            _env(), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default"), check=True, capture_output=True)
    with open(os.path.join(ROOT, ".lab", "secrets", "pg_lifeboat")) as handle:
        password = handle.read().split()[0]
    return {"password": password, "root": ROOT}


@pytest.fixture
def pg_args(lab):
    return {"engine": "postgresql", "login_user": "lifeboat", "login_password": lab["password"],
            "backup_root": "/var/backups/lifeboat-it"}
