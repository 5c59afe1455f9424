"""Users set backup_root (or lock_timeout) once for every Lifeboat module: the action group."""
import os

import yaml

from labhost import ROOT, playbook


def test_action_group_names_every_module():
    with open(os.path.join(ROOT, "meta", "runtime.yml")) as handle:
        group = yaml.safe_load(handle)["action_groups"]["lifeboat"]
    modules = sorted(name[:-3] for name in os.listdir(os.path.join(ROOT, "plugins", "modules")) if name.endswith(".py"))
    assert sorted(group) == modules


def test_module_defaults_reach_the_modules(tmp_path):
    daily = tmp_path / "notes" / "daily"
    daily.mkdir(parents=True)
    stray = daily / "backup_daily_20260101_020000.sqlite3.zst"
    stray.write_bytes(b"no metadata beside me")
    proc = playbook("../tests/integration/playbooks/module_defaults.yml", "-e", "repository=%s" % tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "INCOMPLETE %s" % stray in proc.stdout
