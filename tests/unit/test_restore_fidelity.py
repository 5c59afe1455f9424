"""What a restore keeps besides the data: the SQL builders and parsers (no server), then a PostgreSQL round trip
against throwaway local servers (skipped where the PostgreSQL server binaries are missing)."""
import glob
import json
import os
import pwd
import shutil
import subprocess
import tempfile

import pytest

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils.engines import mysql
from ansible_collections.lifeboat.dr.plugins.module_utils.engines import postgresql_fidelity as pf

HASH = "SCRAM-SHA-256$4096:c2FsdA==$c3RvcmVk:c2VydmVy"
ROLES_SQL = """--
-- PostgreSQL database cluster dump
--

\\restrict abc123

SET default_transaction_read_only = off;

CREATE ROLE app;
ALTER ROLE app WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS PASSWORD '{hash}';
CREATE ROLE {odd};
ALTER ROLE {odd} WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION NOBYPASSRLS;
CREATE ROLE admin;
ALTER ROLE admin WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS;
CREATE ROLE lifeboat;
ALTER ROLE lifeboat WITH NOSUPERUSER INHERIT CREATEROLE CREATEDB LOGIN NOREPLICATION NOBYPASSRLS;
CREATE ROLE login1;
ALTER ROLE login1 WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 5 VALID UNTIL 'infinity';
CREATE ROLE unrelated;
ALTER ROLE unrelated WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS;
COMMENT ON ROLE app IS 'the app; it owns ''everything''';
ALTER ROLE app SET search_path TO 'app', 'public';
GRANT {odd} TO app GRANTED BY admin;
GRANT app TO login1 GRANTED BY admin;
GRANT pg_read_all_data TO lifeboat GRANTED BY admin;

\\unrestrict abc123
""".format(odd='"Odd; ""name"""', hash=HASH)


# --- PostgreSQL: database-level properties ------------------------------------------------------

def test_settings_become_literals_and_lists_are_split():
    assert pf.setting_clause("statement_timeout=5s") == "SET statement_timeout TO '5s'"
    assert pf.setting_clause('search_path="$user", public, "we""ird"') == (
        "SET search_path TO '$user', 'public', 'we\"ird'")
    assert pf.setting_clause("app.note=it's") == "SET app.note TO 'it''s'"
    with pytest.raises(LifeboatError):
        pf.setting_clause("bad name; DROP DATABASE x=1")


def test_apply_sql_rebuilds_the_acl_settings_comment_and_owner():
    props = {"owner": "app", "connection_limit": 20, "comment": "it's mine",
             "acl": [{"grantee": None, "privilege": "TEMPORARY", "grantable": False},
                     {"grantee": "app", "privilege": "CONNECT", "grantable": True},
                     {"grantee": "reader", "privilege": "CONNECT", "grantable": False}],
             "settings": ["statement_timeout=5s"], "role_settings": {"reader": ["work_mem=16MB"]}}
    sql = pf.apply_sql("db__lifeboat_restore", props)
    assert sql == [
        'ALTER DATABASE "db__lifeboat_restore" OWNER TO "app"',
        'ALTER DATABASE "db__lifeboat_restore" CONNECTION LIMIT 20',
        "ALTER DATABASE \"db__lifeboat_restore\" SET statement_timeout TO '5s'",
        "ALTER ROLE \"reader\" IN DATABASE \"db__lifeboat_restore\" SET work_mem TO '16MB'",
        "COMMENT ON DATABASE \"db__lifeboat_restore\" IS 'it''s mine'",
        'REVOKE ALL ON DATABASE "db__lifeboat_restore" FROM PUBLIC',
        'REVOKE ALL ON DATABASE "db__lifeboat_restore" FROM "app"',
        'GRANT TEMPORARY ON DATABASE "db__lifeboat_restore" TO PUBLIC',
        'GRANT CONNECT ON DATABASE "db__lifeboat_restore" TO "app" WITH GRANT OPTION',
        'GRANT CONNECT ON DATABASE "db__lifeboat_restore" TO "reader"']
    # The default ACL (NULL) is left alone; an empty one revokes everything.
    assert not [s for s in pf.apply_sql("d", {"owner": "app", "acl": None}) if "GRANT" in s or "REVOKE" in s]
    assert pf.apply_sql("d", {"acl": []}) == ['REVOKE ALL ON DATABASE "d" FROM PUBLIC']
    with pytest.raises(LifeboatError):
        pf.apply_sql("d", {"acl": [{"grantee": None, "privilege": "ALL; DROP", "grantable": False}]})


