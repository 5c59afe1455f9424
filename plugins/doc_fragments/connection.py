# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Options shared by the modules that reach a database server, and the per-service lock."""

    DOCUMENTATION = r"""
options:
  login_host:
    description: Server host (PostgreSQL, Redis).
    type: str
    default: 127.0.0.1
  login_port:
    description: Server port; the engine's default (5432 PostgreSQL, 6379 Redis) when not given.
    type: int
  login_user:
    description:
      - PostgreSQL role, or Redis ACL user. To back up it needs read access to every table (C(pg_read_all_data));
        to restore also C(CREATEDB), membership in the role owning the database, and C(pg_signal_backend).
    type: str
  login_password:
    description:
      - Password of O(login_user). Passed to PostgreSQL tools in C(PGPASSWORD) and to Redis over the
        connection (C(AUTH)); never on a command line, never in output.
    type: str
  maintenance_db:
    description: PostgreSQL database used for server-level statements.
    type: str
    default: postgres
"""

    LOCK = r"""
options:
  lock_timeout:
    description:
      - Seconds to wait for another Lifeboat run on the same service (backup, restore or rotation) to finish.
        After that the module fails with a message naming the lock and its holder.
    type: int
    default: 60
"""
