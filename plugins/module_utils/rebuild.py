# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A rebuild's preflight: whether a lost server can be rebuilt onto a target, decided before anything
changes. Pure functions over what the preflight tasks observed:

- ``listing``: ``backup_offsite`` ``action: list`` for the lost host's services
  (``{"services": {name: {"backups": [...newest first...], "incomplete": [...]}}}``), or
  ``{"error": text}`` when the offsite store could not be read;
- ``target``: ``{"reachable", "error", "markers" (data that is already there), "free_bytes",
  "versions" ({service: the server version the target would install})}``;
- ``keys``: ``{service: {"needed", "matches", "detail"}}`` (the decryption key is present and
  belongs to the backups' recipient, or the test decryption worked);
- ``versions``: ``{service: {"backup": text, "parts": n}}``: the server version the backup was
  taken from and how many leading numbers make its major version (PostgreSQL 1, MariaDB 2; the
  engine's property), or nothing for engines without one.

The result says what a person reads before a rebuild: every problem (each names the service or
the target and the cause), the newest complete backup of each service with its age, and the
room the target needs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re

from ansible_collections.lifeboat.dr.plugins.module_utils import engines

# Room a restore needs on the target per byte of compressed backup: the downloaded file, the
# restored data (logical dumps expand several times), and a scratch copy while it is checked.
ROOM_PER_BACKUP_BYTE = 6
# Room for the packages the rebuild installs (database servers, tools, the Lifeboat virtualenv).
ROOM_FOR_PACKAGES = 1 << 30


def parse_time(text):
    """An ISO 8601 time (``2026-12-07T02:00:00Z`` or with an offset) as an aware datetime, or None."""
    if not text:
        return None
    try:
        # PostgreSQL writes "+00" for UTC, which fromisoformat reads only from Python 3.11 on.
        value = datetime.datetime.fromisoformat(re.sub(r"([+-]\d\d)$", r"\1:00", str(text).replace("Z", "+00:00")))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)


def major_version(text, parts):
    """``15.14 (Debian ...)`` with 1 part -> ``(15,)``; ``10.11.14-MariaDB`` with 2 -> ``(10, 11)``; a Debian
    package version's epoch (``1:10.11.6-0+deb12u1``) is not part of it."""
    if not text or not parts:
        return None
    numbers = re.match(r"^\s*(?:\d+:)?(\d+(?:\.\d+)*)", str(text))
    if not numbers:
        return None
    found = tuple(int(n) for n in numbers.group(1).split("."))
    return found[:parts] if len(found) >= parts else None


def newest_backup(service, listing, now):
    """``(backup, problem)``: the newest complete offsite backup of ``service`` with its age, or why none."""
    listed = (listing.get("services") or {}).get(service) or {}
    backups = listed.get("backups") or []
    incomplete = listed.get("incomplete") or []
    if not backups:
        why = "no complete backup of %s in the offsite store" % service
        if incomplete:
            why += " (%d incomplete: %s)" % (len(incomplete), "; ".join(
                "%s: %s" % (i.get("path"), i.get("reason")) for i in incomplete[:3]))
        return None, why
    newest = backups[0]
    taken = parse_time(newest.get("timestamp"))
    age = round((now - taken).total_seconds() / 3600.0, 2) if taken else None
    return {"service": service, "backup_id": newest.get("backup_id"), "timestamp": newest.get("timestamp"),
            "age_hours": age, "size_bytes": int(newest.get("size_bytes") or 0), "signed": newest.get("signed"),
            "skipped_incomplete": len(incomplete)}, None


def room_needed(backups):
    return sum(b["size_bytes"] for b in backups) * ROOM_PER_BACKUP_BYTE + ROOM_FOR_PACKAGES


def _gib(count):
    return "%.1f GiB" % (count / float(1 << 30))


def apt_policy(text):
    """``{package: version}`` from ``apt-cache policy PKG...``: the installed version, else the candidate (what an
    install would bring), or None when neither is known."""
    found, package, installed = {}, None, None
    for line in (text or "").splitlines():
        if line and not line[0].isspace() and line.rstrip().endswith(":"):
            package, installed = line.strip()[:-1], None
            found[package] = None
            continue
        field, value = (line.strip().split(":", 1) + [""])[:2]
        value = value.strip()
        if package is None or value in ("", "(none)"):
            continue
        if field == "Installed":
            installed = found[package] = value
        elif field == "Candidate" and installed is None:
            found[package] = value
    return found


def server_versions(services, policy_text):
    """``{service: version}``: the version of its engine's server package (``server_packages[0]``) the target has
    or would install, from ``apt-cache policy`` output."""
    policy = apt_policy(policy_text)
    found = {}
    for service in services:
        engine = service.get("engine")
        packages = engines.get(engine).server_packages if engines.known(engine) else ()
        if packages and policy.get(packages[0]):
            found[service["name"]] = policy[packages[0]]
    return found


def backup_versions(services, listing):
    """``{service: {"backup", "parts"}}`` from the newest listed backup's ``server_version`` and the engine's
    ``server_version_parts``, for the services whose engine and backup say both."""
    found = {}
    for service in services:
        engine = service.get("engine")
        parts = engines.get(engine).server_version_parts if engines.known(engine) else None
        backups = (((listing.get("services") or {}).get(service["name"]) or {}).get("backups")) or []
        if parts and backups and backups[0].get("server_version"):
            found[service["name"]] = {"backup": backups[0]["server_version"], "parts": parts}
    return found


def preflight(services, listing, target, keys=None, versions=None, confirm=False, now=None, resume=None):
    """Whether the rebuild may start. Returns ``{"ok", "problems", "warnings", "backups", "room_needed",
    "summary", "resuming"}``; ``ok`` is false whenever there is a problem, and nothing has been changed by then.
    ``resume`` is the target's rebuild record (:func:`resume_plan`): data this same rebuild restored does not
    make the target "not blank"."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    keys = keys or {}
    versions = dict(backup_versions(services, listing), **(versions or {}))
    resume = resume or {}
    problems, warnings, backups = [], [], []
    names = [s["name"] for s in services]
    if not names:
        problems.append("the lost host has no lifeboat_services: there is nothing to rebuild from")

    if listing.get("error"):
        problems.append("the offsite store cannot be read: %s" % listing["error"])
    else:
        for name in names:
            backup, problem = newest_backup(name, listing, now)
            if problem:
                problems.append(problem)
                continue
            backups.append(backup)
            if backup["skipped_incomplete"]:
                warnings.append("%s: %d incomplete offsite backup(s) skipped" % (name, backup["skipped_incomplete"]))
            if backup["age_hours"] is None:
                warnings.append("%s: backup %s has no readable time" % (name, backup["backup_id"]))

    for name in names:
        key = keys.get(name) or {}
        if key.get("needed") and not key.get("matches"):
            problems.append("%s: the decryption key %s" % (name, key.get("detail") or "is missing"))

    if not target.get("reachable"):
        problems.append("the target cannot be reached: %s" % (target.get("error") or "no answer"))
    else:
        markers = target.get("markers") or []
        if markers and resume.get("finished"):
            warnings.append("%s was rebuilt here (started %s, finished %s): it is verified, nothing is restored again "
                            "(-e lifeboat_confirm=yes rebuilds it anew)"
                            % (resume.get("lost_host"), resume.get("started"), resume.get("finished")))
            markers = []
        elif markers and resume.get("resuming"):
            warnings.append("resuming the rebuild of %s started at %s (done: %s); its data on the target is kept"
                            % (resume.get("lost_host"), resume.get("started"), ", ".join(resume.get("done") or [])
                               or "nothing yet"))
            markers = []
        if markers and not confirm:
            problems.append("the target is not blank (%s): rebuilding onto it replaces that data; run again with "
                            "-e lifeboat_confirm=yes to go ahead" % ", ".join(markers))
        elif markers:
            warnings.append("the target is not blank (%s); going ahead as confirmed" % ", ".join(markers))
        free = target.get("free_bytes")
        needed = room_needed(backups)
        if free is not None and free < needed:
            problems.append("the target has %s free where the rebuild needs about %s (%dx the backups' %s plus %s "
                            "for packages)" % (_gib(free), _gib(needed), ROOM_PER_BACKUP_BYTE,
                                               _gib(sum(b["size_bytes"] for b in backups)), _gib(ROOM_FOR_PACKAGES)))

        for name in names:
            wanted = versions.get(name) or {}
            parts = wanted.get("parts")
            backup_major = major_version(wanted.get("backup"), parts)
            if backup_major is None:
                continue
            offered = (target.get("versions") or {}).get(name)
            target_major = major_version(offered, parts)
            if target_major is None:
                problems.append("%s: the target offers no server version to restore a %s backup into"
                                % (name, ".".join(map(str, backup_major))))
            elif target_major < backup_major:
                problems.append("%s: the backup comes from server version %s, the target would install the older %s; "
                                "a restore into an older major version is refused"
                                % (name, ".".join(map(str, backup_major)), ".".join(map(str, target_major))))

    ok = not problems
    if ok:
        summary = "ready: %d service(s), newest backups %s" % (len(backups), ", ".join(
            "%s %s (%s h old)" % (b["service"], b["backup_id"], b["age_hours"]) for b in backups))
    else:
        summary = "refused before anything changed: " + "; ".join(problems)
    return {"ok": ok, "problems": problems, "warnings": warnings, "backups": backups,
            "room_needed": room_needed(backups), "summary": summary, "resuming": bool(resume.get("resuming"))}


def resume_plan(services, record, lost_host, redo=False):
    """What a rebuild of ``lost_host`` still has to restore, from the target's rebuild record (the JSON the
    rebuild keeps on the target: ``{"lost_host", "started", "restored": {service: backup}, "finished"}``, or
    None on a blank host). A record of another host's rebuild is not ours to resume (the preflight then sees
    the target's data as someone else's). A finished rebuild is not redone (``finished``: a run verifies and
    reports) unless ``redo`` (the operator confirmed): then it starts over."""
    names = [s["name"] for s in services]
    record = record or {}
    if record.get("lost_host") == lost_host and record.get("finished") and redo:
        return {"resuming": False, "lost_host": lost_host, "started": None, "done": [], "todo": names,
                "foreign": None, "finished": None}
    if not record or record.get("lost_host") != lost_host:
        return {"resuming": False, "lost_host": lost_host, "started": None, "done": [], "todo": names,
                "foreign": record.get("lost_host"), "finished": None}
    restored = record.get("restored") or {}
    done = [name for name in names if name in restored]
    return {"resuming": True, "lost_host": lost_host, "started": record.get("started"), "done": done,
            "todo": [name for name in names if name not in restored], "finished": record.get("finished")}


def key_check(services, listing, restored):
    """Whether the application key restored on the target is the one each service's data was written with.

    ``restored``: ``{app_key_file path: sha256 hex of the file on the target, or None when it is missing}``.
    Each service with ``app_key_file`` is compared with the ``app_key_fingerprint`` its newest offsite backup
    recorded. Returns ``{"ok", "problems", "warnings", "checked": {service: fingerprint}}``."""
    problems, warnings, checked = [], [], {}
    for service in services:
        path = service.get("app_key_file")
        if not path:
            continue
        name = service["name"]
        backups = (((listing.get("services") or {}).get(name) or {}).get("backups")) or []
        recorded = backups[0].get("app_key_fingerprint") if backups else None
        digest = restored.get(path)
        if not digest:
            problems.append("%s: the application key %s is not on the target after restoring the configuration: "
                            "the data cannot be read without it" % (name, path))
            continue
        have = "sha256:" + digest[:16]
        if not recorded:
            warnings.append("%s: backup %s recorded no application key fingerprint (taken before app_key_file was set)"
                            "; the key could not be checked" % (name, backups[0].get("backup_id") if backups else "-"))
        elif have != recorded:
            problems.append("%s: the restored application key %s has fingerprint %s, but the data of backup %s was "
                            "written under %s: restoring it would give the application data it cannot decrypt"
                            % (name, path, have, backups[0].get("backup_id"), recorded))
        else:
            checked[name] = have
    return {"ok": not problems, "problems": problems, "warnings": warnings, "checked": checked}


def _seconds(start, end):
    first, last = parse_time(start), parse_time(end)
    return round((last - first).total_seconds(), 1) if first and last else None


def outcome(phases, data_times, lost_at, healthy_at, objectives=None, started=None):
    """The rebuild's report: each phase's duration, the RTO (from the first phase's start, or ``lost_at`` when the
    loss time is known and earlier, to the application answering healthy) and per service the RPO (the age of the
    restored data at ``lost_at``: the last replayed transaction, or the backup's time).

    ``phases``: ``[{"name", "start", "end"}]``; ``data_times``: ``{service: ISO time}``; ``started``: when the
    rebuild began, for one that was interrupted and continued (default the first phase's start); ``objectives``:
    ``{service: {"rto_minutes", "rpo_minutes"}}`` or the runbook's list of them, compared when given: the RTO
    against the smallest service objective."""
    if isinstance(objectives, list):  # the runbook's form: [{"service", "rto_minutes", "rpo_minutes"}]
        objectives = dict((o["service"], o) for o in objectives)
    objectives = objectives or {}
    timed = [dict(p, seconds=_seconds(p.get("start"), p.get("end"))) for p in phases]
    started = started or (timed[0]["start"] if timed else None)
    rto = _seconds(started, healthy_at)
    rpo = {}
    for service, when in sorted((data_times or {}).items()):
        age = _seconds(when, lost_at)
        entry = {"data_time": when, "seconds": max(age, 0.0) if age is not None else None}
        goal = objectives.get(service) or {}
        if goal.get("rpo_minutes") is not None and age is not None:
            entry["objective_seconds"] = goal["rpo_minutes"] * 60
            entry["met"] = entry["seconds"] <= entry["objective_seconds"]
        rpo[service] = entry
    rto_goals = [g["rto_minutes"] * 60 for g in objectives.values() if g.get("rto_minutes") is not None]
    ages = [e["seconds"] for e in rpo.values() if e["seconds"] is not None]
    result = {"phases": timed, "started": started, "healthy_at": healthy_at, "lost_at": lost_at,
              "rto_seconds": rto, "rpo": rpo, "worst_rpo_seconds": max(ages) if ages else None}
    if rto_goals and rto is not None:
        result["rto_objective_seconds"] = min(rto_goals)
        result["rto_met"] = rto <= min(rto_goals)
    return result


def restored(results, listing, pitr=None):
    """``{service: {"backup_id", "data_time", "how"}}`` for the record and the RPO, from the restore role's
    ``restore_results`` (the backup restored, whose time the offsite listing gives) and a PITR recovery's result
    (``{"services": [names in the cluster], "result": pitr_restore's result, "until": its target}``: their data is
    as new as the last replayed transaction, or as the target time when the recovery stopped at one)."""
    found = {}
    for result in results or []:
        name = (result.get("item") or {}).get("name")
        if not name or result.get("skipped") or not result.get("backup_id"):
            continue
        listed = ((listing.get("services") or {}).get(name) or {}).get("backups") or []
        when = next((b.get("timestamp") for b in listed if b.get("backup_id") == result["backup_id"]), None)
        found[name] = {"backup_id": result["backup_id"], "data_time": when, "how": "backup"}
    recovery = (pitr or {}).get("result") or {}
    if recovery.get("last_transaction") or recovery.get("base_backup"):
        # The data is as new as the end of the archive recovered (the newest instant of the recoverable window):
        # every transaction committed before it is there, also when none was written since the last one.
        candidates = [t for t in (recovery.get("last_transaction"), (recovery.get("window") or {}).get("latest"))
                      if parse_time(t)]
        when = max(candidates, key=parse_time) if candidates else None
        target = parse_time(pitr.get("until"))
        if target is not None:  # recovered to an instant (a breach's compromise): nothing after it came back
            when = pitr["until"]
        for name in pitr.get("services") or []:
            found[name] = {"backup_id": recovery.get("base_backup"), "data_time": when or None, "how": "pitr"}
    return found
