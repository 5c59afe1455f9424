# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL point-in-time recovery, one module per concern.

``repository`` (layout and names), ``archive`` (archive_command and restore_command),
``base_backups`` (take, check, expire), ``window`` (what a recovery can reach, and its
plan), ``recovery`` (replay into the data directory and promote), ``metrics``, and
``cli`` (the ``lifeboat-pitr`` host command). Standard library plus the ``zstd``,
``tar`` and PostgreSQL binaries, so the same code runs as PostgreSQL's archive and
restore commands, in the base backup timer, in the ``pitr_restore`` module and in
unit tests.
"""
