# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every scheduled job of Lifeboat, once, from the inventory; and what AWX and Semaphore are given for it.

The jobs come from two places of the inventory data, and nowhere else:

- each service's ``schedule`` (``lifeboat_services``; the ``backup_agent`` role's timers read the same
  field, with the same default): one backup job per distinct schedule, limited to its services;
- ``lifeboat_jobs``: the controller-side jobs, ``offsite_sync``, ``verify``, ``restore_test`` and
  ``drill``, each ``{schedule, extra_vars, enabled}``.

``jobs()`` turns them into one list; ``awx_objects()`` gives the ``awx.awx`` modules' parameters
(organisation, credential type, project, inventory and source, one job template per playbook with
surveys on the destructive ones, the backup workflow, the schedules with rrules), and
``semaphore_objects()`` the request bodies of Semaphore's REST API (project, repository, inventory,
environment, templates, schedules with cron). Nothing here talks to a server or reads a secret.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json

from ansible_collections.lifeboat.dr.plugins.module_utils import schedules
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError

# The backup_agent role's default for a service without its own schedule (backup_agent_schedule).
DEFAULT_BACKUP_SCHEDULE = "*-*-* 02:00:00"

# Controller-side jobs that lifeboat_jobs may schedule, and their playbooks.
JOB_KINDS = {
    "offsite_sync": "offsite_sync.yml",
    "verify": "verify.yml",
    "restore_test": "restore_test.yml",
    "drill": "drill.yml",
}

# One job template per playbook (lab_*.yml excluded: they build the lab). Those that overwrite or move
# data carry a survey whose answers are the confirmation.
PLAYBOOKS = ("backup.yml", "backup_agent.yml", "offsite_sync.yml", "verify.yml", "restore_test.yml", "restore.yml",
             "postgresql_pitr.yml", "failover.yml", "rebuild.yml", "dns_switch.yml", "drill.yml", "runbook.yml",
             "post_incident.yml")


def _confirm(question):
    return {"question_name": question, "variable": "lifeboat_confirm", "type": "multiplechoice",
            "choices": ["no", "yes"], "default": "no", "required": True,
            "question_description": "Answer yes to let it overwrite or replace data; no only plans."}


def _text(variable, question, default="", required=False):
    return {"question_name": question, "variable": variable, "type": "text", "default": default,
            "required": required, "min": 0, "max": 1024, "question_description": question}


SURVEYS = {
    "restore.yml": [
        _confirm("Overwrite the target's data with the backup?"),
        _text("lifeboat_from", "Which backup (latest, daily, weekly, monthly, YYYYMMDD or a backup id)", "latest", True),
        _text("lifeboat_target", "Restore into (production, staging, a database, a path or a host)", "production", True),
        {"question_name": "Type of restore", "variable": "lifeboat_type", "type": "multiplechoice",
         "choices": ["full", "pitr"], "default": "full", "required": True, "question_description": "full or pitr"},
    ],
    "rebuild.yml": [
        _text("lifeboat_rebuild_host", "The lost server (inventory host)", "", True),
        _text("lifeboat_rebuild_target", "The blank machine to rebuild onto (inventory host; empty: the lost host's address)"),
        _confirm("Replace the data on the target if it has any?"),
    ],
    "failover.yml": [
        {"question_name": "Incident", "variable": "incident", "type": "multiplechoice",
         "choices": ["status", "database_failure", "redis_failure", "service_failure", "rejoin", "datacenter_failure"],
         "default": "status", "required": True, "question_description": "status changes nothing"},
        _text("candidate", "Replica to promote (empty: Lifeboat decides)"),
        _text("service", "Unit to restart (service_failure)"),
        _confirm("Rejoin or rebuild, replacing the old primary's data?"),
    ],
    "dns_switch.yml": [
        _text("value", "The new address", "", True),
        _text("record", "The record (empty: the inventory's)"),
    ],
}


def _service_schedule(service, default):
    value = service.get("schedule") or default
    if not isinstance(value, str):
        raise LifeboatError("service %r: schedule must be one OnCalendar expression, got %r"
                            % (service.get("name"), value))
    return value


