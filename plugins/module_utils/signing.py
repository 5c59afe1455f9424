# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Signed backups: who made a backup, not only whether its bytes are self-consistent.

A checksum and age or gpg only prove that a file matches its own metadata: anyone who can
write to the backup store (a leaked bucket key) can re-encrypt a forged dump to the public
recipient and rewrite the metadata's sha256 and size. So every backup's metadata is signed
with an Ed25519 key the store never sees (``signing_key``, on the host), with OpenSSH's
``ssh-keygen -Y sign`` in the namespace ``lifeboat-backup``, and checked with
``ssh-keygen -Y verify`` against ``signing_public_keys`` before a restore, an offsite pull
or a point-in-time recovery reads anything.

What is signed: the metadata document without its ``signature`` field, as JSON with sorted
keys and no whitespace, after the line ``lifeboat-backup-metadata-v1``. It holds the backup
id, service, engine, class, time, size, files and the content's sha256 (and any digest a
later change records in the metadata). The signature is stored in the metadata itself (the
field ``signature``), so it travels wherever the metadata goes (offsite, rotation).

A valid signature is not enough: the signed backup id and service must be the ones the file
was found as, so a renamed old backup or another backup's valid pair swapped in is refused.
A replayed old backup presented as the newest (the newer ones deleted from the store) is
caught by the host's record of the newest backup it signed (``state_dir``, outside the
backup store), checked when ``select: latest`` resolves.

Archived PostgreSQL WAL segments are signed one by one in the namespace ``lifeboat-wal`` (see
``pitr.archive``): the statement ``lifeboat-wal-v1``, the segment's file name and its sha256, one line
each. The other namespace keeps a WAL signature from ever passing for a backup's, and back.

Policy (``signature``): ``required`` refuses unsigned and wrongly signed backups; ``optional``
refuses wrongly signed ones and accepts unsigned ones with a warning (the way to restore the
backups taken before signing was enabled); ``ignore`` checks nothing; ``auto`` (the default) is
``required`` when ``signing_public_keys`` are configured, and otherwise checks nothing and
warns. Keys are files or public keys, never secrets on a command line.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import datetime
import hashlib
import json
import os
import re
import shutil
import tempfile

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf

NAMESPACE = "lifeboat-backup"
WAL_NAMESPACE = "lifeboat-wal"  # archived WAL segments (pitr.archive): a signature never verifies as the other kind
PRINCIPAL = "lifeboat-backup"
FIELD = "signature"
PREAMBLE = b"lifeboat-backup-metadata-v1\n"
POLICIES = ("auto", "required", "optional", "ignore")
DEFAULT_STATE_DIR = "/var/lib/lifeboat/state"
PROBE = b"lifeboat signing probe\n"
_KEY_RE = re.compile(r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521)|sk-ssh-ed25519@openssh\.com|"
                     r"sk-ecdsa-sha2-nistp256@openssh\.com) ([A-Za-z0-9+/]+={0,2})(?: .*)?$")
HOW_TO_OPT_OUT = ("set signature: optional to accept unsigned backups (wrong signatures are still refused), "
                  "or signature: ignore to check nothing")


def canonical(meta):
    """The bytes a backup's signature covers: the metadata without its signature, canonical JSON."""
    body = dict((key, value) for key, value in meta.items() if key != FIELD)
    return PREAMBLE + json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def parse_public_key(line):
    """``(type, blob, fingerprint)`` of an OpenSSH public key line; raise LifeboatError on anything else."""
    text = (line or "").strip()
    match = _KEY_RE.match(text) if "\n" not in text else None
    if not match:
        raise bf.LifeboatError("signing_public_keys: %r is not an OpenSSH public key line (ssh-ed25519 AAAA... comment)"
                               % (text[:40] + ("..." if len(text) > 40 else ""),))
    try:
        blob = base64.b64decode(match.group(2), validate=True)
    except (binascii.Error, ValueError):
        raise bf.LifeboatError("signing_public_keys: the key %s... is not valid base64" % match.group(2)[:16])
    return match.group(1), match.group(2), fingerprint(blob)


