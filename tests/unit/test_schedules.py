"""One schedule for systemd, Semaphore (cron) and AWX (RRULE): the conversions agree on every fire time.

Here the three are compared with an independent reading of the OnCalendar expression, minute by
minute; tests/integration/test_schedules.py compares them with systemd-analyze on a lab host.
"""
import datetime
import zoneinfo

import pytest

from ansible_collections.lifeboat.dr.plugins.module_utils import schedules
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError

UTC = datetime.timezone.utc
START = datetime.datetime(2026, 12, 7, 4, 38, 10, tzinfo=UTC)


def brute_times(expr, count, start=START):
    """Walk minute by minute in the schedule's zone and keep the minutes the parsed expression matches."""
    found = schedules.parse(expr)
    zone = zoneinfo.ZoneInfo(found["zone"])
    when = (start + datetime.timedelta(minutes=1)).replace(second=0, microsecond=0)
    times = []
    while len(times) < count:
        local = when.astimezone(zone)
        if all(found[key] is None or value in found[key] for key, value in (
                ("month", local.month), ("day", local.day), ("hour", local.hour), ("minute", local.minute))) and \
                (found["weekdays"] is None or local.weekday() in found["weekdays"]):
            times.append(when)
        when += datetime.timedelta(minutes=1)
    return times


AGREEING = ["*-*-* 02:00:00", "*-*-* 02:30", "Sun *-*-* 03:00:00", "*-*-01 04:00:00", "Mon..Fri *-*-* 06,18:15:00",
            "daily", "weekly", "monthly", "quarterly", "hourly", "Sat,Sun *-*-* 23:59:00 Europe/Berlin",
            "*-*-* 01:05:00 America/New_York"]


@pytest.mark.parametrize("expr", AGREEING)
def test_cron_and_rrule_fire_when_the_oncalendar_expression_does(expr):
    # Enough fire times to cross the spring change of daylight saving time in the zoned schedules.
    count = 12 if expr in ("monthly", "quarterly", "*-*-01 04:00:00") else 120
    expected = brute_times(expr, count)
    assert schedules.cron_times(expr, START, count) == expected
    assert schedules.rrule_times(expr, START, count) == expected


def test_the_conversions():
    assert schedules.to_cron("*-*-* 02:00:00") == "0 2 * * *"
    assert schedules.to_cron("Sun *-*-* 03:00:00") == "0 3 * * 0"
    assert schedules.to_cron("Mon..Fri *-*-* 06,18:15") == "15 6,18 * * 1,2,3,4,5"
    assert schedules.to_cron("quarterly") == "0 0 1 1,4,7,10 *"
    local = datetime.datetime(2026, 12, 7, 5, 0)
    assert schedules.to_rrule("*-*-* 02:00:00 Europe/Berlin", local) == (
        "DTSTART;TZID=Europe/Berlin:20261207T050000 RRULE:FREQ=DAILY;INTERVAL=1;BYHOUR=2;BYMINUTE=0;BYSECOND=0")
    assert schedules.to_rrule("quarterly", local) == (
        "DTSTART;TZID=UTC:20270101T000000 RRULE:FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1;BYHOUR=0;BYMINUTE=0;BYSECOND=0")


def test_every_rrule_meets_awx_s_rules():
    """What AWX's schedule serializer refuses: no DTSTART zone, no INTERVAL, SECONDLY, several BYMONTH/BYMONTHDAY."""
    for expr in AGREEING:
        text = schedules.to_rrule(expr, datetime.datetime(2026, 12, 7, 5, 0))
        assert text.startswith("DTSTART;TZID=") and "INTERVAL=" in text and "SECONDLY" not in text
        for part in ("BYMONTH=", "BYMONTHDAY="):
            value = text.split(part)[1].split(";")[0] if part in text else ""
            assert "," not in value, text


@pytest.mark.parametrize("expr, why", [
    ("*-*-* 02:00:30", "no seconds"),
    ("*-*-* *:0/15:00", "not a number"),
    ("2027-*-* 02:00:00", "any year"),
    ("Mon *-*-01 02:00:00", "weekdays and days of the month"),
    ("*-*~01 02:00:00", "the date must be"),
    ("Funday *-*-* 02:00:00", "not a weekday"),
    ("*-*-* 25:00:00", "outside 0..23"),
    ("", "must be an OnCalendar expression"),
])
def test_what_cron_and_awx_cannot_say_alike_is_refused_with_the_reason(expr, why):
    with pytest.raises(LifeboatError, match=why):
        schedules.to_cron(expr)


def test_awx_s_single_month_and_day_limits_are_named():
    with pytest.raises(LifeboatError, match="one day of the month"):
        schedules.to_rrule("*-*-01,15 02:00:00", datetime.datetime(2026, 12, 7))
    with pytest.raises(LifeboatError, match="one month"):
        schedules.to_rrule("*-01,02-01 02:00:00", datetime.datetime(2026, 12, 7))


def test_the_filters_name_the_refusal():
    from ansible.errors import AnsibleFilterError
    from ansible_collections.lifeboat.dr.plugins.filter.schedules import schedule_cron, schedule_rrule
    assert schedule_cron("daily") == "0 0 * * *"
    assert schedule_rrule("daily", "2026-12-07T05:00:00").endswith("RRULE:FREQ=DAILY;INTERVAL=1;BYHOUR=0;BYMINUTE=0;BYSECOND=0")
    assert schedule_rrule("*-*-* 02:00:00 Europe/Berlin").startswith("DTSTART;TZID=Europe/Berlin:")
    with pytest.raises(AnsibleFilterError, match="no seconds"):
        schedule_cron("*-*-* 02:00:30")
