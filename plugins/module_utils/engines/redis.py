# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Redis: consistent RDB snapshots (and the AOF where it is on), restored for either.

Backup: ``BGSAVE``, wait until ``LASTSAVE`` moves past the request, then copy
the RDB (Redis renames a finished snapshot into place, so an open file is
always whole); with AOF on, the append-only directory too. Both go into one
tar. What the backup holds (keys per database, a sample of values as sha256 of
``DUMP``) is read by loading it into a scratch ``redis-server`` that listens
only on a private socket: that is also the proof that it loads.

Restore: stop the unit, move the current files aside, place the RDB both as
dump.rdb and as the base of a fresh AOF directory (Redis 7 ignores a lone RDB
when AOF is on and would start empty), or the backup's AOF directory, start,
and compare keys and samples with the metadata.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import hmac
import os
import shutil
import subprocess
import tempfile
import time
from inspect import signature

from ansible_collections.lifeboat.dr.plugins.module_utils import safety as safety_copies
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils.engines import redis_replication as replication
from ansible_collections.lifeboat.dr.plugins.module_utils.engines.base import HASH_MODULUS, Engine

try:  # redis-py: Debian's python3-redis on hosts (4.3 on bookworm), PyPI's redis on the controller
    import redis as redis_py
except ImportError:  # the other engines work without it; this one says what is missing when it is used
    redis_py = None

# Debian packages a host needs for this engine (redis-server: the scratch instance that loads and checks a
# snapshot; python3-redis: the client library).
HOST_PACKAGES = ("redis-server", "python3-redis")

SAMPLE_SIZE = 20
RDB_NAME = "dump.rdb"
AOF_DIR = "appendonlydir"
TIMEOUT = 30  # seconds, for connecting and for each reply

# The code of the server's error reply, for redis-py versions that drop it from the message (before 5.x
# exceptions had no ``status_code``): WRONGPASS or NOAUTH says more than the text alone.
_AUTH_CODES = (("invalid username-password pair", "WRONGPASS"), ("invalid password", "ERR"),
               ("authentication required", "NOAUTH"))


class RedisError(LifeboatError):
    pass


class RedisAuthError(RedisError):
    """The instance answers but refuses the credentials."""


def _reply_text(exc):
    """The server's error reply as Redis sent it (with its code), or the library's message."""
    text = str(exc).strip() or type(exc).__name__
    code = getattr(exc, "status_code", None)
    if not code and _refused_credentials(exc):
        code = next((known for start, known in _AUTH_CODES if text.lower().startswith(start)), None)
    return "%s %s" % (code, text) if code and not text.startswith(code) else text


def _refused_credentials(exc):
    """redis-py 5+ raises AuthenticationError; 4.3 a plain ResponseError for WRONGPASS."""
    return isinstance(exc, redis_py.exceptions.AuthenticationError) or (
        isinstance(exc, redis_py.exceptions.ResponseError) and str(exc).split(" ", 1)[0] in ("WRONGPASS", "NOAUTH"))


def _failure(where, command, exc):
    """A RedisError naming the instance, what was asked and why it failed (never the password)."""
    errors = redis_py.exceptions
    if _refused_credentials(exc):  # AuthenticationError is a ConnectionError: test it first
        cause = "authentication failed: %s" % _reply_text(exc)
    elif isinstance(exc, errors.BusyLoadingError):
        cause = "%s refused, the server is still loading its data: %s" % (command, _reply_text(exc))
    elif isinstance(exc, errors.TimeoutError):
        cause = "no answer to %s within %d s: %s" % (command, TIMEOUT, exc)
    elif isinstance(exc, errors.ConnectionError):
        connecting = command == "PING" or "connecting to" in str(exc)  # redis-py: "Error 111 connecting to ..."
        cause = "cannot connect: %s" % exc if connecting else "connection lost during %s: %s" % (command, exc)
    elif isinstance(exc, getattr(errors, "NoPermissionError", ())):
        cause = "%s not permitted for this user: %s" % (command, _reply_text(exc))
    else:
        cause = "%s failed: %s" % (command, _reply_text(exc))
    kind = RedisAuthError if _refused_credentials(exc) else RedisError
    return kind("redis at %s: %s" % (where, cause))


