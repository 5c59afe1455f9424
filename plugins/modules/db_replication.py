#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: db_replication
short_description: One failover step on a replicated database server - status, fence, promote, probe a write
version_added: "1.0.0"
description:
  - The steps C(playbooks/failover.yml) carries out on each server, in the order the failover decision
    (C(module_utils/failover/)) gives them. The module decides nothing by itself.
  - V(status) reads what the decision needs (role, timeline, WAL positions, replay lag, the WAL receiver,
    replication slots, the replicas a primary serves, the fence record) and never changes anything. A host
    whose server does not run still answers, from C(pg_controldata).
  - V(fence) writes the fence record O(fence_record) beside the cluster (not in its data directory), then
    stops the server through its unit (a fast shutdown, so that the replicas receive everything up to the
    shutdown checkpoint) and masks the unit, so that it cannot start again, not after a reboot either, until a
    rejoin lifts the fence. It checks that nothing runs afterwards, proves that the server refuses a write, and
    returns its last WAL position. A host fenced before is left alone.
  - V(promote) runs C(pg_promote(wait => true)) on a replica and checks that it left recovery; a server
    that is already writable is left alone (C(changed=false)).
  - V(rewind) runs C(pg_rewind) on a stopped old primary against O(source_host) (the new primary), after
    copying its data directory to C(<data_directory>.pre-rewind-<time>) unless O(safety_copy=false), and writes
    the recovery settings. A rewind that fails reports C(rewound=false) and pg_rewind's reason, so that the
    caller can take a fresh base backup instead. The password reaches pg_rewind in a temporary 0600 passfile.
  - For Redis (O(engine=redis), Debian's unit C(redis-server)), V(status) reads C(INFO replication); V(fence)
    first makes the master refuse every write (C(min-replicas-to-write) above any number of replicas; Redis
    answers C(NOREPLICAS)), reads its last replication offset, then stops and masks the unit; V(promote) waits
    until the replica has O(wait_offset), runs C(REPLICAOF NO ONE) and comments out C(replicaof) in
    O(config_file) so that a restart keeps it the master; V(probe_write) writes a key C(lifeboat:probe:*)
    that expires after a day. V(rewind) is PostgreSQL's only (the redis_replica role re-attaches a replica).
  - V(probe_write) writes a row into C(public.lifeboat_probe) of O(database) and reads it back. With
    O(expect=accepted) the module fails when the write is refused; with O(expect=refused) (a fenced old
    primary) it fails when the write is accepted, since that is a split brain.
author:
  - Lifeboat contributors (@lifeboat-dr)
options:
  engine:
    description: Database engine; those whose engine implements the replication capabilities.
    type: str
    required: true
    choices: [postgresql, redis]
  action:
    description: The step to carry out.
    type: str
    required: true
    choices: [status, fence, promote, probe_write, rewind]
  version:
    description: PostgreSQL major version of the cluster (Debian's C(pg_lsclusters)).
    type: int
    default: 15
  cluster:
    description: Cluster name.
    type: str
    default: main
  data_directory:
    description: Data directory; defaults to C(/var/lib/postgresql/<version>/<cluster>).
    type: path
  fence_file:
    description:
      - Where the fence record is kept; defaults to C(/var/lib/postgresql/lifeboat-fence-<version>-<cluster>.json),
        for Redis C(/var/lib/lifeboat/fence-<unit>.json).
    type: path
  unit:
    description: For Redis, the systemd unit of the instance.
    type: str
    default: redis-server
  config_file:
    description: For Redis, the configuration file whose C(replicaof) line V(promote) comments out.
    type: path
    default: /etc/redis/redis.conf
  wait_offset:
    description:
      - For Redis V(promote), the replication offset the replica must have reached first (the fenced master's
        last offset, which V(fence) returns as C(final_offset)); it waits up to O(timeout) seconds.
    type: int
  os_user:
    description:
      - The operating-system user that runs psql and pg_controldata (through C(runuser) when the module runs as
        root), so that peer authentication over the Unix socket applies.
    type: str
    default: postgres
  login_host:
    description: Server host; unset, psql uses the Unix socket.
    type: str
  login_port:
    description: Server port.
    type: int
  login_user:
    description: Role to log in as; unset, the operating-system user's name.
    type: str
  login_password:
    description: Password, passed to psql in C(PGPASSWORD), never in its arguments.
    type: str
  fence_record:
    description:
      - For V(fence), the record to write (C(lifeboat.dr.fence_record) builds one). A V(pending) record, kept
        while the host could not be reached, is written as V(applied).
    type: dict
  database:
    description: For V(probe_write), the database to write the probe row into.
    type: str
    default: postgres
  marker:
    description: For V(probe_write), the text of the probe row.
    type: str
    default: lifeboat probe
  expect:
    description: For V(probe_write), what the write must do; V(any) only reports.
    type: str
    choices: [accepted, refused, any]
    default: accepted
  source_host:
    description: For V(rewind), the new primary's host name or address.
    type: str
  source_port:
    description: For V(rewind), the new primary's port.
    type: int
    default: 5432
  source_user:
    description: For V(rewind), the role pg_rewind logs in as (the replication role, with the grants pg_rewind needs).
    type: str
    default: replicator
  source_password:
    description: For V(rewind), its password; written to a temporary 0600 passfile, never to argv or the result.
    type: str
  safety_copy:
    description: For V(rewind), copy the data directory before rewinding it (needs room for a second copy).
    type: bool
    default: true
  timeout:
    description: For V(promote), seconds C(pg_promote) (Redis - the wait for O(wait_offset)) may wait.
    type: int
    default: 60
attributes:
  check_mode:
    support: full
    details:
      - V(status) runs as usual; the other actions report what they would change and change nothing.
  diff_mode:
    support: none
    details:
      - The result names the record written and the unit masked.
  platform:
    platforms: debian
    details:
      - Debian's cluster layout (C(/var/lib/postgresql/<version>/<cluster>), unit C(postgresql@<version>-<cluster>)).
extends_documentation_fragment:
  - lifeboat.dr.attributes
notes:
  - Run it with C(become) (root) - fencing uses systemctl, and psql runs as O(os_user).
seealso:
  - module: lifeboat.dr.db_restore
"""

EXAMPLES = r"""
- name: Read the replication state of every database server
  lifeboat.dr.db_replication:
    engine: postgresql
    action: status
  register: observed

- name: Prove that the fenced old primary refuses writes
  lifeboat.dr.db_replication:
    engine: postgresql
    action: probe_write
    expect: refused
"""

RETURN = r"""
facts:
  description: For V(status), the facts the failover decision reads (C(module_utils/failover/facts.py)).
  returned: action is status
  type: dict
details:
  description: For V(status), the rest of what the status report shows (replicas, slots, the sender, errors).
  returned: action is status
  type: dict
record:
  description: For V(fence), the fence record now on the host.
  returned: action is fence
  type: dict
write_refused:
  description: For V(fence), the server's answer to the probe write it had to refuse.
  returned: action is fence
  type: str
final_lsn:
  description: For V(fence), the server's last WAL position (its shutdown checkpoint), null after a crash.
  returned: action is fence and engine is postgresql
  type: str
final_offset:
  description: For Redis V(fence), the master's replication offset once it refused writes (null when it was down).
  returned: action is fence and engine is redis
  type: int
accepted:
  description: For V(probe_write), whether the server accepted the write (null in check mode).
  returned: action is probe_write
  type: bool
error:
  description: For V(probe_write), the server's answer when it refused.
  returned: action is probe_write
  type: str
seconds:
  description: For V(promote), how long C(pg_promote) took; for V(rewind), how long C(pg_rewind) took.
  returned: action is promote or rewind
  type: float
rewound:
  description: For V(rewind), whether pg_rewind succeeded.
  returned: action is rewind
  type: bool
safety_copy:
  description: For V(rewind), the copy of the data directory taken before, or null.
  returned: action is rewind
  type: str
executed_commands:
  description: The commands run, without secrets.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lifeboat.dr.plugins.module_utils import engines
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils.module_args import (
    connection_from_params, redis_from_params, runner_for)

ACTIONS = {"status": "replication_status", "fence": "fence", "promote": "promote", "probe_write": "probe_write",
           "rewind": "rejoin"}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            engine=dict(type="str", required=True, choices=list(engines.names(supporting="replication_status"))),
            action=dict(type="str", required=True, choices=list(ACTIONS)),
            version=dict(type="int", default=15),
            cluster=dict(type="str", default="main"),
            data_directory=dict(type="path"),
            fence_file=dict(type="path"),
            unit=dict(type="str", default="redis-server"),
            config_file=dict(type="path", default="/etc/redis/redis.conf"),
            wait_offset=dict(type="int"),
            os_user=dict(type="str", default="postgres"),
            login_host=dict(type="str"),
            login_port=dict(type="int"),
            login_user=dict(type="str"),
            login_password=dict(type="str", no_log=True),
            fence_record=dict(type="dict"),
            database=dict(type="str", default="postgres"),
            marker=dict(type="str", default="lifeboat probe"),
            expect=dict(type="str", choices=["accepted", "refused", "any"], default="accepted"),
            source_host=dict(type="str"),
            source_port=dict(type="int", default=5432),
            source_user=dict(type="str", default="replicator"),
            source_password=dict(type="str", no_log=True),
            safety_copy=dict(type="bool", default=True),
            timeout=dict(type="int", default=60),
        ),
        required_if=[("action", "fence", ["fence_record"]), ("action", "rewind", ["source_host"])],
        supports_check_mode=True,
    )
    params = module.params
    engine = engines.get(params["engine"])
    capability = ACTIONS[params["action"]]
    if not engine.supports(capability):
        module.fail_json(msg="engine %s cannot %s (it supports: %s)" % (
            params["engine"], params["action"],
            ", ".join(a for a, c in sorted(ACTIONS.items()) if engine.supports(c))))
    spec = dict(params, connection=connection_from_params(params), redis=redis_from_params(params),
                source={"host": params["source_host"], "port": params["source_port"], "user": params["source_user"],
                        "password": params["source_password"]})
    runner = runner_for(module)
    try:
        if capability == "replication_status":
            result = dict(engine.replication_status(runner, spec), changed=False)
        else:
            result = getattr(engine, capability)(runner, spec, check_mode=module.check_mode)
    except LifeboatError as exc:
        module.fail_json(msg=str(exc), executed_commands=runner.executed)
    if params["action"] == "probe_write" and not module.check_mode:
        if params["expect"] == "accepted" and not result["accepted"]:
            module.fail_json(msg="the server refused the probe write: %s" % result["error"],
                             executed_commands=runner.executed, **result)
        if params["expect"] == "refused" and result["accepted"]:
            module.fail_json(msg="SPLIT BRAIN: the server accepted probe row %s although it must refuse writes" %
                             result["id"], executed_commands=runner.executed, **result)
    module.exit_json(executed_commands=runner.executed, **result)


if __name__ == "__main__":
    main()
