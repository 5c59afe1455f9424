"""dns_switch.yml on the lab's two BIND 9 servers (ns1 the primary, ns2 its secondary fed by NOTIFY and zone
transfers): every switch is checked by asking each server directly with dnspython (not with Lifeboat's code),
for the answer, its TTL and the zone's serial. Route 53 runs against moto's server on loopback."""
import base64
import copy
import glob
import json
import os
import socket
import subprocess
import time
import urllib.request

import dns.exception
import dns.flags
import dns.message
import dns.query
import pytest
import yaml

from labhost import BIN, ROOT, playbook, run_module

ZONE = "lab.lifeboat.test"
NAME = "app.%s." % ZONE
NS1, NS2 = "172.30.57.250", "172.30.57.251"


def ask(server, name=NAME, rtype="A"):
    """(values, ttl, serial, authoritative) from one server, asked directly without recursion."""
    query = dns.message.make_query(name, rtype)
    query.flags &= ~dns.flags.RD
    answer = dns.query.udp(query, server, timeout=3)
    values, ttl = [], None
    for rrset in answer.answer:
        values = sorted(r.to_text() for r in rrset)
        ttl = rrset.ttl
    soa = dns.query.udp(dns.message.make_query(ZONE, "SOA"), server, timeout=3)
    return values, ttl, soa.answer[0][0].serial, bool(answer.flags & dns.flags.AA)