def test_compare_properties_names_every_difference():
    expected = {"owner": "app", "comment": "c", "acl": [{"grantee": "r", "privilege": "CONNECT", "grantable": False}],
                "settings": ["a=1"], "role_settings": {"r": ["b=2"]}, "connection_limit": -1,
                "extensions": [{"name": "citext", "owner": "app"}]}
    assert pf.compare_properties(expected, dict(expected, acl=list(reversed(expected["acl"])))) == []
    actual = dict(expected, acl=None, settings=[], role_settings={}, comment=None,
                  extensions=[{"name": "citext", "owner": "lifeboat"}])
    problems = pf.compare_properties(expected, actual)
    assert len(problems) == 5
    assert "privileges are the default, the backup has r CONNECT" in problems
    assert "extension citext is owned by lifeboat, the backup has app" in problems


def test_locale_provider_reaches_create_database():
    info = {"encoding": "UTF8", "lc_collate": "C.UTF-8", "lc_ctype": "C.UTF-8",
            "properties": {"locale_provider": "i", "icu_locale": "de-DE"}}
    assert pf.create_options(info) == (" ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' "
                                       "LOCALE_PROVIDER icu ICU_LOCALE 'de-DE'")
    assert "LOCALE_PROVIDER" not in pf.create_options(dict(info, properties={"locale_provider": "c"}))


def test_extensions_of_other_owners_are_created_first_as_them():
    props = {"extensions": [{"name": "citext", "owner": "app", "schema": "ext", "schema_owner": "app"},
                            {"name": "hstore", "owner": "lifeboat", "schema": "public", "schema_owner": "x"},
                            {"name": "pgcrypto", "owner": "postgres", "schema": "public", "schema_owner": "x"}]}
    plan, refused = pf.extension_plan(props, "lifeboat", lambda role: role == "app")
    assert [e["name"] for e in plan] == ["citext"] and [e["name"] for e in refused] == ["pgcrypto"]
    assert pf.extension_sql(plan) == ['CREATE SCHEMA "ext" AUTHORIZATION "app"', 'SET ROLE "app"',
                                      'CREATE EXTENSION IF NOT EXISTS "citext" WITH SCHEMA "ext"', "RESET ROLE"]
    listing = ";\n; Archive created\n9; 2615 16389 SCHEMA - ext app\n2; 3079 16390 EXTENSION - citext \n"
    filtered, dropped = pf.filter_toc(listing, plan)
    assert dropped == ["9; 2615 16389 SCHEMA - ext app"]
    assert ";9; 2615 16389 SCHEMA - ext app\n" in filtered and "\n2; 3079 16390 EXTENSION - citext \n" in filtered
    assert pf.needs_toc(plan) and not pf.needs_toc([dict(plan[0], schema="public")])


# --- PostgreSQL: roles ------------------------------------------------------------------------------

def test_statements_split_around_quotes_comments_and_meta_commands():
    statements = pf.split_statements(ROLES_SQL)
    assert statements[0] == "SET default_transaction_read_only = off"
    assert 'CREATE ROLE "Odd; ""name"""' in statements
    assert "COMMENT ON ROLE app IS 'the app; it owns ''everything'''" in statements
    assert not [s for s in statements if s.startswith("\\") or s.startswith("--")]


def test_roles_are_parsed_with_options_settings_comments_and_memberships():
    roles, memberships = pf.parse_roles(ROLES_SQL)
    assert sorted(roles) == ["Odd; \"name\"", "admin", "app", "lifeboat", "login1", "unrelated"]
    assert roles["app"]["options"][-1] == "PASSWORD '%s'" % HASH
    assert "CONNECTION LIMIT 5" in roles["login1"]["options"] and "VALID UNTIL 'infinity'" in roles["login1"]["options"]
    assert roles["app"]["config"] == ["ALTER ROLE app SET search_path TO 'app', 'public'"]
    assert roles["app"]["comment"].startswith("COMMENT ON ROLE app IS")
    assert {"role": "app", "member": "login1", "options": "", "grantor": "admin"} in memberships


def test_needed_roles_follow_memberships_both_ways_but_not_to_unrelated_roles():
    roles, memberships = pf.parse_roles(ROLES_SQL)
    assert pf.needed_roles(["app"], roles, memberships) == ["Odd; \"name\"", "app", "login1"]


