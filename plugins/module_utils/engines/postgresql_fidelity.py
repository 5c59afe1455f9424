# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a PostgreSQL database is beyond its objects: database-level properties and the roles it needs.

``pg_dump`` without ``--create`` leaves out the database itself (its ACL, ``ALTER DATABASE ... SET``,
``ALTER ROLE ... IN DATABASE ... SET``, comment, connection limit, locale provider), and no dump names
an extension's owner (``CREATE EXTENSION`` makes whoever runs it the owner). The dump records them here
(``database_properties``), the restore puts them on the scratch database before it is renamed into
place, and reads them back to prove it.

The roles a database needs (owners, grantees, members) come from ``pg_dumpall --roles-only``,
compressed and encrypted like the backup and kept in the metadata (``sealed``). A restore creates the
ones that are missing on the target (``restore_roles``). Password hashes only travel on stdin: never
in argv, results or error messages (``scrub``).

Pure functions (SQL builders, the roles parser) are unit-tested without a server; the functions that
run SQL take ``ask(database, sql) -> rows``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError

RESTORE_ROLES = ("missing", "all", "none")
FIRST_NORMAL_OID = 16384  # objects below it are built in (plpgsql): pg_dump leaves them out
# Settings whose value is a list of names (pg_dump's variable_is_guc_list_quote).
LIST_SETTINGS = ("local_preload_libraries", "search_path", "session_preload_libraries",
                 "shared_preload_libraries", "temp_tablespaces", "unix_socket_directories")
_SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(?:\.[A-Za-z_][A-Za-z0-9_$]*)?$")
IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
_CREATE_ROLE = re.compile(r"^CREATE ROLE (%s)$" % IDENT)
_ALTER_ROLE_WITH = re.compile(r"^ALTER ROLE (%s) WITH (.*)$" % IDENT, re.S)
_ALTER_ROLE_SET = re.compile(r"^ALTER ROLE (%s) SET " % IDENT)
_COMMENT_ROLE = re.compile(r"^COMMENT ON ROLE (%s) IS " % IDENT)
_GRANT_ROLE = re.compile(r"^GRANT (%s) TO (%s)((?: WITH [A-Z ,]+?)?)(?: GRANTED BY (%s))?$" % (IDENT, IDENT, IDENT))
_OPTION = re.compile(r"PASSWORD '(?:[^']|'')*'|PASSWORD NULL|VALID UNTIL '(?:[^']|'')*'|CONNECTION LIMIT -?\d+|[A-Z]+")
_SUPER_ONLY = ("SUPERUSER", "REPLICATION", "BYPASSRLS")
_SECRETS = (re.compile(r"PASSWORD\s+'(?:[^']|'')*'", re.I), re.compile(r"SCRAM-SHA-256\$\S+"),
            re.compile(r"md5[0-9a-f]{32}"))


def quote_ident(name):
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value):
    return "'" + value.replace("'", "''") + "'"


def unquote_ident(text):
    return text[1:-1].replace('""', '"') if text.startswith('"') else text


def scrub(text):
    """``text`` without password hashes (for error messages that may quote a statement)."""
    for pattern in _SECRETS:
        text = pattern.sub("PASSWORD '<redacted>'" if pattern.pattern.startswith("PASSWORD") else "<redacted>", text)
    return text


# --- database-level properties -------------------------------------------------------------------

