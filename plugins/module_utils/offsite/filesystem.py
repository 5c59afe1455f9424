# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A mounted path (NFS, a second disk) as an offsite store: the standard library, nothing to install."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf
from ansible_collections.lifeboat.dr.plugins.module_utils.offsite import base


class FilesystemProvider(base.Provider):
    """Files written under a temporary name, fsynced, renamed: a reader never sees half a file."""

    name = "filesystem"
    REQUIRED_PARAMS = ("path",)

    def __init__(self, root):
        if not root or not os.path.isdir(root):
            raise bf.LifeboatError("offsite path %s does not exist or is not a directory (is it mounted?)" % root)
        self.root = root

    @classmethod
    def from_params(cls, params):
        return cls(params["path"])

    def describe(self):
        return self.root

    def _path(self, key):
        return os.path.join(self.root, *key.split("/"))

    def put_file(self, key, local_path, checksum):
        target = self._path(key)
        bf.ensure_dir(os.path.dirname(target), 0o700)
        with bf.atomic_file(target, 0o600) as handle, open(local_path, "rb") as source:
            shutil.copyfileobj(source, handle, bf.CHUNK)

    def put_bytes(self, key, data):
        target = self._path(key)
        bf.ensure_dir(os.path.dirname(target), 0o700)
        with bf.atomic_file(target, 0o600) as handle:
            handle.write(data)

    def chunks(self, key):
        try:
            with open(self._path(key), "rb") as handle:
                yield from iter(lambda: handle.read(bf.CHUNK), b"")
        except FileNotFoundError:
            raise bf.LifeboatError("offsite object %s is missing" % key)

    def list(self, prefix):
        found = {}
        base_dir = self._path(prefix) if prefix else self.root
        for top, _dirs, files in os.walk(base_dir):
            for name in files:
                if name.startswith("."):
                    continue  # temporary files of a write in progress
                full = os.path.join(top, name)
                found[os.path.relpath(full, self.root).replace(os.sep, "/")] = os.path.getsize(full)
        return found

    def size(self, key):
        try:
            return os.path.getsize(self._path(key))
        except FileNotFoundError:
            return None

    def delete(self, key):
        try:
            os.unlink(self._path(key))
        except FileNotFoundError:
            pass

    def stored_checksum(self, key):
        return None  # a plain file carries no checksum: verify streams it


PROVIDER = FilesystemProvider
