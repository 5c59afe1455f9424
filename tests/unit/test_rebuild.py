"""The rebuild's decisions beyond the preflight: versions from apt and from the backups, resuming an
interrupted rebuild, the application key check, what each restore brought back, and the RTO/RPO report."""
from ansible_collections.lifeboat.dr.plugins.module_utils import rebuild

SERVICES = [{"name": "appdb", "engine": "postgresql", "app_key_file": "/etc/app/key"},
            {"name": "shopdb", "engine": "mysql"},
            {"name": "notes", "engine": "sqlite", "app_key_file": "/etc/app/key"},
            {"name": "config", "engine": "directory"}]

POLICY = """postgresql:
  Installed: (none)
  Candidate: 15+248
  Version table:
     15+248 500
mariadb-server:
  Installed: 1:10.11.14-0+deb12u2
  Candidate: 1:10.11.15-0+deb12u1
redis-server:
  Installed: (none)
  Candidate: (none)
"""


def listing(appdb_key="sha256:00112233445566aa", notes_key=None, version="15.14 (Debian 15.14-0+deb12u1)"):
    def backup(backup_id, when, **extra):
        return dict({"backup_id": backup_id, "timestamp": when, "size_bytes": 10}, **extra)
    return {"services": {
        "appdb": {"backups": [backup("appdb_1", "2026-12-07T02:00:00Z", app_key_fingerprint=appdb_key,
                                     server_version=version)]},
        "shopdb": {"backups": [backup("shopdb_1", "2026-12-07T02:05:00Z", server_version="10.11.14-MariaDB-0+deb12u2")]},
        "notes": {"backups": [backup("notes_1", "2026-12-07T02:10:00Z", app_key_fingerprint=notes_key)]},
        "config": {"backups": [backup("config_1", "2026-12-07T02:25:00Z")]}}}


def test_apt_policy_gives_the_installed_version_else_the_candidate():
    assert rebuild.apt_policy(POLICY) == {"postgresql": "15+248", "mariadb-server": "1:10.11.14-0+deb12u2",
                                          "redis-server": None}
    assert rebuild.server_versions(SERVICES, POLICY) == {"appdb": "15+248", "shopdb": "1:10.11.14-0+deb12u2"}


def test_the_backups_say_which_server_version_they_need():
    assert rebuild.backup_versions(SERVICES, listing()) == {
        "appdb": {"backup": "15.14 (Debian 15.14-0+deb12u1)", "parts": 1},
        "shopdb": {"backup": "10.11.14-MariaDB-0+deb12u2", "parts": 2}}
    target = {"reachable": True, "markers": [], "free_bytes": 1 << 40,
              "versions": rebuild.server_versions(SERVICES, POLICY.replace("15+248", "13+225"))}
    result = rebuild.preflight(SERVICES, listing(), target)
    assert result["problems"] == ["appdb: the backup comes from server version 15, the target would install the "
                                  "older 13; a restore into an older major version is refused"]


def test_a_rebuild_of_the_same_host_resumes_and_its_own_data_is_not_foreign():
    record = {"lost_host": "app1", "started": "2026-12-07T10:00:00Z", "restored": {"config": {}, "appdb": {}}}
    plan = rebuild.resume_plan(SERVICES, record, "app1")
    assert plan["resuming"] and plan["done"] == ["appdb", "config"] and plan["todo"] == ["shopdb", "notes"]
    target = {"reachable": True, "markers": ["/var/lib/postgresql/15/main/PG_VERSION"], "free_bytes": 1 << 40,
              "versions": rebuild.server_versions(SERVICES, POLICY)}
    result = rebuild.preflight(SERVICES, listing(), target, resume=plan)
    assert result["ok"] and result["resuming"]
    assert result["warnings"] == ["resuming the rebuild of app1 started at 2026-12-07T10:00:00Z (done: appdb, config); "
                                  "its data on the target is kept"]


def test_a_finished_rebuild_is_verified_not_redone_unless_confirmed():
    record = {"lost_host": "app1", "started": "2026-12-07T10:00:00Z", "finished": "2026-12-07T10:04:00Z",
              "restored": {s["name"]: {} for s in SERVICES}}
    plan = rebuild.resume_plan(SERVICES, record, "app1")
    assert plan["resuming"] and plan["finished"] == "2026-12-07T10:04:00Z" and plan["todo"] == []
    target = {"reachable": True, "markers": ["/etc/lifeboat/services"], "free_bytes": 1 << 40,
              "versions": rebuild.server_versions(SERVICES, POLICY)}
    result = rebuild.preflight(SERVICES, listing(), target, resume=plan)
    assert result["ok"] and "app1 was rebuilt here (started 2026-12-07T10:00:00Z, finished 2026-12-07T10:04:00Z)" \
        in result["warnings"][0]
    redo = rebuild.resume_plan(SERVICES, record, "app1", redo=True)
    assert not redo["resuming"] and redo["todo"] == [s["name"] for s in SERVICES]
    assert rebuild.preflight(SERVICES, listing(), target, resume=redo, confirm=True)["ok"]


def test_another_hosts_rebuild_or_none_is_not_resumed():
    other = rebuild.resume_plan(SERVICES, {"lost_host": "db9", "restored": {"appdb": {}}}, "app1")
    assert not other["resuming"] and other["foreign"] == "db9" and other["todo"] == [s["name"] for s in SERVICES]
    target = {"reachable": True, "markers": ["/etc/lifeboat/services"], "free_bytes": 1 << 40,
              "versions": rebuild.server_versions(SERVICES, POLICY)}
    result = rebuild.preflight(SERVICES, listing(), target, resume=other)
    assert not result["ok"] and "the target is not blank (/etc/lifeboat/services)" in result["summary"]
    assert not rebuild.resume_plan(SERVICES, None, "app1")["resuming"]