def properties_sql(version_num):
    """One JSON document describing the current database (PostgreSQL 15 adds the locale provider)."""
    provider = ("d.datlocprovider::text, 'icu_locale', d.daticulocale" if version_num >= 150000
                else "'c', 'icu_locale', NULL::text")
    return (
        "SELECT json_build_object("
        "'owner', pg_get_userbyid(d.datdba), 'connection_limit', d.datconnlimit, 'locale_provider', " + provider + ", "
        "'acl', CASE WHEN d.datacl IS NULL THEN NULL ELSE coalesce((SELECT json_agg(json_build_object("
        "'grantee', CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END, "
        "'privilege', a.privilege_type, 'grantable', a.is_grantable) "
        "ORDER BY a.grantee, a.privilege_type) FROM aclexplode(d.datacl) a), '[]') END, "
        "'settings', coalesce((SELECT to_json(s.setconfig) FROM pg_db_role_setting s "
        "WHERE s.setdatabase = d.oid AND s.setrole = 0), '[]'), "
        "'role_settings', coalesce((SELECT json_object_agg(pg_get_userbyid(s.setrole), s.setconfig) "
        "FROM pg_db_role_setting s WHERE s.setdatabase = d.oid AND s.setrole <> 0), '{}'), "
        "'comment', shobj_description(d.oid, 'pg_database'), "
        "'extensions', coalesce((SELECT json_agg(json_build_object('name', e.extname, "
        "'owner', pg_get_userbyid(e.extowner), 'schema', n.nspname, 'schema_owner', pg_get_userbyid(n.nspowner)) "
        "ORDER BY e.oid) FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.oid >= %d), '[]'), "
        "'referenced_roles', coalesce((SELECT json_agg(DISTINCT r.rolname ORDER BY r.rolname) FROM pg_roles r "
        "WHERE r.rolname !~ '^pg_' AND (r.oid = d.datdba OR r.oid IN (SELECT s.refobjid FROM pg_shdepend s "
        "WHERE s.refclassid = 'pg_authid'::regclass AND (s.dbid = d.oid OR (s.classid = 'pg_database'::regclass "
        "AND s.objid = d.oid))) OR r.oid IN (SELECT setrole FROM pg_db_role_setting WHERE setdatabase = d.oid))), "
        "'[]')"
        ")::text FROM pg_database d WHERE d.datname = %s"
    ) % (FIRST_NORMAL_OID, "%s")


def database_properties(ask, database, version_num):
    """The properties of ``database`` (``ask(sql) -> rows``) as the metadata records them."""
    rows = ask(properties_sql(version_num) % quote_literal(database))
    if not rows:
        raise LifeboatError("database %s does not exist" % database)
    return json.loads(rows[0][0])


def _split_list(value):
    """``"$user", public`` -> ``['$user', 'public']``: a list setting as PostgreSQL stores it."""
    items, current, quoted, index = [], "", False, 0
    while index < len(value):
        char = value[index]
        if quoted:
            if char == '"' and value[index + 1:index + 2] == '"':
                current += '"'
                index += 1
            elif char == '"':
                quoted = False
            else:
                current += char
        elif char == '"':
            quoted = True
        elif char == ",":
            items.append(current.strip())
            current = ""
        else:
            current += char
        index += 1
    if current.strip() or items:
        items.append(current.strip())
    return items


def setting_clause(entry):
    """``name=value`` from ``setconfig`` -> ``SET name TO <value>`` (every value a literal, as pg_dump)."""
    name, sep, value = entry.partition("=")
    if not sep or not _SETTING_NAME.match(name):
        raise LifeboatError("unexpected database setting %r in the backup's metadata" % entry)
    if name.lower() in LIST_SETTINGS:
        items = _split_list(value)
        rendered = ", ".join(quote_literal(item) for item in items) if items else "''"
    else:
        rendered = quote_literal(value)
    return "SET %s TO %s" % (name, rendered)


def _grantee(name):
    return "PUBLIC" if name is None else quote_ident(name)


def apply_sql(database, props):
    """Statements that give the (scratch) ``database`` the recorded properties, to run in one transaction."""
    db = quote_ident(database)
    sql = []
    if props.get("owner"):
        sql.append("ALTER DATABASE %s OWNER TO %s" % (db, quote_ident(props["owner"])))
    if props.get("connection_limit", -1) != -1:
        sql.append("ALTER DATABASE %s CONNECTION LIMIT %d" % (db, int(props["connection_limit"])))
    for entry in props.get("settings") or []:
        sql.append("ALTER DATABASE %s %s" % (db, setting_clause(entry)))
    for role, entries in sorted((props.get("role_settings") or {}).items()):
        for entry in entries:
            sql.append("ALTER ROLE %s IN DATABASE %s %s" % (quote_ident(role), db, setting_clause(entry)))
    if props.get("comment") is not None:
        sql.append("COMMENT ON DATABASE %s IS %s" % (db, quote_literal(props["comment"])))
    if props.get("acl") is not None:
        # From the default ACL to the recorded one: revoke everything (the owner's too), grant what was there.
        sql.append("REVOKE ALL ON DATABASE %s FROM PUBLIC" % db)
        if props.get("owner"):
            sql.append("REVOKE ALL ON DATABASE %s FROM %s" % (db, quote_ident(props["owner"])))
        for item in props["acl"]:
            sql.append("GRANT %s ON DATABASE %s TO %s%s" % (
                _privilege(item["privilege"]), db, _grantee(item["grantee"]),
                " WITH GRANT OPTION" if item.get("grantable") else ""))
    return sql


