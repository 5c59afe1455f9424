# -*- coding: utf-8 -*-
"""One schema for a service definition: the agent's role, the filters and the lab inventory agree with it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

from ansible_collections.lifeboat.dr.plugins.filter import services as services_filter
from ansible_collections.lifeboat.dr.plugins.module_utils import engines, service_schema

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _agent_service_options():
    with open(os.path.join(ROOT, "roles", "backup_agent", "meta", "argument_specs.yml")) as handle:
        spec = yaml.safe_load(handle)
    return spec["argument_specs"]["main"]["options"]["backup_agent_services"]["options"]


def test_the_agent_role_accepts_exactly_the_schema():
    # An inventory key the role does not know fails its argument validation (a service with
    # staging_path once broke the agent); one it knows but the schema does not is drift.
    role, schema = _agent_service_options(), service_schema.service_options()
    assert sorted(role) == sorted(schema)
    for name, option in schema.items():
        for key in ("type", "elements", "choices", "required"):
            assert role[name].get(key) == option.get(key), (name, key)
        assert role[name].get("description"), name


def test_engines_come_from_the_registry():
    assert service_schema.service_options()["engine"]["choices"] == list(engines.names())


def test_secrets_are_named_once():
    assert set(service_schema.SECRET_KEYS) == {"login_password", "encryption_passphrase", "age_identity"}
    assert services_filter.SECRET_KEYS is service_schema.SECRET_KEYS
    item = {"name": "a", "engine": "sqlite", "path": "/x", "login_password": "p", "age_identity": "k",
            "encryption_passphrase": "s"}
    assert set(services_filter.services([item])[0]) == {"name", "engine", "path"}


LAB_SERVICES = os.path.join(ROOT, "inventories", "lab", "group_vars", "app.yml")


@pytest.mark.skipif(not os.path.exists(LAB_SERVICES), reason="the lab inventory is not part of the built collection")
def test_the_lab_services_fit_the_schema():
    with open(LAB_SERVICES) as handle:
        services = yaml.safe_load(handle)["lifeboat_services"]
    options = service_schema.service_options()
    for service in services:
        assert set(service) <= set(options), (service["name"], set(service) - set(options))


def test_definition_problems_names_each_fault_and_passes_good_definitions():
    good = [{"name": "appdb", "engine": "postgresql", "database": "app"},
            {"name": "files_1", "engine": "directory", "path": "/srv/files"},
            {"name": "cache", "engine": "redis"}]
    assert service_schema.definition_problems(good) == []
    bad = good + [{"name": "appdb", "engine": "postgresql", "database": "other"},
                  {"name": "../etc", "engine": "sqlite", "path": "/x.db"},
                  {"name": "shop", "engine": "mysql"},
                  {"name": "lite", "engine": "sqlite", "path": ""},
                  {"name": "odd", "engine": "oracle"}]
    problems = service_schema.definition_problems(bad)
    assert problems == [
        "service 'appdb': the name is used by more than one service",
        "service '../etc': the name must be letters, digits, '-' and '_', starting with a letter or digit",
        "service 'shop': engine mysql needs database",
        "service 'lite': engine sqlite needs path",
        "service 'odd': engine 'oracle' is not one of " + ", ".join(engines.names()),
    ]


def test_every_engine_required_param_is_a_schema_field():
    fields = service_schema.service_options()
    for name in engines.names():
        assert set(engines.get(name).required_params) <= set(fields), name
