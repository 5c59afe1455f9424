# -*- coding: utf-8 -*-
"""Password rotation (engines' set_password, module db_password): verifiers the servers accept, against real
throwaway PostgreSQL and Redis servers; the clear text never in a command line."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import tempfile

import pytest

from ansible_collections.lifeboat.dr.plugins.module_utils import accounts
from ansible_collections.lifeboat.dr.plugins.module_utils import engines
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils.engines import postgresql
from ansible_collections.lifeboat.dr.plugins.module_utils.process import Runner

# The throwaway servers of the engines' own tests, by the collection's name (ansible-test units runs the tests
# from the built collection, where the test directory is not on sys.path).
from ansible_collections.lifeboat.dr.tests.unit import test_redis_engine as redis_tests
from ansible_collections.lifeboat.dr.tests.unit import test_restore_fidelity as pg_tests

NEW = "n3w-Secret-of-the-rotation"


def test_scram_verifier_round_trip_and_refusals():
    verifier = accounts.scram_sha256_verifier(NEW, salt=b"0123456789abcdef")
    assert verifier.startswith("SCRAM-SHA-256$4096:MDEyMzQ1Njc4OWFiY2RlZg==$")
    assert accounts.scram_matches(verifier, NEW)
    assert not accounts.scram_matches(verifier, NEW + "x")
    assert accounts.scram_sha256_verifier(NEW) != accounts.scram_sha256_verifier(NEW)  # a new salt each time
    for stored in ("", None, "md5abc", "SCRAM-SHA-256$x", "SCRAM-SHA-256$4096:!!$a:b"):
        assert not accounts.scram_matches(stored, NEW)


def test_mysql_native_hash_is_mariadbs():
    # MariaDB: SELECT PASSWORD('password')
    assert accounts.mysql_native_hash("password") == "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19"


def test_every_engine_that_sets_passwords_is_offered_by_the_module():
    assert sorted(engines.names(supporting="set_password")) == ["mysql", "postgresql", "redis"]


@pytest.fixture
def pg():
    if not pg_tests.PG_BIN or (os.geteuid() == 0 and not pg_tests._has_user("postgres")):
        pytest.skip("PostgreSQL server binaries not installed")
    base = tempfile.mkdtemp(prefix="lbpw-", dir="/tmp")
    os.chmod(base, 0o755)
    server = pg_tests.PgServer(base, 57432 + os.getpid() % 500)
    server.sql("CREATE ROLE app LOGIN PASSWORD 'old-password'")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


def _pg_conn(server):
    return postgresql.Connection(host=server.dir, port=server.port, user="postgres", password=None)


def test_postgresql_stores_the_verifier_and_a_second_run_changes_nothing(pg):
    runner = Runner()
    conn = _pg_conn(pg)
    result = postgresql.set_password(runner, conn, "postgres", "app", NEW)
    assert result["changed"] and result["accounts"] == ["app"]
    stored = pg.sql("SELECT rolpassword FROM pg_authid WHERE rolname = 'app'")
    # PostgreSQL kept the verifier as given (a string it did not recognise would have been hashed as a password).
    assert accounts.scram_matches(stored, NEW)
    assert not any(NEW in " ".join(command) for command in runner.executed)
    again = postgresql.set_password(Runner(), conn, "postgres", "app", NEW)
    assert not again["changed"]
    assert pg.sql("SELECT rolpassword FROM pg_authid WHERE rolname = 'app'") == stored


def test_postgresql_check_mode_and_a_missing_role_change_nothing(pg):
    before = pg.sql("SELECT rolpassword FROM pg_authid WHERE rolname = 'app'")
    assert postgresql.set_password(Runner(), _pg_conn(pg), "postgres", "app", NEW, check_mode=True)["changed"]
    with pytest.raises(LifeboatError, match="role ghost does not exist"):
        postgresql.set_password(Runner(), _pg_conn(pg), "postgres", "ghost", NEW)
    assert pg.sql("SELECT rolpassword FROM pg_authid WHERE rolname = 'app'") == before


@pytest.fixture
def redis_server():
    if redis_tests.redis_py is None or not shutil.which("redis-server"):
        pytest.skip("needs redis-py and redis-server")
    base = tempfile.mkdtemp(prefix="lb-rpw-")
    server = redis_tests.Server(base, appendonly=False)
    yield server
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


def test_redis_sets_requirepass_and_writes_it_to_its_configuration(redis_server):
    engine = engines.get("redis")
    result = engine.set_password(Runner(), {"redis": redis_server.conn()}, None, NEW)
    assert result["changed"] and result["accounts"] == ["default"]
    with open(os.path.join(redis_server.dir, "redis.conf")) as handle:
        assert 'requirepass "%s"' % NEW in handle.read()
    fresh = redis_tests.redis_py.Redis(unix_socket_path=redis_server.sock, password=NEW)
    assert fresh.ping()
    with pytest.raises(redis_tests.redis_py.exceptions.AuthenticationError):
        redis_tests.redis_py.Redis(unix_socket_path=redis_server.sock, password=redis_tests.PASSWORD).ping()
    conn = dict(redis_server.conn(), password=NEW)
    assert not engine.set_password(Runner(), {"redis": conn}, "default", NEW)["changed"]
    with pytest.raises(LifeboatError, match="ACL user app"):
        engine.set_password(Runner(), {"redis": conn}, "app", NEW)
    redis_server.password = NEW