def _privilege(name):
    if name not in ("CONNECT", "CREATE", "TEMPORARY"):
        raise LifeboatError("unexpected database privilege %r in the backup's metadata" % name)
    return name


def _acl_set(acl):
    return None if acl is None else sorted((item["grantee"] or "", item["privilege"], bool(item["grantable"]))
                                           for item in acl)


def _settings_set(entries):
    return sorted(entries or [])


def compare_properties(expected, actual):
    """Differences between recorded and restored properties, as readable strings."""
    problems = []
    for key in ("owner", "comment", "connection_limit", "locale_provider", "icu_locale"):
        if key in expected and expected.get(key) != actual.get(key):
            problems.append("%s is %r, the backup has %r" % (key.replace("_", " "), actual.get(key), expected[key]))
    if "acl" in expected and _acl_set(expected["acl"]) != _acl_set(actual.get("acl")):
        problems.append("privileges are %s, the backup has %s" % (_acl_text(actual.get("acl")),
                                                                  _acl_text(expected["acl"])))
    if "settings" in expected and _settings_set(expected["settings"]) != _settings_set(actual.get("settings")):
        problems.append("settings are %s, the backup has %s" % (actual.get("settings"), expected["settings"]))
    want = dict((role, _settings_set(v)) for role, v in (expected.get("role_settings") or {}).items())
    have = dict((role, _settings_set(v)) for role, v in (actual.get("role_settings") or {}).items())
    if "role_settings" in expected and want != have:
        problems.append("per-role settings are %s, the backup has %s" % (have, want))
    owners = dict((e["name"], e["owner"]) for e in expected.get("extensions") or [])
    restored = dict((e["name"], e["owner"]) for e in actual.get("extensions") or [])
    for name, owner in sorted(owners.items()):
        if restored.get(name) != owner:
            problems.append("extension %s is owned by %s, the backup has %s" % (name, restored.get(name), owner))
    return problems


def _acl_text(acl):
    if acl is None:
        return "the default"
    return ", ".join("%s %s%s" % (item[0] or "PUBLIC", item[1], "*" if item[2] else "") for item in _acl_set(acl))


def summary(props):
    """What the result says was restored (names, no values that could be sensitive beyond settings)."""
    return {
        "owner": props.get("owner"),
        "privileges": "default" if props.get("acl") is None else _acl_text(props["acl"]),
        "settings": [entry.partition("=")[0] for entry in props.get("settings") or []],
        "role_settings": sorted((props.get("role_settings") or {}).keys()),
        "comment": props.get("comment") is not None,
        "connection_limit": props.get("connection_limit", -1),
        "locale_provider": {"i": "icu", "c": "libc"}.get(props.get("locale_provider"), props.get("locale_provider")),
        "extension_owners": dict((e["name"], e["owner"]) for e in props.get("extensions") or []),
    }


def create_options(info):
    """The locale part of CREATE DATABASE for the scratch database (template0)."""
    clause = ""
    if info.get("encoding"):
        clause += " ENCODING %s LC_COLLATE %s LC_CTYPE %s" % (
            quote_literal(info["encoding"]), quote_literal(info["lc_collate"]), quote_literal(info["lc_ctype"]))
    props = info.get("properties") or {}
    if props.get("locale_provider") == "i" and props.get("icu_locale"):
        clause += " LOCALE_PROVIDER icu ICU_LOCALE %s" % quote_literal(props["icu_locale"])
    return clause


# --- extension owners ----------------------------------------------------------------------------

