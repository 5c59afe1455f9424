# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Debian packages a host needs for the services it backs up or restores.

The one place that knows them: the ``lifeboat.dr.host_tools`` role installs
what :func:`host_packages` returns, for the backup agent, point-in-time
recovery and restore hosts alike. Each engine names its own packages
(``HOST_PACKAGES`` in its module, ``host_packages`` of the registry's engine).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lifeboat.dr.plugins.module_utils import engines
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError

# What every Lifeboat host runs: the host commands (python3), compression, archives.
BASE_PACKAGES = ("python3", "zstd", "gzip", "tar")

ENCRYPTION_PACKAGES = {"none": (), "age": ("age",), "gpg": ("gnupg",)}


def offsite_packages(stores):
    """Packages the offsite step needs for ``stores`` (``lifeboat_offsite`` dicts, or one)."""
    if isinstance(stores, dict):
        stores = [stores]
    packages = set()
    for store in stores or []:
        if store.get("provider") == "s3":
            packages.add("python3-boto3")
        if store.get("credentials_file"):
            # A GCS service-account key is signed with openssl.
            packages.add("openssl")
    return packages


def host_packages(services=None, offsite=None, extra=None):
    """Sorted Debian package names for ``services`` (inventory service definitions:
    their engines and encryption methods), the ``offsite`` stores and ``extra`` packages."""
    packages = set(BASE_PACKAGES) | set(extra or []) | offsite_packages(offsite)
    for service in services or []:
        engine = service.get("engine")
        if not engines.known(engine):
            raise LifeboatError("service %s: unknown engine %r; known: %s" % (
                service.get("name"), engine, ", ".join(sorted(engines.names()))))
        method = service.get("encryption") or "none"
        if method not in ENCRYPTION_PACKAGES:
            raise LifeboatError("service %s: unknown encryption %r; known: %s" % (
                service.get("name"), method, ", ".join(sorted(ENCRYPTION_PACKAGES))))
        packages.update(engines.get(engine).host_packages)
        packages.update(ENCRYPTION_PACKAGES[method])
    return sorted(packages)
