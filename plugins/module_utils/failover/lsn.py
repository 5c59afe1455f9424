# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL WAL positions: ``'16/B374D848'`` is 0x16 << 32 | 0xB374D848 bytes into the WAL."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError

MAX_LSN = (1 << 64) - 1
_LSN_RE = re.compile(r"^([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})$")


def parse_lsn(text):
    """The byte position of ``text`` (``X/Y``, hexadecimal, as pg_lsn prints it); None stays None."""
    if text is None:
        return None
    if isinstance(text, int) and not isinstance(text, bool) and 0 <= text <= MAX_LSN:
        return text
    match = _LSN_RE.match(text.strip()) if isinstance(text, str) else None
    if not match:
        raise LifeboatError("%r is not a WAL position (expected the X/Y form, e.g. 16/B374D848)" % (text,))
    return (int(match.group(1), 16) << 32) | int(match.group(2), 16)


def format_lsn(position):
    """The ``X/Y`` text of a byte position, as PostgreSQL prints it (upper case, no padding)."""
    if not isinstance(position, int) or isinstance(position, bool) or not 0 <= position <= MAX_LSN:
        raise LifeboatError("%r is not a WAL byte position" % (position,))
    return "%X/%X" % (position >> 32, position & 0xFFFFFFFF)


def lsn_diff(ahead, behind):
    """Bytes from ``behind`` to ``ahead`` (``pg_wal_lsn_diff``); negative when ``behind`` is ahead."""
    return parse_lsn(ahead) - parse_lsn(behind)


def human_bytes(count):
    """``1536`` -> ``'1536 bytes (1.5 KiB)'``: the exact figure first, then a readable one."""
    if count is None:
        return "unknown"
    size, unit = float(count), "bytes"
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            break
        size /= 1024
    return "%d bytes" % count if unit == "bytes" else "%d bytes (%.1f %s)" % (count, size, unit)
