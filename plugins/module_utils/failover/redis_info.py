# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``INFO replication`` as Redis 7 prints it, parsed into typed fields.

Numbers become ints; ``role`` is ``master`` or ``replica`` (Redis says ``slave``);
``slave0:ip=...,port=...,state=online,offset=50,lag=1`` lines become the ``replicas`` list.
A replica whose link is down reports ``master_last_io_seconds_ago:-1`` and
``master_link_down_since_seconds``; -1 stays -1 (Redis's "not applicable").
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError

_REPLICA_LINE = re.compile(r"^slave(\d+)$")
_INT = re.compile(r"^-?\d+$")


def _value(text):
    return int(text) if _INT.match(text) else text


def parse_info_replication(text):
    """``{field: value, ..., "role": "master"|"replica", "replicas": [{"ip", "port", "state", "offset", "lag"}]}``."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    fields, replicas = {}, []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if ":" not in line:
            raise LifeboatError("unexpected line in INFO replication: %r" % line[:80])
        key, value = line.split(":", 1)
        match = _REPLICA_LINE.match(key)
        if match:
            entry = dict((k, _value(v)) for k, v in (part.split("=", 1) for part in value.split(",") if "=" in part))
            entry["index"] = int(match.group(1))
            replicas.append(entry)
        else:
            fields[key] = _value(value)
    if fields.get("role") not in ("master", "slave"):
        raise LifeboatError("INFO replication has no role line (got %s)" % (", ".join(sorted(fields)) or "nothing"))
    fields["role"] = "replica" if fields["role"] == "slave" else "master"
    fields["replicas"] = sorted(replicas, key=lambda r: r["index"])
    return fields


def offset(info):
    """The replication offset a host has: a replica's ``slave_repl_offset``, a master's ``master_repl_offset``."""
    key = "slave_repl_offset" if info["role"] == "replica" else "master_repl_offset"
    value = info.get(key)
    return value if isinstance(value, int) and value >= 0 else None


def linked(info):
    """A replica whose link to its master is up and not in the middle of a full sync."""
    return info["role"] == "replica" and info.get("master_link_status") == "up" and \
        not info.get("master_sync_in_progress")
