"""The security breach response's decisions: the isolation ruleset (checked by nft itself where it can be), the
backup from before the compromise, evidence sets that are never overwritten with their manifests, new secrets."""
import datetime
import os
import shutil
import subprocess

import pytest

from ansible_collections.lifeboat.dr.plugins.filter.breach import (
    breach_clean_backups, breach_evidence_check, breach_isolation_ruleset)
from ansible_collections.lifeboat.dr.plugins.module_utils import breach
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError

UTC = datetime.timezone.utc


# --- isolation --------------------------------------------------------------------------------------------

def _rules(text, chain):
    body = text.split("\tchain %s {\n" % chain, 1)[1].split("\n\t}\n", 1)[0]
    return [line.strip() for line in body.splitlines()]


def test_the_ruleset_drops_everything_but_loopback_and_the_controllers_ssh():
    text = breach.isolation_ruleset(["192.0.2.10"])
    assert text.splitlines()[1:4] == ["table inet lifeboat_isolation", "delete table inet lifeboat_isolation",
                                      "table inet lifeboat_isolation {"]
    assert _rules(text, "input") == [
        "type filter hook input priority filter - 10; policy drop;",
        'iifname "lo" accept',
        "ip saddr { 192.0.2.10 } tcp dport 22 ct state new,established accept",
        "ct state related meta l4proto { icmp, ipv6-icmp } accept"]
    assert _rules(text, "output") == [
        "type filter hook output priority filter - 10; policy drop;",
        'oifname "lo" accept',
        "ip daddr { 192.0.2.10 } tcp sport 22 ct state established accept",
        "ct state related meta l4proto { icmp, ipv6-icmp } accept"]
    assert _rules(text, "forward") == ["type filter hook forward priority filter - 10; policy drop;"]
    # No generic "ct state established" accept (an attacker's open session would survive it), no DNS, no ip6.
    assert "ct state established,related accept" not in text
    assert "53" not in text and "ip6" not in text


def test_ipv6_controllers_get_their_own_rule_and_neighbour_discovery():
    text = breach.isolation_ruleset(["2001:db8::5", "192.0.2.10", "10.1.0.0/16", "2001:DB8::5"], ssh_port=2222,
                                    table="quarantine")
    assert "table inet quarantine {" in text
    inbound = _rules(text, "input")
    assert "ip saddr { 10.1.0.0/16, 192.0.2.10 } tcp dport 2222 ct state new,established accept" in inbound
    assert "ip6 saddr { 2001:db8::5 } tcp dport 2222 ct state new,established accept" in inbound
    assert "icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } ip6 hoplimit 255 accept" in inbound
    assert "ip6 daddr { 2001:db8::5 } tcp sport 2222 ct state established accept" in _rules(text, "output")


@pytest.mark.parametrize("sources, port, table, message", [
    ([], 22, "t", "no controller address to allow SSH from"),
    (None, 22, "t", "no controller address to allow SSH from"),
    (["192.0.2.300"], 22, "t", "invalid controller address '192.0.2.300'"),
    (["controller.example"], 22, "t", "invalid controller address 'controller.example'"),
    (["192.0.2.10/24"], 22, "t", "invalid controller address '192.0.2.10/24'"),
    (["0.0.0.0/0"], 22, "t", "controller address 0.0.0.0/0 allows every host"),
    (["::/0"], 22, "t", "controller address ::/0 allows every host"),
    (["192.0.2.10"], 0, "t", "invalid SSH port 0"),
    (["192.0.2.10"], "ssh", "t", "invalid SSH port 'ssh'"),
    (["192.0.2.10"], 22, "bad table; flush ruleset", "invalid nftables table name"),
])
def test_a_bad_isolation_request_is_refused_naming_the_cause(sources, port, table, message):
    with pytest.raises(LifeboatError, match=message.replace("(", r"\(").replace(".", r"\.")):
        breach.isolation_ruleset(sources, port, table)


def test_removal_deletes_only_its_own_table_and_works_when_absent():
    assert breach.isolation_removal() == "table inet lifeboat_isolation\ndelete table inet lifeboat_isolation\n"
    with pytest.raises(LifeboatError, match="invalid nftables table name"):
        breach.isolation_removal("x y")


def _nft_check(tmp_path, text):
    path = tmp_path / "rules.nft"
    path.write_text(text)
    return subprocess.run(["nft", "--check", "-f", str(path)], capture_output=True, text=True, check=False)


