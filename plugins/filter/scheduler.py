# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lifeboat's scheduled jobs, once, and the AWX and Semaphore objects made from them (``module_utils/scheduler.py``)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: scheduler_jobs
short_description: Every scheduled Lifeboat job, from the services' schedules and lifeboat_jobs
version_added: "1.2.0"
description:
  - One backup job per distinct service C(schedule) (the same field, and the same default, the C(backup_agent)
    role's timers use), limited to its services with C(lifeboat_only), plus the controller jobs of C(lifeboat_jobs)
    (C(offsite_sync), C(verify), C(restore_test), C(drill)). Each job has its OnCalendar C(schedule), C(zone),
    C(cron) and C(extra_vars); a schedule systemd, cron and AWX cannot say alike is refused with the reason.
  - The same file holds C(scheduler_awx_objects) (the C(awx.awx) modules' parameters), C(scheduler_semaphore_objects)
    (Semaphore's request bodies without ids), C(scheduler_semaphore_bodies) (what is still to create, with ids) and
    C(scheduler_by_name) (a Semaphore list as name to id), and C(scheduler_service_schedules) (a service list's
    names and schedules only, so that no other field, such as a password from Vault, is templated).
options:
  _input:
    description: Each inventory host's C(lifeboat_services), as a mapping host to list.
    type: dict
    required: true
  jobs:
    description: The inventory's C(lifeboat_jobs).
    type: dict
  default_schedule:
    description: The schedule of a service without one (the agent's C(backup_agent_schedule)).
    type: str
    default: "*-*-* 02:00:00"
"""

EXAMPLES = r"""
- name: The jobs
  ansible.builtin.set_fact:
    jobs: "{{ {'app1': lifeboat_services} | lifeboat.dr.scheduler_jobs(lifeboat_jobs) }}"
"""

RETURN = r"""
_value:
  description: The jobs, each C(id), C(kind), C(playbook), C(schedule), C(zone), C(cron), C(extra_vars), C(services),
    C(hosts).
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.lifeboat.dr.plugins.module_utils import scheduler
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError


def _plain(value):
    """Ansible's lazy containers as plain dicts and lists (the module_utils code takes plain data)."""
    if isinstance(value, dict):
        return dict((key, _plain(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _call(function, *args):
    try:
        return function(*[_plain(arg) for arg in args])
    except LifeboatError as exc:
        raise AnsibleFilterError(str(exc))


def scheduler_jobs(services_by_host, jobs=None, default_schedule=scheduler.DEFAULT_BACKUP_SCHEDULE):
    return _call(scheduler.jobs, services_by_host, jobs, default_schedule)


def scheduler_service_schedules(services):
    """Each service's name and schedule only: its other fields (passwords from Vault) are never templated here."""
    return [{"name": service.get("name"), "schedule": service.get("schedule")} for service in services or []]


def scheduler_awx_objects(jobs, settings=None):
    return _call(scheduler.awx_objects, jobs, settings)


def scheduler_semaphore_objects(jobs, settings=None):
    return _call(scheduler.semaphore_objects, jobs, settings)


def scheduler_semaphore_bodies(objects, project_id, ids, existing=None):
    return _call(scheduler.semaphore_with_ids, objects, project_id, ids, existing)


def scheduler_by_name(items, kind="objects"):
    return _call(scheduler.by_name, items, kind)


class FilterModule(object):
    def filters(self):
        return {"scheduler_jobs": scheduler_jobs, "scheduler_service_schedules": scheduler_service_schedules, "scheduler_awx_objects": scheduler_awx_objects,
                "scheduler_semaphore_objects": scheduler_semaphore_objects,
                "scheduler_semaphore_bodies": scheduler_semaphore_bodies, "scheduler_by_name": scheduler_by_name}