def read_public_keys_file(path):
    """The OpenSSH public key lines of ``path`` (blank lines and ``#`` comments skipped), each checked."""
    try:
        with open(path) as handle:
            lines = [line.strip() for line in handle]
    except (OSError, UnicodeDecodeError) as exc:
        raise bf.LifeboatError("public keys file %s is unreadable: %s" % (path, getattr(exc, "strerror", None) or exc))
    lines = [line for line in lines if line and not line.startswith("#")]
    for line in lines:
        parse_public_key(line)
    return lines


def fingerprint(blob):
    """OpenSSH's ``SHA256:`` fingerprint of a key blob (what ``ssh-keygen -l`` prints)."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")


def check_private(label, path):
    """The key file exists, is a regular file and nobody but its owner can read it."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise bf.LifeboatError("%s %s is not readable: %s" % (label, path, exc.strerror))
    if not os.path.isfile(path):
        raise bf.LifeboatError("%s %s is not a file" % (label, path))
    if info.st_mode & 0o077:
        raise bf.LifeboatError("%s %s is readable by others (mode %04o): make it 0600"
                               % (label, path, info.st_mode & 0o777))


class Signing:
    """One run's signing key, trusted public keys and policy; use as a context manager."""

    def __init__(self, runner, signing_key=None, public_keys=None, policy=None, state_dir=None):
        policy = policy or "auto"
        if policy not in POLICIES:
            raise bf.LifeboatError("unknown signature policy %r (expected one of %s)" % (policy, ", ".join(POLICIES)))
        self.runner = runner
        self.signing_key = signing_key
        self.policy = policy
        self.state_dir = state_dir or DEFAULT_STATE_DIR
        self.public_keys = [parse_public_key(line) for line in (public_keys or []) if line and line.strip()]
        if signing_key:
            check_private("signing_key", signing_key)
        if policy == "required" and not self.public_keys:
            raise bf.LifeboatError("signature: required, but no signing_public_keys are configured to verify with")
        self._dir = None
        self._signer = None

    @property
    def mode(self):
        """``required``, ``optional`` or ``ignore``: the policy with ``auto`` resolved."""
        if self.policy == "auto":
            return "required" if self.public_keys else "ignore"
        return self.policy

    @property
    def verifies(self):
        return self.mode != "ignore"

    @property
    def fingerprints(self):
        return [key[2] for key in self.public_keys]

    def __enter__(self):
        self._dir = tempfile.mkdtemp(prefix="lifeboat-signing-")
        os.chmod(self._dir, 0o700)
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self._dir, ignore_errors=True)
        self._dir = None

    def _file(self, name, data):
        path = os.path.join(self._dir, name)
        if os.path.exists(path):
            os.unlink(path)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return path

    def _allowed_signers(self, namespace=NAMESPACE):
        # One line per trusted key, all for the one principal and namespace (ssh-keygen's ALLOWED SIGNERS format).
        lines = "".join('%s namespaces="%s" %s %s\n' % (PRINCIPAL, namespace, kind, blob)
                        for kind, blob, _fp in self.public_keys)
        return self._file("allowed_signers", lines.encode("ascii"))

    # -- signing ---------------------------------------------------------------------------

    def signer(self):
        """``(public key line, fingerprint)`` of ``signing_key``; raise when it cannot sign unattended.

        ``ssh-keygen -y -P ''`` reads the key as ssh-keygen -Y sign will: a key with a passphrase, a
        damaged file or something that is no key fails here, before a backup is taken. When public
        keys are configured, the signing key must be one of them, or every backup it signs would be refused.
        """
        if not self.signing_key:
            return None
        if self._signer is None:
            ssh_keygen = self.runner.binary("ssh-keygen")
            try:
                line = self.runner.run([ssh_keygen, "-y", "-P", "", "-f", self.signing_key]).decode("ascii", "replace")
            except bf.LifeboatError as exc:
                raise bf.LifeboatError("signing_key %s cannot sign unattended (a key without passphrase is needed): %s"
                                       % (self.signing_key, exc))
            _kind, _blob, fpr = parse_public_key(line.strip().split("\n")[0])
            if self.public_keys and fpr not in self.fingerprints:
                raise bf.LifeboatError("signing_key %s (%s) is not among signing_public_keys (%s): every backup it "
                                       "signs would be refused" % (self.signing_key, fpr, ", ".join(self.fingerprints)))
            self._signer = (line.strip(), fpr)
        return self._signer

    def probe(self):
        """Sign a known text and, where public keys are here, verify it; raise on any failure."""
        if not self.signing_key:
            if self.mode == "required":
                raise bf.LifeboatError("signing_public_keys are configured, so restores refuse unsigned backups, but "
                                       "no signing_key is given to sign this one (%s)" % HOW_TO_OPT_OUT)
            return "unsigned"
        _line, fpr = self.signer()
        sig = self.sign_bytes(PROBE)
        if self.public_keys:
            self.verify_bytes(PROBE, sig, "the signing probe")
        return fpr

    def sign_bytes(self, data, namespace=NAMESPACE):
        """The armored sshsig of ``data`` in ``namespace``: one ``ssh-keygen -Y sign``, the key read by path.

        Unlike ``sign``, it does not read the key first (``signer``): a key that cannot sign fails here.
        """
        argv = [self.runner.binary("ssh-keygen"), "-Y", "sign", "-q", "-n", namespace, "-f", self.signing_key]
        try:
            return self.runner.run(argv, input_bytes=data).decode("ascii")
        except bf.LifeboatError as exc:
            raise bf.LifeboatError("signing with signing_key %s failed: %s" % (self.signing_key, exc))

    def sign(self, meta):
        """Add the ``signature`` field to ``meta`` (in place) when a signing key is configured; return meta."""
        if not self.signing_key:
            return meta
        _line, fpr = self.signer()
        meta.pop(FIELD, None)
        value = self.sign_bytes(canonical(meta))
        meta[FIELD] = {"format": "sshsig", "namespace": NAMESPACE, "key": fpr, "value": value}
        return meta

    # -- verifying -------------------------------------------------------------------------

    def verify_bytes(self, data, value, what, namespace=NAMESPACE):
        """Check the armored sshsig ``value`` of ``data`` in ``namespace`` against the trusted keys.

        Returns the fingerprint that signed; raises LifeboatError naming ``what`` when it does not verify.
        """
        argv = [self.runner.binary("ssh-keygen"), "-Y", "verify", "-f", self._allowed_signers(namespace),
                "-I", PRINCIPAL, "-n", namespace, "-s", self._file("signature", value.encode("ascii"))]
        try:
            out = self.runner.run(argv, input_bytes=data).decode("utf-8", "replace")
        except bf.LifeboatError as exc:
            raise bf.LifeboatError("%s: signature does not verify with signing_public_keys (%s): %s"
                                   % (what, ", ".join(self.fingerprints), exc))
        match = re.search(r"(SHA256:[A-Za-z0-9+/]+)", out)
        return match.group(1) if match else "a trusted key"

    def verify(self, meta, backup_id, service, shown_as=None, identity=None):
        """Check the signature of ``meta`` and that it is backup ``backup_id`` of ``service``.

        ``identity`` replaces the two for other signed documents (a PITR base backup: ``{"base_id": ...}``).
        Returns ``{"signature": text, "signed": bool, "warnings": [...]}``; raises LifeboatError naming
        the backup and the cause when the policy refuses it. Reads nothing but the metadata.
        """
        identity = identity or {"backup_id": backup_id, "service": service}
        what = "backup %s" % (shown_as or backup_id or "/".join(str(value) for value in identity.values()))
        value = meta.get(FIELD)
        if self.mode == "ignore":
            if self.policy == "ignore":
                return {"signature": "not checked (signature: ignore)", "signed": False, "warnings": []}
            return {"signature": "not checked (no signing_public_keys configured)", "signed": False,
                    "warnings": ["%s was accepted without checking who made it: configure signing_public_keys "
                                 "(README: Signed backups) so that forged backups are refused" % what]}
        if not value:
            if self.mode == "required":
                raise bf.LifeboatError("%s is unsigned and signatures are required (%s)" % (what, HOW_TO_OPT_OUT))
            return {"signature": "unsigned, accepted (signature: optional)", "signed": False,
                    "warnings": ["%s is unsigned: accepted because signature is optional" % what]}
        if not isinstance(value, dict) or value.get("format") != "sshsig" or not isinstance(value.get("value"), str):
            raise bf.LifeboatError("%s: the signature field of its metadata is not a Lifeboat signature" % what)
        signed_by = self.verify_bytes(canonical(meta), value["value"], what)
        # The signature is good; now it must be this backup, not another one's valid pair.
        for key, expected in sorted(identity.items()):
            if expected is not None and meta.get(key) != expected:
                raise bf.LifeboatError(
                    "%s is signed as %s %r but was found as %r: a renamed, replayed or swapped backup is refused"
                    % (what, key.replace("_", " "), meta.get(key), expected))
        return {"signature": "verified (%s)" % signed_by, "signed": True, "signed_by": signed_by, "warnings": []}

    # -- the newest backup this host signed --------------------------------------------------

    def record_path(self, service):
        bf.service_dir("/", service)  # the same name check as the repository's
        return os.path.join(self.state_dir, service + ".json")

    def recorded_newest(self, service):
        try:
            with open(self.record_path(service)) as handle:
                return json.load(handle)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise bf.LifeboatError("the record of the newest signed backup %s is unreadable: %s"
                                   % (self.record_path(service), exc))

    def record_newest(self, meta, uid=-1, gid=-1):
        """After a signed backup is published: remember it as the newest of its service, unless one is newer."""
        if not meta.get(FIELD):
            return None
        service = meta["service"]
        current = self.recorded_newest(service)
        if current and order(current["backup_id"]) >= order(meta["backup_id"]):
            return current
        record = {"service": service, "backup_id": meta["backup_id"], "timestamp": meta.get("timestamp"),
                  "checksum": meta["checksum"], "recorded_at": datetime.datetime.now(datetime.timezone.utc).strftime(
                      "%Y-%m-%dT%H:%M:%SZ")}
        try:
            if not os.path.isdir(self.state_dir):
                bf.ensure_dir(self.state_dir, 0o700, uid, gid)
            bf.write_json_atomic(self.record_path(service), record, 0o600, uid, gid)
        except OSError as exc:
            raise bf.LifeboatError("backup %s was written and signed, but the record of the newest signed backup "
                                   "could not be written to %s: %s" % (meta["backup_id"], self.state_dir, exc))
        return record

    def check_not_rolled_back(self, service, backup_id):
        """Raise when ``backup_id``, chosen as the newest, is older than the newest this host signed."""
        if not self.verifies:
            return
        newest = self.recorded_newest(service)
        if newest and order(newest["backup_id"]) > order(backup_id):
            raise bf.LifeboatError(
                "the newest backup of %s found is %s, but this host signed a newer one, %s (%s), recorded in %s: "
                "newer backups were deleted from the store or it was rolled back. Find %s, or restore the older "
                "backup on purpose by selecting its id (select: %s)" % (
                    service, backup_id, newest["backup_id"], newest.get("timestamp"), self.record_path(service),
                    newest["backup_id"], backup_id))


def order(backup_id):
    """Sort key of a backup id: (time, sequence), as ``list_backups`` orders backups."""
    parsed = bf.parse_backup_name(backup_id + ".id")
    if parsed is None:
        raise bf.LifeboatError("%r is not a Lifeboat backup id" % (backup_id,))
    return (parsed["timestamp"], parsed["seq"])


def from_spec(runner, spec):
    return Signing(runner, signing_key=spec.get("signing_key"), public_keys=spec.get("signing_public_keys"),
                   policy=spec.get("signature"), state_dir=spec.get("state_dir"))


def check_restore(runner, spec, path, meta):
    """Before a restore reads the backup at ``path``: its signature, its identity and, for ``latest``, no rollback.

    Returns what to add to the restore's result (``signature``, ``warnings``).
    """
    parsed = bf.parse_backup_name(path)
    with from_spec(runner, spec) as signer:
        verdict = signer.verify(meta, parsed["backup_id"] if parsed else None, spec.get("service"), shown_as=path)
        if not spec.get("backup") and (spec.get("select") or "latest") == "latest":
            signer.check_not_rolled_back(spec["service"], meta.get("backup_id"))
    return verdict
