"""Redis on the lab host: RDB and AOF round trips, damaged backups, confirmation, secrets."""
import uuid

import pytest

from labhost import run_module, sh


@pytest.fixture
def redis(lab):
    with open(lab["root"] + "/.lab/secrets/redis") as handle:
        password = handle.read().split()[0]

    def cli(command):
        return sh("export REDISCLI_AUTH=%s; redis-cli --no-auth-warning %s" % (password, command)).strip()
    service = "it-redis-%s" % uuid.uuid4().hex[:6]
    args = {"engine": "redis", "service": service, "login_password": password,
            "backup_root": "/var/lib/lifeboat-it/%s" % service}
    cli("flushall")
    sh("seq 1 500 | awk '{ print \"SET it:\" $1 \" value-\" $1 }' | REDISCLI_AUTH=%s redis-cli --no-auth-warning --pipe"
       % password)
    cli("hset it:hash a 1 b 2")
    yield cli, args
    sh("rm -rf /var/lib/lifeboat-it/%s /var/lib/redis/pre-restore-*" % service)


def content(cli):
    """Independent view: every key with its type and a hash of its serialized value (one exec, many redis-cli)."""
    out = cli("--scan | sort | while read -r k; do "
              "echo \"$k $(redis-cli --no-auth-warning type \"$k\") "
              "$(redis-cli --no-auth-warning --no-raw dump \"$k\" | sha256sum | cut -c1-16)\"; done")
    return dict((line.split(" ", 1)[0], line.split(" ", 1)[1]) for line in out.splitlines())


@pytest.mark.parametrize("kind", ["rdb", "aof"])
def test_round_trip_restores_every_key(redis, kind):
    cli, args = redis
    before = content(cli)
    assert len(before) == 501
    result = run_module("db_dump", args)
    assert not result.get("failed"), result.get("msg")
    meta = result["metadata"]["content"]["redis"]
    assert meta["rdb"]["keys"] == {"0": 501} and meta["aof"]["keys"] == {"0": 501}
    assert len(meta["rdb"]["samples"]["0"]) == 20
    cli("flushall")
    cli("set intruder 1")
    out = run_module("db_restore", dict(args, confirm=True, redis_restore_type=kind))
    assert not out.get("failed"), out.get("msg")
    assert content(cli) == before
    assert out["safety_copy"].startswith("/var/lib/redis/pre-restore-")
    assert sh("stat -c %%a %s" % out["safety_copy"]).strip() == "700"
    assert out["safety_copy"] in [item["path"] for item in out["safety_copies"]]
    assert cli("config get appendonly").split()[-1] == "yes"


def test_damaged_backup_refused_and_instance_untouched(redis):
    cli, args = redis
    result = run_module("db_dump", args)
    sh("printf 'garbage' | dd of=%s bs=1 seek=100 conv=notrunc status=none" % result["path"])
    cli("set after-backup 1")
    before = content(cli)
    out = run_module("db_restore", dict(args, confirm=True))
    assert out.get("failed") and result["path"] in out["msg"] and "corrupt" in out["msg"]
    assert content(cli) == before


def test_confirmation_and_secrets(redis):
    cli, args = redis
    result = run_module("db_dump", args)
    assert not result.get("failed"), result.get("msg")
    refused = run_module("db_restore", args)
    assert refused.get("failed") and "refusing to overwrite" in refused["msg"]
    secret = "Wr0ng-%s" % uuid.uuid4().hex
    wrong = run_module("db_dump", dict(args, login_password=secret), verbosity=3)
    assert wrong.get("failed") and "WRONGPASS" in wrong["msg"]
    assert secret not in wrong.output
