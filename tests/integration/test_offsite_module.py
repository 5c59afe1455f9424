"""backup_offsite run by Ansible on the lab host: push, lose the local repository, pull, restore.

The object-store stand-ins listen on the lab network's gateway address, the one
address of this machine that the lab containers reach.
"""
import json
import os
import subprocess
import uuid

import pytest

from labhost import BIN, ROOT, VENV_PYTHON, playbook, run_module, sh, sqlite_content
from test_offsite import AZURITE_ACCOUNT, AZURITE_KEY, azure_store, free_port, gcs_store, start_server, stop_server


@pytest.fixture(scope="module")
def gateway(lab):
    return subprocess.run(["docker", "network", "inspect", "lifeboat-lab", "-f", "{{(index .IPAM.Config 0).Gateway}}"],
                          capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture(params=["azure_blob", "gcs"])
def cloud(request, gateway, tmp_path):
    port = free_port(gateway)
    name = "lifeboat-%s" % uuid.uuid4().hex[:8]
    if request.param == "azure_blob":
        proc = start_server([os.path.join(ROOT, ".lab", "node", "node_modules", ".bin", "azurite-blob"), "--blobHost",
                             gateway, "--blobPort", str(port), "--skipApiVersionCheck", "--silent", "--location",
                             str(tmp_path)], gateway, port)
        url = "http://%s:%d/%s" % (gateway, port, AZURITE_ACCOUNT)
        azure_store(url, name)
        args = {"provider": "azure_blob", "container": name, "endpoint_url": url, "account_name": AZURITE_ACCOUNT,
                "account_key": AZURITE_KEY}
    else:
        proc = start_server([os.path.join(BIN, "gcp-storage-emulator"), "start", "--host", gateway, "--port", str(port),
                             "--in-memory"], gateway, port)
        url = "http://%s:%d" % (gateway, port)
        gcs_store(url, name)
        args = {"provider": "gcs", "bucket": name, "endpoint_url": url}
    # The store's SDK into app1's Lifeboat virtualenv, as the offsite role does before its first action.
    tools = playbook("../tests/integration/playbooks/host_tools.yml", "-e", "target=app1",
                     "-e", json.dumps({"offsite": [{"provider": request.param}]}))
    assert tools.returncode == 0, tools.stdout[-4000:] + tools.stderr[-2000:]
    yield args
    stop_server(proc)


@pytest.fixture
def site(lab):
    name = uuid.uuid4().hex[:8]
    paths = {"work": "/var/lib/lifeboat-it/off-%s" % name, "root": "/var/backups/lifeboat-off-%s" % name,
             "store": "/srv/offsite-%s" % name}
    sh("mkdir -p %(work)s %(store)s && python3 -c \"import sqlite3; c = sqlite3.connect('%(work)s/app.db'); "
       "c.execute('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)'); "
       "c.executemany('INSERT INTO notes (body) VALUES (?)', [('note %%d' %% i,) for i in range(2000)]); "
       "c.commit()\"" % paths)
    yield paths
    sh("rm -rf %(work)s %(root)s %(store)s" % paths)


def offsite(site, action, check=False, diff=False, **extra):
    args = dict(action=action, provider="filesystem", path=site["store"], backup_root=site["root"], prefix="app1",
                **extra)
    return run_module("backup_offsite", args, check=check, diff=diff)


def test_push_pull_restore_after_losing_the_local_repository(site):
    before = sqlite_content(site["work"] + "/app.db")
    dumped = run_module("db_dump", {"engine": "sqlite", "service": "notes", "path": site["work"] + "/app.db",
                                    "backup_root": site["root"]})
    assert not dumped.get("failed"), dumped.get("msg")

    planned = offsite(site, "push", check=True, diff=True)
    assert planned["changed"] and not sh("find %s -type f" % site["store"]).strip()
    assert planned["diff"] == [{"before": "", "after": planned["services"]["notes"]["pushed"][0] + "\n",
                                "before_header": "offsite backups of notes (before)",
                                "after_header": "offsite backups of notes (after)"}]
    pushed = offsite(site, "push")
    assert pushed["changed"] and len(pushed["services"]["notes"]["pushed"]) == 1
    again = offsite(site, "push")
    assert not again["changed"] and len(again["services"]["notes"]["present"]) == 1
    listed = offsite(site, "list")["services"]["notes"]["backups"]
    assert [entry["checksum"] for entry in listed] == [dumped["checksum"]]
    assert not offsite(site, "verify").get("failed")

    # The disaster: the local repository and the database are gone.
    sh("rm -rf %s %s/app.db" % (site["root"], site["work"]))
    pulled = offsite(site, "pull", service="notes")
    assert not pulled.get("failed"), pulled.get("msg")
    assert pulled["changed"] and pulled["checksum"] == dumped["checksum"]
    assert sh("sha256sum %s" % pulled["path"]).split()[0] == dumped["checksum"].split(":")[1]
    restored = run_module("db_restore", {"engine": "sqlite", "service": "notes", "path": site["work"] + "/app.db",
                                         "backup_root": site["root"]})
    assert not restored.get("failed"), restored.get("msg")
    assert sqlite_content(site["work"] + "/app.db") == before


def test_verify_fails_on_a_corrupt_copy_and_pull_refuses_it(site):
    dumped = run_module("db_dump", {"engine": "sqlite", "service": "notes", "path": site["work"] + "/app.db",
                                    "backup_root": site["root"]})
    offsite(site, "push")
    remote = "%s/app1/notes/%s/%s" % (site["store"], dumped["type"], dumped["path"].rsplit("/", 1)[1])
    sh("printf 'X' | dd of=%s bs=1 seek=100 conv=notrunc status=none" % remote)
    checked = offsite(site, "verify")
    assert checked.get("failed") and "checksum" in checked["msg"] and remote.split("/app1/")[1] in checked["msg"]
    sh("rm -rf %s" % site["root"])
    pulled = offsite(site, "pull", service="notes")
    assert pulled.get("failed") and "corrupt" in pulled["msg"]
    assert not sh("find %s -type f -name 'backup_*' 2>/dev/null || true" % site["root"]).strip()


def test_cloud_push_pull_restore_from_the_host(site, cloud):
    before = sqlite_content(site["work"] + "/app.db")
    dumped = run_module("db_dump", {"engine": "sqlite", "service": "notes", "path": site["work"] + "/app.db",
                                    "backup_root": site["root"]})
    common = dict(cloud, backup_root=site["root"], prefix="app1")
    pushed = run_module("backup_offsite", dict(common, action="push"), python=VENV_PYTHON)
    assert not pushed.get("failed"), pushed.get("msg")
    assert len(pushed["services"]["notes"]["pushed"]) == 1
    assert not run_module("backup_offsite", dict(common, action="push"), python=VENV_PYTHON)["changed"]
    assert AZURITE_KEY not in pushed.output
    sh("rm -rf %s %s/app.db" % (site["root"], site["work"]))
    pulled = run_module("backup_offsite", dict(common, action="pull", service="notes"), python=VENV_PYTHON)
    assert not pulled.get("failed"), pulled.get("msg")
    assert pulled["checksum"] == dumped["checksum"]
    restored = run_module("db_restore", {"engine": "sqlite", "service": "notes", "path": site["work"] + "/app.db",
                                         "backup_root": site["root"]})
    assert not restored.get("failed"), restored.get("msg")
    assert sqlite_content(site["work"] + "/app.db") == before


def test_offsite_sync_playbook_mirrors_the_whole_tree_to_the_lab_store(lab):
    """offsite_sync.yml with the lab inventory: every local backup on app1 ends up in the S3 stand-in."""
    import boto3
    # A backup that only exists locally (a service the agent does not know): the sync must pick it up.
    local_only = "sync-%s" % uuid.uuid4().hex[:8]
    dumped = run_module("db_dump", {"engine": "sqlite", "service": local_only, "path": "/var/lib/sampleapp/app.db"})
    assert not dumped.get("failed"), dumped.get("msg")
    run = playbook("offsite_sync.yml")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    with open(os.path.join(ROOT, ".lab", "secrets", "s3_secret")) as handle:
        secret = handle.read().split()[0]
    assert secret not in run.stdout + run.stderr
    local = dict(line.split() for line in sh(
        "cd /var/backups/lifeboat && find . -path './*/*/backup_*' -type f -printf '%P %s\\n'").splitlines())
    s3 = boto3.client("s3", endpoint_url="http://172.30.57.1:9555", aws_access_key_id="lab-access-key-id",
                      aws_secret_access_key=secret, region_name="us-east-1")
    remote = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket="lifeboat-lab", Prefix="app1/"):
        for item in page.get("Contents", []):
            remote[item["Key"][len("app1/"):]] = str(item["Size"])
    data = dict((name, size) for name, size in local.items() if not name.endswith(".metadata.json"))
    assert data and all(remote.get(name) == size for name, size in data.items()), (data, remote)
    assert all(name in remote for name in local if name.endswith(".metadata.json"))
    assert any(name.startswith(local_only + "/") for name in data)
    sh("rm -rf /var/backups/lifeboat/%s" % local_only)


