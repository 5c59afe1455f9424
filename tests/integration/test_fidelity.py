"""A restore keeps what the database is and who may reach it (issue 12): database-level properties, extension
owners, the roles and users it needs, MariaDB character sets and definers; in place on app1 and onto
restoretest1, whose servers never saw the test's roles and users."""
import json
import shlex
import subprocess
import uuid

import pytest

from labhost import mariadb, pg_content, psql, run_module, sh

TEST_HOST, TEST_CONTAINER = "restoretest1", "lifeboat-lab-restoretest1"
ROOT = "/var/backups/lifeboat-it"

RICH = """
CREATE SCHEMA "Schéma";
CREATE EXTENSION citext;
CREATE EXTENSION hstore;
CREATE EXTENSION pgcrypto;
CREATE TYPE "Schéma".mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN "Schéma".posint AS int CHECK (VALUE > 0);
CREATE TABLE "Schéma"."Tabelle Ü" (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, s serial, email citext,
    attrs hstore, m "Schéma".mood, n "Schéma".posint, twice int GENERATED ALWAYS AS (n * 2) STORED, secret bytea);
INSERT INTO "Schéma"."Tabelle Ü" (email, attrs, m, n, secret)
SELECT 'User' || g || '@Example.org', hstore('k', g::text), (ARRAY['sad', 'ok', 'happy'])[g % 3 + 1]::"Schéma".mood,
       g, digest(g::text, 'sha256') FROM generate_series(1, 50000) g;
CREATE TABLE measures (at date NOT NULL, v int) PARTITION BY RANGE (at);
CREATE TABLE measures_2025 PARTITION OF measures FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE measures_2026 PARTITION OF measures FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO measures SELECT date '2025-06-01' + g, g FROM generate_series(1, 400) g;
CREATE MATERIALIZED VIEW "Schéma".moods AS SELECT m, count(*) FROM "Schéma"."Tabelle Ü" GROUP BY m;
CREATE TABLE blobs (id int PRIMARY KEY, lo oid);
INSERT INTO blobs SELECT g, lo_from_bytea(0, convert_to(repeat('large object ' || g, 100), 'UTF8'))
FROM generate_series(1, 3) g;
ALTER TABLE "Schéma"."Tabelle Ü" ENABLE ROW LEVEL SECURITY;
CREATE POLICY even ON "Schéma"."Tabelle Ü" FOR SELECT TO {reader} USING (n % 2 = 0);
GRANT USAGE ON SCHEMA "Schéma" TO {reader};
GRANT SELECT ON ALL TABLES IN SCHEMA "Schéma" TO {reader};
"""

PICTURE = ("SELECT datacl::text, datlocprovider, daticulocale, datcollate, pg_get_userbyid(datdba), datconnlimit, "
           "shobj_description(oid, 'pg_database'), (SELECT string_agg(coalesce(pg_get_userbyid(setrole), '-') || ':' "
           "|| setconfig::text, ' ' ORDER BY pg_get_userbyid(setrole) NULLS FIRST) FROM pg_db_role_setting "
           "WHERE setdatabase = d.oid) FROM pg_database d WHERE datname = '%s'")
INSIDE = ("SELECT (SELECT string_agg(extname || ':' || pg_get_userbyid(extowner), ' ' ORDER BY extname) "
          "FROM pg_extension), (SELECT count(*) || ':' || md5(string_agg(encode(lo_get(oid), 'hex'), ',' ORDER BY oid)) "
          "FROM pg_largeobject_metadata), (SELECT string_agg(m::text || '=' || count, ',' ORDER BY m) "
          "FROM \"Schéma\".moods)")