class Client:
    """One database of a Redis instance through redis-py: binary-safe replies, errors as RedisError.

    The password goes to the server in AUTH over the connection, nowhere else. ``db(index)`` is a client
    of another database (redis-py selects it on connecting, also after a reconnect).
    """

    def __init__(self, host="127.0.0.1", port=6379, password=None, user=None, unix_socket=None, db=0):
        if redis_py is None:
            raise RedisError("the redis engine needs redis-py on the host (Debian: python3-redis; PyPI: redis)")
        self.where = unix_socket or "%s:%s" % (host, port)
        self._args = dict(host=host, port=port, password=password, user=user, unix_socket=unix_socket)
        options = dict(db=int(db), password=password or None, username=(user or None) if password else None,
                       socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT, decode_responses=False, retry=None)
        if "protocol" in signature(redis_py.Redis.__init__).parameters:
            options["protocol"] = 2  # newer redis-py speaks RESP3 by default (HELLO, other reply shapes)
        if unix_socket:
            options["unix_socket_path"] = unix_socket
        else:
            options.update(host=host, port=int(port))
        self.redis = redis_py.Redis(**options)
        self.redis.set_response_callback("LASTSAVE", int)  # redis-py makes a local datetime of it

    def call(self, command, *args, **kwargs):
        """``self.redis.<command>(*args, **kwargs)``, with redis-py's errors turned into RedisError."""
        try:
            return getattr(self.redis, command)(*args, **kwargs)
        except redis_py.exceptions.RedisError as exc:
            raise _failure(self.where, command.replace("_", " ").upper(), exc)

    def ping(self):
        return self.call("ping")

    def db(self, index):
        return Client(db=index, **self._args)

    def info(self, section):
        return self.call("info", section)

    def config(self, name):
        reply = self.call("config_get", name)
        value = reply.get(name, reply.get(name.encode()))
        return value.decode() if isinstance(value, bytes) else value

    def close(self):
        self.redis.connection_pool.disconnect()


def connect(conn):
    """A client of database 0 that has connected (and authenticated): raises RedisError otherwise."""
    client = Client(host=conn.get("host") or "127.0.0.1", port=conn.get("port") or 6379,
                    password=conn.get("password"), user=conn.get("user"), unix_socket=conn.get("unix_socket"))
    try:
        client.ping()
    except RedisError:
        client.close()
        raise
    return client


def keyspace(client):
    """``{db index: key count}`` for databases with keys."""
    return dict((name[2:], int(value["keys"])) for name, value in client.info("keyspace").items()
                if name.startswith("db") and isinstance(value, dict))


def each_key(client, count):
    """Every key of the client's database (bytes), in SCAN's batches."""
    cursor = 0
    while True:
        cursor, keys = client.call("scan", cursor, count=count)
        yield keys
        if not cursor:
            break


def loaded(client):
    """The server has finished loading its data (INFO persistence ``loading:0``)."""
    return str(client.info("persistence").get("loading")) == "0"


def sample_name(key):
    """The key as metadata names it (JSON text), or None for a name that is not UTF-8: a sample must
    name its key exactly, and every key still counts and is fingerprinted."""
    try:
        return key.decode("utf-8")
    except UnicodeDecodeError:
        return None


def samples(client, dbs):
    """The first keys SCAN returns in each database, with sha256 of their DUMP."""
    found = {}
    for db in sorted(dbs):
        picked = {}
        reader = client.db(db)
        try:
            for keys in each_key(reader, 100):
                for key in sorted(keys):
                    name = sample_name(key)
                    if name is not None and len(picked) < SAMPLE_SIZE:
                        value = reader.call("dump", key)
                        if value is not None:  # expired or deleted since SCAN saw it
                            picked[name] = hashlib.sha256(value).hexdigest()
                if len(picked) >= SAMPLE_SIZE:
                    break
        finally:
            reader.close()
        found[db] = picked
    return found


def sample_values(client, recorded):
    """sha256 of DUMP for exactly the keys in ``recorded`` ({db: {key: hash}}); missing keys map to None."""
    found = {}
    for db, keys in sorted(recorded.items()):
        reader = client.db(db)
        try:
            found[db] = {}
            for key in keys:
                value = reader.call("dump", key.encode("utf-8", "surrogateescape"))
                found[db][key] = hashlib.sha256(value).hexdigest() if value is not None else None
        finally:
            reader.close()
    return found


