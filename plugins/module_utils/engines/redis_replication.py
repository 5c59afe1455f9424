# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Redis's replication capabilities: status, fence, promote, probe a write.

The Redis engine (``redis.py``) hands these calls here. What to do is decided in
``module_utils/failover/redis_decision.py``; these functions observe one Redis
instance (Debian's unit ``redis-server``, ``/etc/redis/redis.conf``) and carry out
one step.

Fencing refuses writes at once (``min-replicas-to-write`` above any number of
replicas the master can have: Redis answers NOREPLICAS), reads the master's last
offset so that the replica can be waited for, then stops the unit and masks it.
The fence record lives under ``/var/lib/lifeboat``, not in Redis's data
directory, which a restore moves aside.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import time
import uuid

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils.engines.postgresql_replication import unit_state
from ansible_collections.lifeboat.dr.plugins.module_utils.failover import fence as fence_records
from ansible_collections.lifeboat.dr.plugins.module_utils.failover import redis_info

# More replicas than a master can have: every write is refused with NOREPLICAS.
FENCE_MIN_REPLICAS = 1000000
PROBE_PREFIX = "lifeboat:probe:"
_REPLICAOF = re.compile(r"^\s*(replicaof|slaveof)\s", re.IGNORECASE)


def layout(spec):
    """``{"unit", "config_file", "fence_file"}`` of the instance of ``spec``."""
    unit = spec.get("unit") or "redis-server.service"
    if not unit.endswith(".service"):
        unit += ".service"
    return {"unit": unit, "config_file": spec.get("config_file") or "/etc/redis/redis.conf",
            "fence_file": spec.get("fence_file") or "/var/lib/lifeboat/fence-%s.json" % unit[:-len(".service")]}


def read_fence(spec):
    """The fence record on this host, or None. An unreadable record raises (the caller fails closed)."""
    return fence_records.read_record_file(layout(spec)["fence_file"])


def _client_or_none(spec, details):
    """A connected client, or None when nothing answers (``details["error"]`` says why). A refused password or a
    missing client library raises: Redis may well run, and a failover must not take it for down."""
    from ansible_collections.lifeboat.dr.plugins.module_utils.engines.redis import RedisAuthError, redis_py
    if redis_py is None:
        raise LifeboatError("the redis engine needs redis-py on the host (Debian: python3-redis; PyPI: redis)")
    try:
        return _client(spec)
    except RedisAuthError:
        raise
    except LifeboatError as exc:
        details["error"] = str(exc)
        return None


def _client(spec):
    # Imported here: redis.py imports this module for its replication calls.
    from ansible_collections.lifeboat.dr.plugins.module_utils.engines.redis import connect
    return connect(spec["redis"])


def _info(client):
    """``INFO replication`` as text, whatever redis-py makes of it."""
    reply = client.call("execute_command", "INFO", "replication")
    if isinstance(reply, bytes):
        return reply.decode("utf-8", "replace")
    if isinstance(reply, dict):  # a redis-py that parses INFO: back to its lines
        return "\n".join("%s:%s" % (k, v) for k, v in reply.items() if not isinstance(v, dict)) + "\n" + "\n".join(
            "%s:%s" % (k, ",".join("%s=%s" % i for i in v.items())) for k, v in reply.items() if isinstance(v, dict))
    return str(reply)


def status(runner, spec):
    """``{"facts": {"info", "fence", "running"}, "details": {...}}``; ``info`` is None when Redis does not answer."""
    paths = layout(spec)
    facts = {"fence": read_fence(spec), "info": None, "running": False}
    active, masked = unit_state(runner, paths["unit"])
    details = {"unit": paths["unit"], "unit_active": active, "masked": masked, "min_replicas_to_write": None,
               "error": None}
    client = _client_or_none(spec, details)
    if client is None:
        return {"facts": facts, "details": details}
    try:
        facts["info"] = redis_info.parse_info_replication(_info(client))
        facts["running"] = True
        details["min_replicas_to_write"] = int(client.config("min-replicas-to-write") or 0)
    finally:
        client.close()
    return {"facts": facts, "details": details}


def fence(runner, spec, record, check_mode=False):
    """Refuse writes, read the last offset, stop and mask the unit, prove that nothing answers. Idempotent.

    ``{"changed", "record", "unit", "write_refused", "final_offset"}``; ``write_refused`` is Redis's
    answer to the probe write after ``min-replicas-to-write`` (or why nothing answers when it was down).
    """
    paths = layout(spec)
    record = fence_records.applied(record) if record.get("state") == "pending" else fence_records.check_record(record)
    current = read_fence(spec)
    active, masked = unit_state(runner, paths["unit"])
    done = current is not None and current.get("state") == "applied" and masked and active != "active"
    if check_mode:
        return {"changed": not done, "record": current if done else record, "unit": paths["unit"],
                "write_refused": None, "final_offset": None}
    if done:
        return {"changed": False, "record": current, "unit": paths["unit"], "final_offset": None,
                "write_refused": probe_write(runner, spec)["error"]}
    bf.ensure_dir(os.path.dirname(paths["fence_file"]), 0o755)
    # The record first: whatever happens next, the next run (and status) sees this host fenced.
    bf.write_json_atomic(paths["fence_file"], record, mode=0o644)
    refused, final, seen = None, None, {}
    client = _client_or_none(spec, seen)
    if client is None:
        refused = "not running: %s" % seen["error"]
    else:
        try:
            client.call("execute_command", "CONFIG", "SET", "min-replicas-to-write", str(FENCE_MIN_REPLICAS))
            probe = probe_write(runner, spec)
            if probe["accepted"]:
                raise LifeboatError("SPLIT BRAIN: Redis accepted probe key %s after min-replicas-to-write" % probe["id"])
            refused = probe["error"]
            info = redis_info.parse_info_replication(_info(client))
            final = redis_info.offset(info)
        finally:
            client.close()
    runner.run(["systemctl", "stop", paths["unit"]])
    runner.run(["systemctl", "mask", paths["unit"]])
    active, masked = unit_state(runner, paths["unit"])
    if active == "active" or not masked:
        raise LifeboatError("%s is still running or not masked after fencing (ActiveState %s, masked %s)" % (
            paths["unit"], active, masked))
    after = probe_write(runner, spec)
    if after["accepted"]:
        raise LifeboatError("SPLIT BRAIN: the fenced Redis accepted probe key %s" % after["id"])
    return {"changed": True, "record": record, "unit": paths["unit"], "write_refused": refused or after["error"],
            "final_offset": final}


def promote(runner, spec, check_mode=False):
    """Wait until the replica has ``wait_offset`` (the fenced master's last offset), ``REPLICAOF NO ONE``,
    and comment out ``replicaof`` in the configuration file so that a restart keeps it the master."""
    paths = layout(spec)
    client = _client(spec)
    try:
        info = redis_info.parse_info_replication(_info(client))
        if info["role"] == "master":
            return {"changed": _forget_master(paths, check_mode), "promoted": False, "seconds": 0.0, "offset": None}
        if check_mode:
            return {"changed": True, "promoted": False, "seconds": 0.0, "offset": redis_info.offset(info)}
        started = time.monotonic()
        wanted = spec.get("wait_offset")
        deadline = started + int(spec.get("timeout") or 60)
        while wanted is not None and (redis_info.offset(info) or 0) < int(wanted):
            if time.monotonic() > deadline:
                raise LifeboatError("the replica's offset %s did not reach the old master's last offset %s within %s s" % (
                    redis_info.offset(info), wanted, spec.get("timeout") or 60))
            time.sleep(0.05)
            info = redis_info.parse_info_replication(_info(client))
        reached = redis_info.offset(info)
        client.call("execute_command", "REPLICAOF", "NO", "ONE")
        if redis_info.parse_info_replication(_info(client))["role"] != "master":
            raise LifeboatError("REPLICAOF NO ONE was accepted but the server still reports itself a replica")
        _forget_master(paths, False)
        return {"changed": True, "promoted": True, "seconds": round(time.monotonic() - started, 3), "offset": reached}
    finally:
        client.close()


def _forget_master(paths, check_mode):
    """Comment out replicaof/slaveof lines of the configuration file; True when there were any."""
    path = paths["config_file"]
    if not os.path.exists(path):
        return False
    with open(path) as handle:
        lines = handle.readlines()
    found = [i for i, line in enumerate(lines) if _REPLICAOF.match(line)]
    if not found or check_mode:
        return bool(found)
    for i in found:
        lines[i] = "# %s  # commented out by lifeboat failover (promoted %s)\n" % (
            lines[i].rstrip("\n"), time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    stat = os.stat(path)
    with bf.atomic_file(path, mode=stat.st_mode & 0o7777, uid=stat.st_uid, gid=stat.st_gid) as handle:
        handle.write("".join(lines).encode("utf-8"))
    return True


def probe_write(runner, spec, check_mode=False):
    """Write a key and read it back: ``{"accepted", "id", "error"}`` (the key expires after a day)."""
    if check_mode:
        return {"changed": False, "accepted": None, "id": None, "error": None}
    key = PROBE_PREFIX + uuid.uuid4().hex[:12]
    marker = spec.get("marker") or "lifeboat probe"
    try:
        client = _client(spec)
    except LifeboatError as exc:
        return {"changed": False, "accepted": False, "id": None, "error": str(exc)}
    try:
        try:
            client.call("set", key, marker, ex=86400)
        except LifeboatError as exc:
            return {"changed": False, "accepted": False, "id": None, "error": str(exc)}
        back = client.call("get", key)
    finally:
        client.close()
    if back is None or back.decode("utf-8", "replace") != marker:
        raise LifeboatError("key %s was written but did not read back" % key)
    return {"changed": True, "accepted": True, "id": key, "error": None}
