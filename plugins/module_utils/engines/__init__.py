# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engines Lifeboat backs up and restores: one module each, and this registry.

The orchestration asks ``get(name)`` for an engine and uses the contract of
``engines/base.py``; it never compares engine names. The imports are static
and spelled in full on purpose: Ansible's module packaging (AnsiballZ) ships
only the module_utils it finds imported that way, so a registry that loaded
engines by name at run time would leave them behind.

Adding an engine: its module under ``engines/``, one import and one entry in
``_ENGINES`` below (see docs/adding_an_engine.md).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils.engines import directory
from ansible_collections.lifeboat.dr.plugins.module_utils.engines import mongodb
from ansible_collections.lifeboat.dr.plugins.module_utils.engines import mysql
from ansible_collections.lifeboat.dr.plugins.module_utils.engines import postgresql
from ansible_collections.lifeboat.dr.plugins.module_utils.engines import redis
from ansible_collections.lifeboat.dr.plugins.module_utils.engines import sqlite

# The order is the order of the modules' ``engine`` choices and of their documentation.
_ENGINES = (postgresql.ENGINE, mysql.ENGINE, sqlite.ENGINE, directory.ENGINE, redis.ENGINE, mongodb.ENGINE)
_BY_NAME = dict((engine.name, engine) for engine in _ENGINES)


def names(supporting=None):
    """Engine names, in registry order; with ``supporting``, only those that have that capability."""
    return tuple(engine.name for engine in _ENGINES if supporting is None or engine.supports(supporting))


def get(name):
    """The engine called ``name``; an unknown name is the caller's error, named with the known ones."""
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        raise LifeboatError("unknown engine %r (expected one of %s)" % (name, ", ".join(names())))


def known(name):
    return name in _BY_NAME
