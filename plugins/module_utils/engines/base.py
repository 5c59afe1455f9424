# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine contract: what the orchestration (dump, restore, verify, fingerprint) may ask of an engine.

Each engine module under ``engines/`` ends with one instance of a subclass of
:class:`Engine` (``ENGINE``), and ``engines/__init__.py`` lists it. The
orchestration never compares engine names: it asks the registry for the
engine and calls the methods below, or reads its properties.

Properties (class attributes):

``name``                 the ``engine`` value in inventories, module arguments and metadata
``host_packages``        Debian packages a host needs for it (the module's ``HOST_PACKAGES``)
``required_params``      module parameters it cannot work without (``required_if``)
``target_kind``          ``database`` (a name on a server), ``path`` (a file or directory) or
                         ``instance`` (the whole server: one dataset per instance)
``always_safety_copy``   the restore keeps the previous data whatever ``safety_copy`` says
``restore_reads_archive`` the restore into scratch space reads the whole archive before the target
                         is touched, so a separate read-through would read it twice
``count_unit``           what ``live_counts`` counts: ``tables``, or ``counts`` (keys, entries)
``item_noun``            what one counted item is, for reports: ``rows``, ``keys``, ``entries``
``point_in_time_recovery`` the server can be recovered to an instant (``pitr_restore``)
``runs_as_root``         the host agent runs its backups as root (it stops units, reads any file)
``scratch_teardown``     the restore-test step that removes its scratch copy, or None (files only)

Required methods (every engine): ``extension``, ``dump``, ``check_archive``,
``describe_target``, ``target_exists``, ``restore``, ``expected_counts``, and for
the safety copies a restore keeps: ``safety_copies``, ``drop_safety_copy``,
``safety_copy_space`` (the last has a default: a rename, which needs no room).

Checks (``supports(name)`` says whether an engine has them; without, the base
raises the error the checks report): ``connect``, ``live_counts``,
``fingerprint``, ``integrity``.

Optional capabilities for failover (``supports(name)`` says which an engine has; the
module ``db_replication`` offers exactly those): ``replication_status``, ``promote``,
``fence``, ``probe_write``, ``rejoin``.

Optional capability for a secret rotation (the module ``db_password``): ``set_password``.

Optional capability for rows deleted by mistake (``db_copy_missing_rows`` offers the engines
that have it): ``copy_missing_rows``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf
from ansible_collections.lifeboat.dr.plugins.module_utils import safety

REQUIRED = ("extension", "dump", "check_archive", "describe_target", "target_exists", "restore", "expected_counts",
            "safety_copies", "drop_safety_copy", "safety_copy_space")
# Required methods the base implements: an engine overrides them only when its default does not fit.
DEFAULTED = ("expected_counts", "safety_copy_space")
CHECKS = ("connect", "live_counts", "fingerprint", "integrity")
OPTIONAL = ("replication_status", "promote", "fence", "probe_write", "rejoin", "set_password",
            "copy_missing_rows")
PROPERTIES = ("name", "host_packages", "required_params", "target_kind", "always_safety_copy",
              "restore_reads_archive", "count_unit", "item_noun", "point_in_time_recovery", "runs_as_root",
              "scratch_teardown", "server_packages", "server_setup", "server_version_parts")
TARGET_KINDS = ("database", "path", "instance")

# Per-table content hashes are sums of 64-bit prefixes, kept modulo 2**64.
HASH_MODULUS = 1 << 64


def compare_counts(expected, actual):
    """Differences between two ``{table: rows}`` maps, as readable strings."""
    problems = []
    for table in sorted(set(expected) | set(actual)):
        if table not in actual:
            problems.append("%s missing (expected %d rows)" % (table, expected[table]))
        elif table not in expected:
            problems.append("%s not in the backup's metadata (%d rows)" % (table, actual[table]))
        elif expected[table] != actual[table]:
            problems.append("%s has %d rows, metadata says %d" % (table, actual[table], expected[table]))
    return problems


class RestoreJob:
    """What ``Engine.restore`` gets besides the stream: the decisions restore.py already took."""

    def __init__(self, spec, meta, backup, stamp, exists, safety):
        self.spec = spec
        self.meta = meta
        self.backup = backup      # path of the backup file being restored
        self.stamp = stamp        # UTC time stamp for names of safety copies
        self.exists = exists      # the target existed before the restore
        self.safety = safety      # keep a safety copy of the target
        self.verify_rows = spec.get("verify_rows", True)

    @property
    def work_dir(self):
        """Room for unpacking, beside the backup (same filesystem, same permissions)."""
        return os.path.dirname(self.backup)

    def service_dir(self):
        return bf.service_dir(self.spec["backup_root"], self.spec["service"])

    def safety_dir(self):
        """``(directory, uid, gid)``: the service's safety directory, created 0700 and owned like its backups."""
        return safety.ensure_safety_dir(self.spec["backup_root"], self.spec["service"])

    def check_rows(self, actual, where, untouched=True):
        """Raise when ``actual`` row counts differ from the metadata's (unless verify_rows is off)."""
        if not self.verify_rows:
            return
        problems = compare_counts(self.meta["content"].get("tables", {}), actual)
        if problems:
            raise bf.LifeboatError("restored data in %s does not match the backup's metadata%s: %s" % (
                where, ", target left untouched" if untouched else "", "; ".join(problems)))


class Engine:
    """Base of every engine; the defaults say "this engine cannot do that" in the words the checks report."""

    name = None
    host_packages = ()
    required_params = ()
    target_kind = "path"
    always_safety_copy = False
    restore_reads_archive = False
    count_unit = "tables"
    item_noun = "rows"
    point_in_time_recovery = False
    runs_as_root = False
    scratch_teardown = None
    # A rebuild onto a blank host (rebuild.yml): the Debian packages of the server the service runs on, the
    # rebuild role's tasks file that prepares that server before a restore (its login user, its settings),
    # and how many leading numbers of the server's version make the major version a backup needs at least.
    server_packages = ()
    server_setup = None
    server_version_parts = None

    # --- required -------------------------------------------------------------------------------
    def extension(self, fmt):
        """File extension of a backup in format ``fmt`` (before compression and encryption)."""
        raise NotImplementedError

    def dump(self, runner, spec, sink, work_dir, tail):
        """Write the backup through the ``tail`` stages into ``sink``; return the metadata's ``content``."""
        raise NotImplementedError

    def check_archive(self, runner, head, meta, path):
        """Read the whole stream ``head`` produces and prove the engine can use it; raise otherwise."""
        raise NotImplementedError

    def describe_target(self, spec):
        """The restore target as the result and messages name it."""
        raise NotImplementedError

    def target_exists(self, runner, spec, target, meta):
        """Whether restoring would overwrite something (then it needs confirm)."""
        raise NotImplementedError

    def restore(self, runner, spec, head, meta, target, job):
        """Restore into scratch space, check it (``job.check_rows``), keep a safety copy when
        ``job.safety``, swap it in; return the result's engine part (``safety_copy``, ...)."""
        raise NotImplementedError

    def expected_counts(self, content):
        """The counts a backup's metadata ``content`` records, in the shape of ``live_counts``."""
        return content.get("tables", {})

    # --- safety copies (safety.py: retention, preflight, status) --------------------------------
    def safety_copies(self, runner, spec, target):
        """The safety copies earlier restores kept of ``target``: ``safety.entry`` dicts (name, path, kind,
        created, epoch, size_bytes), any order. Read only; what cannot be listed raises LifeboatError."""
        raise NotImplementedError

    def drop_safety_copy(self, runner, spec, copy):
        """Remove one of the copies ``safety_copies`` returned (retention; never the one just made)."""
        raise NotImplementedError

    def safety_copy_space(self, runner, spec, target, meta):
        """``(directory, bytes)`` a safety copy of ``target`` would take, for the disk-space preflight before
        the restore touches anything; None when the copy takes no room (a rename)."""
        return None

    # --- checks -----------------------------------------------------------------------------------
    def connect(self, runner, spec):
        """``(ok, detail)``: the live service accepts a connection."""
        raise bf.LifeboatError("no connection check for engine %s" % self.name)

    def live_counts(self, runner, spec):
        """``{table: rows}`` of the live service, in the shape of its backups' metadata."""
        raise bf.LifeboatError("no row check for engine %s" % self.name)

    def fingerprint(self, runner, spec):
        """``{table: {"rows", "hash"}}`` with an order-independent content hash per table."""
        raise bf.LifeboatError("no fingerprint for engine %s" % self.name)

    def integrity(self, runner, spec):
        """``(ok, detail)`` of the engine's own consistency check beyond row counts."""
        raise bf.LifeboatError("no integrity check for engine %s" % self.name)

    # --- optional: failover ---------------------------------------------------------------------
    # ``spec`` holds the module's parameters (the fence record under ``fence_record``); with
    # ``check_mode`` nothing changes and the result says what would. Each returns a dict.
    def replication_status(self, runner, spec):
        """``{"facts": {...}, "details": {...}}``: the facts ``failover/facts.py`` documents, and the rest."""
        raise NotImplementedError("%s: replication status is not implemented" % self.name)

    def promote(self, runner, spec, check_mode=False):
        """Make this replica writable; ``changed`` false when it already is."""
        raise NotImplementedError("%s: promote is not implemented" % self.name)

    def fence(self, runner, spec, check_mode=False):
        """Stop this node and keep it from serving writes again, with the record ``spec["fence_record"]``."""
        raise NotImplementedError("%s: fence is not implemented" % self.name)

    def probe_write(self, runner, spec, check_mode=False):
        """Write a test value and read it back: ``{"accepted": bool, "error": text or None, ...}``."""
        raise NotImplementedError("%s: probe_write is not implemented" % self.name)

    def rejoin(self, runner, spec, check_mode=False):
        """Bring a stopped old primary back in line with ``spec["source"]`` (PostgreSQL: pg_rewind)."""
        raise NotImplementedError("%s: rejoin is not implemented" % self.name)

    # --- optional: secret rotation ----------------------------------------------------------------
    def set_password(self, runner, spec, user=None, password=None, check_mode=False):
        """Give the account ``user`` the password ``password``; ``{"changed", "accounts", "notes"}``. An account that
        already has it is left alone; one that does not exist is an error naming it."""
        raise NotImplementedError("%s: setting a password is not implemented" % self.name)

    # --- optional: rows deleted by mistake (missing_rows.py decides, the engine copies) ------------
    def copy_missing_rows(self, runner, spec, check_mode=False):
        """Copy the rows of ``spec["tables"]`` (None: every table both have) that the side database
        ``spec["side_database"]`` has and ``spec["database"]`` lacks, matched by primary key, never changing a
        row production has; refuse (``missing_rows.plan``) before anything is written. Returns ``changed``,
        per table ``rows_in_side``, ``rows_missing``, ``rows_copied``, ``rows_conflicting``, ``rows_differing``,
        and ``tables_skipped``, ``sequences_advanced``, ``rows_copied``, ``summary``."""
        raise NotImplementedError("%s: copying missing rows back from a side database is not supported for this "
                                  "engine" % self.name)

    def supports(self, capability):
        """True when this engine implements ``capability`` (a check or an optional method)."""
        if capability not in REQUIRED + CHECKS + OPTIONAL:
            raise bf.LifeboatError("unknown engine capability %r" % capability)
        return capability in REQUIRED or any(
            capability in vars(klass) for klass in type(self).__mro__ if klass is not Engine)

    def property_value(self, key):
        """One of ``PROPERTIES``, for playbooks (the ``lifeboat.dr.engine_property`` filter)."""
        if key not in PROPERTIES:
            raise bf.LifeboatError("unknown engine property %r (expected one of %s)" % (key, ", ".join(PROPERTIES)))
        return getattr(self, key)
