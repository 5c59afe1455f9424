# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One Lifeboat run per service at a time: backups, restores and rotation share a lock.

``flock`` on ``<root>/<service>/.lock``: the kernel drops it when the holder
dies, so a killed run never leaves a stale lock behind.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import fcntl
import os
import time

from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError, service_dir

LOCK_NAME = ".lock"


@contextlib.contextmanager
def service_lock(root, service, wait_seconds=0, uid=-1, gid=-1):
    """Hold the service's lock, waiting up to ``wait_seconds`` for another run to finish."""
    path = os.path.join(service_dir(root, service), LOCK_NAME)
    if uid == -1 and gid == -1:
        uid, gid = owner_of(service_dir(root, service))  # root running a restore must not lock the agent out
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except PermissionError:
        fd = os.open(path, os.O_RDONLY)  # another user's lock file: flock works read-only too
    if (uid != -1 or gid != -1) and os.geteuid() == 0:
        os.fchown(fd, uid, gid)
    try:
        deadline = time.monotonic() + max(wait_seconds, 0)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LifeboatError(
                        "another Lifeboat run is working on service %s (%s%s); waited %ds"
                        % (service, path, _holder(path), wait_seconds))
                time.sleep(0.2)
        _note_holder(fd)
        yield path
    finally:
        os.close(fd)


def held(root, service):
    """Whether a live run holds the service's lock now (probed without waiting, released at once)."""
    path = os.path.join(service_dir(root, service), LOCK_NAME)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False  # no lock file: no run has ever locked this service here
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops a lock taken here
    return False


def owner_of(path):
    """``(uid, gid)`` of ``path``, or ``(-1, -1)`` when it does not exist."""
    try:
        info = os.stat(path)
    except OSError:
        return -1, -1
    return info.st_uid, info.st_gid


def _note_holder(fd):
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, ("%d\n" % os.getpid()).encode(), 0)
    except OSError:
        pass


def _holder(path):
    try:
        with open(path) as handle:
            pid = handle.read().strip()
        return ", held by pid %s" % pid if pid else ""
    except OSError:
        return ""
