# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the playbooks' JSON reports go on the controller."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: report_path
short_description: A new report file's path in Lifeboat's report directory
version_added: "1.1.0"
description:
  - Returns C(<directory>/<kind>-<UTC time>.json). The directory is O(directory) when given, else the
    environment variable C(LIFEBOAT_REPORT_DIR), else C($XDG_STATE_HOME/lifeboat/reports), else
    C(~/.local/state/lifeboat/reports), never the working directory, which AWX and ansible-runner delete
    after a job.
options:
  _input:
    description: The kind of report, e.g. C(verify) or C(restore-test).
    type: str
    required: true
  directory:
    description: The report directory (the inventory's C(lifeboat_report_dir)).
    type: str
"""

RETURN = r"""
_value:
  description: The report file's absolute path (nothing is created).
  type: str
"""

import datetime
import os
import re


def report_dir(directory=None, environ=None):
    environ = os.environ if environ is None else environ
    if directory:
        return os.path.abspath(os.path.expanduser(directory))
    if environ.get("LIFEBOAT_REPORT_DIR"):
        return os.path.abspath(os.path.expanduser(environ["LIFEBOAT_REPORT_DIR"]))
    state = environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(state, "lifeboat", "reports")


def report_path(kind, directory=None, when=None, environ=None):
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_-]*$", kind or ""):
        from ansible.errors import AnsibleFilterError
        raise AnsibleFilterError("report kind %r: letters, digits, '-' and '_' only" % (kind,))
    when = when or datetime.datetime.now(datetime.timezone.utc)
    return os.path.join(report_dir(directory, environ), "%s-%s.json" % (kind, when.strftime("%Y%m%dT%H%M%S.%fZ")))


class FilterModule(object):
    def filters(self):
        return {"report_path": report_path}
