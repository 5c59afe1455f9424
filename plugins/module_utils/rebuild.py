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
        value = datetime.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
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


def preflight(services, listing, target, keys=None, versions=None, confirm=False, now=None):
    """Whether the rebuild may start. Returns ``{"ok", "problems", "warnings", "backups", "room_needed",
    "summary"}``; ``ok`` is false whenever there is a problem, and nothing has been changed by then."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    keys = keys or {}
    versions = versions or {}
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
            "room_needed": room_needed(backups), "summary": summary}
