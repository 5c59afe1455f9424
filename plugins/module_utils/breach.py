# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The security breach response's decisions (the reference plan 004, scenario 4), as pure functions:

- isolation: the nftables ruleset that cuts a compromised host off from everything but the controller's SSH,
  and the text that lifts it again;
- clean restore: per service, the newest complete backup taken strictly before the compromise, with the later
  ones named as refused;
- evidence: a set's name (never an existing one), and a ``sha256sum``-compatible manifest built and verified;
- secret rotation: new random values.

Standard library only: the evidence module runs it on the compromised host, the filters on the controller.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import ipaddress
import os
import re
import secrets

from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import CHUNK, LifeboatError, parse_backup_name
from ansible_collections.lifeboat.dr.plugins.module_utils.rebuild import parse_time

DEFAULT_TABLE = "lifeboat_isolation"
MANIFEST_NAME = "manifest.sha256"
MIN_SECRET_LENGTH = 16
_TABLE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$")
_SECRET_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# An explicit zone: a compromise time read as UTC when it was meant as local time would pick a backup
# taken after the compromise.
_ZONE_RE = re.compile(r"(Z|[+-]\d\d(:?\d\d)?)$", re.IGNORECASE)


# --- isolation --------------------------------------------------------------------------------------------

def _table(table):
    if not isinstance(table, str) or not _TABLE_RE.match(table):
        raise LifeboatError("invalid nftables table name %r: a letter, then up to 63 letters, digits or '_'" % (table,))
    return table


def controller_networks(allowed_ssh_sources):
    """``(ipv4, ipv6)``: the controller's addresses (or networks), validated, as sorted texts."""
    if isinstance(allowed_ssh_sources, str):
        allowed_ssh_sources = [allowed_ssh_sources]
    if not allowed_ssh_sources:
        raise LifeboatError("no controller address to allow SSH from: an isolation without one would lock the "
                            "controller out too (give the controller's IPv4 or IPv6 addresses)")
    found = {4: set(), 6: set()}
    for source in allowed_ssh_sources:
        try:
            network = ipaddress.ip_network(str(source).strip(), strict=True)
        except ValueError as exc:
            raise LifeboatError("invalid controller address %r for the isolation's SSH exception: %s" % (source, exc))
        if network.prefixlen == 0:
            raise LifeboatError("controller address %s allows every host: the isolation would isolate nothing" % source)
        found[network.version].add(network)
    text = dict((version, [str(net.network_address) if net.num_addresses == 1 else str(net)
                           for net in sorted(nets)]) for version, nets in found.items())
    return text[4], text[6]


def _port(ssh_port):
    try:
        port = int(ssh_port)
    except (TypeError, ValueError):
        port = 0
    if isinstance(ssh_port, bool) or not 1 <= port <= 65535:
        raise LifeboatError("invalid SSH port %r (1 to 65535)" % (ssh_port,))
    return port


def isolation_ruleset(allowed_ssh_sources, ssh_port=22, table=DEFAULT_TABLE):
    """The ``nft -f`` text that isolates the host: an ``inet`` table of its own whose input, forward and output
    chains drop everything except loopback and SSH to ``ssh_port`` from (and its answers to) the controller.

    A table of its own: a drop in any base chain is final, so another table's accept cannot undo it, and
    lifting the isolation (:func:`isolation_removal`) deletes exactly what this added. Established traffic is
    allowed only for the controller's SSH, not in general: a breached host's live connections (an attacker's
    shell, a reverse shell going out) must die with the isolation, not survive it. Forwarded traffic
    (containers, VMs) is dropped too. The text first creates and deletes the table, so that applying it again
    replaces the rules in one transaction instead of failing or doubling them.
    """
    table = _table(table)
    port = _port(ssh_port)
    ipv4, ipv6 = controller_networks(allowed_ssh_sources)
    inbound, outbound = [], []
    for family, addresses in (("ip", ipv4), ("ip6", ipv6)):
        if not addresses:
            continue
        group = "{ %s }" % ", ".join(addresses)
        inbound.append("%s saddr %s tcp dport %d ct state new,established accept" % (family, group, port))
        outbound.append("%s daddr %s tcp sport %d ct state established accept" % (family, group, port))
    if ipv6:
        # IPv6 finds the controller's link-layer address by neighbour discovery, which conntrack does not track.
        neighbour = "icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } ip6 hoplimit 255 accept"
        inbound.append(neighbour)
        outbound.append(neighbour)
    # ICMP errors about the SSH connection (path MTU, unreachable) keep it working.
    related = "ct state related meta l4proto { icmp, ipv6-icmp } accept"
    lines = [
        "# Lifeboat isolation of a compromised host: only SSH from the controller (%s), port %d."
        % (", ".join(ipv4 + ipv6), port),
        "table inet %s" % table,
        "delete table inet %s" % table,
        "table inet %s {" % table,
        "\tchain input {",
        "\t\ttype filter hook input priority filter - 10; policy drop;",
        '\t\tiifname "lo" accept',
    ] + ["\t\t" + rule for rule in inbound] + [
        "\t\t" + related,
        "\t}",
        "\tchain forward {",
        "\t\ttype filter hook forward priority filter - 10; policy drop;",
        "\t}",
        "\tchain output {",
        "\t\ttype filter hook output priority filter - 10; policy drop;",
        '\t\toifname "lo" accept',
    ] + ["\t\t" + rule for rule in outbound] + [
        "\t\t" + related,
        "\t}",
        "}",
    ]
    return "\n".join(lines) + "\n"


