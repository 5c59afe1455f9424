"""Every schedule of the lab's inventory, and the jobs the reference plans schedule, fire at the same
instants under systemd (systemd-analyze on a lab host, where the timers run), cron (Semaphore) and
RRULE (AWX): the next 100 of each, time zones included."""
import datetime
import re

import pytest
import yaml

from labhost import ROOT, sh
from ansible_collections.lifeboat.dr.plugins.module_utils import schedules

UTC = datetime.timezone.utc
COUNT = 100


def _inventory_schedules():
    with open(ROOT + "/inventories/lab/group_vars/app.yml") as handle:
        services = yaml.safe_load(handle)["lifeboat_services"]
    return sorted(set(service["schedule"] for service in services if service.get("schedule")))


# The reference plans' jobs: daily backup at 02:00, weekly on Sunday, monthly on the 1st, a quarterly
# drill, a weekday report at 06:15 in another zone (both DST changes within 100 weeks).
JOBS = ["*-*-* 02:00:00", "Sun *-*-* 03:00:00", "*-*-01 04:00:00", "quarterly",
        "Mon..Fri *-*-* 06:15:00 Europe/Berlin", "Sun *-*-* 01:30:00 America/New_York"]


def systemd_times(expr):
    out = sh("systemd-analyze calendar --iterations=%d %s" % (COUNT, "'%s'" % expr))
    stamps = re.findall(r"(?:Next elapse|Iter\. #\d+): \w{3} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC", out)
    return [datetime.datetime.fromisoformat(stamp).replace(tzinfo=UTC) for stamp in stamps]


@pytest.mark.parametrize("expr", sorted(set(_inventory_schedules() + JOBS)))
def test_systemd_cron_and_awx_agree_on_the_next_100_fire_times(lab, expr):
    expected = systemd_times(expr)
    assert len(expected) == COUNT, "systemd-analyze gave %d times for %s" % (len(expected), expr)
    start = expected[0] - datetime.timedelta(seconds=1)
    assert schedules.cron_times(expr, start, COUNT) == expected, "cron %s" % schedules.to_cron(expr)
    assert schedules.rrule_times(expr, start, COUNT) == expected, "rrule %s" % schedules.to_rrule(
        expr, start.replace(tzinfo=None))
