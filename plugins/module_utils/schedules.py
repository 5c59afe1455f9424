# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One schedule, three schedulers: a systemd ``OnCalendar`` expression as the source, and the same
fire times as a cron expression (Semaphore) and an iCalendar RRULE (AWX's ``awx.awx.schedule``).

The source is the portable subset every scheduler can say exactly::

    [WEEKDAYS] *-MONTHS-DAYS HOURS:MINUTES[:SECONDS] [TIME ZONE]
    minutely | hourly | daily | weekly | monthly | yearly | annually | quarterly

where WEEKDAYS is ``Mon``, ``Mon,Wed``, ``Mon..Fri``; MONTHS, DAYS, HOURS and MINUTES are ``*``, a
number or a comma list of numbers (ranges ``a..b`` too); SECONDS is ``00``; the year is ``*`` and the
zone an IANA name (default UTC). What cron or RRULE cannot say the same way is refused with the
reason: steps (``/``), a year, seconds other than 0, ``~`` (last days), and weekdays together with days
of the month (cron fires when either matches, systemd when both do).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_RRULE_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# systemd's shorthands, as systemd.time(7) expands them.
SHORTHANDS = {
    "minutely": "*-*-* *:*:00",
    "hourly": "*-*-* *:00:00",
    "daily": "*-*-* 00:00:00",
    "weekly": "Mon *-*-* 00:00:00",
    "monthly": "*-*-01 00:00:00",
    "yearly": "*-01-01 00:00:00",
    "annually": "*-01-01 00:00:00",
    "quarterly": "*-01,04,07,10-01 00:00:00",
}
_FIELDS = (("month", 1, 12), ("day", 1, 31), ("hour", 0, 23), ("minute", 0, 59))


def _refuse(expr, why):
    return LifeboatError("schedule %r cannot be given to cron and AWX alike: %s" % (expr, why))


def _numbers(expr, text, name, low, high):
    """``*`` -> None (every value); ``3``, ``1,15``, ``1..5`` -> sorted list of ints."""
    if text == "*":
        return None
    values = set()
    for part in text.split(","):
        match = re.match(r"^(\d+)(?:\.\.(\d+))?$", part)
        if not match:
            raise _refuse(expr, "the %s %r is not a number, list or range (steps with / and ~ are not portable)"
                          % (name, text))
        first, last = int(match.group(1)), int(match.group(2) or match.group(1))
        if not low <= first <= last <= high:
            raise _refuse(expr, "the %s %r is outside %d..%d" % (name, text, low, high))
        values.update(range(first, last + 1))
    return sorted(values)


def _weekdays(expr, text):
    days = set()
    for part in text.split(","):
        bounds = part.split("..")
        try:
            indexes = [WEEKDAYS.index(bound.strip()[:3].capitalize()) for bound in bounds]
        except ValueError:
            raise _refuse(expr, "%r is not a weekday (Mon..Sun)" % part)
        if len(indexes) == 1:
            days.add(indexes[0])
        elif len(indexes) == 2 and indexes[0] <= indexes[1]:
            days.update(range(indexes[0], indexes[1] + 1))
        else:
            raise _refuse(expr, "weekday range %r must run forward (Mon..Fri)" % part)
    return sorted(days)


def parse(expr, default_zone="UTC"):
    """The schedule as ``{"weekdays", "month", "day", "hour", "minute", "zone", "source"}`` (lists of ints or None)."""
    if not isinstance(expr, str) or not expr.strip():
        raise LifeboatError("a schedule must be an OnCalendar expression, got %r" % (expr,))
    text = SHORTHANDS.get(expr.strip().lower(), expr.strip())
    words = text.split()
    zone = default_zone
    if words and "/" in words[-1] and not re.match(r"^[\d*,.]", words[-1]):
        zone = words.pop()
    elif words and words[-1] in ("UTC", "utc"):
        zone = words.pop().upper()
    weekdays = None
    if words and re.match(r"^[A-Za-z]", words[0]):
        weekdays = _weekdays(expr, words.pop(0))
    if len(words) != 2:
        raise _refuse(expr, "expected [weekdays] *-MONTH-DAY HOUR:MINUTE[:SECOND] [zone]")
    date, clock = words
    date_parts, clock_parts = date.split("-"), clock.split(":")
    if len(date_parts) != 3 or date_parts[0] != "*":
        raise _refuse(expr, "the date must be *-MONTH-DAY with any year (*)")
    if len(clock_parts) == 3:
        if clock_parts[2] not in ("0", "00"):
            raise _refuse(expr, "cron has no seconds: the seconds must be 00")
        clock_parts = clock_parts[:2]
    if len(clock_parts) != 2:
        raise _refuse(expr, "the time must be HOUR:MINUTE[:00]")
    values = {}
    for (name, low, high), text_value in zip(_FIELDS, date_parts[1:] + clock_parts):
        values[name] = _numbers(expr, text_value, name, low, high)
    if weekdays is not None and values["day"] is not None:
        raise _refuse(expr, "weekdays and days of the month together (cron fires when either matches, systemd and "
                            "RRULE when both do)")
    return dict(values, weekdays=weekdays, zone=zone, source=expr)


def _cron_field(values):
    return "*" if values is None else ",".join(str(value) for value in values)


def to_cron(expr):
    """The five-field cron expression (minute hour day month weekday; Sunday 0) with the same fire times."""
    found = parse(expr) if isinstance(expr, str) else expr
    weekdays = None if found["weekdays"] is None else sorted((day + 1) % 7 for day in found["weekdays"])
    fields = (found["minute"], found["hour"], found["day"], found["month"], weekdays)
    return " ".join(_cron_field(values) for values in fields)


def _month_step(months):
    """The step of months spread evenly over the year (1,4,7,10 -> 3), else None."""
    if len(months) < 2:
        return None
    step = months[1] - months[0]
    if 12 % step or len(months) != 12 // step or any(b - a != step for a, b in zip(months, months[1:])):
        return None
    return step


def _first_month_at_or_after(months, day, hour, minute, dtstart):
    """The first ``day`` of a month in ``months`` at ``hour:minute`` not before ``dtstart`` (naive local)."""
    year, month = dtstart.year, dtstart.month
    for _month in range(25):
        if month in months:
            candidate = dtstart.replace(year=year, month=month, day=day, hour=hour, minute=minute, second=0,
                                        microsecond=0)
            if candidate >= dtstart:
                return candidate
        month += 1
        if month > 12:
            year, month = year + 1, 1
    raise LifeboatError("no month of %s has a day %d" % (months, day))  # pragma: no cover (day <= 28 checked)


def to_rrule(expr, dtstart):
    """AWX's ``rrule``: ``DTSTART;TZID=<zone>:<start> RRULE:...`` (``dtstart`` a naive local ``datetime``).

    FREQ is the finest field that varies (MINUTELY, HOURLY, DAILY); the BY* parts pin the rest, so
    the occurrences are exactly the OnCalendar expression's from ``dtstart`` on. AWX takes one
    BYMONTH and one BYMONTHDAY at most: months spread evenly over the year (``quarterly``) become
    FREQ=MONTHLY with an INTERVAL, starting at the first of them; other lists are refused.
    """
    found = parse(expr) if isinstance(expr, str) else expr
    source = found["source"]
    if found["day"] is not None and len(found["day"]) > 1:
        raise _refuse(source, "AWX accepts one day of the month (BYMONTHDAY) per schedule")
    months = found["month"]
    step = _month_step(months) if months is not None and len(months) > 1 else None
    if months is not None and len(months) > 1 and step is None:
        raise _refuse(source, "AWX accepts one month (BYMONTH) per schedule, or months spread evenly over the year")
    parts = []
    if step is not None:
        if found["day"] is None or found["hour"] is None or found["minute"] is None or len(found["hour"]) > 1 \
                or len(found["minute"]) > 1 or found["weekdays"] is not None or found["day"][0] > 28:
            raise _refuse(source, "months spread over the year need one day (1..28) and one time")
        dtstart = _first_month_at_or_after(months, found["day"][0], found["hour"][0], found["minute"][0], dtstart)
        parts = ["FREQ=MONTHLY", "INTERVAL=%d" % step]
        months = None
    elif found["minute"] is None:
        parts = ["FREQ=MINUTELY", "INTERVAL=1"]
    elif found["hour"] is None:
        parts = ["FREQ=HOURLY", "INTERVAL=1"]
    else:
        parts = ["FREQ=DAILY", "INTERVAL=1"]
    for values, name in ((months, "BYMONTH"), (found["day"], "BYMONTHDAY"), (found["hour"], "BYHOUR"),
                         (found["minute"], "BYMINUTE")):
        if values is not None:
            parts.append("%s=%s" % (name, _cron_field(values)))
    if found["weekdays"] is not None:
        parts.append("BYDAY=%s" % ",".join(_RRULE_DAYS[day] for day in found["weekdays"]))
    parts.append("BYSECOND=0")
    return "DTSTART;TZID=%s:%s RRULE:%s" % (found["zone"], dtstart.strftime("%Y%m%dT%H%M%S"), ";".join(parts))


# -- fire times, to compare the three (the controller's libraries: dateutil, croniter) -----------


def rrule_times(expr, start, count):
    """The next ``count`` fire times (aware, UTC) after ``start`` of ``to_rrule(expr)`` as dateutil reads it."""
    import zoneinfo  # pylint: disable=import-outside-toplevel
    from dateutil.rrule import rrulestr  # pylint: disable=import-outside-toplevel

    utc = zoneinfo.ZoneInfo("UTC")
    zone = zoneinfo.ZoneInfo(parse(expr)["zone"])
    rule = rrulestr(to_rrule(expr, start.astimezone(zone).replace(tzinfo=None)).replace(" RRULE:", "\nRRULE:"))
    found, after = [], start
    while len(found) < count:
        after = rule.after(after)
        found.append(after.astimezone(utc))
    return found


def cron_times(expr, start, count):
    """The next ``count`` fire times (aware, UTC) after ``start`` of ``to_cron(expr)`` run in the schedule's zone.

    Cron counts wall-clock times in its zone (Semaphore's Go cron does): each is placed in the zone
    afterwards (croniter given an aware start would keep that start's UTC offset across DST).
    """
    import datetime  # pylint: disable=import-outside-toplevel
    import zoneinfo  # pylint: disable=import-outside-toplevel
    from croniter import croniter  # pylint: disable=import-outside-toplevel

    utc = zoneinfo.ZoneInfo("UTC")
    zone = zoneinfo.ZoneInfo(parse(expr)["zone"])
    walker = croniter(to_cron(expr), start.astimezone(zone).replace(tzinfo=None))
    return [walker.get_next(datetime.datetime).replace(tzinfo=zone).astimezone(utc) for _fire in range(count)]
