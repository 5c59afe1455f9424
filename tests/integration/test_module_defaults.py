"""Users set backup_root and lock_timeout once: the action groups lifeboat and service_lock.

Which modules each group lists (exactly those that take its option) is held to the argument specs by
tests/unit/test_action_groups.py; here a real run on the controller (no lab) uses both groups.
"""
from labhost import playbook


def test_module_defaults_reach_the_modules(tmp_path):
    daily = tmp_path / "notes" / "daily"
    daily.mkdir(parents=True)
    stray = daily / "backup_daily_20260101_020000.sqlite3.zst"
    stray.write_bytes(b"no metadata beside me")
    (tmp_path / "vault-password").write_text("not a real password\n")
    proc = playbook("../tests/integration/playbooks/module_defaults.yml", "-e", "repository=%s" % tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "INCOMPLETE %s" % stray in proc.stdout
    assert "OUTSIDE True" in proc.stdout
    assert not (tmp_path / "secrets.vault.yml").exists()
