# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The incidents ``playbooks/failover.yml -e incident=...`` handles, and the check of a request.

The runbook's ids (INC-001 backend service failure, INC-003 database down,
INC-004 Redis failure, INC-005 datacenter failure) name the incidents that have
one; ``rejoin`` and ``status`` are Lifeboat's own. INC-002 (database running but
failing) and INC-006 (partial corruption) are restores, not failovers: the
restore and PITR playbooks handle them, and the error for an unknown incident
says so.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError


class Incident:
    """One entry of the catalogue: what it needs (``required``) and may take (``optional``)."""

    def __init__(self, name, runbook_id, title, rto_minutes, required=(), optional=(), changes=True,
                 unavailable=None):
        self.name = name
        self.runbook_id = runbook_id
        self.title = title
        self.rto_minutes = rto_minutes
        self.required = tuple(required)
        self.optional = tuple(optional)
        self.changes = changes          # False: read-only (status)
        self.unavailable = unavailable  # why it cannot run yet, or None

    def as_dict(self):
        return {"name": self.name, "runbook_id": self.runbook_id, "title": self.title,
                "rto_minutes": self.rto_minutes, "required": list(self.required),
                "optional": list(self.optional), "changes": self.changes,
                "available": self.unavailable is None, "unavailable": self.unavailable}


CATALOGUE = (
    Incident("service_failure", "INC-001", "Backend service failure: restart the unit, wait for its health check",
             5, required=("service",), optional=("timeout",)),
    Incident("database_failure", "INC-003", "Database down: fence the primary, promote a replica, repoint the app",
             20, optional=("candidate", "force")),
    Incident("redis_failure", "INC-004", "Redis failure: promote the replica or restore the newest backup",
             5, optional=("candidate", "force")),
    Incident("rejoin", None, "The old primary back as a streaming replica (pg_rewind or a fresh base backup)",
             None, optional=("host",)),
    Incident("status", None, "Roles, lag, slots, Redis roles and what the app points at", None, changes=False),
    Incident("datacenter_failure", "INC-005", "Datacenter failure: rebuild the lost site's server at the DR site "
             "from the offsite copies (or promote its cross-site replica), verify, switch DNS", 60, optional=("force",)),
)
INCIDENTS = dict((incident.name, incident) for incident in CATALOGUE)
PARAMETERS = tuple(sorted(set(p for i in CATALOGUE for p in i.required + i.optional)))
ELSEWHERE = {"INC-002": "the restore playbook (database running but failing)",
             "INC-006": "the restore and PITR playbooks (partial data corruption)"}


def known_names():
    return [incident.name for incident in CATALOGUE if incident.unavailable is None]


def _absent(value):
    """None, False (a flag left off) and blank text count as not given."""
    return value is None or value is False or (isinstance(value, str) and not value.strip())


def validate_request(incident, params=None):
    """Check ``incident`` and its ``params``; return ``{"incident", "runbook_id", "params", "changes"}``.

    ``params`` may carry every parameter the playbook knows (absent ones as None or
    ""); a parameter the incident does not use but that has a value is an error, so
    that ``-e service=api`` on ``database_failure`` is not silently ignored.
    """
    params = dict(params or {})
    name = incident.strip() if isinstance(incident, str) else incident
    if _absent(name):
        raise LifeboatError("no incident given: pass -e incident=NAME, one of %s" % ", ".join(known_names()))
    entry = INCIDENTS.get(name)
    if entry is None:
        raise LifeboatError("unknown incident %r: the known ones are %s (%s)" % (
            name, ", ".join(known_names()),
            "; ".join("%s is handled by %s" % item for item in sorted(ELSEWHERE.items()))))
    if entry.unavailable:
        raise LifeboatError(entry.unavailable)
    unknown = sorted(k for k in params if k not in PARAMETERS)
    if unknown:
        raise LifeboatError("unknown parameter(s) %s (failover parameters: %s)" % (
            ", ".join(unknown), ", ".join(PARAMETERS)))
    missing = [p for p in entry.required if _absent(params.get(p))]
    if missing:
        raise LifeboatError("incident %s needs %s (e.g. -e %s=...)" % (
            name, " and ".join(missing), missing[0]))
    unused = sorted(k for k, v in params.items()
                    if not _absent(v) and k not in entry.required + entry.optional)
    if unused:
        raise LifeboatError("incident %s does not take %s (it takes %s)" % (
            name, ", ".join(unused), ", ".join(entry.required + entry.optional) or "no parameters"))
    kept = dict((k, v) for k, v in params.items() if not _absent(v))
    return {"incident": name, "runbook_id": entry.runbook_id, "params": kept, "changes": entry.changes}
