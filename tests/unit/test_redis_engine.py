"""The Redis engine through redis-py against a throwaway redis-server on a unix socket.

Skipped where redis-py or redis-server is missing (ansible-test units may have neither); the lab tests
(tests/integration/test_redis.py) run the same paths against the lab's Redis 7 under systemd.
"""
import datetime
import hashlib
import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time

import pytest

from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError, load_metadata
from ansible_collections.lifeboat.dr.plugins.module_utils.dump import run_dump, verify_archive
from ansible_collections.lifeboat.dr.plugins.module_utils.engines import redis as engine
from ansible_collections.lifeboat.dr.plugins.module_utils.process import Runner
from ansible_collections.lifeboat.dr.plugins.module_utils.restore import run_restore

try:
    import redis as redis_py
except ImportError:
    redis_py = None

PASSWORD = "t3st-Redis-pw-%d" % os.getpid()
BINARY_KEYS = (b"bin:\xff\xfe\x00key", b"\x80\x81")

# Stands in for systemctl in the restore: stop and start the test's redis-server (no systemd here).
FAKE_SYSTEMCTL = r"""#!/bin/sh
echo "systemctl $*" >> "$LIFEBOAT_TEST_DIR/systemctl.log"
case "$1" in
  stop) kill "$(cat "$LIFEBOAT_TEST_DIR/redis.pid")"
        while [ -e "$LIFEBOAT_TEST_DIR/redis.pid" ]; do sleep 0.05; done ;;
  start) sh "$LIFEBOAT_TEST_DIR/start.sh" ;;
esac
"""


class Server:
    """redis-server with a password on a unix socket, daemonized (a pid file), restartable."""

    def __init__(self, base, appendonly):
        self.dir = base  # short: unix socket paths allow 107 bytes
        self.data = os.path.join(base, "data")
        os.makedirs(self.data)
        self.sock = os.path.join(base, "redis.sock")
        self.pidfile = os.path.join(base, "redis.pid")
        argv = ["redis-server", "--port", "0", "--unixsocket", self.sock, "--unixsocketperm", "700",
                "--dir", self.data, "--save", "", "--appendonly", "yes" if appendonly else "no",
                "--daemonize", "yes", "--pidfile", self.pidfile, "--logfile", os.path.join(base, "redis.log")]
        with open(os.path.join(base, "redis.conf"), "w") as handle:  # the password stays out of argv
            os.chmod(handle.name, 0o600)
            handle.write("requirepass %s\n" % PASSWORD)
        with open(os.path.join(base, "start.sh"), "w") as handle:
            handle.write("exec %s %s\n" % (argv[0], " ".join(["'%s'" % os.path.join(base, "redis.conf")] + [
                "'%s'" % arg for arg in argv[1:]])))
        self.start()

    def start(self):
        subprocess.run(["sh", os.path.join(self.dir, "start.sh")], check=True)
        self.wait_ready()

    def wait_ready(self):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if self.client().ping():
                    return
            except redis_py.exceptions.RedisError:
                pass
            time.sleep(0.05)
        raise AssertionError("redis-server did not start: see %s/redis.log" % self.dir)

    def client(self, db=0):
        return redis_py.Redis(unix_socket_path=self.sock, password=PASSWORD, db=db)

    def conn(self):
        return {"host": None, "port": 6379, "user": None, "password": PASSWORD, "unix_socket": self.sock}

    def stop(self):
        try:
            with open(self.pidfile) as handle:
                pid = int(handle.read())
        except (OSError, ValueError):
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while os.path.exists(self.pidfile) and time.monotonic() < deadline:
            time.sleep(0.05)


