"""A rebuild's preflight: every reason to refuse is found before anything changes, each naming its service or
the target and the cause; a ready rebuild lists the newest complete backup of each service with its age."""
import datetime

from ansible_collections.lifeboat.dr.plugins.module_utils import rebuild

NOW = datetime.datetime(2026, 12, 7, 12, 0, tzinfo=datetime.timezone.utc)
SERVICES = [{"name": "appdb", "engine": "postgresql"}, {"name": "appcache", "engine": "redis"}]


def listed(backup_id, timestamp, size=1000, signed=True):
    return {"backup_id": backup_id, "timestamp": timestamp, "size_bytes": size, "signed": signed, "type": "daily"}


def listing(**extra):
    services = {
        "appdb": {"backups": [listed("appdb_20261207_020000", "2026-12-07T02:00:00Z"),
                              listed("appdb_20261206_020000", "2026-12-06T02:00:00Z")], "incomplete": []},
        "appcache": {"backups": [listed("appcache_20261207_023000", "2026-12-07T02:30:00+00:00")], "incomplete": []},
    }
    services.update(extra)
    return {"services": services}


BLANK = {"reachable": True, "markers": [], "free_bytes": 20 << 30, "versions": {"appdb": "15.14-0+deb12u1"}}
KEYS = {"appdb": {"needed": True, "matches": True}, "appcache": {"needed": False}}
VERSIONS = {"appdb": {"backup": "15.14 (Debian 15.14-0+deb12u1)", "parts": 1}}


def test_a_blank_target_with_every_backup_and_key_is_ready():
    result = rebuild.preflight(SERVICES, listing(), BLANK, KEYS, VERSIONS, now=NOW)
    assert result["ok"] and result["problems"] == [] and result["warnings"] == []
    assert [(b["service"], b["backup_id"], b["age_hours"]) for b in result["backups"]] == [
        ("appdb", "appdb_20261207_020000", 10.0), ("appcache", "appcache_20261207_023000", 9.5)]
    assert result["room_needed"] == 2000 * rebuild.ROOM_PER_BACKUP_BYTE + rebuild.ROOM_FOR_PACKAGES
    assert result["summary"].startswith("ready: 2 service(s), newest backups appdb appdb_20261207_020000 (10.0 h old)")


def test_a_service_without_a_complete_offsite_backup_is_named():
    missing = listing(appcache={"backups": [], "incomplete": [
        {"path": "app1/appcache/daily/backup_daily_20261207_023000.rdb.zst", "reason": "no metadata object"}]})
    result = rebuild.preflight(SERVICES, missing, BLANK, KEYS, VERSIONS, now=NOW)
    assert not result["ok"]
    assert result["problems"] == ["no complete backup of appcache in the offsite store (1 incomplete: "
                                  "app1/appcache/daily/backup_daily_20261207_023000.rdb.zst: no metadata object)"]
    assert result["summary"].startswith("refused before anything changed: no complete backup of appcache")


def test_an_unreadable_store_a_wrong_key_and_an_unreachable_target_are_each_named():
    detail = "belongs to age1other, not to the backups' recipient age1lab"
    keys = {"appdb": {"needed": True, "matches": False, "detail": detail}}
    result = rebuild.preflight(SERVICES, {"error": "S3 endpoint http://172.30.57.1:9555 refused the connection"},
                               {"reachable": False, "error": "ssh: connect to host 172.30.57.240 port 22: "
                                                             "Connection refused"}, keys, VERSIONS, now=NOW)
    assert result["problems"] == [
        "the offsite store cannot be read: S3 endpoint http://172.30.57.1:9555 refused the connection",
        "appdb: the decryption key belongs to age1other, not to the backups' recipient age1lab",
        "the target cannot be reached: ssh: connect to host 172.30.57.240 port 22: Connection refused"]
    missing_key = rebuild.preflight(SERVICES, listing(), BLANK, {"appdb": {"needed": True}}, VERSIONS, now=NOW)
    assert missing_key["problems"] == ["appdb: the decryption key is missing"]


