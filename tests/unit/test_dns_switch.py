"""The DNS switch's decisions: names, canonical values, when every authoritative server counts as switched,
what a rollback restores, and the plan."""
import pytest

from ansible_collections.lifeboat.dr.plugins.module_utils import dns_switch
from ansible_collections.lifeboat.dr.plugins.module_utils.dns_switch import DnsSwitchError


def seen(server, values, ttl=60, serial=7, authoritative=True, error=None, address=None):
    return {"server": server, "address": address or {"ns1.": "10.0.0.1", "ns2.": "10.0.0.2"}.get(server, "10.0.0.9"),
            "values": values, "ttl": ttl, "serial": serial, "authoritative": authoritative, "error": error}


def test_names_are_made_absolute_within_the_zone():
    assert dns_switch.absolute_name("app", "lab.test") == "app.lab.test."
    assert dns_switch.absolute_name("App.Lab.Test", "lab.test.") == "app.lab.test."
    assert dns_switch.absolute_name("www.example.org.", "lab.test") == "www.example.org."
    assert dns_switch.absolute_name("@", "lab.test") == "lab.test."
    with pytest.raises(DnsSwitchError, match="zone is empty"):
        dns_switch.absolute_name("app", "")


def test_values_are_compared_in_canonical_form():
    assert dns_switch.canonical_values("A", ["10.0.0.2", "10.0.0.1", "10.0.0.2"]) == ["10.0.0.1", "10.0.0.2"]
    assert dns_switch.canonical_values("AAAA", ["2001:DB8:0::1"]) == ["2001:db8::1"]
    assert dns_switch.canonical_values("CNAME", "DR.Example.org") == ["dr.example.org."]
    assert dns_switch.canonical_values("TXT", ['"v=1"']) == ["v=1"]
    assert dns_switch.canonical_values("A", []) == []
    assert dns_switch.canonical_values("A", None) is None


@pytest.mark.parametrize("rtype, values, message", [
    ("A", ["app1"], "not an IP address"),
    ("A", ["2001:db8::1"], "not an IPv4 address"),
    ("AAAA", ["10.0.0.1"], "not an IPv6 address"),
    ("CNAME", ["a.example.", "b.example."], "one target"),
    ("MX", ["10 mail."], "not one the switch handles"),
])
def test_bad_values_are_refused_naming_them(rtype, values, message):
    with pytest.raises(DnsSwitchError, match=message):
        dns_switch.canonical_values(rtype, values)


def test_switched_only_when_every_server_answers_authoritatively_with_the_value_and_ttl():
    new = ["10.0.0.50"]
    both = [seen("ns1.", new), seen("ns2.", new)]
    assert dns_switch.assess(both, new, 60)["done"]
    assert "all 2 authoritative servers answer 10.0.0.50" in dns_switch.assess(both, new)["summary"]

    lagging = [seen("ns1.", new, serial=8), seen("ns2.", ["10.0.0.3"], serial=7)]
    verdict = dns_switch.assess(lagging, new)
    assert not verdict["done"]
    assert verdict["states"] == {"ns1 (10.0.0.1)": "switched", "ns2 (10.0.0.2)": "old"}
    assert verdict["waiting"] == ["ns2 (10.0.0.2): 10.0.0.3 (TTL 60, serial 7)"]

    wrong_ttl = [seen("ns1.", new, ttl=3600)]
    assert dns_switch.assess(wrong_ttl, new, 60)["states"] == {"ns1 (10.0.0.1)": "old"}
    assert dns_switch.assess(wrong_ttl, new)["done"]  # no TTL asked for


def test_a_silent_or_non_authoritative_server_is_never_counted_as_switched():
    new = ["10.0.0.50"]
    silent = [seen("ns1.", new), seen("ns2.", [], error="no answer within 2.0 s")]
    verdict = dns_switch.assess(silent, new)
    assert not verdict["done"] and verdict["states"]["ns2 (10.0.0.2)"] == "unreachable"
    assert "ns2 (10.0.0.2): no answer within 2.0 s" in verdict["summary"]
    cache = [seen("ns1.", new, authoritative=False)]
    assert dns_switch.assess(cache, new)["states"] == {"ns1 (10.0.0.1)": "not authoritative"}
    assert not dns_switch.assess([], new)["done"]
    assert dns_switch.assess([], new)["summary"] == "no authoritative server was found to ask"


def test_the_rollback_value_is_the_primary_s_answer_or_the_one_all_agree_on():
    observations = [seen("ns1.", ["10.0.0.3"], ttl=300, serial=9), seen("ns2.", ["10.0.0.4"], serial=8)]
    current = dns_switch.current_answer(observations, primary="10.0.0.1")
    assert current == {"values": ["10.0.0.3"], "ttl": 300, "serial": 9, "from": "ns1 (10.0.0.1)"}
    assert dns_switch.current_answer(observations, primary="ns1")["values"] == ["10.0.0.3"]
    with pytest.raises(DnsSwitchError, match="disagree before the switch"):
        dns_switch.current_answer(observations)
    agreed = [seen("ns1.", ["10.0.0.3"], error="no answer"), seen("ns2.", ["10.0.0.3"])]
    assert dns_switch.current_answer(agreed, primary="10.0.0.1")["from"] == "ns2 (10.0.0.2)"
    with pytest.raises(DnsSwitchError, match="no authoritative server answered"):
        dns_switch.current_answer([seen("ns1.", [], error="no answer within 2.0 s")])
    absent = dns_switch.current_answer([seen("ns1.", [], ttl=None)])
    assert absent["values"] == []


def test_the_plan_switches_lowers_the_ttl_first_on_request_and_does_nothing_twice():
    before = [seen("ns1.", ["10.0.0.3"], ttl=3600), seen("ns2.", ["10.0.0.3"], ttl=3600)]
    plan = dns_switch.plan(before, ["10.0.0.50"], 60, primary="10.0.0.1")
    assert plan["change"] and plan["lower_ttl"] is None and plan["wait_seconds"] == 0
    assert plan["current"]["values"] == ["10.0.0.3"]
    assert plan["steps"][0] == "set the record to 10.0.0.50 (TTL 60), was 10.0.0.3 (from ns1 (10.0.0.1))"
    assert plan["steps"][-1] == "when they do not within the deadline, set the record back to 10.0.0.3"

    lowered = dns_switch.plan(before, ["10.0.0.50"], 60, primary="10.0.0.1", lower_ttl_first=True)
    assert lowered["lower_ttl"] == 60 and lowered["wait_seconds"] == 3600
    assert lowered["steps"][0].startswith("republish 10.0.0.3 with TTL 60, then wait 3600 s")

    after = [seen("ns1.", ["10.0.0.50"]), seen("ns2.", ["10.0.0.50"])]
    again = dns_switch.plan(after, ["10.0.0.50"], 60, primary="10.0.0.1", lower_ttl_first=True)
    assert not again["change"] and again["steps"] == []
    assert again["summary"] == "all 2 authoritative servers answer 10.0.0.50"

    # A new record: the rollback deletes it.
    fresh = dns_switch.plan([seen("ns1.", [], ttl=None)], ["10.0.0.50"], 60)
    assert fresh["steps"][-1].endswith("no record (delete it)")
    with pytest.raises(DnsSwitchError, match="no value"):
        dns_switch.plan(before, [], 60)