def fill(server):
    """Keys of every type in db 0, binary key names, and a second database."""
    r = server.client()
    r.set("s:plain", "value")
    r.set("s:bytes", b"\x00\xffbinary value")
    r.rpush("l:list", "a", "b", "c")
    r.hset("h:hash", mapping={"f1": "1", "f2": "2"})
    r.sadd("t:set", "x", "y", "z")
    r.zadd("z:zset", {"m1": 1.5, "m2": 2.5})
    r.xadd("x:stream", {"field": "v1"})
    r.xadd("x:stream", {"field": "v2"})
    r.set("unicode:clé", "ü")
    for key in BINARY_KEYS:
        r.set(key, b"value of " + key)
    for number in range(40):
        r.set("n:%02d" % number, str(number))
    other = server.client(3)
    for number in range(7):
        other.lpush("db3:%d" % number, "item")
    return {"0": 8 + len(BINARY_KEYS) + 40, "3": 7}


def independent_fingerprint(server, db):
    """Every key with its DUMP, hashed as the engine documents it, computed with redis-py alone."""
    r = server.client(int(db))
    total, count = 0, 0
    for key in r.scan_iter(count=500):
        count += 1
        total += int.from_bytes(hashlib.sha256(key + b"\0" + r.dump(key)).digest()[:8], "big")
    return {"rows": count, "hash": "%x" % (total % (1 << 64))}


def content(server):
    """Every key of every database with its type and value, read with redis-py alone, order-free.

    Not DUMP: a set stored as a hash table serializes its members in table order, which a reload may change.
    """
    view = {}
    for db in (0, 3):
        r = server.client(db)
        for key in r.scan_iter(count=500):
            kind = r.type(key).decode()
            value = {"string": lambda: r.get(key), "list": lambda: r.lrange(key, 0, -1),
                     "hash": lambda: sorted(r.hgetall(key).items()), "set": lambda: sorted(r.smembers(key)),
                     "zset": lambda: r.zrange(key, 0, -1, withscores=True),
                     "stream": lambda: r.xrange(key)}[kind]()
            view[(db, key)] = (kind, value)
    return view


@pytest.fixture(params=[False, True], ids=["rdb", "aof"])
def server(request):
    if redis_py is None or not shutil.which("redis-server"):
        pytest.skip("needs redis-py and redis-server")
    base = tempfile.mkdtemp(prefix="lb-redis-")
    instance = Server(base, appendonly=request.param)
    instance.appendonly = request.param
    instance.counts = fill(instance)
    yield instance
    instance.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def runner(server, monkeypatch):
    """A Runner whose systemctl restarts the test's server; scratch servers' sockets go below the test's
    directory (tests may run in parallel, each sees only its own)."""
    fake = os.path.join(server.dir, "systemctl")
    with open(fake, "w") as handle:
        handle.write(FAKE_SYSTEMCTL)
    os.chmod(fake, 0o755)
    monkeypatch.setenv("LIFEBOAT_TEST_DIR", server.dir)
    monkeypatch.setattr(tempfile, "tempdir", server.dir)

    def bin_path(name, required):
        return fake if name == "systemctl" else Runner().binary(name) if required else shutil.which(name)
    return lambda: Runner(bin_path=bin_path)


def spec(server, tmp_path, **extra):
    base = {"engine": "redis", "service": "cache", "backup_root": str(tmp_path / "repo"), "compression": "zstd",
            "redis": server.conn(), "redis_unit": "redis-test"}
    base.update(extra)
    return base


def test_dump_records_every_type_and_binary_keys(server, tmp_path, runner):
    result = run_dump(spec(server, tmp_path), runner=runner())
    assert result["path"].endswith(".redis.tar.zst")
    meta = load_metadata(result["path"])
    assert meta["verified"] is True
    content = meta["content"]["redis"]
    parts = ("rdb", "aof") if server.appendonly else ("rdb",)
    assert set(content) - {"settings"} == set(parts)
    assert content["settings"]["dir"] == server.data and content["settings"]["appendonly"] is server.appendonly
    for part in parts:
        assert content[part]["keys"] == server.counts
        samples = content[part]["samples"]
        assert set(samples) == {"0", "3"} and len(samples["0"]) == engine.SAMPLE_SIZE and len(samples["3"]) == 7
        for db, picked in samples.items():  # sha256 of DUMP, read independently; names exactly the keys
            r = server.client(int(db))
            for name, digest in picked.items():
                assert hashlib.sha256(r.dump(name.encode("utf-8"))).hexdigest() == digest
    assert engine.ENGINE.expected_counts(meta["content"]) == {"0": server.counts["0"], "3": 7}
    assert engine.ENGINE.live_counts(None, {"redis": server.conn()}) == {"0": server.counts["0"], "3": 7}
    assert PASSWORD not in str(meta) and PASSWORD not in str(result)
    assert not [path for path in os.listdir(server.dir) if path.startswith("lifeboat-redis-")]  # scratch gone


