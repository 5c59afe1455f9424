# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL's archive_command and restore_command, and the archive's last outcome.

Signed WAL: a checksum only proves that a segment matches its own ``.sha256``, which whoever can
write the repository can rewrite. With a signing key, ``archive_wal`` also writes ``<name>.sig``,
the sshsig (``ssh-keygen -Y sign -n lifeboat-wal``, one process per segment) of the statement::

    lifeboat-wal-v1
    <name>                 the segment's file name, e.g. 000000010000000000000009
    sha256:<hex>           the sha256 of the uncompressed segment, as in <name>.sha256

and ``restore_wal`` with trusted public keys rebuilds that statement from the name PostgreSQL asked
for and the ``.sha256`` file, checks it with ``ssh-keygen -Y verify`` before decompressing, then the
content against the same sha256. A forged segment, a rewritten ``.sha256`` or a valid segment and
signature copied under another name do not verify, and recovery stops (CorruptWal, exit 255).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import sys
import tempfile

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf
from ansible_collections.lifeboat.dr.plugins.module_utils import signing
from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import repository


# restore_command exit codes above 125 make PostgreSQL abort recovery instead of
# taking "not there" for the end of the archive and promoting a shortened history.
ABORT_RECOVERY = 255

WAL_PREAMBLE = b"lifeboat-wal-v1\n"

_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")


def wal_statement(name, digest):
    """The bytes a WAL file's signature covers: the preamble, its name and its sha256, one line each."""
    return WAL_PREAMBLE + ("%s\n%s\n" % (name, digest)).encode("ascii")


def sign_wal(signer, directory, name, digest):
    """Write ``<name>.sig`` (0600, atomically): the signature of ``name`` with ``digest``."""
    try:
        value = signer.sign_bytes(wal_statement(name, digest), signing.WAL_NAMESPACE)
    except bf.LifeboatError as exc:
        raise bf.LifeboatError("%s was not archived, it cannot be signed (PostgreSQL keeps it and retries): %s"
                               % (name, exc))
    repository.write_text_atomic(os.path.join(directory, name + repository.SIG_SUFFIX), value)
    try:
        os.unlink(os.path.join(directory, name + repository.SHIPPED_SUFFIX))  # offsite again, with its signature
    except FileNotFoundError:
        pass


def archive_wal(runner, repo, source, name, level=3, now=None, signer=None):
    """Copy one WAL file into the archive with its checksum. Returns ``archived`` or ``already archived``.

    PostgreSQL retries while this raises (the CLI exits non-zero), so no segment is ever dropped;
    an existing archive file with other content is refused, never overwritten. With ``signer``
    (signing.Signing with a signing key) ``<name>.sig`` is written before the ``.zst`` appears, and
    written again when identical content is archived again, so a retry completes a signature a
    crash interrupted; a key that cannot sign fails the archiving (PostgreSQL retries).
    """
    if not repository.WAL_FILE_RE.match(name):
        raise bf.LifeboatError("refusing to archive %r: not a WAL segment, history or backup label name" % name)
    directory = repository.wal_dir(repo)
    bf.ensure_dir(directory, 0o700)
    digest = repository.sha256_of(source)
    target = os.path.join(directory, name + ".zst")
    sums = os.path.join(directory, name + ".sha256")
    if os.path.exists(target):
        stored = repository.read_text(sums)
        if stored == digest:
            if signer is not None:
                sign_wal(signer, directory, name, digest)
            return "already archived"
        raise bf.LifeboatError("%s is already archived in %s with different content (sha256 %s, new %s): "
                               "refusing to overwrite; is another cluster archiving into this repository?"
                               % (name, directory, stored, digest))
    repository.write_text_atomic(sums, digest + "\n")
    if signer is not None:
        sign_wal(signer, directory, name, digest)
    with bf.atomic_file(target, 0o600) as handle:
        runner.pipeline([[runner.binary("zstd"), "-q", "-%d" % level, "-c", "--", source]], sink=handle.write)
    return "archived"


def _stderr_warning(text):
    sys.stderr.write("lifeboat-pitr: warning: %s\n" % text)


def check_wal_signature(signer, directory, name, digest, warn=_stderr_warning):
    """Check ``<name>.sig`` against ``name`` and ``digest`` under the signer's policy; raise CorruptWal.

    Returns ``verified (SHA256:...)``, ``unsigned, accepted (signature: optional)`` or ``not checked``.
    """
    if signer is None or not signer.verifies:
        return "not checked"
    path = os.path.join(directory, name + repository.SIG_SUFFIX)
    what = "archived WAL %s" % name
    if not _DIGEST_RE.match(digest or ""):
        raise repository.CorruptWal("%s: its checksum file %s.sha256 does not hold a sha256" % (what, name))
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        if signer.mode == "required":
            raise repository.CorruptWal(
                "%s is unsigned (no %s) and signatures are required: a forged or planted segment is refused "
                "(restore-wal --signature optional accepts unsigned segments, archived before signing was turned on)"
                % (what, path))
        warn("%s is unsigned (no %s): accepted because signature is optional" % (what, path))
        return "unsigned, accepted (signature: optional)"
    except OSError as exc:
        raise repository.CorruptWal("%s: its signature %s is unreadable: %s" % (what, path, exc.strerror))
    try:
        value = raw.decode("ascii")
    except UnicodeDecodeError:
        raise repository.CorruptWal("%s: %s is not an SSH signature" % (what, path))
    try:
        signed_by = signer.verify_bytes(wal_statement(name, digest), value, what, signing.WAL_NAMESPACE)
    except bf.LifeboatError as exc:
        raise repository.CorruptWal("%s (sha256 %s) is forged, altered or signed under another name: %s"
                                    % (what, digest, exc))
    return "verified (%s)" % signed_by


