# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Content fingerprints: row count and an order-independent hash per table.

Two databases of the same engine hold the same data exactly when their
fingerprints match, whatever order rows are stored in. Memory stays constant:
the per-table hash is a sum of per-row hash prefixes, not a sorted list.
How each engine reads its rows lives with the engine (``Engine.fingerprint``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib

from ansible_collections.lifeboat.dr.plugins.module_utils import engines


def of_service(runner, spec):
    """``{table: {"rows", "hash"}}`` of the service ``spec`` describes (a spec as module_args builds it)."""
    return engines.get(spec["engine"]).fingerprint(runner, spec)


def combine(tables):
    """One hash over every table's fingerprint."""
    digest = hashlib.sha256()
    for name in sorted(tables):
        digest.update(("%s:%d:%s;" % (name, tables[name]["rows"], tables[name]["hash"])).encode("utf-8"))
    return "sha256:" + digest.hexdigest()