def test_fingerprint_covers_every_key_including_binary_names(server):
    found = engine.fingerprint(server.conn())
    assert found == {"db0": independent_fingerprint(server, 0), "db3": independent_fingerprint(server, 3)}
    assert found["db0"]["rows"] == server.counts["0"]
    server.client().delete(BINARY_KEYS[0])
    assert engine.fingerprint(server.conn())["db0"]["rows"] == server.counts["0"] - 1
    assert engine.ENGINE.connect(None, {"redis": server.conn()}) == (True, "PING")


def test_archive_check_compares_keys_and_samples(server, tmp_path, runner):
    run = runner()
    result = run_dump(spec(server, tmp_path), runner=run)
    meta = load_metadata(result["path"])
    verify_archive(run, result["path"], meta)  # what the metadata records: passes again
    part = "aof" if server.appendonly else "rdb"
    tampered = dict(meta, content={"redis": dict(meta["content"]["redis"])})
    tampered["content"]["redis"][part] = dict(meta["content"]["redis"][part], keys={"0": 1})
    with pytest.raises(LifeboatError) as err:
        verify_archive(run, result["path"], tampered)
    assert "does not hold what its metadata records (keys" in str(err.value) and result["path"] in str(err.value)
    samples = {db: dict(picked) for db, picked in meta["content"]["redis"][part]["samples"].items()}
    first = sorted(samples["0"])[0]
    samples["0"][first] = "0" * 64
    tampered["content"]["redis"][part] = dict(meta["content"]["redis"][part], samples=samples)
    with pytest.raises(LifeboatError) as err:
        verify_archive(run, result["path"], tampered)
    assert "sampled values differ: db0 %s" % first in str(err.value)


def test_scratch_server_counts_and_samples(server, tmp_path, runner):
    stage = tmp_path / "stage"
    stage.mkdir()
    shutil.copyfile(_saved(server), str(stage / "dump.rdb"))
    found = engine.inspect(runner(), str(stage))
    assert found["rdb"]["keys"] == server.counts
    names = set(found["rdb"]["samples"]["0"])
    assert "unicode:clé" in names or len(names) == engine.SAMPLE_SIZE
    assert not any("\\x" in name for name in names)  # names that are not UTF-8 are not sampled
    again = engine.inspect(runner(), str(stage), expected=found)
    assert again == found


def test_restore_round_trip_through_the_unit(server, tmp_path, runner):
    before = content(server)
    assert len(before) == sum(server.counts.values())
    result = run_dump(spec(server, tmp_path), runner=runner())
    r = server.client()
    r.flushall()
    r.set("after-the-backup", "x")
    kind = "aof" if server.appendonly else "rdb"
    restored = run_restore(spec(server, tmp_path, backup=result["path"], confirm=True, redis_restore_type=kind),
                           runner=runner())
    assert restored["target_existed"] is True
    assert restored["safety_copy"].startswith(os.path.join(server.data, "pre-restore-"))
    assert content(server) == before
    assert server.client().exists("after-the-backup") == 0
    with open(os.path.join(server.dir, "systemctl.log")) as handle:
        assert handle.read().split("\n")[:2] == ["systemctl stop redis-test", "systemctl start redis-test"]


def test_restore_refused_without_confirm(server, tmp_path, runner):
    result = run_dump(spec(server, tmp_path), runner=runner())
    with pytest.raises(LifeboatError) as err:
        run_restore(spec(server, tmp_path, backup=result["path"]), runner=runner())
    assert "refusing to overwrite" in str(err.value)


