"""Every scheduled job once (module_utils/scheduler.py), and what AWX and Semaphore are given for it.

The agreement test: for each job of the lab inventory and of the reference plans, the next 100 fire times
of the agent's timer (its OnCalendar line, rendered from the backup_agent role's template) as
systemd-analyze computes them, of the AWX schedule's rrule as dateutil reads it and of the Semaphore
schedule's cron as croniter runs it in Semaphore's zone are identical (skipped where systemd-analyze is
missing, e.g. under ansible-test units in a container without systemd).
"""
import datetime
import json
import os
import re
import shutil
import subprocess
import zoneinfo

import pytest
import yaml

from ansible_collections.lifeboat.dr.plugins.module_utils import scheduler
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB = os.path.join(ROOT, "inventories", "lab", "group_vars")
TIMER = os.path.join(ROOT, "roles", "backup_agent", "templates", "lifeboat-backup.timer.j2")
needs_lab_inventory = pytest.mark.skipif(not os.path.exists(LAB), reason="the lab inventory is not part of the built collection")
needs_systemd = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
UTC = datetime.timezone.utc
COUNT = 100
SETTINGS = {"scm_url": "https://git.example.org/ops/dr.git"}

REFERENCE_JOBS = {"offsite_sync": {"schedule": "*-*-* 04:00:00"},
                  "verify": {"schedule": "*-*-* 06:00:00", "extra_vars": {"lifeboat_level": "quick"}},
                  "restore_test": {"schedule": "*-*-01 05:00:00"}, "drill": {"schedule": "quarterly"}}
REFERENCE_SERVICES = {"db1": [{"name": "daily", "schedule": "*-*-* 02:00:00"},
                              {"name": "weekly", "schedule": "Sun *-*-* 02:00:00"},
                              {"name": "monthly", "schedule": "*-*-01 02:00:00"},
                              {"name": "berlin", "schedule": "*-*-* 02:30:00 Europe/Berlin"},
                              {"name": "default"}]}


def lab_jobs():
    with open(os.path.join(LAB, "app.yml")) as handle:
        services = yaml.safe_load(handle)["lifeboat_services"]
    with open(os.path.join(LAB, "all.yml")) as handle:
        jobs = yaml.safe_load(handle)["lifeboat_jobs"]
    return scheduler.jobs({"app1": services}, jobs)


def test_jobs_group_services_by_schedule_and_keep_the_agent_default():
    jobs = scheduler.jobs({"a": [{"name": "x", "schedule": "*-*-* 02:00:00"}, {"name": "y"}],
                           "b": [{"name": "z", "schedule": "Sun *-*-* 03:00:00"}]}, REFERENCE_JOBS)
    assert [(job["id"], job["cron"], job["extra_vars"]) for job in jobs] == [
        ("backup x,y", "0 2 * * *", {"lifeboat_only": ["x", "y"]}),
        ("backup z", "0 3 * * 0", {"lifeboat_only": ["z"]}),
        ("offsite sync", "0 4 * * *", {}), ("verify", "0 6 * * *", {"lifeboat_level": "quick"}),
        ("restore test", "0 5 1 * *", {}), ("drill", "0 0 1 1,4,7,10 *", {})]
    assert jobs[1]["hosts"] == ["b"]


@pytest.mark.parametrize("services, jobs, why", [
    ({"a": [{"name": "x", "schedule": "*-*-* 02:00:00"}], "b": [{"name": "x", "schedule": "*-*-* 03:00:00"}]}, {},
     "lifeboat_only selects by name"),
    ({}, {"backups": {"schedule": "daily"}}, "unknown job"),
    ({}, {"verify": {}}, "a schedule"),
    ({}, {"verify": {"schedule": "*-*-* 02:00:30"}}, "no seconds"),
    ({}, {"verify": {"schedule": "*-*-01,15 02:00:00"}}, "one day of the month"),
    ({"a": [{"name": "x", "schedule": ["daily"]}]}, {}, "one OnCalendar expression"),
])
def test_what_cannot_be_scheduled_alike_is_refused_with_the_reason(services, jobs, why):
    with pytest.raises(LifeboatError, match=why):
        scheduler.jobs(services, jobs)


