# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The failover decisions (``module_utils/failover/``) as filters, for ``playbooks/failover.yml``.

The playbook observes the hosts with ``lifeboat.dr.db_replication``, hands what they
said to these filters on the controller, and carries out the plan they return.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: failover_plan
short_description: The database_failure plan for what the PostgreSQL hosts reported
version_added: "1.0.0"
description:
  - Returns the plan of C(module_utils/failover/decision.py) (C(steps), C(refusal), C(outcome), C(candidate),
    C(old_primary), C(lag), C(data_loss), C(notes)) for the hosts' status reports.
  - The same file holds C(failover_request) (check an incident and its parameters), C(failover_status) (the
    status report, C(json) and C(text)), C(failover_app) (which host the application's environment file names),
    C(rejoin_plan) (which fenced host rejoins which primary, or why not), C(fence_record) (a new fence record),
    C(fence_lifted) (a record marked lifted by a rejoin), C(failover_datacenter) (the DR site's plan from
    C(lifeboat_failover.datacenter) and the inventory's hosts), C(wal_reached) (whether a WAL position is at or past another) and
    C(value_at) (a field of a nested answer by its dotted path).
options:
  _input:
    description:
      - The registered results of M(lifeboat.dr.db_replication) V(status) looped over the hosts (C(item) is the host),
        or a dict of each inventory name to C(reachable) and C(status).
    type: raw
    required: true
  policy:
    description: The failover policy (C(max_lag_bytes), C(max_lag_seconds), C(force), C(synchronous), C(priorities), C(candidate), C(primary)).
    type: dict
    default: {}
  app:
    description: "The application's C(service), C(host) and C(points_at), or null."
    type: dict
  addresses:
    description: "Inventory name to address or DNS name, for hosts reached by another name than their inventory name."
    type: dict
    default: {}
  held_dir:
    description: The controller's directory of fence records held for hosts that could not be reached (C(<host>.json)).
    type: path
"""

EXAMPLES = r"""
- name: Decide
  ansible.builtin.set_fact:
    plan: "{{ observed | lifeboat.dr.failover_plan(policy, app) }}"
"""

RETURN = r"""
_value:
  description: The plan.
  type: dict
"""

import datetime
import os

from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils.failover import (
    datacenter, decision, fence, incidents, lsn, observe, redis_decision, status)


def _filter_error(exc):
    from ansible.errors import AnsibleFilterError
    return AnsibleFilterError(str(exc))


def failover_request(incident, params=None):
    try:
        return incidents.validate_request(incident, params)
    except LifeboatError as exc:
        raise _filter_error(exc)


def held_fences(directory):
    """``{host: record}`` of the fence records ``directory`` holds (``<host>.json``); none when it is absent."""
    held = {}
    if not directory or not os.path.isdir(directory):
        return held
    for name in sorted(os.listdir(directory)):
        if name.endswith(".json"):
            path = os.path.join(directory, name)
            with open(path) as handle:
                held[name[:-len(".json")]] = fence.load_record(handle.read(), "held fence record %s" % path)
    return held


def failover_plan(observed, policy=None, app=None, addresses=None, held_dir=None):
    try:
        return decision.decide_failover(observe.postgresql_facts(observed, addresses, held_fences(held_dir)), policy, app)
    except LifeboatError as exc:
        raise _filter_error(exc)


def redis_failover_plan(observed, policy=None, app=None, held_dir=None, backup=None):
    """The redis_failure plan from the Redis status loop; ``backup``: ``{"path", "time"}`` of the newest backup."""
    try:
        return redis_decision.redis_decision(observe.redis_facts(observed, held_fences(held_dir)), policy, app,
                                             backup or None)
    except LifeboatError as exc:
        raise _filter_error(exc)


def failover_status(observed, app=None, addresses=None, held_dir=None, redis_observed=None, redis_held_dir=None):
    try:
        report = status.build_status(observe.postgresql_facts(observed, addresses, held_fences(held_dir)),
                                     observe.redis_facts(redis_observed or [], held_fences(redis_held_dir)), app)
    except LifeboatError as exc:
        raise _filter_error(exc)
    return {"json": report, "text": status.render_status(report)}


def rejoin_plan(observed, host=None, addresses=None, held_dir=None):
    try:
        return observe.rejoin_target(observed, host or None, addresses, held_fences(held_dir))
    except LifeboatError as exc:
        raise _filter_error(exc)


def fence_lifted(record, primary, by):
    try:
        return fence.lifted(record, primary, datetime.datetime.now(datetime.timezone.utc), by)
    except LifeboatError as exc:
        raise _filter_error(exc)


def failover_app(app, env_text=None, addresses=None):
    return observe.app_facts(app, env_text, addresses)


def fence_record(host, reason, incident, by, successor=None, state="applied"):
    try:
        return fence.make_record(host, reason, incident, by, datetime.datetime.now(datetime.timezone.utc),
                                 successor=successor, state=state)
    except LifeboatError as exc:
        raise _filter_error(exc)


def wal_reached(position, target):
    """True when WAL position ``position`` is at or past ``target`` (both ``X/Y`` text)."""
    try:
        return lsn.parse_lsn(position) is not None and lsn.parse_lsn(position) >= lsn.parse_lsn(target)
    except LifeboatError as exc:
        raise _filter_error(exc)


def value_at(data, path):
    """``data["a"]["b"]`` for ``path`` ``a.b``; None when a part is missing (a health answer's field)."""
    for part in (path or "").split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def failover_datacenter(config, inventory_hosts):
    """INC-005's plan: which server is rebuilt onto which DR machine, or what is missing (``failover/datacenter.py``)."""
    return datacenter.plan(config, inventory_hosts)


class FilterModule(object):
    def filters(self):
        return {"failover_request": failover_request, "failover_plan": failover_plan,
                "redis_failover_plan": redis_failover_plan,
                "failover_status": failover_status, "failover_app": failover_app,
                "rejoin_plan": rejoin_plan, "fence_lifted": fence_lifted, "fence_record": fence_record, "wal_reached": wal_reached,
                "value_at": value_at, "failover_datacenter": failover_datacenter}
