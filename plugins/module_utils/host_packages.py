# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Debian packages (and the pip requirements) a host needs for the services it backs up or restores.

The one place that knows them: the ``lifeboat.dr.host_tools`` role installs
what :func:`host_packages` returns, for the backup agent, point-in-time
recovery and restore hosts alike. Each engine names its own packages
(``HOST_PACKAGES`` in its module, ``host_packages`` of the registry's engine),
and so does each offsite provider (``HOST_PACKAGES`` and
``PYTHON_REQUIREMENTS`` of its class in ``offsite/``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lifeboat.dr.plugins.module_utils import engines
from ansible_collections.lifeboat.dr.plugins.module_utils import offsite
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError

# What every Lifeboat host runs: the host commands (python3), compression, archives, and ssh-keygen
# (openssh-client), which signs and verifies backups.
BASE_PACKAGES = ("python3", "zstd", "gzip", "tar", "openssh-client")

ENCRYPTION_PACKAGES = {"none": (), "age": ("age",), "gpg": ("gnupg",)}


def _providers(stores):
    """The provider classes of ``stores`` (``lifeboat_offsite`` dicts, or one)."""
    if isinstance(stores, dict):
        stores = [stores]
    return [offsite.get(store.get("provider")) for store in stores or []]


def offsite_packages(stores):
    """Debian packages the offsite step needs for ``stores`` (``lifeboat_offsite`` dicts, or one)."""
    return set(name for provider in _providers(stores) for name in provider.HOST_PACKAGES)


def offsite_python_requirements(stores):
    """Sorted pip requirements (``name>=x,<y``) of the client libraries ``stores`` use, for the agent's virtualenv."""
    return sorted(set(requirement for provider in _providers(stores) for requirement in provider.PYTHON_REQUIREMENTS))


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
