# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Failover decisions: facts in, plan out. No I/O here, and no Ansible.

Like Patroni, which keeps its decisions (``ha.py``) apart from what talks to
PostgreSQL (``postgresql/``), the modules and roles of the failover playbook
observe the hosts (``replication_status``), hand the facts to these functions as
plain dicts, and carry out the ordered steps they get back (``fence``,
``promote``, ``rejoin``), or report the refusal, whose reason names the host and
the figures. Check mode prints the same plan and runs none of it.

``incidents``       the catalogue (service_failure, database_failure, redis_failure, rejoin,
                    status; datacenter_failure: the plan of the DR site, in datacenter.py) and the
                    validation of a request
``lsn``             PostgreSQL WAL positions (``16/B374D848``): parse, format, distance
``facts``           the shape of the observed facts and of the policy, checked and normalised
``steps``           plan steps and the parts PostgreSQL and Redis plans share (fencing, the app)
``decision``        database_failure: fence, promote which replica, or refuse and why
``rejoin``          the old primary back as a replica: pg_rewind, a base backup, or refuse
``fence``           the fence record (JSON) and the start-time check: may this server start?
``redis_info``      the ``INFO replication`` parser
``redis_decision``  redis_failure: promote the replica or restore the newest backup
``status``          the status report, as rows, a JSON-able dict and a text table

Every function is deterministic: the same facts give the same plan, whatever
order the hosts come in. Facts that do not have the documented shape raise
``LifeboatError``; a refusal is an answer, not an exception, so that check mode
and the run record can show it.
"""