def on(container, command):
    proc = subprocess.run(["docker", "exec", container, "bash", "-c", command], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, "%s: %s %s" % (command, proc.stdout, proc.stderr)
    return proc.stdout


def pg(container, sql, database="postgres"):
    return on(container, "runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1 -d %s -c %s" % (
        database, shlex.quote(sql))).strip()


def schema_picture(container, database):
    """pg_dump --schema-only without its per-run \\restrict key: every object, owner, grant and policy."""
    return on(container, r"runuser -u postgres -- pg_dump --schema-only %s | grep -v -e '^\\restrict' "
              r"-e '^\\unrestrict' | sha256sum" % database).split()[0]


def copy_backup(result, service):
    """The backup and its metadata, from app1's repository into restoretest1's."""
    directory = result["path"].rsplit("/", 1)[0]
    on(TEST_CONTAINER, "mkdir -p -m 0700 %s" % directory)
    for path in (result["path"], result["metadata_path"]):
        data = subprocess.run(["docker", "exec", "lifeboat-lab-app1", "cat", path], capture_output=True,
                              check=True).stdout
        subprocess.run(["docker", "exec", "-i", TEST_CONTAINER, "bash", "-c", "cat > %s" % path], input=data,
                       check=True)


@pytest.fixture
def rich(lab):
    tag = uuid.uuid4().hex[:6]
    names = {"db": "it_fid_%s" % tag, "owner": "fid_owner_%s" % tag, "reader": "fid_reader_%s" % tag,
             "login": "fid_login_%s" % tag}
    psql("CREATE ROLE {owner} LOGIN PASSWORD 'Owner-{db}'; CREATE ROLE {reader}; "
         "CREATE ROLE {login} LOGIN PASSWORD 'Login-{db}' IN ROLE {owner}; GRANT {owner} TO lifeboat; "
         "ALTER ROLE {reader} SET work_mem = '8MB'".format(**names))
    psql("CREATE DATABASE {db} OWNER {owner} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'de-DE'".format(**names))
    sh("runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1 -d %s <<'SQL'\nSET ROLE %s;\n%s\nSQL" % (
        names["db"], names["owner"], RICH.replace("{reader}", names["reader"])))
    psql("REVOKE CONNECT, TEMPORARY ON DATABASE {db} FROM PUBLIC; GRANT CONNECT ON DATABASE {db} TO {reader}; "
         "ALTER DATABASE {db} SET search_path = \"$user\", public, \"Schéma\"; "
         "ALTER DATABASE {db} SET statement_timeout = '5s'; ALTER DATABASE {db} CONNECTION LIMIT 40; "
         "ALTER ROLE {reader} IN DATABASE {db} SET work_mem = '16MB'; "
         "COMMENT ON DATABASE {db} IS 'rich: ü, quotes '' and all'".format(**names))
    yield names
    for container in ("lifeboat-lab-app1", TEST_CONTAINER):
        on(container, "for db in $(runuser -u postgres -- psql -XAtqc \"SELECT datname FROM pg_database WHERE "
                      "datname LIKE '%s%%'\"); do runuser -u postgres -- psql -XAtqc \"DROP DATABASE $db WITH (FORCE)\"; "
                      "done; for role in %s; do runuser -u postgres -- psql -XAtqc \"DROP ROLE IF EXISTS $role\"; done; "
                      "rm -rf %s/%s" % (names["db"], " ".join([names["login"], names["reader"], names["owner"]]),
                                        ROOT, names["db"]))


def test_rich_postgresql_database_restores_equal_in_place_and_onto_a_server_without_its_roles(pg_args, rich):
    db = rich["db"]
    reader_oid = pg("lifeboat-lab-app1", "SELECT oid FROM pg_roles WHERE rolname = '%s'" % rich["reader"])
    before = (pg_content(db), pg("lifeboat-lab-app1", PICTURE % db).replace(reader_oid, "R"),
              pg("lifeboat-lab-app1", INSIDE, db), schema_picture("lifeboat-lab-app1", db))
    dumped = run_module("db_dump", dict(pg_args, service=db, database=db))
    assert not dumped.get("failed"), dumped.get("msg")
    roles = dumped["metadata"]["content"]["roles"]
    assert roles["captured"] and roles["passwords"] and rich["owner"] in roles["referenced"]
    assert "SCRAM-SHA-256" not in dumped.output

    out = run_module("db_restore", dict(pg_args, service=db, database=db, backup=dumped["path"], confirm=True))
    assert not out.get("failed"), out.get("msg")
    assert out["roles_created"] == [] and out["database_properties"]["extension_owners"] == {
        "citext": rich["owner"], "hstore": rich["owner"], "pgcrypto": rich["owner"]}
    after = (pg_content(db), pg("lifeboat-lab-app1", PICTURE % db).replace(reader_oid, "R"),
             pg("lifeboat-lab-app1", INSIDE, db), schema_picture("lifeboat-lab-app1", db))
    assert after == before
    # The application's owner can still manage its extensions.
    sh("runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1 -d %s -c 'SET ROLE %s; ALTER EXTENSION citext UPDATE'"
       % (db, rich["owner"]))

    copy_backup(dumped, db)
    assert pg(TEST_CONTAINER, "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'fid\\_%%\\_%s'" % db[-6:]) == "0"
    out = run_module("db_restore", dict(pg_args, service=db, database=db, backup=dumped["path"]), host=TEST_HOST)
    assert not out.get("failed"), out.get("msg")
    assert sorted(out["roles_created"]) == sorted([rich["owner"], rich["reader"], rich["login"]])
    assert "SCRAM-SHA-256" not in out.output and "Owner-" not in out.output
    reader_there = pg(TEST_CONTAINER, "SELECT oid FROM pg_roles WHERE rolname = '%s'" % rich["reader"])
    there = (pg(TEST_CONTAINER, PICTURE % db).replace(reader_there, "R"), pg(TEST_CONTAINER, INSIDE, db),
             schema_picture(TEST_CONTAINER, db))
    assert there == before[1:]
    hashes = "SELECT rolname || ':' || coalesce(rolpassword, '') FROM pg_authid WHERE rolname IN ('%s') ORDER BY 1" % (
        "', '".join([rich["owner"], rich["login"]]))
    assert pg(TEST_CONTAINER, hashes) == pg("lifeboat-lab-app1", hashes)
    assert pg(TEST_CONTAINER, "SELECT rolconfig::text FROM pg_roles WHERE rolname = '%s'" % rich["reader"]) == (
        "{work_mem=8MB}")
    # The login role reaches the database through its membership, with the password it had.
    assert on(TEST_CONTAINER, "PGPASSWORD='Login-%s' psql -XAtq -h 127.0.0.1 -U %s -d %s -c "
                              "'SELECT count(*) FROM measures'" % (db, rich["login"], db)).strip() == "400"


SHOP = """
CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(40));
INSERT INTO t VALUES (1, 'Straße'), (2, 'Œuvre'), (3, 'plain');
CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, tid INT);
CREATE DEFINER='{definer}'@'localhost' VIEW v AS SELECT * FROM t;
CREATE DEFINER='{definer}'@'localhost' TRIGGER tr AFTER INSERT ON t FOR EACH ROW INSERT INTO audit (tid) VALUES (NEW.id);
CREATE DEFINER='{definer}'@'localhost' FUNCTION f() RETURNS INT DETERMINISTIC RETURN 42;
CREATE DEFINER='{definer}'@'localhost' PROCEDURE p() SQL SECURITY DEFINER SELECT COUNT(*) FROM t;
CREATE DEFINER='{definer}'@'localhost' EVENT ev ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM audit WHERE id < 0;
"""


def maria(container, sql, database=""):
    return on(container, "mariadb -N -B %s <<'SQL'\n%s\nSQL" % (database, sql)).strip()


def maria_picture(container, database):
    return on(container, "mariadb-dump --skip-comments --skip-extended-insert --order-by-primary --routines "
                         "--triggers --events --hex-blob %s | sha256sum" % database).split()[0]


@pytest.fixture
def shop(lab):
    tag = uuid.uuid4().hex[:6]
    names = {"db": "it_fid_%s" % tag, "definer": "fid_def_%s" % tag, "app": "fid_app_%s" % tag}
    mariadb("CREATE USER '{definer}'@'localhost' IDENTIFIED BY 'Def-{db}'; "
            "CREATE USER '{app}'@'%' IDENTIFIED BY 'App-{db}'; "
            "CREATE DATABASE {db} CHARACTER SET latin1 COLLATE latin1_german2_ci; "
            "GRANT ALL ON {db}.* TO '{definer}'@'localhost'; "
            "GRANT SELECT, EXECUTE ON {db}.* TO '{app}'@'%'".format(**names))
    sh("mariadb %s <<'SQL'\n%s\nSQL" % (names["db"], SHOP.format(**names)))
    yield names
    for container in ("lifeboat-lab-app1", TEST_CONTAINER):
        on(container, "mariadb -e \"DROP DATABASE IF EXISTS {db}; DROP USER IF EXISTS '{definer}'@'localhost'; "
                      "DROP USER IF EXISTS '{app}'@'%'\"; rm -rf {root}/{db}".format(root=ROOT, **names))


def test_mariadb_charset_collation_definers_and_users_survive_in_place_and_on_a_new_server(lab, shop):
    with open("%s/.lab/secrets/mariadb_lifeboat" % lab["root"]) as handle:
        args = {"engine": "mysql", "login_user": "lifeboat", "login_password": handle.read().split()[0],
                "backup_root": ROOT}
    db = shop["db"]
    grants = "SHOW GRANTS FOR '%s'@'%%'" % shop["app"]
    before = (maria_picture("lifeboat-lab-app1", db), maria("lifeboat-lab-app1", grants))
    dumped = run_module("db_dump", dict(args, service=db, database=db))
    assert not dumped.get("failed"), dumped.get("msg")
    accounts = dumped["metadata"]["content"]["accounts"]
    assert accounts["captured"] and [shop["app"], "%"] in accounts["referenced"]
    assert "IDENTIFIED" not in json.dumps(dumped["metadata"]) and "IDENTIFIED" not in dumped.output

    mariadb("DROP DATABASE %s" % db)
    out = run_module("db_restore", dict(args, service=db, database=db, backup=dumped["path"]))
    assert not out.get("failed"), out.get("msg")
    assert out["database_properties"] == {"charset": "latin1", "collation": "latin1_german2_ci",
                                          "definers": ["%s@localhost" % shop["definer"]]}
    assert (maria_picture("lifeboat-lab-app1", db), maria("lifeboat-lab-app1", grants)) == before

    copy_backup(dumped, db)
    out = run_module("db_restore", dict(args, service=db, database=db, backup=dumped["path"]), host=TEST_HOST)
    assert not out.get("failed"), out.get("msg")
    assert sorted(out["roles_created"]) == sorted(["%s@%%" % shop["app"], "%s@localhost" % shop["definer"]])
    assert "IDENTIFIED" not in out.output and "Def-" not in out.output
    assert (maria_picture(TEST_CONTAINER, db), maria(TEST_CONTAINER, grants)) == before
    assert maria(TEST_CONTAINER, "SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA "
                                 "WHERE SCHEMA_NAME = '%s'" % db) == "latin1_german2_ci"
    # The definer exists there, so the routine it defines runs.
    assert maria(TEST_CONTAINER, "SELECT f()", db) == "42"
    maria(TEST_CONTAINER, "CALL p()", db)