def test_nft_accepts_the_ruleset_and_its_removal(tmp_path):
    # --check sends the transaction to the kernel with the check flag: it needs nft, root and nf_tables.
    if not shutil.which("nft"):
        pytest.skip("nft is not installed")
    if os.geteuid() != 0:
        pytest.skip("nft --check needs root (CAP_NET_ADMIN)")
    probe = _nft_check(tmp_path, "table inet lifeboat_probe\n")
    if probe.returncode != 0:
        pytest.skip("nft --check cannot reach the kernel's nf_tables here: %s" % probe.stderr.strip())
    for text in (breach.isolation_ruleset(["192.0.2.10"]),
                 breach.isolation_ruleset(["192.0.2.10", "2001:db8::5", "10.1.0.0/16"], 2222, "quarantine"),
                 breach.isolation_removal()):
        checked = _nft_check(tmp_path, text)
        assert checked.returncode == 0, checked.stderr
    # The check is not a formality: a broken rule fails it.
    broken = _nft_check(tmp_path, breach.isolation_ruleset(["192.0.2.10"]).replace("tcp dport", "tcp dprt"))
    assert broken.returncode != 0


def test_the_filter_refuses_like_the_function():
    assert breach_isolation_ruleset("192.0.2.10") == breach.isolation_ruleset(["192.0.2.10"])
    from ansible.errors import AnsibleFilterError
    with pytest.raises(AnsibleFilterError, match="no controller address"):
        breach_isolation_ruleset([])


# --- the backup from before the compromise ---------------------------------------------------------------

def _listing():
    def backup(service, stamp, seq=0, **extra):
        backup_id = "backup_daily_%s%s" % (stamp, "_%d" % seq if seq else "")
        when = datetime.datetime.strptime(stamp, "%Y%m%d_%H%M%S").strftime("%Y-%m-%dT%H:%M:%SZ")
        return dict({"key": "%s/daily/%s.dump.zst" % (service, backup_id), "backup_id": backup_id, "type": "daily",
                     "timestamp": when, "size_bytes": 10}, **extra)
    # Newest first, as backup_offsite action=list gives them.
    return {"services": {
        "appdb": {"backups": [backup("appdb", "20261207_040000"), backup("appdb", "20261207_031500"),
                              backup("appdb", "20261207_020000", seq=1), backup("appdb", "20261207_020000"),
                              backup("appdb", "20261206_020000")],
                  "incomplete": [{"path": "appdb/daily/backup_daily_20261207_030000.dump.zst",
                                  "reason": "no metadata object (upload never finished)"}]},
        "files": {"backups": [backup("files", "20261207_010000", timestamp=None)]},
        "late": {"backups": [backup("late", "20261207_050000")]}}}


def test_the_newest_complete_backup_strictly_before_the_compromise_is_chosen_and_later_ones_refused():
    chosen = breach.clean_backups(_listing(), "2026-12-07T03:15:00Z", ["appdb", "files"])
    assert chosen["compromised_at"] == "2026-12-07T03:15:00Z"
    appdb = chosen["services"]["appdb"]
    # Taken at the very second of the compromise is not before it; the second backup of 02:00 beats the first.
    assert (appdb["backup_id"], appdb["timestamp"]) == ("backup_daily_20261207_020000_1", "2026-12-07T02:00:00Z")
    assert appdb["before_compromise_seconds"] == 4500
    assert appdb["key"] == "appdb/daily/backup_daily_20261207_020000_1.dump.zst"
    assert [(item["backup_id"], item["reason"]) for item in appdb["refused"]] == [
        ("backup_daily_20261207_040000", "taken at 2026-12-07T04:00:00Z, not before the compromise at 2026-12-07T03:15:00Z"),
        ("backup_daily_20261207_031500", "taken at 2026-12-07T03:15:00Z, not before the compromise at 2026-12-07T03:15:00Z")]
    assert appdb["incomplete"][0]["reason"] == "no metadata object (upload never finished)"
    # Without a metadata time, the file name's time counts.
    assert chosen["services"]["files"]["timestamp"] == "2026-12-07T01:00:00Z"


def test_an_offset_is_honoured_and_a_time_without_a_zone_refused():
    # 04:15+01:00 is 03:15Z: the same choice.
    chosen = breach.clean_backups(_listing(), "2026-12-07T04:15:00+01:00", ["appdb"])
    assert chosen["services"]["appdb"]["backup_id"] == "backup_daily_20261207_020000_1"
    for bad in ("2026-12-07T03:15:00", "yesterday", "", None):
        with pytest.raises(LifeboatError, match="is not an ISO 8601 time with a zone"):
            breach.clean_backups(_listing(), bad, ["appdb"])
    with pytest.raises(LifeboatError, match="has no time zone"):
        breach.clean_backups(_listing(), datetime.datetime(2026, 12, 7, 3, 15), ["appdb"])
    aware = breach.clean_backups(_listing(), datetime.datetime(2026, 12, 7, 3, 15, tzinfo=UTC), ["appdb"])
    assert aware["services"]["appdb"]["backup_id"] == "backup_daily_20261207_020000_1"


