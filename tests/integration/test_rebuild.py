"""rebuild.yml: app1 lost, rebuilt onto the lab's blank SSH host blank1 from the offsite copies alone.

The faults are refused before anything changes on the target; the rebuild itself is killed half way
and run again (it continues), then run a third time (it restores nothing again). Every service's
content fingerprint on the new machine equals app1's at the moment it was lost, the app answers at
the new address, and both DNS servers answer that address."""
import datetime
import json
import os
import signal
import subprocess
import time
import urllib.request

import pytest

from labhost import BIN, ROOT, _env, playbook, sh, switch_wal_and_wait_offsite

BLANK = "lifeboat-lab-blank1"
ADDRESS = "172.30.57.240"
NAMESERVERS = ("lifeboat-lab-ns1", "lifeboat-lab-ns2")
REBUILD = ("../rebuild.yml", "-e", "lifeboat_rebuild_host=app1", "-e", "lifeboat_rebuild_target=blank1",
           # The new server ships its WAL elsewhere: app1 comes back after the test and keeps its own archive.
           "-e", "rebuild_pitr_offsite_prefix=rebuild-test/app1/15-main")


def _ok(proc, what):
    assert proc.returncode == 0, "%s failed:\n%s\n%s" % (what, proc.stdout[-5000:], proc.stderr[-2000:])
    return proc


def _said(proc):
    """What a run printed, with Ansible's line folding undone."""
    return " ".join((proc.stdout + proc.stderr).split())


def _reset_blank():
    _ok(playbook("lab_blank.yml", "-e", "lab_blank_reset=true"), "resetting blank1")


def _on_blank(command, check=True):
    return sh(command, check=check, container=BLANK)


def _fingerprints(target, tmp_path):
    result = tmp_path / ("fingerprints-%s.json" % target)
    _ok(playbook("../tests/integration/playbooks/fingerprints.yml", "-e", "target=%s" % target,
                 "-e", "result_file=%s" % result), "fingerprints on %s" % target)
    return {name: {"fingerprint": r["fingerprint"], "tables": r["tables"]}
            for name, r in json.loads(result.read_text()).items()}


def _report(proc):
    line = [ln for ln in proc.stdout.splitlines() if "Report: " in ln][-1]
    with open(line.split("Report: ", 1)[1].strip().strip("'\"")) as handle:
        return json.load(handle)