def test_a_disabled_job_is_not_scheduled():
    assert [job["kind"] for job in scheduler.jobs({}, {"drill": {"schedule": "quarterly", "enabled": False}})] == []


def test_awx_objects():
    objects = scheduler.awx_objects(scheduler.jobs(REFERENCE_SERVICES, REFERENCE_JOBS), SETTINGS)
    names = [template["name"] for template in objects["job_templates"]]
    assert len(names) == len(set(names)) == len(scheduler.PLAYBOOKS)
    surveyed = {t["playbook"] for t in objects["job_templates"] if t["survey_enabled"]}
    assert surveyed == {"playbooks/restore.yml", "playbooks/rebuild.yml", "playbooks/failover.yml",
                        "playbooks/dns_switch.yml"}
    for template in objects["job_templates"]:
        assert template["credentials"] == ["Lifeboat machine", "Lifeboat secrets"]
    nodes = objects["workflow"]["workflow_nodes"]
    assert [(n["identifier"], [s["identifier"] for s in n["related"]["success_nodes"]]) for n in nodes] == [
        ("backup", ["offsite_sync"]), ("offsite_sync", ["verify"]), ("verify", [])]
    backup = [s for s in objects["schedules"] if s["unified_job_template"] == objects["workflow"]["name"]]
    assert len(backup) == 4  # daily, weekly, monthly, berlin (default shares 02:00 with daily)
    assert "DTSTART;TZID=Europe/Berlin:20260101T000000 RRULE:FREQ=DAILY" in json.dumps(objects["schedules"])
    # No secret value anywhere: the credential type has fields and injectors, no defaults.
    assert all("default" not in field for field in objects["credential_type"]["inputs"]["fields"])
    assert objects["credential_type"]["injectors"]["extra_vars"]["lifeboat_signing_key"] == "{{ signing_key }}"
    with pytest.raises(LifeboatError, match="scm_url"):
        scheduler.awx_objects([], {})
    with pytest.raises(LifeboatError, match="unknown setting"):
        scheduler.awx_objects([], dict(SETTINGS, colour="red"))


def test_awx_options_are_the_modules_options():
    """Every parameter given to an awx.awx module is one of its documented options."""
    awx = pytest.importorskip("ansible_collections.awx.awx")
    base = os.path.join(list(awx.__path__)[0], "plugins", "modules")
    objects = scheduler.awx_objects(scheduler.jobs(REFERENCE_SERVICES, REFERENCE_JOBS), SETTINGS)
    for module, items in (("organization", [objects["organization"]]), ("credential_type", [objects["credential_type"]]),
                          ("project", [objects["project"]]), ("inventory", [objects["inventory"]]),
                          ("inventory_source", [objects["inventory_source"]]), ("job_template", objects["job_templates"]),
                          ("workflow_job_template", [objects["workflow"]]), ("schedule", objects["schedules"])):
        with open(os.path.join(base, module + ".py")) as handle:
            text = handle.read()
        doc = yaml.safe_load(re.search(r'DOCUMENTATION = r?(["\']{3})(.*?)\1', text, re.S).group(2))
        for item in items:
            assert set(item) <= set(doc["options"]), (module, set(item) - set(doc["options"]))


def test_semaphore_objects_and_bodies():
    jobs = scheduler.jobs(REFERENCE_SERVICES, REFERENCE_JOBS)
    with pytest.raises(LifeboatError, match="Europe/Berlin but Semaphore runs every schedule in UTC"):
        scheduler.semaphore_objects(jobs, {"git_url": "g"})
    jobs = [job for job in jobs if job["zone"] == "UTC"]
    objects = scheduler.semaphore_objects(jobs, {"git_url": "g"})
    with pytest.raises(LifeboatError, match="no key named 'Lifeboat machine'"):
        scheduler.semaphore_with_ids(objects, 1, {"keys": {"Lifeboat repository": 3}})
    ids = {"keys": {"Lifeboat repository": 3, "Lifeboat machine": 4}}
    first = scheduler.semaphore_with_ids(objects, 1, ids)
    assert [r["path"] for r in first] == ["repositories", "inventory", "environment"]
    ids.update(repositories={"Lifeboat": 5}, inventories={"Lifeboat": 6}, environments={"Lifeboat": 7})
    second = scheduler.semaphore_with_ids(objects, 1, ids)
    assert {r["path"] for r in second} == {"templates"}
    assert all(r["body"]["repository_id"] == 5 and r["body"]["inventory_id"] == 6 for r in second)
    ids["templates"] = {r["name"]: 100 + i for i, r in enumerate(second)}
    third = scheduler.semaphore_with_ids(objects, 1, ids)
    assert {r["path"] for r in third} == {"schedules"} and len(third) == len(jobs)
    existing = [{"name": r["name"], "template_id": r["body"]["template_id"]} for r in third]
    assert scheduler.semaphore_with_ids(objects, 1, ids, existing) == []
    with pytest.raises(LifeboatError, match="two templates named"):
        scheduler.by_name([{"name": "a", "id": 1}, {"name": "a", "id": 2}], "templates")