def test_a_service_with_nothing_before_the_compromise_is_refused_naming_it_and_the_time():
    with pytest.raises(LifeboatError) as raised:
        breach.clean_backups(_listing(), "2026-12-07T03:15:00Z", ["appdb", "late", "unknown"])
    assert str(raised.value) == (
        "late: no complete backup taken before the compromise at 2026-12-07T03:15:00Z "
        "(refused: backup_daily_20261207_050000); "
        "unknown: no complete backup taken before the compromise at 2026-12-07T03:15:00Z")
    with pytest.raises(LifeboatError, match="the backup listing could not be read: bucket gone"):
        breach.clean_backups({"error": "bucket gone"}, "2026-12-07T03:15:00Z")


def test_the_local_repository_listing_works_too(tmp_path):
    # backup_files.list_backups' entries carry datetimes and paths rather than texts and keys.
    from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf
    root = str(tmp_path)
    for stamp in ("20261207_010000", "20261207_050000"):
        directory = bf.backup_dir(root, "notes", "daily")
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, "backup_daily_%s.sqlite3.zst" % stamp)
        open(path, "wb").close()
        bf.write_json_atomic(bf.metadata_path_for(path), {"backup_id": "backup_daily_" + stamp, "engine": "sqlite",
                                                          "checksum": "sha256:0", "size_bytes": 0,
                                                          "files": [os.path.basename(path)]})
    backups, incomplete = bf.list_backups(root, "notes")
    chosen = breach.clean_backups({"services": {"notes": {"backups": backups, "incomplete": incomplete}}},
                                  "2026-12-07T03:00:00Z")
    assert chosen["services"]["notes"]["backup_id"] == "backup_daily_20261207_010000"
    assert chosen["services"]["notes"]["key"].endswith("backup_daily_20261207_010000.sqlite3.zst")


def test_the_listing_before_the_compromise_keeps_only_older_backups_in_order():
    listing = _listing()
    kept = breach.listing_before(listing, "2026-12-07T03:15:00Z")
    assert [b["backup_id"] for b in kept["services"]["appdb"]["backups"]] == [
        "backup_daily_20261207_020000_1", "backup_daily_20261207_020000", "backup_daily_20261206_020000"]
    assert kept["services"]["appdb"]["incomplete"] == listing["services"]["appdb"]["incomplete"]
    assert kept["services"]["late"]["backups"] == []
    assert len(listing["services"]["appdb"]["backups"]) == 5  # the listing given is not changed
    with pytest.raises(LifeboatError, match="with a zone"):
        breach.listing_before(listing, "2026-12-07T03:15:00")


def test_the_clean_backups_filter():
    from ansible.errors import AnsibleFilterError
    assert breach_clean_backups(_listing(), "2026-12-07T03:15:00Z", ["files"])["services"]["files"]["backup_id"] \
        == "backup_daily_20261207_010000"
    with pytest.raises(AnsibleFilterError, match="late: no complete backup"):
        breach_clean_backups(_listing(), "2026-12-07T03:15:00Z")


# --- evidence sets and manifests --------------------------------------------------------------------------

NOW = datetime.datetime(2026, 12, 7, 3, 20, 5, tzinfo=UTC)


