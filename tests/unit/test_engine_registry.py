"""One list of engines: the registry, every module's ``engine`` choices and the roles' argument specs agree,
and every engine implements the contract of engines/base.py."""
import glob
import importlib
import os
import re

import pytest
import yaml

from ansible_collections.lifeboat.dr.plugins.module_utils import engines, module_args
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils.engines import base
from ansible_collections.lifeboat.dr.plugins.module_utils.host_packages import host_packages

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ALL = engines.names()
TODAY = ("postgresql", "mysql", "sqlite", "directory", "redis", "mongodb")
# Modules whose ``engine`` choices are the engines with one capability, not all of them.
SUBSET = {"db_fingerprint": "fingerprint", "db_replication": "replication_status", "db_password": "set_password",
          "db_copy_missing_rows": "copy_missing_rows"}


class _Captured(Exception):
    pass


class _FakeModule:
    def __init__(self, argument_spec, **kwargs):
        raise _Captured(argument_spec, kwargs)


def _module_engine_options(monkeypatch):
    """``{module: (documented choices, argument spec choices)}`` for every module with an ``engine`` option."""
    found = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "plugins", "modules", "*.py"))):
        name = os.path.basename(path)[:-3]
        module = importlib.import_module("ansible_collections.lifeboat.dr.plugins.modules." + name)
        documented = yaml.safe_load(module.DOCUMENTATION)["options"].get("engine")
        if not hasattr(module, "main"):
            # Documentation of an action plugin (vault_secrets): no argument spec here, and no engine.
            assert os.path.exists(os.path.join(ROOT, "plugins", "action", name + ".py")) and documented is None, name
            continue
        monkeypatch.setattr(module, "AnsibleModule", _FakeModule)
        spec = None
        try:
            module.main()
        except _Captured as captured:
            spec = captured.args[0].get("engine")
        else:  # pragma: no cover
            raise AssertionError("%s.main() did not build an AnsibleModule" % name)
        assert (documented is None) == (spec is None), name
        if spec is not None:
            found[name] = (documented.get("choices"), spec.get("choices"))
    return found