def jobs(services_by_host, lifeboat_jobs=None, default_backup_schedule=DEFAULT_BACKUP_SCHEDULE):
    """The scheduled jobs: ``[{id, kind, playbook, schedule, zone, cron, extra_vars, services, hosts}]``.

    ``services_by_host`` maps each inventory host to its ``lifeboat_services``. Services sharing a schedule
    share a backup job (``lifeboat_only`` lists them); a service named alike on two hosts with two
    schedules is refused, since ``lifeboat_only`` selects by name. Every schedule is checked to be one
    that systemd, cron and AWX can say alike (``schedules.parse``, ``to_cron``, ``to_rrule``).
    """
    by_schedule, seen = {}, {}
    for host in sorted(services_by_host or {}):
        for service in services_by_host[host] or []:
            name = service.get("name")
            schedule = _service_schedule(service, default_backup_schedule)
            if name in seen and seen[name][1] != schedule:
                raise LifeboatError("service %r is scheduled %r on %s and %r on %s: lifeboat_only selects by name, so "
                                    "give them one schedule or two names"
                                    % (name, seen[name][1], seen[name][0], schedule, host))
            seen[name] = (host, schedule)
            entry = by_schedule.setdefault(schedule, {"services": [], "hosts": []})
            if name not in entry["services"]:
                entry["services"].append(name)
            if host not in entry["hosts"]:
                entry["hosts"].append(host)
    found = []
    for schedule, entry in by_schedule.items():
        found.append(_job("backup " + ",".join(sorted(entry["services"])), "backup", schedule,
                          {"lifeboat_only": sorted(entry["services"])}, sorted(entry["services"]), entry["hosts"]))
    unknown = sorted(set(lifeboat_jobs or {}) - set(JOB_KINDS))
    if unknown:
        raise LifeboatError("lifeboat_jobs: unknown job(s) %s; known: %s" % (", ".join(unknown),
                                                                             ", ".join(sorted(JOB_KINDS))))
    for kind in sorted(lifeboat_jobs or {}, key=list(JOB_KINDS).index):
        spec = lifeboat_jobs[kind] or {}
        if not spec.get("enabled", True):
            continue
        if not spec.get("schedule"):
            raise LifeboatError("lifeboat_jobs.%s: a schedule (OnCalendar expression) is required" % kind)
        extra = spec.get("extra_vars") or {}
        if not isinstance(extra, dict):
            raise LifeboatError("lifeboat_jobs.%s: extra_vars must be a mapping" % kind)
        found.append(_job(kind.replace("_", " "), kind, spec["schedule"], dict(extra), [], []))
    # Ids cannot clash: backups' start with "backup ", the others are the job kinds, each once.
    order = ("backup",) + tuple(JOB_KINDS)
    return sorted(found, key=lambda job: (order.index(job["kind"]), job["id"]))


def _job(ident, kind, schedule, extra_vars, services, hosts):
    found = schedules.parse(schedule)
    schedules.to_rrule(found, datetime.datetime(2026, 1, 1))  # refuses what AWX cannot take, naming why
    return {"id": ident, "kind": kind, "playbook": "backup.yml" if kind == "backup" else JOB_KINDS[kind],
            "schedule": schedule, "zone": found["zone"], "cron": schedules.to_cron(found),
            "extra_vars": extra_vars, "services": services, "hosts": hosts}


# -- AWX ----------------------------------------------------------------------------------------

# The secrets a Lifeboat job needs, as AWX keeps them in a credential of this type: each reaches the
# playbook as an extra variable (the inventory refers to it), the offsite keys also as the environment
# variables the S3 SDK reads on the controller.
CREDENTIAL_FIELDS = (
    ("offsite_access_key", "Offsite store access key id", False, False, "lifeboat_offsite_access_key",
     "AWS_ACCESS_KEY_ID"),
    ("offsite_secret_key", "Offsite store secret key", True, False, "lifeboat_offsite_secret_key",
     "AWS_SECRET_ACCESS_KEY"),
    ("age_identity", "age identity (private key) that decrypts backups", True, True, "lifeboat_age_identity", None),
    ("signing_key", "Ed25519 key that signs backups", True, True, "lifeboat_signing_key", None),
    ("database_passwords", "Database passwords (JSON: service name to password)", True, True,
     "lifeboat_database_passwords", None),
)