def address_of(container):
    out = subprocess.run(["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                          container], capture_output=True, text=True, check=True).stdout
    return out.strip()


def lab_dns():
    """The lab's lifeboat_dns, with its TSIG secret, as extra vars can replace it whole."""
    with open(os.path.join(ROOT, "inventories", "lab", "group_vars", "all.yml")) as handle:
        spec = copy.deepcopy(yaml.safe_load(handle)["lifeboat_dns"])
    with open(os.path.join(ROOT, ".lab", "secrets", "dns_tsig")) as handle:
        secret = base64.b64encode(handle.read().split()[0].encode()).decode()
    spec.update(zone=ZONE, primary=NS1, resolver=[NS1], tsig_secret=secret)
    return spec


def switch(report_dir, value, *extra, dns_spec=None, ok=True):
    args = ["-e", "value=" + value, "-e", "lifeboat_report_dir=" + str(report_dir)]
    if dns_spec is not None:
        args += ["-e", json.dumps({"lifeboat_dns": dns_spec})]
    proc = playbook("dns_switch.yml", *(args + list(extra)))
    if ok:
        assert proc.returncode == 0, "dns_switch.yml failed:\n%s\n%s" % (proc.stdout[-6000:], proc.stderr[-2000:])
    return proc


def newest_record(report_dir):
    files = sorted(glob.glob(os.path.join(str(report_dir), "dns-switch-*.json")))
    assert files, "no dns-switch record in %s" % report_dir
    with open(files[-1]) as handle:
        return json.load(handle)


def named(container, action):
    subprocess.run(["docker", "exec", container, "systemctl", action, "named"], check=True, timeout=60)


@pytest.fixture
def dns_lab(lab, tmp_path):
    """Both servers up and answering app1's address; put back the same way afterwards."""
    app1 = address_of("lifeboat-lab-app1")
    yield {"app1": app1, "db2": address_of("lifeboat-lab-db2"), "reports": tmp_path}
    named("lifeboat-lab-ns2", "start")
    switch(tmp_path / "teardown", app1)
    assert ask(NS1)[0] == [app1] and ask(NS2)[0] == [app1]


def test_both_servers_serve_the_zone_and_dns_verify_reads_each(dns_lab):
    for server in (NS1, NS2):
        values, ttl, _, authoritative = ask(server)
        assert values == [dns_lab["app1"]] and ttl == 60 and authoritative
    assert ask(NS1)[2] == ask(NS2)[2]
    # The sample app is reached by its name through them: the address each server answers serves /healthz.
    for server in (NS1, NS2):
        with urllib.request.urlopen("http://%s:8080/healthz" % ask(server)[0][0], timeout=10) as response:
            assert response.status == 200
    result = run_module("dns_verify", {"zone": ZONE, "record": "app", "resolver": [NS1]}, host="localhost")
    assert not result.get("failed"), result.get("msg")
    seen = {s["address"]: s for s in result["servers"]}
    assert sorted(seen) == [NS1, NS2]  # found from the zone's NS records
    assert all(s["values"] == [dns_lab["app1"]] and s["authoritative"] for s in seen.values())
    assert seen[NS1]["serial"] == seen[NS2]["serial"]
    # A value nobody answers: the module waits out its deadline and names both servers.
    result = run_module("dns_verify", {"zone": ZONE, "record": "app", "resolver": [NS1], "expect": ["192.0.2.1"],
                                       "timeout": 2}, host="localhost")
    assert result.get("failed") and "ns1" in result["msg"] and "ns2" in result["msg"]
    assert result["rounds"] >= 2


def test_a_switch_is_answered_by_every_server_and_a_second_run_changes_nothing(dns_lab):
    reports, db2 = dns_lab["reports"], dns_lab["db2"]
    serial_before = ask(NS1)[2]
    proc = switch(reports, db2, "-vvv")
    for server in (NS1, NS2):
        values, ttl, serial, authoritative = ask(server)
        assert values == [db2] and ttl == 60 and authoritative, server
        assert serial > serial_before
    assert ask(NS1)[2] == ask(NS2)[2]
    record = newest_record(reports)
    assert record["ok"] and record["plan"]["change"] and record["plan"]["current"]["values"] == [dns_lab["app1"]]
    assert [p["phase"] for p in record["phases"]] == ["record the current answer", "update", "verify"]
    assert record["verified_seconds"] < 60
    assert {s["address"] for s in record["servers_after"]} == {NS1, NS2}
    assert all(s["values"] == [db2] for s in record["servers_after"])
    secret = lab_dns()["tsig_secret"]
    assert secret not in proc.stdout + proc.stderr

    serial = ask(NS1)[2]
    switch(reports, db2)
    record = newest_record(reports)
    assert record["ok"] and not record["plan"]["change"]
    assert [p["phase"] for p in record["phases"]] == ["record the current answer"]
    assert ask(NS1)[2] == serial


def test_check_mode_sends_nothing(dns_lab):
    before = (ask(NS1), ask(NS2))
    proc = switch(dns_lab["reports"], dns_lab["db2"], "--check")
    assert "simulated: nothing is sent" in proc.stdout
    assert (ask(NS1), ask(NS2)) == before
    record = newest_record(dns_lab["reports"])
    assert record["check_mode"] and record["plan"]["change"] and record["ok"]


def test_a_wrong_tsig_key_is_refused_and_the_record_is_untouched(dns_lab):
    before = (ask(NS1), ask(NS2))
    spec = lab_dns()
    wrong = base64.b64encode(b"not-the-lab-key-not-the-lab-key!").decode()
    spec["tsig_secret"] = wrong
    proc = switch(dns_lab["reports"], dns_lab["db2"], "-v", dns_spec=spec, ok=False)
    assert proc.returncode != 0
    assert "DNS switch of %s A to %s failed" % (NAME, dns_lab["db2"]) in proc.stdout
    assert wrong not in proc.stdout + proc.stderr and lab_dns()["tsig_secret"] not in proc.stdout + proc.stderr
    assert (ask(NS1), ask(NS2)) == before
    record = newest_record(dns_lab["reports"])
    assert not record["ok"] and "Send the update" in record["failure"]
    assert record["rollback"] == {"ok": True, "needed": False, "summary": record["rollback"]["summary"]}
    assert "Nothing to roll back" in proc.stdout


def test_a_secondary_that_does_not_follow_is_rolled_back_proven_on_the_primary(dns_lab):
    old_serial = ask(NS1)[2]
    named("lifeboat-lab-ns2", "stop")
    spec = lab_dns()
    spec["verify_timeout"] = 5
    proc = switch(dns_lab["reports"], dns_lab["db2"], dns_spec=spec, ok=False)
    assert proc.returncode != 0
    out = proc.stdout
    assert "ns2" in out and "Rolled back to %s" % dns_lab["app1"] in out
    values, _, serial, _ = ask(NS1)
    assert values == [dns_lab["app1"]] and serial > old_serial  # the switch happened and was undone
    record = newest_record(dns_lab["reports"])
    assert not record["ok"] and record["rollback"]["ok"] and record["rollback"]["needed"]
    assert [p["phase"] for p in record["phases"]] == ["record the current answer", "update", "verify",
                                                      "check the primary", "rollback", "verify the rollback"]
    # The secondary, back, follows the primary's rolled-back zone (asked to refresh now: the NOTIFYs it missed
    # are not sent again, and its own SOA refresh timer may be a minute away).
    named("lifeboat-lab-ns2", "start")
    subprocess.run(["docker", "exec", "lifeboat-lab-ns2", "bash", "-c",
                    "for i in $(seq 1 30); do rndc refresh %s && exit 0; sleep 0.5; done; exit 1" % ZONE],
                   check=True, timeout=60, capture_output=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if ask(NS2)[2] == serial:
                break
        except dns.exception.DNSException:
            pass
        time.sleep(1)
    assert ask(NS2)[:3] == (ask(NS1)[0], 60, serial)


@pytest.fixture
def moto_route53(tmp_path):
    """moto's server on loopback, with a hosted zone holding app's old address."""
    import boto3
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = open(tmp_path / "moto.log", "w")
    server = subprocess.Popen([os.path.join(BIN, "moto_server"), "-H", "127.0.0.1", "-p", str(port)], stdout=log,
                              stderr=subprocess.STDOUT)
    endpoint = "http://127.0.0.1:%d" % port
    client = boto3.client("route53", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="it",
                          aws_secret_access_key="it-secret")
    for _ in range(100):
        try:
            client.list_hosted_zones()
            break
        except Exception:  # pylint: disable=broad-except
            time.sleep(0.1)
    zone = client.create_hosted_zone(Name="dr.example.org", CallerReference=str(time.time()))["HostedZone"]["Id"]
    client.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{
        "Action": "UPSERT", "ResourceRecordSet": {"Name": "app.dr.example.org.", "Type": "A", "TTL": 300,
                                                  "ResourceRecords": [{"Value": "198.51.100.7"}]}}]})
    yield {"client": client, "zone": zone, "endpoint": endpoint}
    server.kill()
    server.wait()
    log.close()


def test_route53_through_the_api_of_moto(moto_route53, tmp_path):
    spec = {"provider": "route53", "zone": "dr.example.org", "record": "app", "ttl": 60, "verify": "api",
            "route53": {"endpoint_url": moto_route53["endpoint"], "access_key": "it",
                        "secret_key": "it-route53-secret"}}
    proc = switch(tmp_path, "203.0.113.10", dns_spec=spec)
    assert "it-route53-secret" not in proc.stdout + proc.stderr
    sets = moto_route53["client"].list_resource_record_sets(HostedZoneId=moto_route53["zone"])["ResourceRecordSets"]
    app = [s for s in sets if s["Name"] == "app.dr.example.org." and s["Type"] == "A"]
    assert app and app[0]["ResourceRecords"] == [{"Value": "203.0.113.10"}] and app[0]["TTL"] == 60
    record = newest_record(tmp_path)
    assert record["ok"] and record["plan"]["current"]["values"] == ["198.51.100.7"]
    switch(tmp_path, "203.0.113.10", dns_spec=spec)
    assert not newest_record(tmp_path)["plan"]["change"]