def _role_engine_choices(node, where):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "engine" and isinstance(value, dict) and "choices" in value:
                yield where, value["choices"]
            else:
                yield from _role_engine_choices(value, where + "." + str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _role_engine_choices(value, "%s[%d]" % (where, index))


def test_registry_names_each_engine_once_and_finds_it_by_name():
    assert len(set(ALL)) == len(ALL) and set(ALL) >= set(TODAY)
    for name in ALL:
        assert engines.get(name).name == name and engines.known(name)
    with pytest.raises(LifeboatError, match="unknown engine 'oracle' \\(expected one of postgresql, mysql"):
        engines.get("oracle")
    assert not engines.known("oracle") and not engines.known(None)


@pytest.mark.parametrize("name", ALL)
def test_every_engine_implements_the_contract(name):
    engine = engines.get(name)
    module = importlib.import_module("ansible_collections.lifeboat.dr.plugins.module_utils.engines." + name)
    assert module.ENGINE is engine and isinstance(engine, base.Engine)
    for method in base.REQUIRED:
        assert callable(getattr(engine, method)) and engine.supports(method)
        if method not in base.DEFAULTED:  # required methods the base implements (expected_counts, ...)
            assert any(method in vars(klass) for klass in type(engine).__mro__ if klass is not base.Engine), method
    for method in base.CHECKS + base.OPTIONAL:
        assert callable(getattr(engine, method))
    assert isinstance(module.HOST_PACKAGES, tuple) and module.HOST_PACKAGES
    assert engine.host_packages == module.HOST_PACKAGES
    assert all(isinstance(package, str) and package for package in engine.host_packages)
    assert isinstance(engine.required_params, tuple)
    assert engine.target_kind in base.TARGET_KINDS
    assert engine.count_unit in ("tables", "counts")
    for flag in ("always_safety_copy", "restore_reads_archive", "runs_as_root"):
        assert isinstance(getattr(engine, flag), bool), flag
    assert engine.scratch_teardown is None or isinstance(engine.scratch_teardown, str)
    assert isinstance(engine.extension("custom"), str) and engine.extension("custom")
    for key in base.PROPERTIES:
        assert engine.property_value(key) == getattr(engine, key)


@pytest.mark.parametrize("name", ALL)
def test_missing_capabilities_are_declared_and_refuse(name):
    engine = engines.get(name)
    for capability in base.OPTIONAL:
        if not engine.supports(capability):
            with pytest.raises(NotImplementedError, match=name):
                getattr(engine, capability)(None, {})
    for capability in base.CHECKS:
        if not engine.supports(capability):
            with pytest.raises(LifeboatError, match="engine %s" % name):
                getattr(engine, capability)(None, {"engine": name})
    with pytest.raises(LifeboatError, match="unknown engine capability"):
        engine.supports("teleport")
    with pytest.raises(LifeboatError, match="unknown engine property"):
        engine.property_value("password")


def test_the_first_six_engines_keep_their_capabilities():
    def today(capability):
        return tuple(name for name in engines.names(supporting=capability) if name in TODAY)
    assert ALL[:len(TODAY)] == TODAY  # the order of every choices list
    assert today("fingerprint") == today("live_counts") == today("connect") == TODAY[:5]
    assert today("integrity") == ("postgresql", "sqlite")
    # Failover: PostgreSQL and Redis observe, fence, promote and probe; PostgreSQL rejoins (pg_rewind).
    for capability in ("replication_status", "fence", "promote", "probe_write"):
        assert today(capability) == ("postgresql", "redis"), capability
    assert today("rejoin") == ("postgresql",)
    assert today("set_password") == ("postgresql", "mysql", "redis")
    # Rows deleted by mistake: PostgreSQL copies the missing rows back from a side database.
    assert today("copy_missing_rows") == ("postgresql",)


def test_module_choices_come_from_the_registry_and_match_the_documentation(monkeypatch):
    options = _module_engine_options(monkeypatch)
    assert set(options) >= {"db_dump", "db_restore", "db_fingerprint", "service_verify"}
    for name, (documented, spec) in options.items():
        expected = list(engines.names(supporting=SUBSET[name]) if name in SUBSET else ALL)
        assert spec == expected, name
        assert documented == expected, "%s: DOCUMENTATION choices %s, registry %s" % (name, documented, expected)
    assert module_args.ENGINES == ALL


def test_required_parameters_come_from_the_engines():
    assert module_args.COMMON_REQUIRED_IF == [("engine", "postgresql", ["database"]), ("engine", "mysql", ["database"]),
                                              ("engine", "sqlite", ["path"]), ("engine", "directory", ["path"])]


def test_role_argument_specs_name_the_registry_engines():
    found = []
    for path in sorted(glob.glob(os.path.join(ROOT, "roles", "*", "meta", "argument_specs.yml"))):
        with open(path) as handle:
            found += list(_role_engine_choices(yaml.safe_load(handle), os.path.relpath(path, ROOT)))
    assert found, "no role argument spec has engine choices"
    for where, choices in found:
        assert list(choices) == list(ALL), where


def test_host_packages_come_from_the_engines():
    for name in ALL:
        packages = host_packages([{"name": "svc", "engine": name}])
        assert set(engines.get(name).host_packages) <= set(packages)
    with pytest.raises(LifeboatError, match="service svc: unknown engine 'oracle'; known: directory, mongodb"):
        host_packages([{"name": "svc", "engine": "oracle"}])


def test_playbooks_read_engine_properties_through_the_filter():
    from ansible.errors import AnsibleFilterError
    from ansible_collections.lifeboat.dr.plugins.filter.engine_property import engine_property

    assert [name for name in ALL if engine_property(name, "runs_as_root")] == ["directory"]
    assert dict((name, engine_property(name, "scratch_teardown")) for name in ALL) == {
        "postgresql": "drop_postgresql_database", "mysql": "drop_mysql_database", "sqlite": None,
        "directory": None, "redis": "flush_redis", "mongodb": None}
    assert engine_property("postgresql", "host_packages") == ["postgresql-client"]
    with pytest.raises(AnsibleFilterError, match="unknown engine 'oracle'"):
        engine_property("oracle", "runs_as_root")
    with pytest.raises(AnsibleFilterError, match="unknown engine property 'password'"):
        engine_property("redis", "password")


def test_playbooks_select_services_by_engine_property():
    from ansible_collections.lifeboat.dr.plugins.filter.engine_property import engines_where

    assert engines_where("path", "target_kind") == ["sqlite", "directory"]
    assert engines_where(True, "point_in_time_recovery") == ["postgresql"]
    assert engines_where("flush_redis", "scratch_teardown") == ["redis"]
    assert engines_where("nothing", "scratch_teardown") == []


ENGINE_LITERAL = "(%s)" % "|".join(TODAY)
# A comparison with an engine name: Python's == / != / in, Jinja's selectattr tests, a dict keyed by engine.
COMPARISONS = [
    re.compile(r"""(==|!=|\bin)\s*[(\[]?\s*["']%s["']""" % ENGINE_LITERAL),
    re.compile(r"""["']%s["']\s*(==|!=)""" % ENGINE_LITERAL),
    re.compile(r"""selectattr\(\s*["']engine["']"""),
    re.compile(r"""\{\s*["']%s["']\s*:[^}]*\}\s*(\.get\(|\[)\s*[\w.]*engine""" % ENGINE_LITERAL),
]


def test_no_engine_name_comparison_outside_the_engines_package():
    found = []
    patterns = ["plugins/**/*.py", "roles/**/*.yml", "roles/**/*.j2", "playbooks/**/*.yml", "playbooks/**/*.j2"]
    for pattern in patterns:
        for path in glob.glob(os.path.join(ROOT, pattern), recursive=True):
            if os.sep + "engines" + os.sep in path:
                continue
            with open(path) as handle:
                for number, line in enumerate(handle, 1):
                    if any(regex.search(line) and "engines_where" not in line for regex in COMPARISONS):
                        found.append("%s:%d: %s" % (os.path.relpath(path, ROOT), number, line.strip()))
    assert found == []


def test_restore_targets_by_kind():
    from ansible_collections.lifeboat.dr.plugins.filter.services import restore_target

    for name in ALL:
        service = {"name": "svc", "engine": name, "database": "db", "path": "/srv/data"}
        staged = restore_target(service, "staging")
        kind = engines.get(name).target_kind
        assert (staged["error"] is not None) == (kind == "instance"), name
        assert staged["database"] == ("db_staging" if kind == "database" else "db"), name
        assert staged["path"] == ("/srv/data.staging" if kind == "path" else "/srv/data"), name
    assert restore_target({"name": "x", "path": "/a"}, "/b")["path"] == "/b"  # no engine: a path
