"""What postgresql_replica and redis_replica must leave: a primary and a streaming replica of it."""
import os
import time
import uuid

import pytest
import testinfra

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
PG_PASSWORD = "molecule-not-a-secret"
REDIS_PASSWORD = "molecule-redis-not-a-secret"
DATA = "/var/lib/postgresql/15/main"
PASSFILE = "/var/lib/postgresql/.pgpass-lifeboat-replica"


@pytest.fixture(scope="module")
def primary():
    return testinfra.get_host("ansible://lifeboat-molecule-pgprimary", ansible_inventory=INVENTORY)


@pytest.fixture(scope="module")
def replica():
    return testinfra.get_host("ansible://lifeboat-molecule-pgreplica", ansible_inventory=INVENTORY)


def psql(host, sql):
    return host.run("runuser -u postgres -- psql --cluster 15/main -XAtqc %s", sql)


def redis(host, *command):
    return host.run("REDISCLI_AUTH=%s redis-cli --no-auth-warning " + " ".join(["%s"] * len(command)),
                    REDIS_PASSWORD, *command)


def eventually(check, seconds=20):
    deadline = time.time() + seconds
    while True:
        result = check()
        if result or time.time() > deadline:
            return result
        time.sleep(0.5)


def _replicaof_lines(host):
    return [line for line in host.file("/etc/redis/redis.conf").content_string.split("\n") if line.startswith("replicaof ")]


def test_the_replica_is_in_recovery_and_the_primary_is_not(primary, replica):
    assert psql(replica, "SELECT pg_is_in_recovery()").stdout.strip() == "t"
    assert psql(primary, "SELECT pg_is_in_recovery()").stdout.strip() == "f"


def test_the_replica_streams_through_its_slot(primary, replica):
    assert psql(replica, "SELECT status FROM pg_stat_wal_receiver").stdout.strip() == "streaming"
    rows = psql(primary, "SELECT application_name || ' ' || state FROM pg_stat_replication").stdout.split("\n")
    assert "lifeboat-molecule-pgreplica streaming" in rows
    slot = psql(primary, "SELECT slot_type || ' ' || active FROM pg_replication_slots "
                         "WHERE slot_name = 'lifeboat_molecule_pgreplica'").stdout.strip()
    assert slot == "physical true"  # boolean || text is spelled out


def test_a_row_written_on_the_primary_reaches_the_replica(primary, replica):
    token = uuid.uuid4().hex
    assert psql(primary, "CREATE TABLE IF NOT EXISTS molecule_probe (token text); "
                         "INSERT INTO molecule_probe VALUES ('%s')" % token).rc == 0
    assert eventually(lambda: psql(replica, "SELECT count(*) FROM molecule_probe WHERE token = '%s'"
                                   % token).stdout.strip() == "1")


def test_writes_on_the_replica_are_refused(replica):
    result = psql(replica, "CREATE TABLE molecule_refused (i int)")
    assert result.rc != 0 and "read-only transaction" in result.stderr


def test_the_replicas_own_database_was_moved_aside_not_deleted(replica):
    assert "replica_own" not in psql(replica, "SELECT datname FROM pg_database").stdout.split()
    aside = replica.check_output("ls -d %s.pre-replica-* 2>/dev/null" % DATA).split()
    assert len(aside) == 1 and replica.file(aside[0] + "/PG_VERSION").exists


def test_postgresql_auto_conf_holds_no_password(replica):
    auto = replica.file(DATA + "/postgresql.auto.conf").content_string
    assert PG_PASSWORD not in auto and "password=" not in auto
    conninfo = [line for line in auto.splitlines() if line.startswith("primary_conninfo")]
    assert conninfo == ["primary_conninfo = 'host=lifeboat-molecule-pgprimary port=5432 user=replicator "
                        "passfile=%s application_name=lifeboat-molecule-pgreplica'" % PASSFILE]
    assert [line for line in auto.splitlines() if line.startswith("primary_slot_name")] == [
        "primary_slot_name = 'lifeboat_molecule_pgreplica'"]
    assert replica.file(DATA).mode == 0o700 and replica.file(DATA).user == "postgres"


def test_the_passfile_is_private_to_postgres(replica):
    passfile = replica.file(PASSFILE)
    assert passfile.mode == 0o600 and passfile.user == "postgres"
    assert passfile.content_string == "lifeboat-molecule-pgprimary:5432:*:replicator:%s\n" % PG_PASSWORD


def test_the_primary_can_be_rejoined_with_pg_rewind(primary):
    settings = psql(primary, "SELECT name || '=' || setting FROM pg_settings WHERE name IN "
                             "('wal_level', 'wal_log_hints', 'hot_standby', 'listen_addresses') ORDER BY 1").stdout.split()
    assert settings == ["hot_standby=on", "listen_addresses=*", "wal_level=replica", "wal_log_hints=on"]
    for function in ("pg_ls_dir(text, boolean, boolean)", "pg_stat_file(text, boolean)", "pg_read_binary_file(text)",
                     "pg_read_binary_file(text, bigint, bigint, boolean)"):
        assert psql(primary, "SELECT has_function_privilege('replicator', 'pg_catalog.%s', 'EXECUTE')"
                    % function).stdout.strip() == "t", function
    hba = primary.file("/etc/postgresql/15/main/pg_hba.conf").content_string.split("\n")
    for database in ("replication", "postgres"):
        assert [line.split() for line in hba if line.split()[:3] == ["host", database, "replicator"]] == [
            ["host", database, "replicator", "0.0.0.0/0", "scram-sha-256"]]


def test_the_redis_replica_is_linked_to_its_master(replica):
    info = redis(replica, "INFO", "replication").stdout
    assert "role:slave" in info and "master_host:lifeboat-molecule-pgprimary" in info
    assert "master_link_status:up" in info


def test_a_key_set_on_the_redis_master_appears_on_the_replica(primary, replica):
    token = uuid.uuid4().hex
    assert redis(primary, "SET", "molecule:probe", token).stdout.strip() == "OK"
    assert eventually(lambda: redis(replica, "GET", "molecule:probe").stdout.strip() == token)
    assert "READONLY" in redis(replica, "SET", "molecule:refused", "1").stdout


def test_redis_settings_are_in_the_configuration_files(primary, replica):
    for host in (primary, replica):
        conf = host.file("/etc/redis/redis.conf").content_string.split("\n")
        assert 'requirepass "%s"' % REDIS_PASSWORD in conf and 'masterauth "%s"' % REDIS_PASSWORD in conf
        assert "bind 0.0.0.0" in conf
        assert redis(host, "CONFIG", "GET", "bind").stdout.split() == ["bind", "0.0.0.0"]
    assert _replicaof_lines(primary) == []
    assert _replicaof_lines(replica) == ["replicaof lifeboat-molecule-pgprimary 6379"]
    assert redis(primary, "PING").stdout.strip() == "PONG"
    assert "NOAUTH" in primary.run("redis-cli PING").stdout
