# -*- coding: utf-8 -*-
"""The packages a host gets come from the engines, encryption methods and offsite stores it uses."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils import engines, offsite
from ansible_collections.lifeboat.dr.plugins.module_utils.host_packages import (
    BASE_PACKAGES, host_packages, offsite_python_requirements)


def test_a_host_without_services_gets_the_base_tools():
    assert host_packages() == sorted(BASE_PACKAGES)


def test_every_engine_names_its_packages_and_gets_them():
    for name in engines.names():
        packages = engines.get(name).host_packages
        assert isinstance(packages, tuple) and packages, name
        assert set(packages) <= set(host_packages([{"name": "x", "engine": name}]))


def test_services_bring_their_engine_and_encryption_tools():
    services = [{"name": "appdb", "engine": "postgresql", "encryption": "age"},
                {"name": "shopdb", "engine": "mysql", "encryption": "gpg"},
                {"name": "cache", "engine": "redis"}]
    packages = host_packages(services)
    for name in ("postgresql-client", "mariadb-client", "redis-server", "python3-redis", "age", "gnupg", "zstd", "python3"):
        assert name in packages
    assert "sqlite3" not in packages and "python3-boto3" not in packages
    assert packages == sorted(set(packages))


def test_offsite_stores_bring_the_packages_their_providers_declare():
    assert host_packages([], {"provider": "s3", "bucket": "b"}) == sorted(BASE_PACKAGES)  # boto3 comes from pip
    stores = [{"provider": name} for name in offsite.names()]
    declared = set(name for store in stores for name in offsite.get(store["provider"]).HOST_PACKAGES)
    assert declared | {"cron"} <= set(host_packages([], stores, ["cron"]))


def test_offsite_python_requirements_are_the_providers_own_sorted_once():
    stores = [{"provider": "gcs", "bucket": "b"}, {"provider": "s3"}, {"provider": "gcs"}, {"provider": "filesystem"}]
    assert offsite_python_requirements(stores) == sorted(set(
        offsite.get("gcs").PYTHON_REQUIREMENTS + offsite.get("s3").PYTHON_REQUIREMENTS))
    assert offsite_python_requirements({"provider": "azure_blob"}) == [
        "azure-identity>=1.15,<2", "azure-storage-blob>=12.19,<13"]
    assert offsite_python_requirements({"provider": "filesystem", "path": "/mnt"}) == []
    assert offsite_python_requirements(None) == []


def test_the_filter_gives_the_requirements_and_names_an_unknown_provider():
    from ansible.errors import AnsibleFilterError
    from ansible_collections.lifeboat.dr.plugins.filter.offsite_python_requirements import FilterModule
    requirements = FilterModule().filters()["offsite_python_requirements"]
    assert requirements([{"provider": "s3"}]) == ["boto3>=1.26,<2"]
    with pytest.raises(AnsibleFilterError) as err:
        requirements([{"provider": "dropbox"}])
    assert "dropbox" in str(err.value)


@pytest.mark.parametrize("service, word", [({"name": "x", "engine": "oracle"}, "engine 'oracle'"),
                                           ({"name": "x", "engine": "sqlite", "encryption": "rot13"}, "rot13")])
def test_unknown_engine_or_encryption_is_named(service, word):
    with pytest.raises(LifeboatError) as err:
        host_packages([service])
    assert word in str(err.value) and "service x" in str(err.value)
