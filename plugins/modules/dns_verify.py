#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: dns_verify
short_description: Ask every authoritative server of a zone for a record, and wait until all answer a value
version_added: "1.2.0"
description:
  - Finds the authoritative servers of O(zone) from its NS records (asked of O(resolver), or the system's
    resolver), unless O(nameservers) names them, and asks each one directly, without recursion, for
    O(record). Each answer is kept with its TTL, the zone's SOA serial on that server, and whether the server
    answered authoritatively (the AA flag), since a cache or a forwarder proves nothing about the zone.
  - With O(expect), asks again every O(interval) seconds until every server answers exactly that set of
    values (and O(expect_ttl) when given), or fails at the deadline O(timeout) naming each server that does
    not, with what it answered. A server that does not answer is never counted as switched.
  - This is the verification half of the C(lifeboat.dr.dns_switch) role (the switch itself goes through
    C(community.general.nsupdate) or C(amazon.aws.route53)); the decisions are in C(module_utils/dns_switch.py).
  - Runs on the controller or any host that reaches the servers on port 53 (UDP, and TCP for long answers).
author:
  - Lifeboat contributors (@lifeboat-dr)
requirements:
  - dnspython
options:
  zone:
    description: The zone, e.g. C(lab.lifeboat.test).
    type: str
    required: true
  record:
    description: The record's name, relative to O(zone) (C(app)), absolute (C(app.lab.lifeboat.test.)), or C(@).
    type: str
    required: true
  type:
    description: The record type.
    type: str
    choices: [A, AAAA, CNAME, TXT]
    default: A
  nameservers:
    description:
      - The servers to ask, as addresses or names. Empty (the default) - every server the zone's NS records name.
    type: list
    elements: str
    default: []
  resolver:
    description:
      - Addresses of the servers that find the zone's NS records and the servers' addresses. Empty - the system's
        resolver. A zone only the servers themselves know (a lab's) needs one of them here.
    type: list
    elements: str
    default: []
  port:
    description: The servers' port.
    type: int
    default: 53
  expect:
    description:
      - The values every server must answer (A and AAAA as addresses, CNAME as a name). Omitted, the module
        asks once and reports. An empty list expects the record to be absent.
    type: list
    elements: str
  expect_ttl:
    description: The TTL every server must answer with, besides O(expect).
    type: int
  timeout:
    description: Seconds to wait for every server to answer O(expect) (the deadline; the role uses 60 at most).
    type: int
    default: 60
  interval:
    description: Seconds between two rounds of questions.
    type: float
    default: 1.0
  query_timeout:
    description: Seconds one server has to answer one question.
    type: float
    default: 2.0
attributes:
  check_mode:
    support: full
    details:
      - The module only asks; it runs the same in check mode and never reports a change.
  diff_mode:
    support: N/A
    details:
      - The module only asks.
  platform:
    platforms: posix
extends_documentation_fragment:
  - lifeboat.dr.attributes
notes:
  - The servers are asked over the network from where the module runs; in the lab that is the controller, which
    reaches the lab's BIND servers on the lab network.
seealso:
  - module: community.general.nsupdate
  - module: community.dns.nameserver_record_info
"""

EXAMPLES = r"""
- name: Wait until every authoritative server answers the DR site's address
  lifeboat.dr.dns_verify:
    zone: example.com
    record: app
    type: A
    expect: [203.0.113.10]
    expect_ttl: 60
    timeout: 60
  delegate_to: localhost

- name: Read what each server of a lab zone answers now
  lifeboat.dr.dns_verify:
    zone: lab.lifeboat.test
    record: app
    resolver: [172.30.57.250]
  register: before
"""

RETURN = r"""
servers:
  description: What each server answered in the last round.
  returned: always
  type: list
  elements: dict
  sample:
    - server: ns1.lab.lifeboat.test.
      address: 172.30.57.250
      values: [172.30.57.3]
      ttl: 60
      serial: 2026120701
      authoritative: true
      error: null
matched:
  description: Whether every server answered O(expect) (null without O(expect)).
  returned: always
  type: bool
summary:
  description: One line saying which servers answer what.
  returned: always
  type: str
record:
  description: The record's absolute name.
  returned: always
  type: str
rounds:
  description: How many rounds of questions were asked.
  returned: always
  type: int
seconds:
  description: Seconds from the first question to the last answer.
  returned: always
  type: float
"""

import time
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.lifeboat.dr.plugins.module_utils import dns_switch

DNSPYTHON_IMPORT_ERROR = None
try:
    import dns.exception
    import dns.flags
    import dns.inet
    import dns.message
    import dns.name
    import dns.query
    import dns.rcode
    import dns.rdatatype
    import dns.resolver
except ImportError:
    DNSPYTHON_IMPORT_ERROR = traceback.format_exc()


class Asker(object):
    """Questions to one server at a time, without recursion, over UDP with TCP for truncated answers."""

    def __init__(self, port, query_timeout):
        self.port = port
        self.query_timeout = query_timeout

    def ask(self, address, name, rtype):
        query = dns.message.make_query(name, rtype)
        query.flags &= ~dns.flags.RD
        response = dns.query.udp(query, address, timeout=self.query_timeout, port=self.port)
        if response.flags & dns.flags.TC:
            response = dns.query.tcp(query, address, timeout=self.query_timeout, port=self.port)
        return response

    def observe(self, server, address, name, zone, rtype):
        observation = {"server": server, "address": address, "values": [], "ttl": None, "serial": None,
                       "authoritative": False, "error": None}
        try:
            response = self.ask(address, name, rtype)
            rcode = response.rcode()
            if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                observation["error"] = "answered %s" % dns.rcode.to_text(rcode)
                return observation
            observation["authoritative"] = bool(response.flags & dns.flags.AA)
            wanted = dns.rdatatype.from_text(rtype)
            for rrset in response.answer:
                if rrset.rdtype == wanted and rrset.name == name:
                    observation["values"] = dns_switch.canonical_values(rtype, [_text(r, rtype) for r in rrset])
                    observation["ttl"] = rrset.ttl
            soa = self.ask(address, zone, "SOA")
            for rrset in soa.answer:
                if rrset.rdtype == dns.rdatatype.SOA:
                    observation["serial"] = rrset[0].serial
        except dns.exception.Timeout:
            observation["error"] = "no answer within %s s" % self.query_timeout
        except (OSError, dns.exception.DNSException) as exc:
            observation["error"] = "cannot be asked: %s" % exc
        return observation


def _text(rdata, rtype):
    if rtype == "TXT":
        return "".join(part.decode("utf-8", "replace") for part in rdata.strings)
    return rdata.to_text()


def _resolver(addresses, port, query_timeout):
    resolver = dns.resolver.Resolver(configure=not addresses)
    if addresses:
        resolver.nameservers = list(addresses)
        resolver.port = port
    resolver.lifetime = max(query_timeout * 2, 2.0)
    return resolver


def _addresses(resolver, host):
    """The addresses of a server name (or the address it already is)."""
    try:
        dns.inet.af_for_address(host)
        return [host]
    except (ValueError, AttributeError):
        pass
    found = []
    for rtype in ("A", "AAAA"):
        try:
            found.extend(r.to_text() for r in resolver.resolve(host, rtype))
        except (dns.resolver.NoAnswer, dns.resolver.NXDOMAIN):
            continue
    return found


def find_servers(module, zone):
    """[(name, address)] of every server to ask."""
    params = module.params
    resolver = _resolver(params["resolver"], params["port"], params["query_timeout"])
    names = list(params["nameservers"])
    try:
        if not names:
            names = sorted(r.target.to_text() for r in resolver.resolve(zone, "NS"))
        servers = []
        for name in names:
            addresses = _addresses(resolver, name)
            if not addresses:
                module.fail_json(msg="the name server %s of %s has no address" % (name, zone))
            servers.extend((name, address) for address in addresses)
        return servers
    except dns.exception.DNSException as exc:
        module.fail_json(msg="the authoritative servers of %s cannot be found (its NS records, asked of %s): %s"
                         % (zone, ", ".join(params["resolver"]) or "the system's resolver", exc))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            zone=dict(type="str", required=True),
            record=dict(type="str", required=True),
            type=dict(type="str", default="A", choices=list(dns_switch.TYPES)),
            nameservers=dict(type="list", elements="str", default=[]),
            resolver=dict(type="list", elements="str", default=[]),
            port=dict(type="int", default=53),
            expect=dict(type="list", elements="str"),
            expect_ttl=dict(type="int"),
            timeout=dict(type="int", default=60),
            interval=dict(type="float", default=1.0),
            query_timeout=dict(type="float", default=2.0),
        ),
        supports_check_mode=True,
    )
    if DNSPYTHON_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("dnspython"), exception=DNSPYTHON_IMPORT_ERROR)
    params = module.params
    rtype = params["type"]
    try:
        record = dns_switch.absolute_name(params["record"], params["zone"])
        zone = dns_switch.absolute_name("@", params["zone"])
        expected = dns_switch.canonical_values(rtype, params["expect"])
    except dns_switch.DnsSwitchError as exc:
        module.fail_json(msg=str(exc))
    if params["timeout"] < 0 or params["interval"] <= 0 or params["query_timeout"] <= 0:
        module.fail_json(msg="timeout must be 0 or more, interval and query_timeout more than 0")

    servers = find_servers(module, zone)
    asker = Asker(params["port"], params["query_timeout"])
    record_name = dns.name.from_text(record)
    zone_name = dns.name.from_text(zone)
    started = time.monotonic()
    deadline = started + params["timeout"]
    rounds = 0
    while True:
        rounds += 1
        observations = [asker.observe(name, address, record_name, zone_name, rtype) for name, address in servers]
        if expected is None:
            verdict = None
            break
        verdict = dns_switch.assess(observations, expected, params["expect_ttl"])
        if verdict["done"] or time.monotonic() + params["interval"] > deadline:
            break
        time.sleep(params["interval"])
    seconds = round(time.monotonic() - started, 3)
    result = dict(changed=False, servers=observations, record=record, rounds=rounds, seconds=seconds,
                  matched=verdict["done"] if verdict else None)
    if verdict is None:
        result["summary"] = "; ".join("%s: %s" % (dns_switch.server_label(o), dns_switch.describe_answer(o))
                                      for o in observations) or "no authoritative server was found"
        module.exit_json(**result)
    result["summary"] = verdict["summary"]
    if not verdict["done"]:
        module.fail_json(msg="%s %s: after %s s, %s" % (record, rtype, seconds, verdict["summary"]), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
