# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Options shared by the modules that reach a database server, and the per-service lock."""

    DOCUMENTATION = r"""
options:
  login_host:
    description: Server host (PostgreSQL, MariaDB, Redis, MongoDB). For MariaDB, V(localhost) means the Unix socket.
    type: str
    default: 127.0.0.1
  login_port:
    description:
      - Server port; the engine's default (5432 PostgreSQL, 3306 MariaDB, 6379 Redis, 27017 MongoDB) when not given.
    type: int
  login_user:
    description:
      - PostgreSQL role, MariaDB user, or Redis ACL user.
      - PostgreSQL needs read access to every table (C(pg_read_all_data)) to back up; to restore also C(CREATEDB),
        membership in the role owning the database, and C(pg_signal_backend).
      - MariaDB needs C(SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES) and C(SHOW CREATE ROUTINE) to back up; to
        restore, the rights to drop and create the database and its objects, C(CONNECTION ADMIN) to end sessions,
        and C(SET USER) when the dump's triggers, views or routines name another definer.
    type: str
  login_password:
    description:
      - Password of O(login_user). Passed to PostgreSQL tools in C(PGPASSWORD), to MariaDB tools in a 0600
        C(--defaults-extra-file), to Redis over the connection (C(AUTH)), to MongoDB tools in a 0600 C(--config)
        file; never on a command line, never in output.
    type: str
  login_unix_socket:
    description: MariaDB Unix socket to connect through instead of O(login_host).
    type: path
  maintenance_db:
    description: PostgreSQL database used for server-level statements.
    type: str
    default: postgres
"""

    # Only for the modules that handle MongoDB (db_fingerprint does not, yet).
    MONGODB = r"""
options:
  auth_database:
    description: MongoDB authentication database of O(login_user).
    type: str
    default: admin
"""

    LOCK = r"""
options:
  lock_timeout:
    description:
      - Seconds to wait for another Lifeboat run on the same service (backup, restore or rotation) to finish.
        After that the module fails with a message naming the lock and its holder.
    type: int
    default: 60
"""

    ENCRYPTION = r"""
options:
  encryption:
    description:
      - Client-side encryption of the backup stream, after compression. V(age) encrypts to O(age_recipients);
        V(gpg) encrypts symmetrically (AES256) with a passphrase, or to O(gpg_recipient).
      - Before a backup starts, a probe is encrypted and decrypted with the configured keys, so a wrong key
        fails the run instead of producing backups nobody can read.
      - A restore takes the method from the backup's metadata and needs only the keys.
    type: str
    default: none
    choices: [none, age, gpg]
  age_recipients:
    description: age public keys (C(age1...)) or SSH public keys to encrypt to.
    type: list
    elements: str
  age_identity_file:
    description:
      - age identity (private key) file on the host, mode 0600, used for the probe, for verification and to
        restore. Without it a backup can be taken but neither verified nor restored here.
    type: path
  gpg_recipient:
    description: GnuPG key (id, fingerprint or e-mail) in O(gpg_homedir) to encrypt to.
    type: str
  gpg_homedir:
    description: GnuPG home with the recipient's public key (and, to restore, its secret key).
    type: path
  encryption_passphrase_file:
    description:
      - File holding the gpg passphrase, mode 0600. age reads passphrases only from a terminal, so
        passphrase encryption uses V(gpg).
    type: path
  encryption_passphrase:
    description: The gpg passphrase itself (for example from Ansible Vault); written to a private 0600 file
      for gpg, removed afterwards, never on a command line or in output.
    type: str
"""

    SIGNING = r"""
options:
  signing_key:
    description:
      - Private OpenSSH key (Ed25519, without passphrase, mode 0600) on the host that signs each new backup's
        metadata (C(ssh-keygen -Y sign -n lifeboat-backup)). The backup store never sees it. Create it with
        C(ssh-keygen -t ed25519 -N '' -C lifeboat-backup -f lifeboat-backup); the C(lifeboat.dr.backup_agent) role
        places it from Vault.
      - The signature (field C(signature) of the metadata) covers the metadata without it, that is the backup id,
        service, engine, class, time, size, files and the content's sha256.
      - Before a backup starts, a probe is signed, and verified when O(signing_public_keys) are given, so a key with
        a passphrase, or one not among the trusted public keys, fails the run before anything is written.
    type: path
  signing_public_keys:
    description:
      - OpenSSH public key lines (C(ssh-ed25519 AAAA... comment)) trusted to have signed backups. A restore checks
        the signature, and that the signed backup id and service are the ones the file was found as, before it
        reads the backup.
      - Several keys for a rotation. Add the new public key, switch O(signing_key), and backups signed with the
        old key still verify until its line is removed.
    type: list
    elements: str
  signature:
    description:
      - V(required) refuses unsigned and wrongly signed backups; V(optional) refuses wrongly signed ones and
        accepts unsigned ones with a warning (backups taken before signing was enabled); V(ignore) checks nothing.
      - V(auto) is V(required) when O(signing_public_keys) are given, else nothing is checked and a restore warns.
      - A dump with V(required) (or V(auto) and public keys) but no O(signing_key) fails, since its backup
        would be refused.
    type: str
    default: auto
    choices: [auto, required, optional, ignore]
  state_dir:
    description:
      - Host directory outside the backup store where the newest signed backup of each service is recorded
        (C(<state_dir>/<service>.json), 0600) when a backup is signed.
      - When V(latest) is restored and resolves to an older backup than the recorded one, the restore is refused
        naming both ids (newer backups were deleted from the store, or it was rolled back). Selecting the older
        backup by its id restores it on purpose.
    type: path
    default: /var/lib/lifeboat/state
"""