def snapshot_settings(client):
    return {"dir": client.config("dir"), "dbfilename": client.config("dbfilename"),
            "appendonly": client.config("appendonly") == "yes",
            "appenddirname": client.config("appenddirname") or AOF_DIR,
            "appendfilename": client.config("appendfilename") or "appendonly.aof"}


def bgsave(client, timeout=3600):
    """Start a snapshot that begins after this call and wait until it is on disk."""
    before = client.call("lastsave")
    while int(time.time()) <= before:  # LASTSAVE has one-second resolution
        time.sleep(0.05)
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.call("bgsave")
            break
        except RedisError as exc:
            if "in progress" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.2)  # someone else's save: ours must start after it
    while client.call("lastsave") <= before:
        if time.monotonic() > deadline:
            raise RedisError("redis at %s: BGSAVE did not finish within %d s" % (client.where, timeout))
        time.sleep(0.1)
    status = client.info("persistence").get("rdb_last_bgsave_status")
    if status != "ok":
        raise RedisError("redis at %s: BGSAVE failed (rdb_last_bgsave_status:%s); see the Redis log"
                         % (client.where, status))


def copy_aof(settings, dest):
    """Copy the AOF directory; retried if a rewrite replaced the manifest meanwhile."""
    source = os.path.join(settings["dir"], settings["appenddirname"])
    manifest = os.path.join(source, settings["appendfilename"] + ".manifest")
    for dummy in range(5):
        with open(manifest, "rb") as handle:
            listed = handle.read()
        shutil.rmtree(dest, ignore_errors=True)
        os.makedirs(dest)
        names = [line.split()[1].decode() for line in listed.splitlines() if line.startswith(b"file ")]
        try:
            for name in names:
                shutil.copyfile(os.path.join(source, name), os.path.join(dest, name))
        except FileNotFoundError:
            continue
        with open(manifest, "rb") as handle:
            if handle.read() == listed:
                with open(os.path.join(dest, os.path.basename(manifest)), "wb") as out:
                    out.write(listed)
                return names
    raise RedisError("the AOF kept being rewritten while it was copied; try again")


class ScratchServer:
    """A throwaway redis-server on a private unix socket that loads a copy of the data."""

    def __init__(self, runner, data_dir, appendonly=False, settings=None):
        self.sock_dir = tempfile.mkdtemp(prefix="lifeboat-redis-")  # short path: sockets allow 107 bytes
        self.sock_path = os.path.join(self.sock_dir, "scratch.sock")
        settings = settings or {}
        argv = [runner.binary("redis-server"), "--port", "0", "--unixsocket", self.sock_path, "--unixsocketperm", "700",
                "--dir", data_dir, "--dbfilename", RDB_NAME, "--save", "", "--daemonize", "no",
                "--appendonly", "yes" if appendonly else "no", "--logfile", os.path.join(data_dir, "scratch.log")]
        if appendonly:
            argv += ["--appenddirname", settings.get("appenddirname", AOF_DIR),
                     "--appendfilename", settings.get("appendfilename", "appendonly.aof")]
        runner.record([argv])
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.log = os.path.join(data_dir, "scratch.log")
        self.client = None
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                shutil.rmtree(self.sock_dir, ignore_errors=True)
                raise RedisError("the backup does not load into redis-server: %s" % self._log_tail())
            if os.path.exists(self.sock_path):
                client = Client(unix_socket=self.sock_path)
                try:
                    if loaded(client):
                        self.client = client
                        return
                except RedisError:
                    pass
                client.close()
            time.sleep(0.1)
        self.close()
        raise RedisError("scratch redis-server did not finish loading within 600 s: %s" % self._log_tail())

    def _log_tail(self):
        try:
            with open(self.log) as handle:
                return " | ".join(handle.read().strip().splitlines()[-3:])
        except OSError:
            return "no log"

    def content(self, recorded=None):
        """Keys per database and value samples: freshly picked, or re-read for the ``recorded`` sample."""
        counts = keyspace(self.client)
        picked = sample_values(self.client, recorded) if recorded is not None else samples(self.client, counts)
        return {"keys": counts, "samples": picked}

    def close(self):
        if self.client:
            self.client.close()
        self.proc.terminate()
        self.proc.wait()
        shutil.rmtree(self.sock_dir, ignore_errors=True)