def test_a_target_with_data_needs_confirmation():
    used = dict(BLANK, markers=["/var/lib/postgresql", "/var/lib/lifeboat"])
    refused = rebuild.preflight(SERVICES, listing(), used, KEYS, VERSIONS, now=NOW)
    assert refused["problems"] == ["the target is not blank (/var/lib/postgresql, /var/lib/lifeboat): rebuilding "
                                   "onto it replaces that data; run again with -e lifeboat_confirm=yes to go ahead"]
    confirmed = rebuild.preflight(SERVICES, listing(), used, KEYS, VERSIONS, confirm=True, now=NOW)
    assert confirmed["ok"] and "going ahead as confirmed" in confirmed["warnings"][0]


def test_too_little_room_is_refused_with_the_figures():
    big = listing(appdb={"backups": [listed("appdb_20261207_020000", "2026-12-07T02:00:00Z", size=3 << 30)]})
    result = rebuild.preflight(SERVICES, big, dict(BLANK, free_bytes=10 << 30), KEYS, VERSIONS, now=NOW)
    assert result["problems"] == ["the target has 10.0 GiB free where the rebuild needs about 19.0 GiB (6x the "
                                  "backups' 3.0 GiB plus 1.0 GiB for packages)"]


def test_an_older_server_major_version_is_refused_a_newer_one_is_not():
    older = dict(BLANK, versions={"appdb": "13.16-0+deb11u1"})
    result = rebuild.preflight(SERVICES, listing(), older, KEYS, VERSIONS, now=NOW)
    assert result["problems"] == ["appdb: the backup comes from server version 15, the target would install the "
                                  "older 13; a restore into an older major version is refused"]
    newer = dict(BLANK, versions={"appdb": "16.4"})
    assert rebuild.preflight(SERVICES, listing(), newer, KEYS, VERSIONS, now=NOW)["ok"]
    none = dict(BLANK, versions={})
    assert rebuild.preflight(SERVICES, listing(), none, KEYS, VERSIONS, now=NOW)["problems"] == [
        "appdb: the target offers no server version to restore a 15 backup into"]
    mariadb = {"shopdb": {"backup": "10.11.14-MariaDB-0+deb12u2", "parts": 2}}
    services = [{"name": "shopdb", "engine": "mysql"}]
    shop = listing(shopdb={"backups": [listed("shopdb_20261207_020500", "2026-12-07T02:05:00Z")]})
    assert not rebuild.preflight(services, shop, dict(BLANK, versions={"shopdb": "10.5.23-MariaDB"}), {}, mariadb,
                                 now=NOW)["ok"]
    assert rebuild.preflight(services, shop, dict(BLANK, versions={"shopdb": "1:10.11.6-0+deb12u1"}), {}, mariadb,
                             now=NOW)["ok"]
    assert rebuild.preflight(services, shop, dict(BLANK, versions={"shopdb": "(none)"}), {}, mariadb,
                             now=NOW)["problems"] == [
        "shopdb: the target offers no server version to restore a 10.11 backup into"]


def test_versions_and_times_are_parsed_leniently():
    assert rebuild.major_version("15.14 (Debian 15.14-0+deb12u1)", 1) == (15,)
    assert rebuild.major_version("10.11.14-MariaDB-0+deb12u2", 2) == (10, 11)
    assert rebuild.major_version("10", 2) is None
    assert rebuild.major_version("1:10.11.6-0+deb12u1", 2) == (10, 11)
    assert rebuild.major_version("", 1) is None and rebuild.major_version("15.1", 0) is None
    assert rebuild.parse_time("2026-12-07T02:00:00") == datetime.datetime(2026, 12, 7, 2, tzinfo=datetime.timezone.utc)
    assert rebuild.parse_time("yesterday") is None
    undated = listing(appcache={"backups": [listed("appcache_x", None)]})
    result = rebuild.preflight(SERVICES, undated, BLANK, KEYS, VERSIONS, now=NOW)
    assert result["ok"] and result["warnings"] == ["appcache: backup appcache_x has no readable time"]


def test_no_services_is_nothing_to_rebuild():
    result = rebuild.preflight([], listing(), BLANK, now=NOW)
    assert result["problems"] == ["the lost host has no lifeboat_services: there is nothing to rebuild from"]


def test_the_filter_gives_the_same_decision():
    from ansible_collections.lifeboat.dr.plugins.filter.rebuild import FilterModule
    decide = FilterModule().filters()["rebuild_preflight"]
    assert decide(SERVICES, listing(), BLANK, KEYS, VERSIONS)["backups"][0]["backup_id"] == "appdb_20261207_020000"
    assert not decide(SERVICES, {"error": "down"}, BLANK)["ok"]
