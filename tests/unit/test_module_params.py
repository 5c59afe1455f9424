"""The modules take a service definition as written: one merge (service_schema.module_params), one doc."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import json
import os

import pytest
import yaml

from ansible_collections.lifeboat.dr.plugins.doc_fragments.service import ModuleDocFragment
from ansible_collections.lifeboat.dr.plugins.filter import services as services_filter
from ansible_collections.lifeboat.dr.plugins.module_utils import cli, module_args, service_schema
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVICE_MODULES = ("db_dump", "db_restore", "service_verify", "db_fingerprint", "backup_rotate", "db_copy_missing_rows")


class _Captured(Exception):
    pass


class _FakeModule:
    def __init__(self, argument_spec, **kwargs):
        raise _Captured(argument_spec)


def _module(name, monkeypatch):
    """(DOCUMENTATION as data, argument spec) of a module."""
    module = importlib.import_module("ansible_collections.lifeboat.dr.plugins.modules." + name)
    monkeypatch.setattr(module, "AnsibleModule", _FakeModule)
    with pytest.raises(_Captured) as captured:
        module.main()
    return yaml.safe_load(module.DOCUMENTATION), captured.value.args[0]


def test_the_doc_fragment_documents_exactly_the_schema():
    documented = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]["definition"]["suboptions"]
    schema = service_schema.service_options()
    assert list(documented) == list(schema)
    for name, option in schema.items():
        for key in ("type", "elements", "choices"):
            assert documented[name].get(key) == option.get(key), (name, key)
        assert bool(documented[name].get("required")) == bool(option.get("required")), name
        # The fragment cannot say no_log; it says so in words.
        description = documented[name]["description"]
        description = " ".join(description) if isinstance(description, list) else description
        assert ("no_log" in description) == bool(option.get("no_log")), name


@pytest.mark.parametrize("name", SERVICE_MODULES)
def test_each_service_module_takes_the_definition(name, monkeypatch):
    doc, spec = _module(name, monkeypatch)
    assert "lifeboat.dr.service" in doc["extends_documentation_fragment"]
    assert spec["definition"] == dict(type="dict", options=service_schema.service_options())
    # engine and service come from either side, so the merge requires them, not the spec.
    assert not spec.get("engine", {}).get("required") and not spec.get("service", {}).get("required")


@pytest.mark.parametrize("name", SERVICE_MODULES)
def test_shared_keys_have_the_same_type(name, monkeypatch):
    spec = _module(name, monkeypatch)[1]
    for key, option in service_schema.service_options().items():
        field = service_schema.module_fields({key: "x"}) if key != "retention" else {}
        for target in field:
            if target in spec:
                assert spec[target]["type"] == option["type"] or (spec[target]["type"], option["type"]) == (
                    "path", "str"), (name, key)
                assert set(spec[target].get("choices") or []) <= set(option.get("choices") or spec[target].get(
                    "choices") or []), (name, key)


def _params(spec, definition=None, **given):
    """What AnsibleModule hands a module: every option, defaults filled in, the given ones set."""
    params = dict((key, option.get("default")) for key, option in spec.items())
    params.update(given, definition=definition)
    return params


def _merge(spec, definition=None, required=("engine", "service"), **given):
    return service_schema.module_params(_params(spec, definition, **given), set(given), spec, required,
                                        module_args.COMMON_REQUIRED_IF)


DUMP = module_args.dump_argument_spec()


def test_the_definition_fills_the_options_it_names():
    merged = _merge(DUMP, {"name": "appdb", "engine": "postgresql", "database": "appdb", "login_user": "lifeboat",
                           "compression": "gzip", "jobs": 4, "schedule": "*-*-* 02:00:00", "app_services": ["app"],
                           "age_identity": None})
    assert (merged["service"], merged["engine"], merged["database"], merged["login_user"]) == (
        "appdb", "postgresql", "appdb", "lifeboat")
    assert (merged["compression"], merged["jobs"]) == ("gzip", 4)
    # Fields no db_dump option takes are ignored; defaults stay for what the definition leaves out.
    assert "schedule" not in merged and "app_services" not in merged and "definition" not in merged
    assert (merged["format"], merged["login_host"], merged["backup_root"]) == ("custom", "127.0.0.1",
                                                                               module_args.DEFAULT_BACKUP_ROOT)


def test_an_option_given_wins_even_at_its_default_value():
    definition = {"name": "appdb", "engine": "postgresql", "database": "appdb", "compression": "gzip",
                  "login_host": "db.example.org"}
    merged = _merge(DUMP, definition, database="appdb_staging", compression="zstd", login_host="127.0.0.1",
                    service="other")
    assert (merged["database"], merged["compression"], merged["login_host"], merged["service"]) == (
        "appdb_staging", "zstd", "127.0.0.1", "other")


def test_without_a_definition_the_options_are_the_module_s_as_before():
    given = dict(engine="sqlite", service="bot", path="/srv/bot/app.db", compression="gzip")
    merged = _merge(DUMP, **given)
    assert "definition" not in merged and merged == dict(
        (key, value) for key, value in _params(DUMP, **given).items() if key != "definition")


def test_retention_becomes_the_keep_options():
    rotate = module_args.argument_spec(module_args.definition_spec(), module_args.repository_spec(),
                                       keep_daily=dict(type="int", default=7), keep_weekly=dict(type="int", default=4),
                                       keep_monthly=dict(type="int", default=12),
                                       keep_yearly=dict(type="int", default=0))
    merged = _merge(rotate, {"name": "cache", "engine": "redis", "retention": {"daily": 3, "weekly": 2, "monthly": 0}},
                    required=("service",), keep_daily=1)
    assert [merged[key] for key in ("service", "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly")] == [
        "cache", 1, 2, 0, 0]
    with pytest.raises(LifeboatError, match="unknown retention class 'hourly'"):
        _merge(rotate, {"name": "cache", "engine": "redis", "retention": {"hourly": 3}}, required=("service",))


def test_what_is_missing_or_foreign_is_named():
    with pytest.raises(LifeboatError, match=r"missing required arguments: engine, service \(definition: name\)"):
        _merge(DUMP)
    with pytest.raises(LifeboatError, match="engine is postgresql but all of the following are missing: database"):
        _merge(DUMP, {"name": "appdb", "engine": "postgresql"})
    fingerprint = module_args.argument_spec(module_args.definition_spec(), module_args.target_spec(
        ["postgresql", "sqlite"]))
    with pytest.raises(LifeboatError, match="definition: engine is 'mongodb'; this module takes one of postgresql"):
        _merge(fingerprint, {"name": "docs", "engine": "mongodb"}, required=("engine",))


def test_paths_from_the_definition_are_expanded_like_the_option():
    merged = _merge(DUMP, {"name": "bot", "engine": "sqlite", "path": "~/app.db"})
    assert merged["path"] == os.path.expanduser("~/app.db")


def test_null_options_do_not_count_as_given():
    # A task that passes "{{ none }}" leaves the field to the definition, as omit does.
    class Module:
        argument_spec = DUMP
        params = _params(DUMP, {"name": "appdb", "engine": "postgresql", "database": "appdb"}, database=None)

        def fail_json(self, **kwargs):  # pragma: no cover
            raise AssertionError(kwargs)
    merged = module_args.params_for(Module(), {"definition": {}, "database": None})
    assert merged["database"] == "appdb"


LAB_SERVICES = os.path.join(ROOT, "inventories", "lab", "group_vars", "app.yml")


def test_the_application_key_file_reaches_db_dump_and_the_agent():
    merged = _merge(DUMP, {"name": "appdb", "engine": "postgresql", "database": "appdb",
                           "app_key_file": "/etc/sampleapp/secret.key"})
    assert merged["app_key_file"] == "/etc/sampleapp/secret.key"
    assert module_args.dump_argument_spec()["app_key_file"] == {"type": "path"}


@pytest.mark.skipif(not os.path.exists(LAB_SERVICES), reason="the lab inventory is not part of the built collection")
def test_every_lab_service_fills_db_dump_db_restore_and_service_verify(monkeypatch):
    with open(LAB_SERVICES) as handle:
        services = yaml.safe_load(handle)["lifeboat_services"]
    for name in ("db_dump", "db_restore", "service_verify", "db_fingerprint"):
        spec = _module(name, monkeypatch)[1]
        for service in services:
            definition = services_filter.service_definition(service, services, config_dir="/etc/lifeboat")
            if name == "db_fingerprint" and service["engine"] not in spec["engine"]["choices"]:
                continue
            merged = _merge(spec, definition, required=())
            for key, value in service_schema.module_fields(definition).items():
                if key in spec:
                    assert merged[key] == value, (name, service["name"], key)
            assert "login_password" not in definition and "age_identity" not in definition
            if "age_identity" in service:
                assert merged.get("age_identity_file", "/etc/lifeboat/services/%s.age-identity" % service["name"]) == (
                    "/etc/lifeboat/services/%s.age-identity" % service["name"])


def test_the_age_identity_file_is_named_once():
    full = [{"name": "appdb", "engine": "postgresql", "database": "appdb", "age_identity": "AGE-SECRET-KEY-1"},
            {"name": "own", "engine": "sqlite", "path": "/x", "age_identity": "k", "age_identity_file": "/keys/own"},
            {"name": "plain", "engine": "sqlite", "path": "/y"}]
    items = services_filter.services(full)
    agent = [services_filter.service_definition(item, full, config_dir="/etc/lifeboat") for item in items]
    assert [d.get("age_identity_file") for d in agent] == ["/etc/lifeboat/services/appdb.age-identity", "/keys/own",
                                                           None]
    copies = [services_filter.service_definition(item, full, config_dir="/etc/lifeboat", identity_dir="/run/x")
              for item in items]
    assert [d.get("age_identity_file") for d in copies] == ["/run/x/appdb.age-identity", "/run/x/own.age-identity",
                                                            None]
    assert services_filter.secret_file("appdb", "/etc/lifeboat/services", "age_identity") == agent[0][
        "age_identity_file"]


def test_the_agent_role_writes_every_secret_of_the_schema():
    with open(os.path.join(ROOT, "roles", "backup_agent", "vars", "main.yml")) as handle:
        keys = yaml.safe_load(handle)["__backup_agent_secret_keys"]
    assert tuple(sorted(keys)) == service_schema.SECRET_KEYS == tuple(sorted(service_schema.SECRET_FILES))


def _agent_config(tmp_path, name, config, secrets):
    services = tmp_path / "services"
    services.mkdir(exist_ok=True)
    (services / (name + ".json")).write_text(json.dumps(config))
    for key, value in secrets.items():
        path = service_schema.secret_file(str(services), name, key)
        with open(path, "w") as handle:
            handle.write(value + "\n")
    return cli.load_service(str(tmp_path), name)


def test_the_agent_reads_the_definition_as_the_module_does(tmp_path):
    definition = {"name": "appdb", "engine": "postgresql", "database": "appdb", "login_user": "lifeboat",
                  "compression": "zstd", "compression_level": None, "retention": {"daily": 3},
                  "encryption": "age", "age_recipients": ["age1x"], "schedule": "*-*-* 02:00:00"}
    spec = _agent_config(tmp_path, "appdb", {"definition": definition, "backup_root": "/srv/b", "owner": "lifeboat",
                                             "group": "lifeboat", "metrics_dir": None, "stale_hours": 26},
                         {"login_password": "pw", "age_identity": "AGE-SECRET-KEY-1"})
    assert (spec["service"], spec["engine"], spec["database"], spec["backup_root"], spec["stale_hours"]) == (
        "appdb", "postgresql", "appdb", "/srv/b", 26)
    assert spec["connection"].password == "pw" and spec["connection"].user == "lifeboat"
    assert spec["age_identity_file"] == str(tmp_path / "services" / "appdb.age-identity")
    assert spec["encryption_passphrase_file"] is None and spec["retention"] == {"daily": 3}
    assert spec["format"] == "custom" and spec["connection"].host == "127.0.0.1" and "schedule" not in spec


def test_the_agent_still_reads_a_configuration_written_by_the_older_role(tmp_path):
    old = {"service": "notes", "engine": "sqlite", "backup_root": "/srv/b", "backup_type": "auto", "database": None,
           "path": "/srv/notes.db", "format": "custom", "jobs": 1, "compression": "gzip", "compression_level": None,
           "login_host": "127.0.0.1", "consistency": "stop", "stop_services": [], "owner": "lifeboat",
           "group": "lifeboat", "retention": None, "encryption": "none", "age_recipients": [],
           "age_identity_file": None, "metrics_dir": None, "stale_hours": 26, "offsite": True}
    spec = _agent_config(tmp_path, "notes", old, {"encryption_passphrase": "s"})
    assert (spec["service"], spec["path"], spec["compression"], spec["retention"]) == (
        "notes", "/srv/notes.db", "gzip", None)
    assert spec["encryption_passphrase_file"] == str(tmp_path / "services" / "notes.passphrase")