def isolation_removal(table=DEFAULT_TABLE):
    """The ``nft -f`` text that lifts the isolation: deletes the table (creating it first, so that lifting an
    isolation that is not there succeeds too)."""
    table = _table(table)
    return "table inet %s\ndelete table inet %s\n" % (table, table)


# --- restore from before the compromise ------------------------------------------------------------------

def compromise_time(text):
    """The compromise instant as an aware datetime; refuses a time without a zone (``Z`` or an offset)."""
    if isinstance(text, datetime.datetime):
        if text.tzinfo is None:
            raise LifeboatError("the compromise time %s has no time zone: give it in UTC (Z) or with an offset" % text)
        return text
    value = str(text or "").strip()
    parsed = parse_time(value) if _ZONE_RE.search(value) else None
    if parsed is None:
        raise LifeboatError("the compromise time %r is not an ISO 8601 time with a zone (e.g. 2026-12-07T03:15:00Z "
                            "or 2026-12-07T04:15:00+01:00)" % (text,))
    return parsed


def _iso(when):
    return when.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def backup_time(entry):
    """When ``entry`` (a ``backup_offsite`` listing's or ``backup_files.list_backups``' entry) was taken: its
    metadata's ``timestamp`` (the start of the backup), else the time in its file name, else None."""
    stamp = entry.get("timestamp")
    if isinstance(stamp, datetime.datetime):
        return stamp if stamp.tzinfo else stamp.replace(tzinfo=datetime.timezone.utc)
    taken = parse_time(stamp)
    if taken is not None:
        return taken
    for key in ("key", "path"):
        parsed = parse_backup_name(entry.get(key) or "")
        if parsed is not None:
            return parsed["timestamp"]
    return None


def _sequence(entry):
    parsed = parse_backup_name(entry.get("key") or entry.get("path") or "")
    return parsed["seq"] if parsed else int(entry.get("seq") or 0)


def clean_backups(listing, compromised_at, services=None):
    """Per service, the newest complete backup taken strictly before ``compromised_at``.

    ``listing``: ``backup_offsite`` ``action: list`` (``{"services": {name: {"backups", "incomplete"}}}``, as
    ``rebuild.preflight`` reads it); ``services``: the names to restore (default: every listed service).
    A backup's time is when it started (its metadata's ``timestamp``): a dump is the database as it was then.
    Returns ``{"compromised_at", "services": {name: {"backup_id", "key", "timestamp", "before_compromise_seconds",
    "refused": [{"backup_id", "timestamp", "reason"}], "incomplete": [...]}}}``. Raises LifeboatError naming
    every service without such a backup, and the compromise time.
    """
    when = compromise_time(compromised_at)
    if isinstance(listing, dict) and listing.get("error"):
        raise LifeboatError("the backup listing could not be read: %s" % listing["error"])
    listed = (listing or {}).get("services") or {}
    names = list(services) if services is not None else sorted(listed)
    if not names:
        raise LifeboatError("no service to restore: the backup listing names none")
    chosen, problems = {}, []
    for name in names:
        entry = listed.get(name) or {}
        candidates, refused = [], []
        for backup in entry.get("backups") or []:
            taken = backup_time(backup)
            if taken is None:
                refused.append({"backup_id": backup.get("backup_id"), "timestamp": None,
                                "reason": "its time is unknown, so it cannot be shown to predate the compromise"})
            elif taken < when:
                candidates.append((taken, _sequence(backup), backup))
            else:
                refused.append({"backup_id": backup.get("backup_id"), "timestamp": _iso(taken),
                                "reason": "taken at %s, not before the compromise at %s" % (_iso(taken), _iso(when))})
        refused.sort(key=lambda item: item["timestamp"] or "", reverse=True)
        incomplete = list(entry.get("incomplete") or [])
        if not candidates:
            why = "%s: no complete backup taken before the compromise at %s" % (name, _iso(when))
            if refused:
                why += " (refused: %s)" % ", ".join(str(item["backup_id"]) for item in refused)
            if incomplete:
                why += " (%d incomplete, never restored)" % len(incomplete)
            problems.append(why)
            continue
        taken, _seq, backup = max(candidates, key=lambda item: (item[0], item[1]))
        chosen[name] = {"backup_id": backup.get("backup_id"), "key": backup.get("key") or backup.get("path"),
                        "timestamp": _iso(taken), "before_compromise_seconds": int((when - taken).total_seconds()),
                        "refused": refused, "incomplete": incomplete}
    if problems:
        raise LifeboatError("; ".join(problems))
    return {"compromised_at": _iso(when), "services": chosen}