def credential_type(name):
    """``awx.awx.credential_type`` parameters: inputs and injectors, never a value."""
    fields, env, extra = [], {}, {}
    for ident, label, secret, multiline, extra_var, env_var in CREDENTIAL_FIELDS:
        field = {"id": ident, "label": label, "type": "string", "secret": secret}
        if multiline:
            field["multiline"] = True
        fields.append(field)
        extra[extra_var] = "{{ %s }}" % ident
        if env_var:
            env[env_var] = "{{ %s }}" % ident
    return {"name": name, "kind": "cloud", "description": "Lifeboat's secrets, injected into its jobs",
            "inputs": {"fields": fields, "required": []}, "injectors": {"env": env, "extra_vars": extra}}


def _template_name(settings, playbook):
    return "%s %s" % (settings["prefix"], playbook[:-4].replace("_", " "))


def _playbook_path(settings, playbook):
    return settings["playbook_dir"].rstrip("/") + "/" + playbook if settings["playbook_dir"] else playbook


def survey(playbook):
    """The survey of a destructive playbook (``awx.awx.job_template``'s ``survey_spec``), else None."""
    spec = SURVEYS.get(playbook)
    if spec is None:
        return None
    return {"name": "Confirm " + playbook, "description": "Answers needed before it changes data",
            "spec": [dict(item) for item in spec]}


def _rrule(job, dtstart):
    return schedules.to_rrule(job["schedule"], dtstart)


AWX_DEFAULTS = {
    "prefix": "Lifeboat",
    "organization": "Lifeboat",
    "credential_type": "Lifeboat secrets",
    "credentials": ["Lifeboat machine", "Lifeboat secrets"],
    "project": "Lifeboat",
    "scm_url": "",
    "scm_branch": "main",
    "inventory": "Lifeboat",
    "inventory_source_path": "inventories/production/hosts.yml",
    "playbook_dir": "playbooks",
    "execution_environment": "",
    # A fixed DTSTART keeps every rrule the same from run to run (no change, no PATCH).
    "dtstart": "2026-01-01T00:00:00",
    "workflow": "Lifeboat backup, offsite copy, verification",
    "verify_level": "quick",
}


def _settings(settings, defaults):
    merged = dict(defaults)
    merged.update(dict((key, value) for key, value in (settings or {}).items() if value is not None))
    unknown = sorted(set(merged) - set(defaults))
    if unknown:
        raise LifeboatError("unknown setting(s): %s" % ", ".join(unknown))
    return merged


def awx_objects(job_list, settings=None):
    """The ``awx.awx`` modules' parameters, in the order they are applied (each refers only to earlier ones)."""
    cfg = _settings(settings, AWX_DEFAULTS)
    if not cfg["scm_url"]:
        raise LifeboatError("the AWX project needs its repository's URL (scm_url)")
    org = cfg["organization"]
    dtstart = datetime.datetime.fromisoformat(cfg["dtstart"]).replace(tzinfo=None)
    project = {"name": cfg["project"], "organization": org, "scm_type": "git", "scm_url": cfg["scm_url"],
               "scm_branch": cfg["scm_branch"], "scm_update_on_launch": True, "scm_clean": True,
               "description": "Lifeboat's playbooks and inventory"}
    inventory = {"name": cfg["inventory"], "organization": org, "description": "Lifeboat's inventory, from the project"}
    source = {"name": cfg["inventory"] + " from the project", "inventory": cfg["inventory"], "organization": org,
              "source": "scm", "source_project": cfg["project"], "source_path": cfg["inventory_source_path"],
              "overwrite": True, "overwrite_vars": True, "update_on_launch": True}
    templates = []
    for playbook in PLAYBOOKS:
        template = {"name": _template_name(cfg, playbook), "job_type": "run",
                    "project": cfg["project"], "inventory": cfg["inventory"],
                    "playbook": _playbook_path(cfg, playbook), "credentials": list(cfg["credentials"]),
                    "ask_variables_on_launch": True, "ask_limit_on_launch": True,
                    "description": "playbooks/" + playbook}
        if cfg["execution_environment"]:
            template["execution_environment"] = cfg["execution_environment"]
        spec = survey(playbook)
        template["survey_enabled"] = spec is not None
        if spec is not None:
            template["survey_spec"] = spec
        templates.append(template)
    chain = ("backup.yml", "offsite_sync.yml", "verify.yml")
    nodes = []
    for index, playbook in enumerate(chain):
        node = {"identifier": playbook[:-4],
                "unified_job_template": {"name": _template_name(cfg, playbook), "type": "job_template",
                                         "organization": {"name": org}},
                "related": {"success_nodes": [{"identifier": chain[index + 1][:-4]}] if index + 1 < len(chain) else []}}
        if playbook == "verify.yml":
            node["extra_data"] = {"lifeboat_level": cfg["verify_level"]}
        nodes.append(node)
    workflow = {"name": cfg["workflow"], "organization": org, "ask_variables_on_launch": True,
                "description": "backup.yml, then offsite_sync.yml on success, then verify.yml on success",
                "workflow_nodes": nodes, "destroy_current_nodes": False}
    schedule_list = []
    for job in job_list:
        if job["kind"] == "backup":
            target = cfg["workflow"]
        else:
            target = _template_name(cfg, job["playbook"])
        schedule_list.append({"name": "%s %s" % (cfg["prefix"], job["id"]), "unified_job_template": target,
                              "organization": org, "rrule": _rrule(job, dtstart),
                              "extra_data": dict(job["extra_vars"]), "enabled": True,
                              "description": "OnCalendar=" + job["schedule"]})
    return {"organization": {"name": org, "description": "Lifeboat disaster recovery"},
            "credential_type": credential_type(cfg["credential_type"]), "project": project,
            "inventory": inventory, "inventory_source": source, "job_templates": templates,
            "workflow": workflow, "schedules": schedule_list, "credentials": list(cfg["credentials"])}


