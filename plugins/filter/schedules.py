# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One schedule (a systemd OnCalendar expression) for cron (Semaphore) and RRULE (AWX)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: schedule_cron
short_description: The cron expression that fires when a systemd OnCalendar expression does
version_added: "1.2.0"
description:
  - Converts the portable subset of OnCalendar (weekdays, months, days, hours and minutes as numbers, lists or
    ranges; seconds 00; any year; an IANA time zone) to five-field cron, Sunday 0; anything cron cannot say the
    same way is refused with the reason. Cron has no time zone, so run it in the expression's zone (Semaphore's
    schedule time zone). The companion filter C(lifeboat.dr.schedule_rrule) gives AWX's rrule.
options:
  _input:
    description: The OnCalendar expression, e.g. C(Sun *-*-* 03:00:00 Europe/Berlin) or C(quarterly).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Semaphore's cron and AWX's rrule for the nightly backup
  ansible.builtin.debug:
    msg: "{{ '*-*-* 02:00:00' | lifeboat.dr.schedule_cron }} / {{ '*-*-* 02:00:00' | lifeboat.dr.schedule_rrule }}"
"""

RETURN = r"""
_value:
  description: The cron expression, e.g. C(0 2 * * *).
  type: str
"""

import datetime

from ansible.errors import AnsibleFilterError

from ansible_collections.lifeboat.dr.plugins.module_utils import schedules
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError


def schedule_cron(expr):
    try:
        return schedules.to_cron(expr)
    except LifeboatError as exc:
        raise AnsibleFilterError(str(exc))


def schedule_rrule(expr, start=None):
    """AWX's rrule for ``expr``, starting now (or at ``start``, ``YYYY-MM-DDTHH:MM:SS`` local to the schedule's zone)."""
    try:
        if start:
            begin = datetime.datetime.fromisoformat(start).replace(tzinfo=None)
        else:
            import zoneinfo  # pylint: disable=import-outside-toplevel
            begin = datetime.datetime.now(zoneinfo.ZoneInfo(schedules.parse(expr)["zone"])).replace(
                tzinfo=None, microsecond=0)
        return schedules.to_rrule(expr, begin)
    except (LifeboatError, ValueError) as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {"schedule_cron": schedule_cron, "schedule_rrule": schedule_rrule}