def listing_before(listing, compromised_at):
    """``listing`` with, per service, only the complete backups started strictly before ``compromised_at`` (in their
    order, newest first): what a rebuild after a breach may restore. ``incomplete`` entries are kept as they are."""
    when = compromise_time(compromised_at)
    services = {}
    for name, entry in ((listing or {}).get("services") or {}).items():
        kept = [b for b in entry.get("backups") or [] if backup_time(b) is not None and backup_time(b) < when]
        services[name] = dict(entry, backups=kept)
    return dict(listing or {}, services=services)


# --- evidence -------------------------------------------------------------------------------------------

def _label(value, what):
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise LifeboatError("invalid %s %r for an evidence set: letters, digits, '.', '_' or '-', not starting "
                            "with '.', '_' or '-'" % (what, value))
    return value


def evidence_set_name(now=None, token=None):
    """``<UTC stamp>-<8 hex>``: sorts by time, and two runs in the same second still differ."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return "%s-%s" % (now.astimezone(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ"),
                      _label(token, "token") if token else secrets.token_hex(4))


def evidence_set_path(store, host, now=None, token=None):
    """``<store>/<host>/<UTC stamp>-<short random>``."""
    if not store or not os.path.isabs(store):
        raise LifeboatError("the evidence store must be an absolute path, not %r" % (store,))
    return os.path.join(store, _label(host, "host name"), evidence_set_name(now, token))


def create_evidence_set(store, host, now=None, token=None, mode=0o700):
    """Make a new, empty evidence set directory (parents ``mode`` too) and return its path; an existing set raises
    LifeboatError (evidence is never overwritten)."""
    path = evidence_set_path(store, host, now, token)
    parent = os.path.dirname(path)
    if not os.path.isdir(parent):
        os.makedirs(parent, mode)
    try:
        os.mkdir(path, mode)
    except FileExistsError:
        raise LifeboatError("the evidence set %s exists already: evidence is never overwritten (a new run makes a "
                            "new set)" % path)
    os.chmod(path, mode)
    return path


def sha256_hex(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _escaped(name):
    """A file name as ``sha256sum`` writes it: a name with a backslash, newline or carriage return gets them
    escaped and the line a leading backslash."""
    if any(char in name for char in "\\\n\r"):
        return True, name.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
    return False, name


def _unescaped(name):
    out, index = [], 0
    while index < len(name):
        char = name[index]
        if char == "\\" and index + 1 < len(name):
            out.append({"\\": "\\", "n": "\n", "r": "\r"}.get(name[index + 1], name[index + 1]))
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)


def manifest_line(digest, name):
    escaped, shown = _escaped(name)
    return "%s%s  %s\n" % ("\\" if escaped else "", digest, shown)


def evidence_files(directory, exclude=(MANIFEST_NAME,)):
    """``(files, others)``: the regular files under ``directory`` as sorted relative paths (``/``-separated), and
    anything else there (symbolic links, devices, sockets), which a manifest cannot vouch for."""
    files, others = [], []
    for root, dirs, names in os.walk(directory):
        for name in dirs:
            if os.path.islink(os.path.join(root, name)):
                others.append(os.path.relpath(os.path.join(root, name), directory).replace(os.sep, "/"))
        for name in names:
            path = os.path.join(root, name)
            rel = os.path.relpath(path, directory).replace(os.sep, "/")
            if rel in exclude:
                continue
            (files if os.path.isfile(path) and not os.path.islink(path) else others).append(rel)
    return sorted(files), sorted(others)


def build_manifest(directory, exclude=(MANIFEST_NAME,)):
    """The manifest text of ``directory``: ``<sha256>  <relative path>`` per regular file, sorted by path, the
    format ``sha256sum -c`` reads from inside the directory. Raises naming anything that is not a regular file."""
    files, others = evidence_files(directory, exclude)
    if others:
        raise LifeboatError("%s holds entries that are not regular files (%s): an evidence set holds only files"
                            % (directory, ", ".join(others)))
    return "".join(manifest_line(sha256_hex(os.path.join(directory, name)), name) for name in files)


def write_manifest(directory, name=MANIFEST_NAME, mode=0o600):
    """Write ``<directory>/<name>`` (mode ``mode``, never over an existing one); returns its own sha256 hex."""
    text = build_manifest(directory, exclude=(name,)).encode("utf-8")
    path = os.path.join(directory, name)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise LifeboatError("%s exists already: a manifest is written once" % path)
    with os.fdopen(fd, "wb") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(path, mode)
    return hashlib.sha256(text).hexdigest()


def parse_manifest(text):
    """``{relative path: sha256 hex}`` from a manifest's text; raises naming a malformed line."""
    found = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        escaped = line.startswith("\\")
        match = re.match(r"^([0-9a-f]{64}) [ *](.+)$", line[1:] if escaped else line)
        if not match:
            raise LifeboatError("manifest line %d is not '<sha256>  <file>': %r" % (number, line[:120]))
        name = _unescaped(match.group(2)) if escaped else match.group(2)
        found[name] = match.group(1)
    return found