def _extra_vars(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    path.chmod(0o600)
    return "@%s" % path


def _offsite(**change):
    """app1's offsite store, with the secret read where lab_up.yml generated it, and ``change`` applied."""
    with open(os.path.join(ROOT, ".lab", "secrets", "s3_secret")) as handle:
        secret = handle.read().split()[0]
    store = {"provider": "s3", "bucket": "lifeboat-lab", "endpoint_url": "http://172.30.57.1:9555",
             "region": "us-east-1", "access_key": "lab-access-key-id", "secret_key": secret}
    store.update(change)
    return {"lifeboat_offsite": store}


def test_preflight_refuses_before_anything_changes(lab_backups, tmp_path):
    _reset_blank()
    # As on a host built minutes ago: no package lists, their directory stamped new (apt's cache_valid_time
    # takes that for a recent update, and apt-cache then offers no server version at all).
    _on_blank("rm -rf /var/lib/apt/lists/* && touch /var/lib/apt/lists")
    # --check: the preflight alone, on the blank host, finds every backup and changes nothing.
    proc = _ok(playbook(*REBUILD, "--check"), "rebuild.yml --check")
    assert "ready: 6 service(s), newest backups appdb backup_" in _said(proc)
    assert _on_blank("ls -d /var/lib/lifeboat /var/lib/postgresql 2>&1 || true").count("No such file") == 2

    # A target that holds data (the restore-test host has a PostgreSQL cluster), without confirmation.
    proc = playbook("../rebuild.yml", "-e", "lifeboat_rebuild_host=app1", "-e", "lifeboat_rebuild_target=restoretest1")
    assert proc.returncode != 0
    assert "the target is not blank (/var/lib/postgresql/15/main/PG_VERSION" in _said(proc)
    assert "lifeboat_confirm=yes" in _said(proc)
    assert sh("test -e /var/lib/lifeboat/rebuild.json && echo claimed || echo untouched",
              container="lifeboat-lab-restoretest1").strip() == "untouched"

    # The wrong age identity: another key than the one the backups were encrypted to.
    other = subprocess.run(["age-keygen"], capture_output=True, text=True, check=True).stdout
    with open(os.path.join(ROOT, ".lab", "secrets", "age.key")) as handle:
        recipient = [ln.split(": ")[1] for ln in handle.read().splitlines() if ln.startswith("# public key: ")][0]
    proc = playbook(*REBUILD, "-e", _extra_vars(tmp_path, "key.json", {"lab_age_key": other, "lab_age_recipient": recipient}))
    assert proc.returncode != 0
    assert "appdb: the decryption key belongs to age1" in _said(proc)
    assert "which is not a recipient of the backups (%s)" % recipient in _said(proc)
    assert other.split("AGE-SECRET-KEY-")[1][:20] not in proc.stdout + proc.stderr

    # The offsite store cannot be reached, or holds nothing of this host.
    proc = playbook(*REBUILD, "-e", _extra_vars(tmp_path, "down.json", _offsite(endpoint_url="http://172.30.57.1:9")))
    assert proc.returncode != 0 and "the offsite store cannot be read" in _said(proc)
    proc = playbook(*REBUILD, "-e", _extra_vars(tmp_path, "empty.json", _offsite(prefix="nothing-here")))
    assert proc.returncode != 0
    assert "no complete backup of appdb in the offsite store" in _said(proc)
    assert "no complete backup of appconfig in the offsite store" in _said(proc)
    assert _on_blank("ls /var/lib/lifeboat /var/lib/postgresql 2>&1 || true").count("No such file") == 2


def test_a_key_that_is_not_the_datas_is_refused_before_any_data_is_restored(lab_backups, tmp_path):
    _reset_blank()
    # The configuration is not restored (so the key already on the target is what the check reads): a
    # key that is not the one the data was written with.
    _on_blank("install -d -m 0750 /etc/sampleapp && echo not-the-key > /etc/sampleapp/secret.key")
    proc = playbook(*REBUILD, "-e", '{"lifeboat_rebuild_config_services": []}', "-e", "lifeboat_confirm=yes")
    assert proc.returncode != 0
    assert "appdb: the restored application key /etc/sampleapp/secret.key has fingerprint sha256:" in _said(proc)
    assert "Refused before any data was restored" in _said(proc)
    # Refused before the servers were installed, and no data came back.
    assert _on_blank("ls -d /var/lib/postgresql /var/lib/mysql /var/lib/redis 2>&1 || true").count("No such file") == 3
    assert _on_blank("ls /var/lib/sampleapp").strip() == ""


@pytest.fixture(scope="module")
def lost_app1(lab_backups, tmp_path_factory):
    """app1 with its app stopped, fresh backups and its WAL offsite, fingerprinted, then lost (stopped)."""
    tmp_path = tmp_path_factory.mktemp("rebuild")
    address = subprocess.run(["docker", "inspect", "-f", "{{ (index .NetworkSettings.Networks \"lifeboat-lab\").IPAddress }}",
                              "lifeboat-lab-app1"], capture_output=True, text=True, check=True).stdout.strip()
    sh("systemctl stop sampleapp")
    try:
        _ok(playbook("backup.yml"), "backup.yml")
        switch_wal_and_wait_offsite()
        before = _fingerprints("app1", tmp_path)
        subprocess.run(["docker", "stop", "lifeboat-lab-app1"], check=True, capture_output=True)
        # The RPO is the age of the restored data at this moment.
        lost_at = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        yield {"fingerprints": before, "tmp": tmp_path, "lost": ("-e", "rebuild_lost_at=%s" % lost_at)}
    finally:
        subprocess.run(["docker", "start", "lifeboat-lab-app1"], check=True, capture_output=True)
        # Back as it was: app1 serving, the app's name on app1, blank1 blank (and no longer shipping WAL).
        sh("for i in $(seq 1 240); do s=$(systemctl is-system-running 2>/dev/null); "
           "case $s in running|degraded) break;; esac; sleep 0.5; done; systemctl start sampleapp")
        _ok(playbook("dns_switch.yml", "-e", "value=%s" % address), "switching the app's name back to app1")
        _reset_blank()


def _rebuild_killed_at(marker):
    """Run the rebuild and kill the controller (the whole process group) when ``marker`` is printed."""
    argv = [os.path.join(BIN, "ansible-playbook")] + [("playbooks/" + REBUILD[0])] + list(REBUILD[1:])
    proc = subprocess.Popen(argv, cwd=ROOT, env=dict(_env(), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default"),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    seen = []
    deadline = time.monotonic() + 900
    for line in proc.stdout:
        seen.append(line)
        if marker in line or time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            break
    proc.wait()
    assert marker in "".join(seen), "".join(seen)[-4000:]


def test_rebuild_onto_a_blank_host_killed_half_way_completes_when_run_again(lost_app1):
    _reset_blank()
    _rebuild_killed_at("Restore shopdb]")
    record = json.loads(_on_blank("cat /var/lib/lifeboat/rebuild.json"))
    assert sorted(record["restored"]) == ["appconfig", "appdb"] and not record["finished"]

    # Run again, without confirmation: the target is this rebuild's, and it continues.
    proc = _ok(playbook(*(REBUILD + lost_app1["lost"])), "the rebuild run again")
    report = _report(proc)
    assert report["resumed"] and not report["verify_failed"]
    assert [p["name"] for p in report["phases"] if p["name"].startswith("restore")] == [
        "restore shopdb", "restore appsqlite", "restore appvectors", "restore appcache"]
    assert set(report["rpo"]) == {"appdb", "shopdb", "appsqlite", "appvectors", "appcache", "appconfig"}
    assert report["restored"]["appdb"]["how"] == "pitr" and report["rpo"]["appdb"]["seconds"] is not None
    assert report["rto_seconds"] > 0 and "RTO (to /healthz 200): " in proc.stdout

    # The data is app1's as it was lost: every fingerprint equal (Redis: the app rewrites its health key).
    after = _fingerprints("blank1", lost_app1["tmp"])
    before = lost_app1["fingerprints"]
    for name in ("appdb", "shopdb", "appsqlite", "appvectors", "appconfig"):
        assert after[name] == before[name], name
    assert {db: t["rows"] for db, t in after["appcache"]["tables"].items()} == {
        db: t["rows"] for db, t in before["appcache"]["tables"].items()}

    # Serving at the new address, found by name on both DNS servers, and protected again.
    with urllib.request.urlopen("http://%s:8080/healthz" % ADDRESS, timeout=10) as response:
        health = json.load(response)
    assert response.status == 200 and health["key"] == {"sealed": True}
    for server in NAMESERVERS:
        answer = sh("dig +norecurse +short @127.0.0.1 app.lab.lifeboat.test A", container=server).split()
        assert answer == [ADDRESS], server
    assert _on_blank("systemctl is-active lifeboat-pitr-ship-15-main.timer").strip() == "active"
    assert "lifeboat-backup" in _on_blank("systemctl list-timers --all --no-legend")


def test_a_second_run_on_the_rebuilt_host_restores_nothing(lost_app1):
    proc = _ok(playbook(*REBUILD), "the rebuild run a third time")
    report = _report(proc)
    assert "app1 was rebuilt here" in _said(proc) and not report["verify_failed"]
    assert report["resumed"] and [p["name"] for p in report["phases"]] == ["preflight", "verify", "dns"]
    for task in ("TASK [lifeboat.dr.restore : Restore each service]", "TASK [lifeboat.dr.restore : Recover the cluster]"):
        assert task not in proc.stdout
    recap = [ln for ln in proc.stdout.splitlines() if ln.startswith("app1 ")][-1]
    changed = int(recap.split("changed=")[1].split()[0])
    # The record, the report and the DNS switch's record are written on every run; nothing else changes.
    assert changed <= 4, [ln for ln in proc.stdout.splitlines() if ln.startswith("changed:")]


def test_datacenter_failure_rebuilds_at_the_dr_site_and_moves_dns_there(lost_app1):
    # The main site (app1, and the server rebuilt from it on the lab network) is given up: failover.yml
    # rebuilds app1 onto dr1, on the DR site's own network, from the offsite copies, and DNS follows.
    dr_address = "172.30.58.240"
    proc = _ok(playbook("failover.yml", "-e", "incident=datacenter_failure", *lost_app1["lost"],
                        "-e", "rebuild_pitr_offsite_prefix=rebuild-test/dr1/15-main"), "datacenter_failure")
    assert "outcome: rebuild app1 onto dr1 at the DR site" in _said(proc)
    report = _report(proc)
    assert report["address"] == dr_address and not report["resumed"] and not report["verify_failed"]
    after = _fingerprints("dr1", lost_app1["tmp"])
    for name in ("appdb", "shopdb", "appsqlite", "appvectors", "appconfig"):
        assert after[name] == lost_app1["fingerprints"][name], name
    with urllib.request.urlopen("http://%s:8080/healthz" % dr_address, timeout=10) as response:
        assert response.status == 200
    for server in NAMESERVERS:
        answer = sh("dig +norecurse +short @127.0.0.1 app.lab.lifeboat.test A", container=server).split()
        assert answer == [dr_address], server