# -- Semaphore ----------------------------------------------------------------------------------

SEMAPHORE_DEFAULTS = {
    "prefix": "Lifeboat",
    "project": "Lifeboat",
    "git_url": "",
    "git_branch": "main",
    "repository_key": "Lifeboat repository",
    "inventory_key": "Lifeboat machine",
    "inventory_path": "inventories/production/hosts.yml",
    "environment": "Lifeboat",
    "playbook_dir": "playbooks",
    # Semaphore runs every cron in one zone, its server's (the schedule time zone of its configuration).
    "timezone": "UTC",
}


def _survey_vars(playbook):
    out = []
    for item in SURVEYS.get(playbook, []):
        var = {"name": item["variable"], "title": item["question_name"], "required": bool(item["required"]),
               "description": item.get("question_description", "")}
        if item["type"] == "multiplechoice":
            var["type"] = "enum"
            var["values"] = [{"name": choice, "value": choice} for choice in item["choices"]]
        else:
            var["type"] = ""
        out.append(var)
    return out


def semaphore_objects(job_list, settings=None):
    """Semaphore's request bodies, without the ids the server gives (``semaphore_with_ids`` adds them).

    Keys are referred to by name (``repository_key``, ``inventory_key``): they hold secrets, so they are
    made in Semaphore by a person, never from here. Cron has no zone: every job must be in Semaphore's.
    """
    cfg = _settings(settings, SEMAPHORE_DEFAULTS)
    if not cfg["git_url"]:
        raise LifeboatError("the Semaphore repository needs its URL (git_url)")
    for job in job_list:
        if job["zone"] != cfg["timezone"]:
            raise LifeboatError("job %r runs in %s but Semaphore runs every schedule in %s (its schedule time zone): "
                                "set the job's zone to it, or the setting to the job's"
                                % (job["id"], job["zone"], cfg["timezone"]))
    templates = []
    for playbook in PLAYBOOKS:
        templates.append({"name": _template_name(cfg, playbook), "playbook": _playbook_path(cfg, playbook),
                          "description": "playbooks/" + playbook, "app": "ansible", "type": "",
                          "arguments": "[]", "allow_override_args_in_task": False,
                          "survey_vars": _survey_vars(playbook)})
    schedule_list = []
    for job in job_list:
        target = _template_name(cfg, job["playbook"])
        if job["extra_vars"]:
            # A schedule carries no variables of its own: the job gets a template that passes them.
            target = "%s scheduled %s" % (cfg["prefix"], job["id"])
            templates.append({"name": target, "playbook": _playbook_path(cfg, job["playbook"]),
                              "description": "OnCalendar=" + job["schedule"], "app": "ansible", "type": "",
                              "arguments": json.dumps(["--extra-vars", json.dumps(job["extra_vars"], sort_keys=True)]),
                              "allow_override_args_in_task": False, "survey_vars": []})
        schedule_list.append({"name": "%s %s" % (cfg["prefix"], job["id"]), "cron_format": job["cron"], "active": True,
                              "template": target})
    return {"project": {"name": cfg["project"], "alert": False, "max_parallel_tasks": 0},
            "keys": [cfg["repository_key"], cfg["inventory_key"]],
            "repository": {"name": cfg["project"], "git_url": cfg["git_url"], "git_branch": cfg["git_branch"],
                           "key": cfg["repository_key"]},
            "inventory": {"name": cfg["project"], "type": "file", "inventory": cfg["inventory_path"],
                          "key": cfg["inventory_key"]},
            "environment": {"name": cfg["environment"], "json": "{}", "env": "{}"},
            "templates": templates, "schedules": schedule_list}


