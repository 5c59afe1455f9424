# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The provider contract: what the offsite orchestration (``offsite/transfer.py``) may ask of a store.

Each provider module under ``offsite/`` ends with its class (``PROVIDER``), a
subclass of :class:`Provider`, and ``offsite/__init__.py`` lists it. Nothing
outside a provider's own file compares provider names: the registry hands
out the class, the orchestration calls the methods below, and the host
tooling reads the class attributes.

Class attributes:

``name``                 the ``provider`` value in inventories and module arguments
``HOST_PACKAGES``        Debian packages a host needs for it (possibly none)
``PYTHON_REQUIREMENTS``  pip requirements of its client library, for the agent's virtualenv
``REQUIRED_PARAMS``      module parameters it cannot work without (``required_if``)

Methods (every provider):

``from_params(params)``  the provider for the module's (or the agent's) parameters
``describe()``           where the copies go, for results and logs; never credentials
``put_file(key, local_path, checksum)``  upload a file in bounded memory whatever its size,
                         storing ``checksum`` (``sha256:<hex>``) with the object; an upload the
                         store received damaged fails
``put_bytes(key, data)`` upload a small object (the metadata JSON)
``chunks(key)``          the object's bytes in chunks (a streamed read); ``LifeboatError`` when missing
``list(prefix)``         ``{key: size}`` of every object under ``prefix``
``size(key)``            the object's size, or ``None`` when it does not exist
``delete(key)``          remove it (a missing object is fine); ``LockedObject`` under retention
``stored_checksum(key)`` the checksum stored with the object, or ``None`` (verify then streams it)

``PropertiesProvider`` gives ``size`` and ``stored_checksum`` to stores that answer with an
object's properties (``properties(key)``: ``.size`` and ``.metadata``, or ``None``).

Errors are ``LifeboatError``\\ s naming the operation, the object and the store,
raised once the client library's own retries with backoff are spent.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf

METHODS = ("describe", "put_file", "put_bytes", "chunks", "list", "size", "delete", "stored_checksum")

# Delays between attempts (seconds): the first, and the factor for each next one.
BACKOFF_INITIAL = 0.5
BACKOFF_FACTOR = 2.0


class LockedObject(bf.LifeboatError):
    """The store refused a delete because the object is under retention (Object Lock, immutability, a hold)."""


class Provider:
    """What every provider has; subclasses set the class attributes and implement the methods."""

    name = None
    HOST_PACKAGES = ()
    PYTHON_REQUIREMENTS = ()
    REQUIRED_PARAMS = ()

    @classmethod
    def from_params(cls, params):
        raise NotImplementedError

    def describe(self):
        raise NotImplementedError

    def failure(self, what, key, detail, secrets=()):
        """The error for a failed operation: what, on which object, where, and why (secrets scrubbed)."""
        return bf.LifeboatError(scrub("%s %s in %s failed: %s" % (what, key or "/", self.describe(), detail),
                                      secrets))


class PropertiesProvider(Provider):
    """A store that answers for one object with its properties (``.size``, ``.metadata``) or nothing:
    ``size`` and ``stored_checksum`` follow from ``properties(key)``."""

    def properties(self, key):
        raise NotImplementedError

    def size(self, key):
        found = self.properties(key)
        return found.size if found is not None else None

    def stored_checksum(self, key):
        found = self.properties(key)
        return from_metadata((found.metadata or {}).get("sha256")) if found is not None else None


def sdk_missing(provider, exc):
    """The error for a host whose Python lacks a provider's client library (pip names, not import names)."""
    return bf.LifeboatError("the %s provider needs %s on the host (%s)" % (
        provider.name, " and ".join(provider.PYTHON_REQUIREMENTS), exc))


def sha256_hex(checksum):
    """The hex digest of a ``sha256:<hex>`` checksum, as object metadata carries it."""
    return checksum.split(":", 1)[-1]


def from_metadata(value):
    return "sha256:" + value if value else None


# A SAS or signed URL quoted in a library's error message (requests puts the URL in its errors).
_SIGNATURE = re.compile(r"(?i)\b(sig|signature|x-goog-signature|x-amz-signature|access_token)=[^&\s'\"]+")


def scrub(text, secrets=()):
    """``text`` without the given secrets and without URL signatures."""
    text = _SIGNATURE.sub(lambda match: match.group(1) + "=***", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


class HashingReader:
    """A file read through it is hashed (MD5) on the way, so that the bytes read can be compared with what the
    store computed over the bytes it received. A client library that seeks back to resend a part (a resumed
    upload) reads those bytes again; they are hashed once."""

    def __init__(self, handle):
        self.handle = handle
        self.md5 = hashlib.md5()
        self.hashed = 0  # bytes hashed so far, from the start of the file

    def read(self, size=-1):
        start = self.handle.tell()
        data = self.handle.read(size)
        if start > self.hashed:
            raise bf.LifeboatError("an upload skipped bytes %d-%d of the file" % (self.hashed, start - 1))
        new = data[self.hashed - start:]
        self.md5.update(new)
        self.hashed += len(new)
        return data

    def tell(self):
        return self.handle.tell()

    def seek(self, offset, whence=0):
        return self.handle.seek(offset, whence)
