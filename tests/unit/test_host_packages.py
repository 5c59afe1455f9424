# -*- coding: utf-8 -*-
"""The packages a host gets come from the engines, encryption methods and offsite stores it uses."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils import engines
from ansible_collections.lifeboat.dr.plugins.module_utils.host_packages import BASE_PACKAGES, host_packages


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


def test_offsite_stores_bring_their_clients_one_or_many():
    assert "python3-boto3" in host_packages([], {"provider": "s3", "bucket": "b"})
    packages = host_packages([], [{"provider": "gcs", "credentials_file": "/etc/key.json"}, {"provider": "s3"}],
                             ["cron"])
    assert {"openssl", "python3-boto3", "cron"} <= set(packages)


@pytest.mark.parametrize("service, word", [({"name": "x", "engine": "oracle"}, "engine 'oracle'"),
                                           ({"name": "x", "engine": "sqlite", "encryption": "rot13"}, "rot13")])
def test_unknown_engine_or_encryption_is_named(service, word):
    with pytest.raises(LifeboatError) as err:
        host_packages([service])
    assert word in str(err.value) and "service x" in str(err.value)
