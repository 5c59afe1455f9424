# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rows deleted by mistake (scenario ``accidental_deletion``): what to copy back from a side database, decided
from the two databases' table metadata alone, before anything is read or written.

A backup restored beside production (``restore_target: staging``) holds the deleted rows. Copying back only
the rows production lacks, matched by primary key, brings them back without losing a write made since: a row
production has is never overwritten or deleted. This module is the decision (which tables, in which order,
what is refused and why); the engine (``Engine.copy_missing_rows``, PostgreSQL today) does the copying.

Table metadata, per ``schema.table``::

    {"quoted": "public.orders",                      # the quoted name the SQL uses
     "columns": [{"name", "type", "generated", "identity", "sequence"}, ...],   # in table order
     "key": ["id"] or None,                          # the primary key's columns, in key order
     "references": ["public.customers", ...]}        # tables its foreign keys point to
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError

DEFAULT_SCHEMA = "public"


def table_name(name):
    """``schema.table`` for a name given with or without its schema (``orders`` is ``public.orders``)."""
    name = (name or "").strip()
    if not name:
        raise LifeboatError("an empty table name was given")
    return name if "." in name else "%s.%s" % (DEFAULT_SCHEMA, name)


def _columns(meta):
    """``{name: type}`` of the columns a copy writes (generated columns are computed by the server)."""
    return dict((c["name"], c["type"]) for c in meta["columns"] if not c.get("generated"))


def column_problems(table, side_meta, production_meta, side_db, production_db):
    """How the column sets of ``table`` differ between the side and production databases, as one sentence or None."""
    side, prod = _columns(side_meta), _columns(production_meta)
    parts = []
    only_side = sorted(set(side) - set(prod))
    only_prod = sorted(set(prod) - set(side))
    if only_side:
        parts.append("only in %s: %s" % (side_db, ", ".join("%s (%s)" % (c, side[c]) for c in only_side)))
    if only_prod:
        parts.append("only in %s: %s" % (production_db, ", ".join("%s (%s)" % (c, prod[c]) for c in only_prod)))
    for name in sorted(set(side) & set(prod)):
        if side[name] != prod[name]:
            parts.append("%s is %s in %s and %s in %s" % (name, side[name], side_db, prod[name], production_db))
    if not parts:
        return None
    return "table %s: the columns differ (%s)" % (table, "; ".join(parts))


def dependency_order(tables, metadata):
    """``tables`` with every table after the tables it references (parents first, so a copied child finds its
    copied parent); ties and cycles keep the given order."""
    chosen = list(tables)
    placed, order = set(), []
    remaining = list(chosen)
    while remaining:
        for table in remaining:
            parents = [p for p in metadata[table].get("references") or [] if p in chosen and p != table]
            if all(p in placed for p in parents):
                break
        else:
            table = remaining[0]  # a cycle: its order is the given one
        remaining.remove(table)
        placed.add(table)
        order.append(table)
    return order


def plan(side, production, side_db, production_db, tables=None):
    """What to copy, or a LifeboatError naming every refusal (then nothing is read or written).

    ``side`` and ``production``: ``{table: metadata}`` of the two databases. ``tables``: the tables to copy
    (``schema.table`` or ``table`` in ``public``); None or empty means every table of the side database that
    production also has. Refused: a side database that is production, a table missing on either side, a table
    without a primary key or whose primary keys differ, a table whose column sets differ.

    Returns ``{"tables": [...in copy order], "skipped": {table: reason}}``.
    """
    if side_db == production_db:
        raise LifeboatError("the side database %s is the production database: copy from the database a backup "
                            "was restored into (restore_target: staging gives %s_staging); nothing was copied"
                            % (side_db, production_db))
    skipped = {}
    if tables:
        wanted = []
        for name in tables:
            name = table_name(name)
            if name not in wanted:
                wanted.append(name)
    else:
        wanted = sorted(side)
        for name in sorted(set(side) - set(production)):
            skipped[name] = "not in the production database %s" % production_db
        wanted = [name for name in wanted if name not in skipped]
    problems = []
    for name in wanted:
        if name not in side:
            problems.append("table %s is not in the side database %s" % (name, side_db))
            continue
        if name not in production:
            problems.append("table %s is missing in the production database %s" % (name, production_db))
            continue
        key, side_key = production[name].get("key"), side[name].get("key")
        if not key:
            problems.append("table %s has no primary key in %s: its rows cannot be matched (name the tables to "
                            "copy without it)" % (name, production_db))
            continue
        if side_key != key:
            problems.append("table %s: the primary key is (%s) in %s and (%s) in %s" % (
                name, ", ".join(side_key or []) or "none", side_db, ", ".join(key), production_db))
            continue
        differ = column_problems(name, side[name], production[name], side_db, production_db)
        if differ:
            problems.append(differ)
    if problems:
        raise LifeboatError("copying the missing rows from %s into %s refused, nothing was copied: %s" % (
            side_db, production_db, "; ".join(problems)))
    if not wanted:
        raise LifeboatError("the side database %s has no table the production database %s also has; nothing "
                            "was copied" % (side_db, production_db))
    return {"tables": dependency_order(wanted, production), "skipped": skipped}


def copy_columns(meta):
    """The columns a copy reads and writes: every column but the generated ones, in production's order."""
    return [c["name"] for c in meta["columns"] if not c.get("generated")]


def sequences(meta):
    """``[(column, sequence)]``: the serial and identity columns whose sequence the copy may have to advance."""
    return [(c["name"], c["sequence"]) for c in meta["columns"] if c.get("sequence") and not c.get("generated")]


def summary(tables, check_mode):
    """The result's totals from ``{table: {"rows_in_side", "rows_missing", "rows_copied", ...}}``."""
    missing = sum(t["rows_missing"] for t in tables.values())
    copied = sum(t["rows_copied"] for t in tables.values())
    if check_mode:
        return "%d row(s) missing in %d table(s) would be copied back (check mode: nothing changed)" % (
            missing, len([t for t in tables.values() if t["rows_missing"]]))
    kept = sum(t["rows_conflicting"] for t in tables.values())
    text = "%d of %d missing row(s) copied back" % (copied, missing)
    if kept:
        text += "; %d not copied because production has another row with the same unique value" % kept
    return text
