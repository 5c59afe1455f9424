# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where offsite copies go: one module per provider, this registry, and ``transfer`` (push, pull, verify, prune).

Callers ask ``get(name)`` or ``provider_from_params(params)`` for a provider and
use the contract of ``offsite/base.py``; nobody outside a provider's own file
compares provider names. The imports are static and spelled in full on
purpose: Ansible's module packaging (AnsiballZ) ships only the module_utils
it finds imported that way. The client libraries (boto3, azure-storage-blob,
google-cloud-storage) are imported by each provider when it first talks to
its store, so this registry, ``describe()`` and the host tooling need none.

Adding a provider: its module under ``offsite/``, one import and one entry in
``_PROVIDERS`` below (see docs/adding_an_offsite_provider.md).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils.offsite import azure_blob
from ansible_collections.lifeboat.dr.plugins.module_utils.offsite import filesystem
from ansible_collections.lifeboat.dr.plugins.module_utils.offsite import gcs
from ansible_collections.lifeboat.dr.plugins.module_utils.offsite import s3

# The order is the order of the module's ``provider`` choices and of its documentation.
_PROVIDERS = (s3.PROVIDER, azure_blob.PROVIDER, gcs.PROVIDER, filesystem.PROVIDER)
_BY_NAME = dict((provider.name, provider) for provider in _PROVIDERS)


def names():
    """Provider names, in registry order."""
    return tuple(provider.name for provider in _PROVIDERS)


def get(name):
    """The provider class called ``name``; an unknown name is the caller's error, named with the known ones."""
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        raise LifeboatError("unknown offsite provider %r (expected one of %s)" % (name, ", ".join(names())))


def provider_from_params(params):
    """The store that ``params`` (the module's options, or the agent's ``offsite.json``) describe."""
    return get(params.get("provider")).from_params(params)


def params_from_file(path):
    """A store's settings and credentials from a JSON file (``lifeboat-pitr``'s offsite config, 0600)."""
    import json  # pylint: disable=import-outside-toplevel

    try:
        with open(path) as handle:
            params = json.load(handle)
    except OSError as exc:
        raise LifeboatError("the offsite settings %s cannot be read: %s" % (path, exc.strerror))
    except ValueError as exc:
        raise LifeboatError("the offsite settings %s are not valid JSON: %s" % (path, exc))
    if not isinstance(params, dict) or not params.get("provider"):
        raise LifeboatError("the offsite settings %s name no provider" % path)
    return params