def test_a_set_is_named_by_utc_time_and_a_random_part_and_never_reused(tmp_path):
    store = str(tmp_path / "store")
    path = breach.create_evidence_set(store, "app1", now=NOW, token="0badcafe")
    assert path == os.path.join(store, "app1", "20261207T032005Z-0badcafe")
    assert os.stat(path).st_mode & 0o777 == 0o700 and os.stat(os.path.dirname(path)).st_mode & 0o777 == 0o700
    with pytest.raises(LifeboatError, match="exists already: evidence is never overwritten"):
        breach.create_evidence_set(store, "app1", now=NOW, token="0badcafe")
    # A second run (its own random part) makes a new set beside the first.
    second = breach.create_evidence_set(store, "app1", now=NOW)
    assert second != path and os.path.basename(second).startswith("20261207T032005Z-")
    assert len(os.path.basename(second).split("-")[1]) == 8
    local = datetime.datetime(2026, 12, 7, 4, 20, 5, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
    assert breach.evidence_set_name(local, "ab") == "20261207T032005Z-ab"


@pytest.mark.parametrize("store, host", [("relative/store", "app1"), ("/srv/evidence", "../etc"),
                                         ("/srv/evidence", ""), ("/srv/evidence", "a/b"), ("/srv/evidence", ".hidden")])
def test_a_set_outside_its_store_is_refused(store, host):
    with pytest.raises(LifeboatError):
        breach.evidence_set_path(store, host)


def _evidence(tmp_path):
    directory = tmp_path / "set"
    (directory / "cron" / "etc" / "cron.d").mkdir(parents=True)
    (directory / "processes.txt").write_text("root 1 init\n")
    (directory / "cron" / "etc" / "cron.d" / "job").write_text("* * * * * root /tmp/x\n")
    (directory / "cron" / "etc" / "cron.d" / "odd\nname\\x").write_text("hidden\n")
    return str(directory)


def test_the_manifest_is_sha256sum_compatible_sorted_and_verifies(tmp_path):
    directory = _evidence(tmp_path)
    digest = breach.write_manifest(directory)
    manifest = os.path.join(directory, "manifest.sha256")
    assert os.stat(manifest).st_mode & 0o777 == 0o600
    text = open(manifest).read()
    names = [line.split("  ", 1)[1] for line in text.splitlines()]
    assert names == sorted(names) and names[-1] == "processes.txt"
    odd = [line for line in text.splitlines() if "odd" in line]
    assert odd[0].startswith("\\") and odd[0].endswith("  cron/etc/cron.d/odd\\nname\\\\x")
    # sha256sum itself agrees, odd names included.
    if shutil.which("sha256sum"):
        checked = subprocess.run(["sha256sum", "--strict", "-c", "manifest.sha256"], cwd=directory,
                                 capture_output=True, text=True, check=False)
        assert checked.returncode == 0, checked.stdout + checked.stderr
    assert breach.verify_manifest(directory, expected_sha256=digest) == {
        "ok": True, "problems": [], "missing": [], "changed": [], "extra": [], "checked": 3}
    with pytest.raises(LifeboatError, match="a manifest is written once"):
        breach.write_manifest(directory)


def test_verification_names_each_missing_changed_and_extra_file(tmp_path):
    directory = _evidence(tmp_path)
    digest = breach.write_manifest(directory)
    os.unlink(os.path.join(directory, "cron", "etc", "cron.d", "job"))
    with open(os.path.join(directory, "processes.txt"), "a") as handle:
        handle.write("attacker 666 nc -l\n")
    open(os.path.join(directory, "planted.txt"), "w").close()
    os.symlink("/etc/shadow", os.path.join(directory, "shadow"))
    result = breach_evidence_check(directory, digest)
    assert result["ok"] is False
    assert result["missing"] == ["cron/etc/cron.d/job"]
    assert result["changed"] == ["processes.txt"]
    assert result["extra"] == ["planted.txt", "shadow"]
    assert result["problems"] == ["cron/etc/cron.d/job: missing",
                                  "processes.txt: changed (its sha256 differs from the manifest's)",
                                  "planted.txt: extra (not in the manifest)", "shadow: extra (not a regular file)"]
    with open(os.path.join(directory, "manifest.sha256"), "a") as handle:
        handle.write("%s  planted.txt\n" % ("0" * 64))
    assert breach.verify_manifest(directory, expected_sha256=digest)["problems"][0].startswith(
        "manifest.sha256: the manifest itself changed")


def test_a_manifest_refuses_what_it_cannot_vouch_for(tmp_path):
    directory = _evidence(tmp_path)
    os.symlink("/etc/passwd", os.path.join(directory, "passwd"))
    with pytest.raises(LifeboatError, match=r"entries that are not regular files \(passwd\)"):
        breach.build_manifest(directory)
    with pytest.raises(LifeboatError, match="manifest line 1 is not"):
        breach.parse_manifest("not a manifest\n")
    with pytest.raises(LifeboatError, match="cannot be read"):
        breach.verify_manifest(str(tmp_path / "nowhere"))


# --- secrets ----------------------------------------------------------------------------------------------

def test_new_secrets_are_random_url_safe_and_of_the_length_asked():
    values = breach.new_secrets(["vault_appdb_password", "app_key"], length=40)
    assert sorted(values) == ["app_key", "vault_appdb_password"]
    assert all(len(value) == 40 and set(value) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") for value in values.values())
    assert values["app_key"] != values["vault_appdb_password"]
    assert len(set(breach.new_secret(16) for _attempt in range(50))) == 50


@pytest.mark.parametrize("names, length, message", [
    (["ok"], 8, "too short: at least 16"), (["ok"], True, "too short"), (["1st"], 32, "invalid secret names '1st'"),
    (["a-b"], 32, "invalid secret names 'a-b'"), (["a", "a"], 32, "secret names repeat: a")])
def test_bad_secret_requests_are_refused(names, length, message):
    with pytest.raises(LifeboatError, match=message):
        breach.new_secrets(names, length)