def test_the_restored_key_must_be_the_one_the_data_was_written_with():
    digest = "00112233445566aa" + "f" * 48
    good = rebuild.key_check(SERVICES, listing(notes_key="sha256:00112233445566aa"), {"/etc/app/key": digest})
    assert good == {"ok": True, "problems": [], "warnings": [],
                    "checked": {"appdb": "sha256:00112233445566aa", "notes": "sha256:00112233445566aa"}}
    wrong = rebuild.key_check(SERVICES, listing(), {"/etc/app/key": "99" * 32})
    assert not wrong["ok"] and wrong["problems"] == [
        "appdb: the restored application key /etc/app/key has fingerprint sha256:9999999999999999, but the data of "
        "backup appdb_1 was written under sha256:00112233445566aa: restoring it would give the application data it "
        "cannot decrypt"]
    # A backup taken before app_key_file was set cannot be checked: said, not refused.
    assert wrong["warnings"] == ["notes: backup notes_1 recorded no application key fingerprint (taken before "
                                 "app_key_file was set); the key could not be checked"]
    missing = rebuild.key_check(SERVICES, listing(), {"/etc/app/key": None})
    assert [p.split(":")[0] for p in missing["problems"]] == ["appdb", "notes"]
    assert "is not on the target after restoring the configuration" in missing["problems"][0]


def test_what_each_restore_brought_back():
    results = [{"item": {"name": "shopdb"}, "backup_id": "shopdb_1"}, {"item": {"name": "notes"}, "skipped": True}]
    pitr = {"services": ["appdb"], "result": {"base_backup": "base_1", "last_transaction": "2026-12-07 11:59:58.5+00",
                                              "window": {"latest": "2026-12-07T11:59:59+00:00"}}}
    assert rebuild.restored(results, listing(), pitr) == {
        "shopdb": {"backup_id": "shopdb_1", "data_time": "2026-12-07T02:05:00Z", "how": "backup"},
        "appdb": {"backup_id": "base_1", "data_time": "2026-12-07T11:59:59+00:00", "how": "pitr"}}
    late = dict(pitr, result=dict(pitr["result"], window={"latest": "2026-12-07T11:00:00Z"}))
    assert rebuild.restored([], listing(), late)["appdb"]["data_time"] == "2026-12-07 11:59:58.5+00"
    # Nothing written since the base backup: the data is as new as the end of the archive.
    quiet = dict(pitr, result=dict(pitr["result"], last_transaction=None))
    assert rebuild.restored([], listing(), quiet)["appdb"]["data_time"] == "2026-12-07T11:59:59+00:00"
    # Recovered to an instant (a breach's compromise time): the data is as new as that instant, not the archive's end.
    assert rebuild.restored([], listing(), dict(pitr, until="2026-12-07T11:30:00Z"))["appdb"]["data_time"] \
        == "2026-12-07T11:30:00Z"
    assert rebuild.restored([], listing(), dict(pitr, until="latest"))["appdb"]["data_time"] == "2026-12-07T11:59:59+00:00"


def test_the_report_gives_phase_times_rto_and_rpo_against_the_objectives():
    phases = [{"name": "preflight", "start": "2026-12-07T12:00:00Z", "end": "2026-12-07T12:00:10Z"},
              {"name": "restore appdb (pitr)", "start": "2026-12-07T12:00:10Z", "end": "2026-12-07T12:01:40.5Z"},
              {"name": "app", "start": "2026-12-07T12:01:40.5Z", "end": "2026-12-07T12:02:00Z"},
              {"name": "dns", "start": "2026-12-07T12:02:05Z"}]
    objectives = [{"service": "appdb", "rto_minutes": 5, "rpo_minutes": 1},
                  {"service": "shopdb", "rto_minutes": 30, "rpo_minutes": 60}]
    result = rebuild.outcome(phases, {"appdb": "2026-12-07 11:59:30+00", "shopdb": "2026-12-07T10:00:00Z"},
                             "2026-12-07T12:00:00Z", "2026-12-07T12:02:00Z", objectives)
    assert [p["seconds"] for p in result["phases"]] == [10.0, 90.5, 19.5, None]
    assert result["rto_seconds"] == 120.0 and result["rto_objective_seconds"] == 300 and result["rto_met"]
    assert result["rpo"]["appdb"] == {"data_time": "2026-12-07 11:59:30+00", "seconds": 30.0,
                                      "objective_seconds": 60, "met": True}
    assert result["rpo"]["shopdb"]["seconds"] == 7200.0 and not result["rpo"]["shopdb"]["met"]
    assert result["worst_rpo_seconds"] == 7200.0
    # Continued after an interruption: the RTO counts from the first run's start.
    resumed = rebuild.outcome(phases, {}, "2026-12-07T11:58:00Z", "2026-12-07T12:02:00Z", started="2026-12-07T11:58:00Z")
    assert resumed["rto_seconds"] == 240.0 and resumed["started"] == "2026-12-07T11:58:00Z"
    # Unknown times are reported as unknown, never as zero.
    assert rebuild.outcome([], {"x": None}, None, None)["rpo"]["x"]["seconds"] is None