def extension_plan(props, login, can_become):
    """Extensions to create before pg_restore as their recorded owner, and those that cannot be.

    ``CREATE EXTENSION`` makes the session's role the owner and nothing changes it afterwards
    (``ALTER EXTENSION`` has no ``OWNER TO``), so an extension owned by someone else than the restoring
    login is created first under ``SET ROLE <owner>``; pg_restore's ``CREATE EXTENSION IF NOT EXISTS``
    then leaves it alone. ``can_become(role)`` says whether the login may ``SET ROLE`` to it.
    """
    plan, refused = [], []
    for ext in props.get("extensions") or []:
        if ext["owner"] == login:
            continue
        (plan if can_become(ext["owner"]) else refused).append(ext)
    return plan, refused


def extension_sql(plan):
    """Schemas (other than public) and extensions created as their owners, in the dump's order."""
    sql = []
    for schema in _schemas(plan):
        sql.append("CREATE SCHEMA %s AUTHORIZATION %s" % (quote_ident(schema[0]), quote_ident(schema[1])))
    for ext in plan:
        sql += ["SET ROLE %s" % quote_ident(ext["owner"]),
                "CREATE EXTENSION IF NOT EXISTS %s WITH SCHEMA %s" % (
                    quote_ident(ext["name"]), quote_ident(ext["schema"])),
                "RESET ROLE"]
    return sql


def _schemas(plan):
    seen = []
    for ext in plan:
        schema = (ext["schema"], ext["schema_owner"])
        if ext["schema"] != "public" and schema not in seen:
            seen.append(schema)
    return seen


def filter_toc(listing, plan):
    """``pg_restore -l`` output without the CREATE SCHEMA entries of the schemas created beforehand."""
    drop = set(" SCHEMA - %s %s" % schema for schema in _schemas(plan))
    kept, dropped = [], []
    for line in listing.splitlines():
        if not line.startswith(";") and any(line.endswith(tail) for tail in drop):
            dropped.append(line)
            kept.append(";" + line)
        else:
            kept.append(line)
    return "\n".join(kept) + "\n", dropped


def needs_toc(plan):
    return bool(_schemas(plan))


# --- roles -----------------------------------------------------------------------------------------

def split_statements(sql):
    """SQL text -> statements (without the ``;``), skipping comments and psql meta-commands."""
    statements, current, index, quote = [], [], 0, None
    at_line_start = True
    while index < len(sql):
        char = sql[index]
        if quote:
            current.append(char)
            if char == quote:
                if sql[index + 1:index + 2] == quote:
                    current.append(quote)
                    index += 1
                else:
                    quote = None
        elif at_line_start and not "".join(current).strip() and char == "\\":
            end = sql.find("\n", index)
            index = len(sql) if end < 0 else end
            continue
        elif char == "-" and sql[index + 1:index + 2] == "-":
            end = sql.find("\n", index)
            index = len(sql) if end < 0 else end
            continue
        elif char in ("'", '"'):
            quote = char
            current.append(char)
        elif char == ";":
            text = "".join(current).strip()
            if text:
                statements.append(text)
            current = []
        else:
            current.append(char)
        at_line_start = char == "\n"
        index += 1
    text = "".join(current).strip()
    if text:
        statements.append(text)
    return statements


def parse_roles(sql):
    """``pg_dumpall --roles-only`` output -> ``{role: {...}}`` and the memberships.

    Each role: ``options`` (the ``ALTER ROLE ... WITH`` attributes, the password among them),
    ``config`` (``ALTER ROLE ... SET`` statements), ``comment`` (a statement or None).
    Memberships: ``{"role", "member", "options", "grantor"}``.
    """
    roles, memberships = {}, []
    for statement in split_statements(sql):
        match = _CREATE_ROLE.match(statement)
        if match:
            roles.setdefault(unquote_ident(match.group(1)), {"options": [], "config": [], "comment": None})
            continue
        match = _ALTER_ROLE_WITH.match(statement)
        if match:
            entry = roles.setdefault(unquote_ident(match.group(1)), {"options": [], "config": [], "comment": None})
            entry["options"] = _OPTION.findall(match.group(2))
            continue
        match = _ALTER_ROLE_SET.match(statement)
        if match:
            roles.setdefault(unquote_ident(match.group(1)), {"options": [], "config": [], "comment": None})[
                "config"].append(statement)
            continue
        match = _COMMENT_ROLE.match(statement)
        if match:
            roles.setdefault(unquote_ident(match.group(1)), {"options": [], "config": [], "comment": None})[
                "comment"] = statement
            continue
        match = _GRANT_ROLE.match(statement)
        if match:
            memberships.append({"role": unquote_ident(match.group(1)), "member": unquote_ident(match.group(2)),
                                "options": match.group(3).strip(),
                                "grantor": unquote_ident(match.group(4)) if match.group(4) else None})
    return roles, memberships