def test_missing_roles_are_created_without_superuser_only_options_and_existing_ones_untouched():
    roles, memberships = pf.parse_roles(ROLES_SQL)
    wanted = pf.needed_roles(["app"], roles, memberships)
    sql, created, updated, skipped = pf.role_plan(roles, memberships, wanted, {"lifeboat", "login1"}, "lifeboat",
                                                  False, "missing")
    assert created == ["Odd; \"name\"", "app"] and updated == [] and skipped == []
    assert 'CREATE ROLE "app"' in sql
    alter = [s for s in sql if s.startswith('ALTER ROLE "app" WITH')][0]
    assert "NOSUPERUSER" not in alter and "NOREPLICATION" not in alter and HASH in alter
    assert 'GRANT "app" TO "login1"' in sql and 'GRANT "Odd; ""name""" TO "app"' in sql
    assert not [s for s in sql if "GRANTED BY" in s or "login1 WITH" in s or "lifeboat" in s]
    assert pf.role_plan(roles, memberships, wanted, set(roles), "lifeboat", False, "missing")[0] == []
    assert pf.role_plan(roles, memberships, wanted, set(), "lifeboat", False, "none") == ([], [], [], [])


def test_all_updates_existing_roles_but_never_the_login_or_a_superuser_without_being_one():
    roles, memberships = pf.parse_roles(ROLES_SQL)
    sql, created, updated, skipped = pf.role_plan(roles, memberships, [], set(roles), "lifeboat", False, "all")
    assert created == [] and skipped == ["admin", "lifeboat"]
    assert updated == ["Odd; \"name\"", "app", "login1", "unrelated"]
    sql, created, updated, skipped = pf.role_plan(roles, memberships, [], {"lifeboat"}, "lifeboat", True, "all")
    assert "admin" in created and "GRANT \"app\" TO \"login1\" GRANTED BY \"admin\"" in sql
    assert any("SUPERUSER" in s and s.startswith('ALTER ROLE "admin"') for s in sql)
    with pytest.raises(LifeboatError, match="SUPERUSER"):
        pf.role_plan(roles, memberships, ["admin"], set(), "lifeboat", False, "missing")
    with pytest.raises(LifeboatError, match="restore_roles"):
        pf.role_plan(roles, memberships, [], set(), "lifeboat", False, "some")


def test_hashes_are_scrubbed_from_messages_and_the_script_is_terse():
    text = "psql failed: ERROR: x\nLINE 1: ALTER ROLE app WITH LOGIN PASSWORD '%s';" % HASH
    assert HASH not in pf.scrub(text) and "PASSWORD '<redacted>'" in pf.scrub(text)
    assert "md5" not in pf.scrub("md5" + "a" * 32)
    assert pf.script(["CREATE ROLE a"]) == "\\set VERBOSITY terse\nBEGIN;\nCREATE ROLE a;\nCOMMIT;\n"


def test_sealed_values_are_not_shown_in_results():
    meta = {"content": {"roles": {"sealed": "QUJD", "names": ["app"]}, "tables": {"t": 1}}}
    shown = bf.shown(meta)
    assert shown["content"]["roles"] == {"sealed": "<4 characters, not shown>", "names": ["app"]}
    assert meta["content"]["roles"]["sealed"] == "QUJD" and shown["content"]["tables"] == {"t": 1}


# --- MariaDB --------------------------------------------------------------------------------------

ACCOUNTS = [
    {"user": "shopapp", "host": "%", "role": False, "create": "CREATE USER `shopapp`@`%` IDENTIFIED BY PASSWORD "
     "'*6C7A370C07660BC788681B3238D93E08BD74303C'", "grants": [
         "GRANT `reader` TO `shopapp`@`%`", "GRANT SELECT ON `shop`.* TO `shopapp`@`%`"]},
    {"user": "reader", "host": "", "role": True, "create": "CREATE ROLE `reader`",
     "grants": ["GRANT SELECT ON `shop`.`t` TO `reader`"]},
    {"user": "other", "host": "localhost", "role": False, "create": "CREATE USER `other`@`localhost`", "grants": []},
    {"user": "lifeboat", "host": "localhost", "role": False, "create": "CREATE USER `lifeboat`@`localhost`",
     "grants": []},
]


def test_mariadb_accounts_are_named_as_definers_and_grantees_write_them():
    assert mysql.account("shopdef@localhost") == ("shopdef", "localhost")
    assert mysql.account("'it''s'@'%'") == ("it's", "%")
    assert mysql.account("reader") == ("reader", "")
    assert mysql.account_name("reader", "") == "reader" and mysql.account_name("a", "%") == "a@%"


