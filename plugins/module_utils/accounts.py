# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Password verifiers computed where the password is, so a server never sees it in clear.

A secret rotation (security_breach.yml) sets each account's new password with the engines' ``set_password``.
PostgreSQL and MariaDB accept a stored verifier in place of the password (``ALTER ROLE ... PASSWORD
'SCRAM-SHA-256$...'``, ``ALTER USER ... IDENTIFIED BY PASSWORD '*...'``): the clear text then never reaches the
server's statement log, ``pg_stat_activity`` or a replica's stream. Comparing a verifier with a password also
makes the rotation idempotent: an account that already has the password is left alone.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import hmac
import os

SCRAM_ITERATIONS = 4096  # PostgreSQL's default (scram_iterations)
SCRAM_SALT_BYTES = 16


def _b64(data):
    return base64.b64encode(data).decode("ascii")


def _scram_keys(password, salt, iterations):
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    return stored_key, server_key


def scram_sha256_verifier(password, salt=None, iterations=SCRAM_ITERATIONS):
    """PostgreSQL's stored form of ``password`` (RFC 5802/7677): ``SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>``.

    PostgreSQL does not normalise with SASLprep here beyond what ASCII passwords need; the rotation makes ASCII ones.
    """
    salt = os.urandom(SCRAM_SALT_BYTES) if salt is None else salt
    stored_key, server_key = _scram_keys(password, salt, iterations)
    return "SCRAM-SHA-256$%d:%s$%s:%s" % (iterations, _b64(salt), _b64(stored_key), _b64(server_key))


def scram_matches(verifier, password):
    """True when the stored ``verifier`` (``pg_authid.rolpassword``) is ``password``'s; False for any other form."""
    try:
        method, rest = (verifier or "").split("$", 1)
        head, keys = rest.split("$", 1)
        iterations, salt = head.split(":", 1)
        stored, server = keys.split(":", 1)
        if method != "SCRAM-SHA-256":
            return False
        expected = scram_sha256_verifier(password, base64.b64decode(salt), int(iterations))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(expected, "%s$%s$%s:%s" % (method, head, stored, server))


def mysql_native_hash(password):
    """MariaDB's ``mysql_native_password`` form of ``password``: ``*`` and the upper-case hex SHA1 of its SHA1."""
    return "*" + hashlib.sha1(hashlib.sha1(password.encode("utf-8")).digest()).hexdigest().upper()