def needed_roles(referenced, roles, memberships):
    """The referenced roles, the roles they belong to (their privileges) and their members (who reaches
    the database through them), transitively; predefined ``pg_*`` roles exist everywhere."""
    parents, children = {}, {}
    for grant in memberships:
        parents.setdefault(grant["member"], set()).add(grant["role"])
        children.setdefault(grant["role"], set()).add(grant["member"])

    def closure(start, edges):
        seen, todo = set(), list(start)
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            todo.extend(edges.get(name, ()))
        return seen

    start = [name for name in referenced if name in roles]
    found = closure(start, parents) | closure(start, children)
    return sorted(name for name in found if name in roles and not name.startswith("pg_"))


def _role_options(name, options, superuser):
    kept = []
    for option in options:
        if not superuser and option in _SUPER_ONLY:
            raise LifeboatError("role %s has %s, which only a superuser can give: restore as a superuser, or "
                                "create the role first" % (name, option))
        if not superuser and option in ("NO" + flag for flag in _SUPER_ONLY):
            continue  # the default of a new role; naming it at all needs a superuser
        kept.append(option)
    return kept


def role_plan(roles, memberships, wanted, existing, login, superuser, mode):
    """What to create and update: ``(sql statements, created names, updated names, skipped names)``.

    ``missing``: create the ``wanted`` roles that do not exist, with their attributes, password hash,
    settings, comment and memberships. ``all``: every role of the backup; missing ones are created,
    existing ones get the backup's attributes, password, settings and memberships (never the login
    running the restore, nor a superuser role unless the login is one). ``none``: nothing.
    """
    if mode not in RESTORE_ROLES:
        raise LifeboatError("restore_roles must be one of %s, not %r" % (", ".join(RESTORE_ROLES), mode))
    if mode == "none":
        return [], [], [], []
    chosen = sorted(roles) if mode == "all" else [name for name in wanted if name in roles]
    create = [name for name in chosen if name not in existing]
    update, skipped = [], []
    if mode == "all":
        for name in chosen:
            if name in existing:
                if name == login or (not superuser and "SUPERUSER" in roles[name]["options"]):
                    skipped.append(name)
                else:
                    update.append(name)
    sql = []
    for name in create:
        sql.append("CREATE ROLE %s" % quote_ident(name))
    for name in create + update:
        options = _role_options(name, roles[name]["options"], superuser)
        if options:
            sql.append("ALTER ROLE %s WITH %s" % (quote_ident(name), " ".join(options)))
        sql += roles[name]["config"]
        if roles[name]["comment"]:
            sql.append(roles[name]["comment"])
    touched = set(create + update)
    present = set(existing) | set(create)
    for grant in memberships:
        if not (grant["role"] in touched or grant["member"] in touched):
            continue
        if not (_exists(grant["role"], present) and _exists(grant["member"], present)):
            continue
        statement = "GRANT %s TO %s" % (quote_ident(grant["role"]), quote_ident(grant["member"]))
        if grant["options"]:
            statement += " " + grant["options"]
        if superuser and grant["grantor"] and _exists(grant["grantor"], present):
            statement += " GRANTED BY %s" % quote_ident(grant["grantor"])
        sql.append(statement)
    return sql, create, update, skipped


def _exists(name, present):
    return name in present or name.startswith("pg_")


def script(statements):
    """One transaction for psql's stdin; terse errors so no statement (or hash) is echoed back."""
    return "\\set VERBOSITY terse\nBEGIN;\n" + "".join(s + ";\n" for s in statements) + "COMMIT;\n"