def inspect(runner, unpacked, settings=None, expected=None):
    """Load the unpacked backup (RDB, and AOF when present) into scratch servers; return its content.

    With ``expected`` (the metadata's record) the recorded sample keys are re-read rather than re-picked.
    """
    result = {}
    parts = [("rdb", False)] + ([("aof", True)] if os.path.isdir(os.path.join(unpacked, AOF_DIR)) else [])
    for part, appendonly in parts:
        data_dir = tempfile.mkdtemp(prefix="scratch-", dir=unpacked)
        if appendonly:
            shutil.copytree(os.path.join(unpacked, AOF_DIR), os.path.join(data_dir, (settings or {}).get(
                "appenddirname", AOF_DIR)))
        else:
            shutil.copyfile(os.path.join(unpacked, RDB_NAME), os.path.join(data_dir, RDB_NAME))
        server = ScratchServer(runner, data_dir, appendonly, settings)
        try:
            recorded = (expected or {}).get(part, {}).get("samples") if expected else None
            result[part] = server.content(recorded)
        finally:
            server.close()
            shutil.rmtree(data_dir, ignore_errors=True)
    return result


def dump(runner, conn, sink, work_dir, tail):
    """Snapshot the instance into ``sink`` (a tar of dump.rdb and appendonlydir/); return content for metadata."""
    client = connect(conn)
    try:
        settings = snapshot_settings(client)
        bgsave(client)
        stage = os.path.join(work_dir, "stage")
        os.makedirs(stage)
        shutil.copyfile(os.path.join(settings["dir"], settings["dbfilename"]), os.path.join(stage, RDB_NAME))
        if settings["appendonly"]:
            copy_aof(settings, os.path.join(stage, AOF_DIR))
    finally:
        client.close()
    content = inspect(runner, stage, settings)
    tar = [runner.binary("tar"), "--create", "--file=-", "--directory", stage, RDB_NAME] + (
        [AOF_DIR] if settings["appendonly"] else [])
    runner.pipeline([tar] + tail, sink=sink.write)
    return {"redis": dict(content, settings=settings)}


def unpack(runner, head, work_dir):
    target = tempfile.mkdtemp(prefix=".lifeboat-redis-", dir=work_dir)
    runner.pipeline(head + [[runner.binary("tar"), "--extract", "--file=-", "--directory", target]])
    return target


def difference(found, want):
    """What differs between content read now and the metadata's record, in words."""
    if found["keys"] != want.get("keys"):
        return "keys %s, expected %s" % (found["keys"], want.get("keys"))
    changed = ["db%s %s" % (db, key) for db, picked in sorted((want.get("samples") or {}).items())
               for key in sorted(picked) if found["samples"].get(db, {}).get(key) != picked[key]]
    return "same keys per database, but sampled values differ: %s" % (", ".join(changed[:5]) or "the sample itself")


def check_archive(runner, head, meta, work_dir):
    """Unpack and load the backup; its keys and samples must be those the metadata records."""
    unpacked = unpack(runner, head, work_dir)
    try:
        expected = meta["content"]["redis"]
        found = inspect(runner, unpacked, expected.get("settings"), expected)
        for part, content in found.items():
            want = expected.get(part, {})
            if content != {"keys": want.get("keys"), "samples": want.get("samples")}:
                raise RedisError("the %s in the backup does not hold what its metadata records (%s)"
                                 % (part.upper(), difference(content, want)))
    finally:
        shutil.rmtree(unpacked, ignore_errors=True)


def instance_has_data(conn, settings_hint=None):
    """True when the instance answers with keys, or is down but has data files on disk."""
    try:
        client = connect(conn)
    except RedisError:
        hint = settings_hint or {}
        directory = hint.get("dir", "/var/lib/redis")
        return any(os.path.exists(os.path.join(directory, name)) for name in (
            hint.get("dbfilename", RDB_NAME), hint.get("appenddirname", AOF_DIR)))
    try:
        return bool(keyspace(client))
    finally:
        client.close()