def test_mariadb_missing_accounts_are_created_roles_first_and_grants_follow_the_target():
    referenced = [["shopapp", "%"], ["reader", ""]]
    sql, created, updated = mysql.account_plan(ACCOUNTS, referenced, [["other", "localhost"]], "lifeboat",
                                               "missing", "shop", "shop_copy")
    assert created == ["reader", "shopapp@%"] and updated == []
    assert sql[0] == "CREATE ROLE `reader`" and sql[1] == "GRANT SELECT ON `shop_copy`.`t` TO `reader`"
    assert "GRANT SELECT ON `shop_copy`.* TO `shopapp`@`%`" in sql
    assert mysql.account_plan(ACCOUNTS, referenced, [], "lifeboat", "none", "shop", "shop") == ([], [], [])
    sql, created, updated = mysql.account_plan(ACCOUNTS, [], [["shopapp", "%"], ["lifeboat", "localhost"]],
                                               "lifeboat", "all", "shop", "shop")
    assert created == ["reader", "other@localhost"] and updated == ["shopapp@%"]
    assert sql[2].startswith("ALTER USER `shopapp`@`%` IDENTIFIED BY PASSWORD")


def test_mariadb_secrets_are_scrubbed_and_definers_compared():
    text = "ERROR 1396: CREATE USER `a`@`%` IDENTIFIED BY PASSWORD '*6C7A370C07660BC788681B3238D93E08BD74303C'"
    assert "6C7A37" not in mysql.scrub(text)
    assert "secret" not in mysql.scrub("IDENTIFIED VIA ed25519 USING 'secret'")
    expected = {"charset": "latin1", "collation": "latin1_german2_ci", "definers": [["view", "v", "d@localhost"]]}
    assert mysql.compare_database(expected, dict(expected)) == []
    problems = mysql.compare_database(expected, {"charset": "utf8mb4", "collation": "latin1_german2_ci",
                                                 "definers": [["view", "v", "lifeboat@localhost"]]})
    assert problems == ["charset is utf8mb4, the backup has latin1", "definers differ: view v by d@localhost"]


# --- PostgreSQL round trip on throwaway servers ---------------------------------------------------------

def _pg_bin():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda path: int(path.split("/")[4]))
    return os.path.dirname(found[-1]) if found else None


PG_BIN = _pg_bin()


class PgServer:
    """initdb + postgres on a unix socket in a private directory, as the postgres user when run as root."""

    def __init__(self, base, port):
        self.dir, self.port = base, port
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            os.chown(base, pwd.getpwnam("postgres").pw_uid, -1)
        self._as(["%s/initdb" % PG_BIN, "-D", base + "/data", "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8",
                  "-A", "trust"])
        self._as(["%s/pg_ctl" % PG_BIN, "-D", base + "/data", "-w", "-l", base + "/log", "-o",
                  "-p %d -k %s -c listen_addresses='' -c fsync=off" % (port, base), "start"])

    def _as(self, argv, **kwargs):
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        return subprocess.run(prefix + argv, check=True, capture_output=True, cwd="/", **kwargs)

    def sql(self, sql, database="postgres", user="postgres"):
        return self._as(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-h", self.dir, "-p", str(self.port), "-U", user,
                         "-d", database], input=sql.encode()).stdout.decode().strip()

    def stop(self):
        self._as(["%s/pg_ctl" % PG_BIN, "-D", self.dir + "/data", "-m", "immediate", "stop"])


@pytest.fixture
def pg_pair():
    if not PG_BIN or not shutil.which("pg_dumpall") or (os.geteuid() == 0 and not _has_user("postgres")):
        pytest.skip("PostgreSQL server binaries not installed")
    base = tempfile.mkdtemp(prefix="lbpg-", dir="/tmp")
    os.chmod(base, 0o755)
    servers = []
    try:
        for index in range(2):
            os.mkdir("%s/%d" % (base, index))
            servers.append(PgServer("%s/%d" % (base, index), 56432 + os.getpid() % 500 * 2 + index))
        for server in servers:
            server.sql("CREATE ROLE lifeboat LOGIN CREATEDB CREATEROLE; "
                       "GRANT pg_read_all_data, pg_signal_backend TO lifeboat")
        yield base, servers
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(base, ignore_errors=True)


