#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: breach_evidence
short_description: Preserve the evidence of a compromised host in a new, checksummed set on it
version_added: "1.2.0"
description:
  - Collects what a security breach response preserves before the host is rebuilt (the reference plan's
    I(preserve evidence)) into a new directory C(<evidence_root>/<host>/<YYYYMMDDTHHMMSSZ>-<8 hex>) on the host.
    An existing set is never written into; every run makes a new one.
  - "The set holds: C(journal.txt) (C(journalctl --no-pager -o short-iso-precise), the last O(journal_lines) lines),
    C(processes.txt) (C(ps auxww)), C(connections.txt) (C(ss -tanpu)), C(who.txt), C(last.txt),
    C(timers.txt) (C(systemctl list-timers --all)), C(units.txt) (C(systemctl list-units --all)), copies of
    C(/etc/passwd) and C(/etc/group) under C(accounts/), the crontabs (C(/etc/crontab), C(/etc/cron.*),
    C(/var/spool/cron)) under C(cron/) at their own paths (symbolic links listed in C(cron/symlinks.txt), not
    followed), C(data.tar.gz) (a C(tar) of O(paths), numeric owners), C(commands.json) (each command, its exit
    code, its error output, its duration; notes on files not copied) and C(manifest.sha256) over all of them."
  - A command that is missing or fails (a breached host may lack tools, or have had them removed) is recorded in
    C(commands.json) with its exit code (127 when missing) and listed in RV(failed_commands); the collection
    goes on. A path of O(paths) that does not exist is noted and left out of the tarball.
  - The set directory is mode 0700 and every file 0600, owned by root when the module runs as root.
  - C(manifest.sha256) has the format of C(sha256sum) (C(cd <set> && sha256sum -c manifest.sha256) checks it);
    RV(manifest_sha256) is its own sha256, to check a copy of the set taken off the host against.
  - The module collects and never changes anything else on the host. It does not isolate the host nor copy the
    set off it; a playbook does that (the isolation ruleset comes from the filter
    C(lifeboat.dr.breach_isolation_ruleset)).
author:
  - Lifeboat contributors (@lifeboat-dr)
options:
  evidence_root:
    description: Directory under which the sets are made, one directory per O(host).
    type: path
    default: /var/lib/lifeboat/evidence
  host:
    description:
      - The host's name in the set's path. Defaults to the host's own name (its node name).
      - Letters, digits, C(.), C(_) or C(-).
    type: str
  paths:
    description:
      - Absolute paths of the data volumes to preserve in C(data.tar.gz). None by default (no tarball).
      - The tarball is read while the host runs; a file changing meanwhile makes C(tar) exit 1, which is recorded.
    type: list
    elements: path
    default: []
  journal_lines:
    description: How many of the journal's last lines to keep. V(0) keeps the whole journal.
    type: int
    default: 100000
  command_timeout:
    description: Seconds each command may take before it is killed (and recorded with exit code 124).
    type: int
    default: 600
attributes:
  check_mode:
    support: full
    details:
      - Check mode makes no directory and runs no command; it reports in RV(would_collect) what would be collected.
  diff_mode:
    support: none
extends_documentation_fragment:
  - lifeboat.dr.attributes
notes:
  - Run it as root; an unprivileged user cannot read other users' crontabs nor every process's connections.
  - The evidence is what the host says about itself. Programs a breach replaced (C(ps), C(ss)) may lie; copies of
    the data volumes and the journal are harder to falsify after the fact than the commands' output.
seealso:
  - module: lifeboat.dr.vault_secrets
"""

EXAMPLES = r"""
- name: Preserve the evidence of app1, with its data volumes
  lifeboat.dr.breach_evidence:
    paths:
      - /var/lib/postgresql
      - /srv/app
  register: evidence

- name: Show where it is and what it holds
  ansible.builtin.debug:
    msg: "{{ evidence.directory }}: {{ evidence.files | length }} files, manifest {{ evidence.manifest_sha256 }}"
"""

RETURN = r"""
directory:
  description: The set's directory on the host.
  returned: when not in check mode
  type: str
  sample: /var/lib/lifeboat/evidence/app1/20261207T031500Z-9f3c1a2b
set_name:
  description: The set's own name (the directory's last part), to copy it under in the evidence store.
  returned: when not in check mode
  type: str
  sample: 20261207T031500Z-9f3c1a2b
files:
  description: Every file of the set (C(name) relative to it, C(size) in bytes, C(sha256) in hex), the manifest last.
  returned: when not in check mode
  type: list
  elements: dict
  sample: [{"name": "processes.txt", "size": 20480, "sha256": "5e0f..."}]
manifest_sha256:
  description: The sha256 (hex) of C(manifest.sha256) itself.
  returned: when not in check mode
  type: str
commands:
  description: Each command run (or missing), with C(file), C(command), C(rc), C(stderr) (its end) and C(seconds).
  returned: when not in check mode
  type: list
  elements: dict
failed_commands:
  description: The entries of RV(commands) whose C(rc) is not 0.
  returned: when not in check mode
  type: list
  elements: dict
notes:
  description: Files not copied and paths left out of the tarball, each with the reason.
  returned: when not in check mode
  type: list
  elements: str
tarball:
  description: C(data.tar.gz) when O(paths) gave anything that exists, else null.
  returned: when not in check mode
  type: str
would_collect:
  description:
    - What a run would collect - C(commands) (C(file), C(command), C(available)), C(copies) (files and directories
      present), C(paths), C(missing_paths), C(tarball), C(set_under) (the directory the new set would be made in).
  returned: in check mode
  type: dict
executed_commands:
  description: Commands run.
  returned: always
  type: list
  elements: str
"""

import platform

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lifeboat.dr.plugins.module_utils import breach_evidence
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils.module_args import argument_spec, runner_for


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            evidence_root=dict(type="path", default=breach_evidence.DEFAULT_EVIDENCE_ROOT),
            host=dict(type="str"),
            paths=dict(type="list", elements="path", default=[]),
            journal_lines=dict(type="int", default=breach_evidence.DEFAULT_JOURNAL_LINES),
            command_timeout=dict(type="int", default=600),
        ),
        supports_check_mode=True)
    spec = dict(module.params)
    spec["host"] = spec["host"] or platform.node().split(".")[0]
    bad = [path for path in spec["paths"] if not path.startswith("/")]
    if bad:
        module.fail_json(msg="paths must be absolute: %s" % ", ".join(bad), executed_commands=[])
    runner = runner_for(module)
    try:
        if module.check_mode:
            module.exit_json(changed=True, would_collect=breach_evidence.plan(spec, runner.optional_binary),
                             executed_commands=[])
        result = breach_evidence.collect(spec, runner.optional_binary, lambda argv: runner.record([argv]))
    except (LifeboatError, IOError, OSError) as exc:
        module.fail_json(msg="evidence collection failed: %s" % exc, executed_commands=runner.executed)
    module.exit_json(executed_commands=runner.executed, **result)


if __name__ == "__main__":
    main()