def restore(runner, head, conn, meta, unit, kind, stamp, work_dir, wait=600):
    """Replace the instance's data with the backup's ``kind`` part (``rdb`` or ``aof``); return what was kept."""
    expected = meta["content"]["redis"]
    if kind == "aof" and "aof" not in expected:
        raise RedisError("this backup has no AOF (the instance ran without appendonly); restore type rdb")
    try:
        client = connect(conn)
        try:
            settings = snapshot_settings(client)
        finally:
            client.close()
    except RedisAuthError as exc:  # up, but it would refuse the check after the restart: change nothing
        raise RedisError("%s; nothing was changed" % exc)
    except RedisError:
        settings = expected["settings"]  # the instance is down: use what it looked like at backup time
    unpacked = unpack(runner, head, work_dir)
    systemctl = runner.binary("systemctl")
    data_dir = settings["dir"]
    owner = os.stat(data_dir)
    kept = safety_copies.unique_path(data_dir, "pre-restore-%s" % stamp)
    try:
        runner.run([systemctl, "stop", unit])
        os.makedirs(kept, 0o700)
        os.chmod(kept, 0o700)  # the moved files keep their own modes inside; nobody else may enter
        for name in (settings["dbfilename"], settings["appenddirname"]):
            if os.path.exists(os.path.join(data_dir, name)):
                os.rename(os.path.join(data_dir, name), os.path.join(kept, name))
        # Both files, so the restart loads the chosen data whether the config file turns AOF on or
        # off (the runtime setting may differ from the file). A lone RDB with AOF on would start empty.
        shutil.copyfile(os.path.join(unpacked, RDB_NAME), os.path.join(data_dir, settings["dbfilename"]))
        aof_target = os.path.join(data_dir, settings["appenddirname"])
        if kind == "aof":
            shutil.copytree(os.path.join(unpacked, AOF_DIR), aof_target)
        else:
            os.makedirs(aof_target)
            base = settings["appendfilename"] + ".1.base.rdb"
            shutil.copyfile(os.path.join(unpacked, RDB_NAME), os.path.join(aof_target, base))
            with open(os.path.join(aof_target, settings["appendfilename"] + ".manifest"), "w") as handle:
                handle.write("file %s seq 1 type b\n" % base)
        for top, dirs, files in os.walk(data_dir):
            if top.startswith(kept):
                continue
            for name in dirs + files:
                os.chown(os.path.join(top, name), owner.st_uid, owner.st_gid)
        runner.run([systemctl, "start", unit])
    finally:
        shutil.rmtree(unpacked, ignore_errors=True)
    deadline = time.monotonic() + wait
    while True:
        try:
            client = connect(conn)
            if loaded(client):
                break
            client.close()
            last = "still loading"
        except RedisError as exc:
            last = str(exc)
        if time.monotonic() > deadline:
            raise RedisError("Redis did not come back within %d s after the restore (%s); previous data kept in %s"
                             % (wait, last, kept))
        time.sleep(0.2)
    want = expected.get(kind) or expected["rdb"]
    try:
        found = {"keys": keyspace(client), "samples": sample_values(client, want["samples"])}
    finally:
        client.close()
    if found != {"keys": want["keys"], "samples": want["samples"]}:
        raise RedisError("Redis restarted but does not hold what the backup's metadata records (%s);"
                         " previous data kept in %s" % (difference(found, want), kept))
    return kept, found


DEFAULT_DIR = "/var/lib/redis"  # Debian's, where the safety copies are looked for while the instance is down
SAFETY_PATTERN = r"^pre-restore-%s$" % safety_copies.STAMP_PATTERN


def data_dir(conn):
    """The instance's data directory (CONFIG GET dir), or Debian's default while it does not answer."""
    try:
        client = connect(conn)
    except RedisAuthError:
        raise
    except RedisError:
        return DEFAULT_DIR
    try:
        return client.config("dir")
    finally:
        client.close()


def safety_dirs(directory):
    """The ``pre-restore-<stamp>`` directories a restore moved the previous files into."""
    return [item for item in safety_copies.matching_files(directory, SAFETY_PATTERN, "directory")
            if os.path.isdir(item["path"])]


def fingerprint(conn):
    """Per database: key count and an order-independent hash of every key with its serialized value."""
    client = connect(conn)
    tables = {}
    try:
        for db in sorted(keyspace(client)):
            reader = client.db(db)
            count, total = 0, 0
            try:
                for keys in each_key(reader, 1000):
                    for key in keys:
                        value = reader.call("dump", key) or b""
                        count += 1
                        total += int.from_bytes(hashlib.sha256(key + b"\0" + value).digest()[:8], "big")
            finally:
                reader.close()
            tables["db" + db] = {"rows": count, "hash": "%x" % (total % HASH_MODULUS)}
    finally:
        client.close()
    return tables