def _has_user(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


RICH = """
CREATE SCHEMA ext;
CREATE EXTENSION citext WITH SCHEMA ext;
CREATE EXTENSION hstore;
CREATE TABLE "Größe" (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name ext.citext, h hstore);
INSERT INTO "Größe" (name, h) SELECT 'n' || g, 'a=>1' FROM generate_series(1, 50) g;
GRANT SELECT ON "Größe" TO reader;
"""


def test_postgresql_restore_keeps_database_properties_extension_owners_and_brings_its_roles(pg_pair, tmp_path):
    from ansible_collections.lifeboat.dr.plugins.module_utils.dump import run_dump
    from ansible_collections.lifeboat.dr.plugins.module_utils.engines.postgresql import Connection
    from ansible_collections.lifeboat.dr.plugins.module_utils.restore import run_restore

    base, (source, target) = pg_pair
    source.sql("CREATE ROLE app LOGIN PASSWORD 'app-pw'; CREATE ROLE reader; CREATE ROLE login1 LOGIN IN ROLE app; "
               "GRANT app TO lifeboat; ALTER ROLE reader SET work_mem = '8MB'; "
               "CREATE DATABASE rich OWNER app TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'de-DE'")
    source.sql(RICH, "rich", user="app")
    source.sql("REVOKE CONNECT, TEMPORARY ON DATABASE rich FROM PUBLIC; GRANT CONNECT ON DATABASE rich TO reader; "
               "ALTER DATABASE rich SET search_path = \"$user\", public, ext; "
               "ALTER DATABASE rich SET statement_timeout = '5s'; ALTER ROLE reader IN DATABASE rich SET "
               "work_mem = '16MB'; COMMENT ON DATABASE rich IS 'the rich one'")
    picture = ("SELECT datacl::text, datlocprovider, daticulocale, pg_get_userbyid(datdba), "
               "shobj_description(oid, 'pg_database'), (SELECT string_agg(coalesce(pg_get_userbyid(setrole), '-') "
               "|| ':' || setconfig::text, ' ' ORDER BY setrole) FROM pg_db_role_setting WHERE setdatabase = d.oid) "
               "FROM pg_database d WHERE datname = '%s'")
    extensions = "SELECT string_agg(extname || ':' || pg_get_userbyid(extowner), ' ' ORDER BY extname) FROM pg_extension"
    before = source.sql(picture % "rich").replace(source.sql("SELECT oid FROM pg_roles WHERE rolname = 'reader'"), "R")

    spec = {"engine": "postgresql", "service": "rich", "backup_root": str(tmp_path), "database": "rich",
            "backup_type": "daily", "connection": Connection(host=source.dir, port=source.port, user="lifeboat")}
    dumped = run_dump(spec)
    roles = dumped["metadata"]["content"]["roles"]
    assert roles["captured"] and roles["passwords"] and "app" in roles["referenced"]
    assert "SCRAM" not in json.dumps(dumped) and "not shown" in roles["sealed"]

    # In place over the live database: the safety copy keeps its own properties, the restored one the backup's.
    out = run_restore(dict(spec, backup=dumped["path"], confirm=True))
    assert out["roles_created"] == []
    assert source.sql(picture % "rich").replace(
        source.sql("SELECT oid FROM pg_roles WHERE rolname = 'reader'"), "R") == before
    assert source.sql(extensions, "rich") == "citext:app hstore:app plpgsql:postgres"
    assert out["database_properties"]["extension_owners"] == {"citext": "app", "hstore": "app"}

    # Onto a server that never saw the roles: they are created, with the password hash, memberships and settings.
    other = Connection(host=target.dir, port=target.port, user="lifeboat")
    out = run_restore(dict(spec, connection=other, backup=dumped["path"]))
    assert sorted(out["roles_created"]) == ["app", "login1", "reader"]
    assert "SCRAM" not in json.dumps(out)
    assert target.sql(picture % "rich").replace(
        target.sql("SELECT oid FROM pg_roles WHERE rolname = 'reader'"), "R") == before
    assert target.sql(extensions, "rich") == "citext:app hstore:app plpgsql:postgres"
    assert target.sql("SELECT rolpassword FROM pg_authid WHERE rolname = 'app'") == source.sql(
        "SELECT rolpassword FROM pg_authid WHERE rolname = 'app'")
    assert target.sql("SELECT rolconfig::text FROM pg_roles WHERE rolname = 'reader'") == "{work_mem=8MB}"
    assert target.sql("SELECT count(*) FROM pg_auth_members WHERE roleid = 'app'::regrole "
                      "AND member = 'login1'::regrole") == "1"
    assert target.sql('SELECT count(*) FROM "Größe"', "rich", user="app") == "50"
    # A second restore finds the roles and changes none of them.
    target.sql("ALTER ROLE app PASSWORD 'changed-on-the-target'")
    changed = target.sql("SELECT rolpassword FROM pg_authid WHERE rolname = 'app'")
    out = run_restore(dict(spec, connection=other, backup=dumped["path"], confirm=True, safety_copy=False))
    assert out["roles_created"] == [] and target.sql("SELECT rolpassword FROM pg_authid WHERE rolname = 'app'") == changed