def test_a_timer_run_backs_up_and_copies_offsite(lab):
    """The agent as systemd runs it on the lab host: backup, rotation, push to the lab's S3 stand-in."""
    import json as _json
    sh("systemctl start lifeboat-backup-appsqlite.service")
    assert sh("systemctl show -p Result --value lifeboat-backup-appsqlite.service").strip() == "success"
    record = _json.loads(sh("cat /var/backups/lifeboat/appsqlite/.last_offsite.json"))
    assert record["ok"] is True and "lifeboat-lab" in record["target"]
    newest = sh("runuser -u lifeboat -- lifeboat-backup list appsqlite | head -1").split()[-1]
    name = "appsqlite/" + "/".join(newest.split("/")[-2:])
    with open(os.path.join(ROOT, ".lab", "secrets", "s3_secret")) as handle:
        secret = handle.read().split()[0]
    import boto3
    s3 = boto3.client("s3", endpoint_url="http://172.30.57.1:9555", aws_access_key_id="lab-access-key-id",
                      aws_secret_access_key=secret, region_name="us-east-1")
    head = s3.head_object(Bucket="lifeboat-lab", Key="app1/" + name)
    assert head["ContentLength"] == int(sh("stat -c %%s %s" % newest))
    prom = sh("cat /var/lib/prometheus/node-exporter/lifeboat_appsqlite.prom")
    assert 'lifeboat_backup_offsite_success{service="appsqlite"} 1' in prom
    assert "offsite" in _json.loads(sh("runuser -u lifeboat -- lifeboat-backup status --json appsqlite"))[0]