def set_password(conn, user, password, check_mode=False):
    """``requirepass`` (the default user's password) set and written to the server's configuration file
    (CONFIG REWRITE), so a restart keeps it. Clients already connected stay authenticated; new ones need it."""
    if (user or "default") != "default":
        raise RedisError("Redis: only the default user's password (requirepass) is rotated, not ACL user %s" % user)
    client = connect(conn)
    try:
        if not (client.info("server") or {}).get("config_file"):
            raise RedisError("Redis at %s runs without a configuration file: a new requirepass would be lost at its next "
                             "restart, so it was not changed" % client.where)
        if hmac.compare_digest((client.config("requirepass") or "").encode("utf-8"), password.encode("utf-8")):
            if not check_mode:  # an earlier run may have set it and failed to write the file: written again
                client.call("config_rewrite")
            return {"changed": False, "accounts": ["default"], "notes": []}
        replicas = int((client.info("replication") or {}).get("connected_slaves") or 0)
        if not check_mode:
            client.call("config_set", "requirepass", password)
            client.call("config_rewrite")
    finally:
        client.close()
    notes = ["%d replica(s) follow this server: give them the new password as masterauth" % replicas] if replicas else []
    return {"changed": True, "accounts": ["default"], "notes": notes}


class Redis(Engine):
    """The contract (engines/base.py) over the functions above; ``spec["redis"]`` holds the connection."""

    name = "redis"
    host_packages = HOST_PACKAGES
    server_packages = ("redis-server",)
    server_setup = "server_redis"
    server_version_parts = 1
    target_kind = "instance"
    item_noun = "keys"
    always_safety_copy = True  # the data files are moved aside, never deleted
    count_unit = "counts"
    scratch_teardown = "flush_redis"

    def extension(self, fmt):
        return "redis.tar"

    def dump(self, runner, spec, sink, work_dir, tail):
        return dump(runner, spec["redis"], sink, work_dir, tail)

    def check_archive(self, runner, head, meta, path):
        check_archive(runner, head, meta, os.path.dirname(path))

    def describe_target(self, spec):
        return "redis unit %s" % spec.get("redis_unit", "redis-server")

    def target_exists(self, runner, spec, target, meta):
        return instance_has_data(spec["redis"], meta["content"]["redis"].get("settings"))

    def restore(self, runner, spec, head, meta, target, job):
        kept, found = restore(runner, head, spec["redis"], meta, spec.get("redis_unit", "redis-server"),
                              spec.get("redis_restore_type", "rdb"), job.stamp, job.work_dir)
        return {"safety_copy": kept, "restored": found}

    def safety_copies(self, runner, spec, target):
        return safety_dirs(data_dir(spec["redis"]))

    def drop_safety_copy(self, runner, spec, copy):
        safety_copies.drop_file(copy, [data_dir(spec["redis"])], SAFETY_PATTERN)

    def expected_counts(self, content):
        part = content["redis"].get("rdb") or content["redis"].get("aof") or {}
        return {db: int(keys) for db, keys in part.get("keys", {}).items()}

    def connect(self, runner, spec):
        client = connect(spec["redis"])
        try:
            return client.ping() is True, "PING"
        finally:
            client.close()

    def live_counts(self, runner, spec):
        return {name[2:]: entry["rows"] for name, entry in fingerprint(spec["redis"]).items()}

    def fingerprint(self, runner, spec):
        return fingerprint(spec["redis"])

    def set_password(self, runner, spec, user, password, check_mode=False):
        return set_password(spec["redis"], user, password, check_mode)

    # Replication (redis_replication.py): the failover playbook's steps on one instance.
    def replication_status(self, runner, spec):
        return replication.status(runner, spec)

    def fence(self, runner, spec, check_mode=False):
        return replication.fence(runner, spec, spec["fence_record"], check_mode)

    def promote(self, runner, spec, check_mode=False):
        return replication.promote(runner, spec, check_mode)

    def probe_write(self, runner, spec, check_mode=False):
        return replication.probe_write(runner, spec, check_mode)


ENGINE = Redis()