def timer_oncalendar(service):
    """The OnCalendar line of the agent's timer for ``service`` (the backup_agent role's template, rendered)."""
    import jinja2
    with open(TIMER) as handle:
        text = jinja2.Template(handle.read()).render(item=service, backup_agent_schedule=scheduler.DEFAULT_BACKUP_SCHEDULE,
                                                     backup_agent_randomized_delay="10min", ansible_managed="")
    return re.search(r"^OnCalendar=(.*)$", text, re.M).group(1)


def systemd_times(expr):
    out = subprocess.run(["systemd-analyze", "calendar", "--iterations=%d" % COUNT, expr], capture_output=True,
                         text=True, check=True, env=dict(os.environ, TZ="UTC", LC_ALL="C")).stdout
    stamps = re.findall(r"(?:Next elapse|Iter\. #\d+): \w{3} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC", out)
    return [datetime.datetime.fromisoformat(stamp).replace(tzinfo=UTC) for stamp in stamps]


def rrule_times(rrule, after, count):
    from dateutil.rrule import rrulestr
    rule = rrulestr(rrule.replace(" RRULE:", "\nRRULE:"))
    found = []
    while len(found) < count:
        after = rule.after(after)
        found.append(after.astimezone(UTC))
    return found


def cron_times(cron, zone, after, count):
    from croniter import croniter
    tz = zoneinfo.ZoneInfo(zone)
    walker = croniter(cron, after.astimezone(tz).replace(tzinfo=None))
    return [walker.get_next(datetime.datetime).replace(tzinfo=tz).astimezone(UTC) for _fire in range(count)]


def _agreement(services, jobs, semaphore_zone=None):
    job_list = scheduler.jobs(services, jobs)
    awx = {s["name"]: s for s in scheduler.awx_objects(job_list, SETTINGS)["schedules"]}
    checked = 0
    for job in job_list:
        expr = job["schedule"]
        if job["kind"] == "backup":  # the agent's timer, as the role writes it
            service = next(s for host in services.values() for s in host if s["name"] == job["services"][0])
            expr = timer_oncalendar(service)
            assert expr == job["schedule"]
        expected = systemd_times(expr)
        assert len(expected) == COUNT, expr
        start = expected[0] - datetime.timedelta(seconds=1)
        rrule = awx["Lifeboat " + job["id"]]["rrule"]
        assert rrule_times(rrule, start, COUNT) == expected, rrule
        zone = semaphore_zone or job["zone"]
        sem = scheduler.semaphore_objects([job], {"git_url": "g", "timezone": zone})["schedules"][0]
        assert cron_times(sem["cron_format"], zone, start, COUNT) == expected, sem["cron_format"]
        checked += 1
    return checked


@needs_systemd
@needs_lab_inventory
def test_lab_jobs_fire_alike_under_systemd_awx_and_semaphore():
    with open(os.path.join(LAB, "app.yml")) as handle:
        services = yaml.safe_load(handle)["lifeboat_services"]
    with open(os.path.join(LAB, "all.yml")) as handle:
        jobs = yaml.safe_load(handle)["lifeboat_jobs"]
    assert _agreement({"app1": services}, jobs) == len(lab_jobs()) >= 10


@needs_systemd
def test_reference_plan_jobs_fire_alike_under_systemd_awx_and_semaphore():
    assert _agreement(REFERENCE_SERVICES, REFERENCE_JOBS) == 8
