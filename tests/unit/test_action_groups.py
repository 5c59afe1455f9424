"""meta/runtime.yml's action groups against the modules' argument specs.

Ansible hands a group's module_defaults to every module of the group, and a module fails on an option it does not
take ("Unsupported parameters for (lifeboat.dr.dns_verify) module: backup_root, lock_timeout"), so a group lists
exactly the modules that take its option: no module that would fail, none left out that would quietly use its own
default.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import os

import pytest
import yaml

from ansible_collections.lifeboat.dr.plugins.action import vault_secrets as vault_secrets_action

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Each group and the option it carries (the README's module_defaults example sets both).
GROUP_OPTION = {"lifeboat": "backup_root", "service_lock": "lock_timeout"}
MODULES = sorted(name[:-3] for name in os.listdir(os.path.join(ROOT, "plugins", "modules")) if name.endswith(".py"))
# Modules whose work is done by an action plugin of the same name: the plugin's argument spec.
ACTION_SPECS = {"vault_secrets": vault_secrets_action.ARGUMENT_SPEC}


class _Captured(Exception):
    pass


class _FakeModule:
    def __init__(self, argument_spec, **kwargs):
        raise _Captured(argument_spec)


def _argument_spec(name, monkeypatch):
    if name in ACTION_SPECS:
        return ACTION_SPECS[name]
    module = importlib.import_module("ansible_collections.lifeboat.dr.plugins.modules." + name)
    monkeypatch.setattr(module, "AnsibleModule", _FakeModule)
    with pytest.raises(_Captured) as captured:
        module.main()
    return captured.value.args[0]


def _groups():
    with open(os.path.join(ROOT, "meta", "runtime.yml")) as handle:
        return yaml.safe_load(handle)["action_groups"]


def test_every_group_is_one_shared_option():
    assert set(_groups()) == set(GROUP_OPTION)


def test_each_group_lists_exactly_the_modules_that_take_its_option(monkeypatch):
    specs = dict((name, _argument_spec(name, monkeypatch)) for name in MODULES)
    assert all(specs.values())
    for group, members in _groups().items():
        option = GROUP_OPTION[group]
        assert sorted(members) == sorted(set(members)), group
        assert set(members) <= set(MODULES), group
        assert sorted(members) == [name for name in MODULES if option in specs[name]], (group, option)
        # One meaning, one type: the same default fits every member.
        assert len(set((specs[name][option].get("type"), specs[name][option].get("default")) for name in members)) == 1
