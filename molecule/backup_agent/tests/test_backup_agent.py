"""What the backup_agent role must leave on a systemd host, checked on the host."""
import hashlib
import json
import os

import pytest

SCHEDULER = os.environ.get("LIFEBOAT_SCHEDULER", "systemd")
ROOT = "/var/backups/lifeboat"


def test_agent_user_and_repository_modes(host):
    user = host.user("lifeboat")
    assert user.exists and "notesapp" in user.groups
    repo = host.file(ROOT)
    assert repo.is_directory and repo.mode == 0o700 and repo.user == "lifeboat"
    for service in ("notes", "notes-weekly", "orders"):
        assert host.file("%s/%s" % (ROOT, service)).mode == 0o700


def test_configs_hold_no_secret_and_the_secret_is_private(host):
    config = host.file("/etc/lifeboat/services/orders.json")
    assert config.mode == 0o640 and config.user == "root" and config.group == "lifeboat"
    assert "molecule-not-a-secret" not in config.content_string
    # The service as written in the inventory, without its password.
    assert json.loads(config.content_string)["definition"]["login_user"] == "lifeboat"
    secret = host.file("/etc/lifeboat/services/orders.secret")
    assert secret.mode == 0o600 and secret.user == "lifeboat"
    assert secret.content_string.strip() == "molecule-not-a-secret"
    assert host.package("postgresql-client").is_installed and host.package("zstd").is_installed


@pytest.mark.skipif(SCHEDULER != "systemd", reason="systemd scheduler only")
@pytest.mark.parametrize("service,calendar", [
    ("notes", "*-*-* 03:30:00"), ("notes-weekly", "Sun *-*-* 04:00:00"), ("orders", "*-*-* 05:00:00")])
def test_each_service_has_an_enabled_active_persistent_timer(host, service, calendar):
    timer = host.service("lifeboat-backup-%s.timer" % service)
    assert timer.is_enabled and timer.is_running
    props = host.check_output("systemctl show lifeboat-backup-%s.timer -p Persistent -p RandomizedDelayUSec "
                              "-p TimersCalendar" % service)
    assert "Persistent=yes" in props and "RandomizedDelayUSec=10min" in props
    expected = host.check_output("systemd-analyze calendar '%s' | sed -n 's/^ *Normalized form: //p'" % calendar)
    assert expected and expected in props
    assert not host.file("/etc/cron.d/lifeboat-backup").exists


@pytest.mark.skipif(SCHEDULER != "cron", reason="cron scheduler only")
def test_cron_entries_instead_of_timers(host):
    cron = host.file("/etc/cron.d/lifeboat-backup").content_string
    assert "30 3 * * * lifeboat /usr/local/bin/lifeboat-backup run notes" in cron
    assert "0 4 * * 0 lifeboat /usr/local/bin/lifeboat-backup run notes-weekly" in cron
    assert "0 2 * * * lifeboat /usr/local/bin/lifeboat-backup run orders" in cron
    assert host.run("systemctl is-enabled lifeboat-backup-notes.timer").stdout.strip() != "enabled"


def test_services_no_longer_configured_are_not_scheduled(host):
    assert not host.file("/etc/systemd/system/lifeboat-backup-retired.timer").exists
    cron = host.file("/etc/cron.d/lifeboat-backup")
    assert not cron.exists if SCHEDULER == "systemd" else "retired" not in cron.content_string


def _trigger(host, service):
    if SCHEDULER == "systemd":
        host.check_output("systemctl start lifeboat-backup-%s.service" % service)
    else:
        host.check_output("runuser -u lifeboat -- /usr/local/bin/lifeboat-backup run %s" % service)


@pytest.mark.parametrize("service,kind,ext", [("notes", None, ".sqlite3.zst"),
                                              ("notes-weekly", "weekly", ".sqlite3.gz")])
def test_a_triggered_run_writes_a_backup_matching_its_metadata(host, service, kind, ext):
    _trigger(host, service)
    metas = host.check_output("find %s/%s -name '*.metadata.json' | sort" % (ROOT, service)).split()
    assert metas, "no backup was written"
    meta = json.loads(host.file(metas[-1]).content_string)
    path = os.path.join(os.path.dirname(metas[-1]), meta["files"][0])
    backup = host.file(path)
    assert backup.exists and backup.mode == 0o600 and backup.user == "lifeboat"
    assert path.endswith(ext)
    assert "sha256:" + hashlib.sha256(backup.content).hexdigest() == meta["checksum"]
    assert meta["size_bytes"] == backup.size
    assert meta["content"]["tables"] == {"notes": 321}
    assert meta["verified"] is True
    if kind:
        assert meta["type"] == kind
    # the reader must not leave WAL files that lock the application out
    assert not host.file("/srv/notes/notes.db-shm").exists
    prom = host.file("/var/lib/prometheus/node-exporter/lifeboat_%s.prom" % service).content_string
    line = 'lifeboat_backup_last_size_bytes{service="%s",type="%s"} %d' % (service, meta["type"], meta["size_bytes"])
    assert line in prom
    assert 'lifeboat_backup_success{service="%s",type="%s"} 1' % (service, meta["type"]) in prom
    # The run copied the backup offsite, byte for byte, metadata beside it.
    remote = host.check_output("find /srv/offsite -path '*/%s/%s/%s'" % (service, meta["type"], meta["files"][0]))
    assert remote and host.file(remote).mode == 0o600
    assert "sha256:" + hashlib.sha256(host.file(remote).content).hexdigest() == meta["checksum"]
    assert host.file(remote.rsplit("/", 1)[0] + "/" + meta["backup_id"] + ".metadata.json").exists
    assert 'lifeboat_backup_offsite_success{service="%s"} 1' % service in prom


def test_status_reports_every_service_and_fails_on_the_unreachable_one(host):
    for service in ("notes", "notes-weekly"):
        _trigger(host, service)
    report = host.run("runuser -u lifeboat -- /usr/local/bin/lifeboat-backup status --json notes notes-weekly")
    assert report.rc == 0, report.stdout + report.stderr
    assert [r["service"] for r in json.loads(report.stdout)] == ["notes", "notes-weekly"]
    everything = host.run("runuser -u lifeboat -- /usr/local/bin/lifeboat-backup status")
    assert everything.rc == 1 and "FAIL orders" in everything.stdout and "no complete backup" in everything.stdout


def test_service_config_carries_the_retention_policy(host):
    config = json.loads(host.file("/etc/lifeboat/services/notes.json").content_string)
    assert config["definition"]["retention"] == {"daily": 7, "weekly": 4, "monthly": 12, "yearly": 0}


def test_offsite_credentials_are_kept_apart_and_private(host):
    settings = host.file("/etc/lifeboat/offsite.json")
    assert settings.mode == 0o640 and "molecule-offsite-token" not in settings.content_string
    assert json.loads(settings.content_string)["provider"] == "filesystem"
    secret = host.file("/etc/lifeboat/offsite.secret.json")
    assert secret.mode == 0o600 and secret.user == "lifeboat"
    assert json.loads(secret.content_string) == {"access_token": "molecule-offsite-token"}
