# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Client-side encryption of backups with age or GnuPG, as one more stage of the stream.

Methods:
- ``age``: to ``age_recipients`` (public keys, ``age1...`` or SSH); decrypted with ``age_identity_file``.
  age reads passphrases only from a terminal, so passphrase encryption uses gpg.
- ``gpg``: symmetric AES256 with a passphrase (``passphrase_file`` or ``passphrase``), or to
  ``gpg_recipient`` in ``gpg_homedir`` (decrypted with the secret key there).
Secrets go to gpg through a 0600 file in a private directory that is removed
afterwards, never through argv. ``probe`` encrypts and decrypts a known text
before a backup starts, so a wrong key fails the run instead of producing
backups nobody can read.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import tempfile

from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError

METHODS = ("none", "age", "gpg")
EXTENSIONS = {"none": "", "age": ".age", "gpg": ".gpg"}
PROBE = b"lifeboat encryption probe\n"


class Encryption:
    """One run's encryption settings and the private files they need; use as a context manager."""

    def __init__(self, runner, method="none", age_recipients=None, age_identity_file=None, gpg_recipient=None,
                 gpg_homedir=None, passphrase=None, passphrase_file=None):
        if method not in METHODS:
            raise LifeboatError("unknown encryption %r (expected one of %s)" % (method, ", ".join(METHODS)))
        self.runner = runner
        self.method = method
        self.age_recipients = list(age_recipients or [])
        self.age_identity_file = age_identity_file
        self.gpg_recipient = gpg_recipient
        self.gpg_homedir = gpg_homedir
        self._passphrase = passphrase
        self.passphrase_file = passphrase_file
        self._dir = None
        for label, path in (("age_identity_file", age_identity_file), ("passphrase_file", passphrase_file)):
            if path:
                _check_private(label, path)

    @property
    def enabled(self):
        return self.method != "none"

    @property
    def extension(self):
        return EXTENSIONS[self.method]

    def __enter__(self):
        self._dir = tempfile.mkdtemp(prefix="lifeboat-crypto-")
        os.chmod(self._dir, 0o700)
        if self._passphrase is not None and not self.passphrase_file:
            self.passphrase_file = self._private("passphrase", self._passphrase.encode("utf-8"))
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self._dir, ignore_errors=True)
        self._dir = None

    def _private(self, name, data):
        path = os.path.join(self._dir, name)
        if os.path.exists(path):
            return path
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return path

    def _gpg(self):
        home = self.gpg_homedir
        if not home:
            home = os.path.join(self._dir, "gnupg")
            if not os.path.isdir(home):
                os.mkdir(home, 0o700)
        argv = [self.runner.binary("gpg"), "--homedir", home, "--batch", "--yes", "--quiet", "--no-tty",
                "--no-auto-key-locate", "--no-permission-warning"]
        if self.passphrase_file:
            argv += ["--pinentry-mode", "loopback", "--passphrase-file", self.passphrase_file]
        return argv

    def writer_argv(self):
        """Encrypts stdin to stdout, or None."""
        if self.method == "age" and not self.age_recipients:
            raise LifeboatError("age encryption needs age_recipients (public keys); for a passphrase use gpg")
        if self.method == "gpg" and not (self.gpg_recipient or self.passphrase_file):
            raise LifeboatError("gpg encryption needs gpg_recipient or a passphrase (encryption_passphrase_file)")
        if self.method == "age":
            recipients = self._private("recipients", ("\n".join(self.age_recipients) + "\n").encode())
            return [self.runner.binary("age"), "--encrypt", "-R", recipients]
        if self.method == "gpg":
            if self.gpg_recipient:
                return self._gpg() + ["--trust-model", "always", "--compress-algo", "none", "--encrypt",
                                      "--recipient", self.gpg_recipient, "--output", "-"]
            return self._gpg() + ["--symmetric", "--cipher-algo", "AES256", "--compress-algo", "none",
                                  "--output", "-"]
        return None

    def can_decrypt(self):
        if self.method == "age":
            return bool(self.age_identity_file)
        return True  # gpg: a passphrase, or the secret key in gpg_homedir

    def reader_argv(self, path=None):
        """Decrypts ``path`` (or stdin) to stdout, or None."""
        tail = [path] if path else []
        if self.method == "age":
            if not self.age_identity_file:
                raise LifeboatError("this backup is age-encrypted: age_identity_file is needed to read it")
            return [self.runner.binary("age"), "--decrypt", "-i", self.age_identity_file] + tail
        if self.method == "gpg":
            return self._gpg() + ["--decrypt", "--output", "-"] + tail
        return None

    def probe(self):
        """Encrypt and, where the key to do so is here, decrypt a known text; raise on any mismatch."""
        if not self.enabled:
            return "none"
        try:
            sealed = self.runner.run(self.writer_argv(), input_bytes=PROBE)
        except LifeboatError as exc:
            raise LifeboatError("the %s encryption key cannot encrypt: %s" % (self.method, exc))
        if not self.can_decrypt():
            return "encrypt-only (no identity here to decrypt with)"
        try:
            opened = self.runner.run(self.reader_argv(), input_bytes=sealed)
        except LifeboatError as exc:
            raise LifeboatError("the %s key cannot decrypt what it encrypts, so backups would be unreadable: %s"
                                % (self.method, exc))
        if opened != PROBE:
            raise LifeboatError("the %s probe decrypted to different bytes" % self.method)
        return "encrypt and decrypt"


def _check_private(label, path):
    try:
        info = os.stat(path)
    except OSError as exc:
        raise LifeboatError("%s %s is not readable: %s" % (label, path, exc.strerror))
    if info.st_mode & 0o077:
        raise LifeboatError("%s %s is readable by others (mode %04o): make it 0600" % (label, path, info.st_mode & 0o777))


def from_spec(runner, spec, method=None):
    """The spec's keys; ``method`` overrides the spec's (a restore reads it from the backup's metadata)."""
    return Encryption(runner, method=method or spec.get("encryption") or "none", age_recipients=spec.get("age_recipients"),
                      age_identity_file=spec.get("age_identity_file"), gpg_recipient=spec.get("gpg_recipient"),
                      gpg_homedir=spec.get("gpg_homedir"), passphrase=spec.get("encryption_passphrase"),
                      passphrase_file=spec.get("encryption_passphrase_file"))