def restore_wal(runner, repo, name, destination, signer=None, warn=_stderr_warning):
    """Put archived ``name`` at ``destination``. False when it is not archived (the end of the archive).

    A file that is archived but damaged raises CorruptWal: recovery must stop there, not promote.
    With ``signer`` (public keys and a policy) its signature is checked first (``check_wal_signature``):
    the signed name must be ``name`` and the signed sha256 the ``.sha256`` file's, which the content must match.
    """
    if not repository.WAL_FILE_RE.match(name):
        return False
    directory = repository.wal_dir(repo)
    source = os.path.join(directory, name + ".zst")
    if not os.path.exists(source):
        return False
    expected = repository.read_text(os.path.join(directory, name + ".sha256"))
    if not expected:
        raise repository.CorruptWal("archived WAL %s has no checksum file %s.sha256" % (source, name))
    check_wal_signature(signer, directory, name, expected, warn)
    partial = destination + ".lifeboat-partial"
    try:
        with open(partial, "wb") as handle:
            hasher = bf.HashingWriter(handle)
            try:
                runner.pipeline([[runner.binary("zstd"), "-q", "-d", "-c", "--", source]], sink=hasher.write)
            except bf.LifeboatError as exc:
                raise repository.CorruptWal("archived WAL %s cannot be decompressed: %s" % (source, exc))
        if hasher.checksum != expected:
            raise repository.CorruptWal("archived WAL %s does not match its checksum (%s, expected %s)"
                                        % (source, hasher.checksum, expected))
        os.rename(partial, destination)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return True


def unsigned_wal(repo, start_wal):
    """Archived files without ``.sig`` that a recovery from a base backup starting at ``start_wal`` may fetch.

    Only looks for the files (the signatures are checked as each one is fetched): a recovery that
    requires signatures is refused before it starts rather than stopped halfway.
    """
    directory = repository.wal_dir(repo)
    if not os.path.isdir(directory):
        return []
    return unsigned_in(repository.archived_wal(repo), set(os.listdir(directory)), start_wal)


def unsigned_in(names, entries, start_wal):
    """``unsigned_wal`` for archived ``names`` with the file names ``entries`` beside them (local or offsite)."""
    start = repository.segment_number(start_wal)
    return sorted(name for name in names
                  if (name.endswith(".history") or repository.segment_number(name) >= start)
                  and name + repository.SIG_SUFFIX not in entries)


def sign_archived(runner, repo, wal_source, signer, trust_history=False):
    """Sign the archived files without ``.sig`` that ``wal_source`` (the cluster's pg_wal) still holds.

    Each is archived again from the cluster's own copy: identical content gets its signature, other
    content is refused (raises). The history files of the cluster's own timelines stay in pg_wal, so
    those archived before signing was turned on get signed; older segments pg_wal no longer holds
    stay unsigned. The history files of abandoned timelines (an earlier recovery's branches), which
    PostgreSQL fetches too when it looks for the newest timeline, are only in the repository: with
    ``trust_history`` they are signed as the repository holds them (after checking them against
    their sha256), a deliberate, one-time trust in the repository as it is now.
    Returns ``{"signed": [names signed from wal_source], "trusted": [history files signed as archived]}``.
    """
    signed, trusted = [], []
    directory = repository.wal_dir(repo)
    for name in unsigned_wal(repo, "0" * 24):
        source = os.path.join(wal_source, name)
        if os.path.isfile(source):
            archive_wal(runner, repo, source, name, signer=signer)
            signed.append(name)
        elif trust_history and name.endswith(".history"):
            fd, copy = tempfile.mkstemp(prefix=".lifeboat-history-", dir=directory)
            os.close(fd)
            try:
                restore_wal(runner, repo, name, copy)  # raises CorruptWal unless it matches its .sha256
                sign_wal(signer, directory, name, repository.sha256_of(copy))
            finally:
                if os.path.exists(copy):
                    os.unlink(copy)
            trusted.append(name)
    return {"signed": signed, "trusted": trusted}


def record_archive(repo, name, ok, now, error=None):
    """Remember the last success and failure of the archive command for the metrics."""
    path = os.path.join(repo, repository.STATUS_FILE)
    try:
        with open(path) as handle:
            status = json.load(handle)
    except (OSError, ValueError):
        status = {}
    stamp = now.timestamp()
    if ok:
        status.update(last_archived_wal=name, last_archived_time=stamp)
    else:
        status.update(last_failed_wal=name, last_failed_time=stamp, last_error=str(error)[:500],
                      failed_count=status.get("failed_count", 0) + 1)
    bf.write_json_atomic(path, status)
    return status


def archive_status(repo):
    try:
        with open(os.path.join(repo, repository.STATUS_FILE)) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}
