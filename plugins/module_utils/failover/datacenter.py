# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""INC-005, the datacenter failure: what ``failover.yml -e incident=datacenter_failure`` does, decided from the
inventory's ``lifeboat_failover.datacenter`` before anything changes.

``{"host": the main site's server, "dr_host": the DR site's machine it is rebuilt onto (DNS is switched to its
``ansible_host``, or its ``lifeboat_rebuild_address``), "replica": a cross-site replica to promote instead}``.
The rebuild itself is ``rebuild.yml``'s (the playbook imports it); promoting a cross-site replica is refused
until it is implemented, rather than rebuilding from older offsite copies when a replica has newer data.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def plan(datacenter, inventory_hosts):
    """``{"mode": "rebuild", "host", "dr_host", "problems": [...]}``; ``problems`` name every part of
    ``datacenter`` that is missing or wrong (nothing has changed when there is one)."""
    datacenter = datacenter or {}
    hosts = set(inventory_hosts or [])
    problems = []
    host, dr_host = datacenter.get("host"), datacenter.get("dr_host")
    if not host:
        problems.append("lifeboat_failover.datacenter.host is not set: name the main site's server to fail over")
    elif host not in hosts:
        problems.append("lifeboat_failover.datacenter.host %s is not an inventory host" % host)
    if datacenter.get("replica"):
        problems.append("lifeboat_failover.datacenter.replica %s: promoting a cross-site replica is not implemented "
                        "yet; promote it with -e incident=database_failure -e candidate=%s, then switch DNS with "
                        "dns_switch.yml (a rebuild from the offsite copies would lose what the replica has)"
                        % (datacenter["replica"], datacenter["replica"]))
    if not dr_host:
        problems.append("lifeboat_failover.datacenter.dr_host is not set: name the DR site's machine to rebuild onto")
    elif dr_host not in hosts:
        problems.append("lifeboat_failover.datacenter.dr_host %s is not an inventory host" % dr_host)
    elif dr_host == host:
        problems.append("lifeboat_failover.datacenter.dr_host is the lost server itself (%s)" % host)
    return {"mode": "rebuild", "host": host, "dr_host": dr_host, "problems": problems}