def test_wrong_password_is_named_and_not_shown(server, tmp_path, runner):
    secret = "Wr0ng-secret-%d" % os.getpid()
    conn = dict(server.conn(), password=secret)
    with pytest.raises(engine.RedisAuthError) as err:
        engine.connect(conn)
    message = str(err.value)
    assert message.startswith("redis at %s: authentication failed: WRONGPASS" % server.sock)
    assert secret not in message and PASSWORD not in message
    with pytest.raises(LifeboatError) as err:
        run_dump(spec(server, tmp_path, redis=conn), runner=runner())
    assert "WRONGPASS" in str(err.value) and secret not in str(err.value)
    with pytest.raises(LifeboatError) as err:  # up but refusing: the restore changes nothing
        run_restore(spec(server, tmp_path, redis=conn, backup=_any_backup(server, tmp_path, runner),
                         confirm=True), runner=runner())
    assert "authentication failed" in str(err.value) and "nothing was changed" in str(err.value)
    assert not os.path.exists(os.path.join(server.dir, "systemctl.log"))


def _any_backup(server, tmp_path, runner):
    return run_dump(spec(server, tmp_path), runner=runner())["path"]


def test_missing_password_is_named(server):
    with pytest.raises(engine.RedisAuthError) as err:
        engine.connect(dict(server.conn(), password=None))
    assert "authentication failed: NOAUTH" in str(err.value)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_refused_connection_is_named():
    pytest.importorskip("redis")
    port = free_port()
    with pytest.raises(engine.RedisError) as err:
        engine.connect({"host": "127.0.0.1", "port": port, "user": "backup", "password": PASSWORD})
    message = str(err.value)
    assert message.startswith("redis at 127.0.0.1:%d: cannot connect:" % port) and "refused" in message.lower()
    assert PASSWORD not in message
    assert engine.instance_has_data({"host": "127.0.0.1", "port": port}, {"dir": "/nonexistent"}) is False


def test_scratch_server_socket_is_private(server, tmp_path, runner):
    """The scratch server listens on a socket only its owner may use, in a directory removed afterwards."""
    data = tmp_path / "scratch"
    data.mkdir()
    shutil.copyfile(_saved(server), str(data / "dump.rdb"))
    scratch = engine.ScratchServer(runner(), str(data))
    try:
        assert stat.S_IMODE(os.stat(scratch.sock_path).st_mode) == 0o700
        assert scratch.content()["keys"] == server.counts
    finally:
        scratch.close()
    assert not os.path.exists(scratch.sock_dir)


def _saved(server):
    client = engine.connect(server.conn())
    try:
        engine.bgsave(client)
    finally:
        client.close()
    return os.path.join(server.data, "dump.rdb")


def test_without_redis_py_the_engine_says_what_to_install(monkeypatch):
    monkeypatch.setattr(engine, "redis_py", None)
    with pytest.raises(LifeboatError) as err:
        engine.connect({"host": "127.0.0.1", "port": 6379, "password": PASSWORD})
    assert "redis-py" in str(err.value) and "python3-redis" in str(err.value) and PASSWORD not in str(err.value)


def test_restores_keep_private_copies_and_the_retention_removes_the_older(server, tmp_path, runner):
    result = run_dump(spec(server, tmp_path), runner=runner())
    when = [datetime.datetime(2026, 12, day, 12, 0, tzinfo=datetime.timezone.utc) for day in (2, 3)]
    first = run_restore(spec(server, tmp_path, backup=result["path"], confirm=True), runner=runner(), when=when[0])
    second = run_restore(spec(server, tmp_path, backup=result["path"], confirm=True, safety_copy_keep=1),
                         runner=runner(), when=when[1])
    assert first["safety_copy"] == os.path.join(server.data, "pre-restore-20261202_120000")
    assert stat.S_IMODE(os.stat(second["safety_copy"]).st_mode) == 0o700
    assert [item["path"] for item in second["safety_copies"]] == [second["safety_copy"]]
    assert [item["path"] for item in second["safety_copies_removed"]] == [first["safety_copy"]]
    assert not os.path.exists(first["safety_copy"]) and second["safety_copies"][0]["kind"] == "directory"