def verify_manifest(directory, name=MANIFEST_NAME, expected_sha256=None):
    """Compare ``directory`` with its manifest. Returns ``{"ok", "problems", "missing", "changed", "extra",
    "checked"}``: each problem names a file missing, changed (its sha256 differs) or extra (not in the manifest,
    or not a regular file), or the manifest itself changed (``expected_sha256``, the hex the collection reported)."""
    path = os.path.join(directory, name)
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except (IOError, OSError) as exc:
        raise LifeboatError("the manifest %s cannot be read: %s" % (path, exc.strerror or exc))
    problems = []
    if expected_sha256 and hashlib.sha256(raw).hexdigest() != expected_sha256:
        problems.append("%s: the manifest itself changed (sha256 %s, collected as %s)"
                        % (name, hashlib.sha256(raw).hexdigest(), expected_sha256))
    listed = parse_manifest(raw.decode("utf-8"))
    files, others = evidence_files(directory, exclude=(name,))
    present = set(files)
    missing = sorted(item for item in listed if item not in present and item not in others)
    changed = sorted(item for item in listed if item in present
                     and sha256_hex(os.path.join(directory, item)) != listed[item])
    extra = sorted([item for item in files if item not in listed] + others)
    problems += ["%s: missing" % item for item in missing]
    problems += ["%s: changed (its sha256 differs from the manifest's)" % item for item in changed]
    problems += ["%s: extra (%s)" % (item, "not a regular file" if item in others else "not in the manifest")
                 for item in extra]
    return {"ok": not problems, "problems": problems, "missing": missing, "changed": changed, "extra": extra,
            "checked": len(listed)}


# --- secret rotation --------------------------------------------------------------------------------------

def new_secret(length=32):
    """A random URL-safe secret of ``length`` characters (6 random bits each, from ``secrets.token_urlsafe``)."""
    if isinstance(length, bool) or not isinstance(length, int) or length < MIN_SECRET_LENGTH:
        raise LifeboatError("a secret of %r characters is too short: at least %d" % (length, MIN_SECRET_LENGTH))
    return secrets.token_urlsafe(length)[:length]


def secret_names(names):
    """``names`` checked as variable names (the vault file's keys become the playbook's variables)."""
    names = list(names or [])
    bad = [name for name in names if not isinstance(name, str) or not _SECRET_NAME_RE.match(name)]
    if bad:
        raise LifeboatError("invalid secret names %s: each must be a variable name (letters, digits, '_', not "
                            "starting with a digit)" % ", ".join(repr(name) for name in bad))
    if len(set(names)) != len(names):
        raise LifeboatError("secret names repeat: %s" % ", ".join(sorted(set(n for n in names if names.count(n) > 1))))
    return names


def new_secrets(names, length=32):
    """``{name: new secret}`` for every name."""
    return dict((name, new_secret(length)) for name in secret_names(names))