def by_name(items, kind):
    """``{name: id}`` of a Semaphore list; refuses two objects of one name (which one would be meant?)."""
    found = {}
    for item in items or []:
        if item.get("name") in found:
            raise LifeboatError("Semaphore has two %s named %r: remove one" % (kind, item["name"]))
        found[item.get("name")] = item.get("id")
    return found


def semaphore_with_ids(objects, project_id, ids, existing=None):
    """The bodies still to create, with the ids they refer to.

    ``ids`` names what exists: ``keys``, ``repositories``, ``inventories``, ``environments``, ``templates``
    (each ``{name: id}``); ``existing`` is a list of the server's schedules. Returns ``{kind: [body]}``
    for ``repository``, ``inventory``, ``environment``, ``templates`` and ``schedules`` not there yet,
    each schedule's template id resolved (a template not made yet is left for the next pass).
    """
    missing_keys = [name for name in objects["keys"] if name not in ids.get("keys", {})]
    if missing_keys:
        raise LifeboatError("Semaphore's project has no key named %s: create it there (keys hold secrets, "
                            "Lifeboat only refers to them)" % ", ".join(repr(name) for name in missing_keys))
    keys = ids["keys"]
    out = {"repository": [], "inventory": [], "environment": [], "templates": [], "schedules": []}
    repo = objects["repository"]
    if repo["name"] not in ids.get("repositories", {}):
        out["repository"].append({"name": repo["name"], "project_id": project_id, "git_url": repo["git_url"],
                                  "git_branch": repo["git_branch"], "ssh_key_id": keys[repo["key"]]})
    inv = objects["inventory"]
    if inv["name"] not in ids.get("inventories", {}):
        out["inventory"].append({"name": inv["name"], "project_id": project_id, "type": inv["type"],
                                 "inventory": inv["inventory"], "ssh_key_id": keys[inv["key"]],
                                 "become_key_id": None})
    env = objects["environment"]
    if env["name"] not in ids.get("environments", {}):
        out["environment"].append(dict(env, project_id=project_id))
    refs = ("repositories", repo["name"]), ("inventories", inv["name"]), ("environments", env["name"])
    ready = all(name in ids.get(kind, {}) for kind, name in refs)
    if ready:
        for template in objects["templates"]:
            if template["name"] not in ids.get("templates", {}):
                out["templates"].append(dict(template, project_id=project_id,
                                             repository_id=ids["repositories"][repo["name"]],
                                             inventory_id=ids["inventories"][inv["name"]],
                                             environment_id=ids["environments"][env["name"]]))
    have = set((item.get("name"), item.get("template_id")) for item in existing or [])
    for schedule in objects["schedules"]:
        template_id = ids.get("templates", {}).get(schedule["template"])
        if template_id is None or (schedule["name"], template_id) in have:
            continue
        out["schedules"].append({"name": schedule["name"], "project_id": project_id, "template_id": template_id,
                                 "cron_format": schedule["cron_format"], "active": schedule["active"]})
    paths = (("repository", "repositories"), ("inventory", "inventory"), ("environment", "environment"),
             ("templates", "templates"), ("schedules", "schedules"))
    return [{"path": path, "name": body["name"], "body": body} for kind, path in paths for body in out[kind]]
