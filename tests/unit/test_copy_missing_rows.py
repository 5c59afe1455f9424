"""Rows deleted by mistake: the decision (missing_rows.py, no server), then the copy back from a side database on
a throwaway local PostgreSQL (skipped where the PostgreSQL server binaries are missing): the deleted rows come
back identical, writes made since stay, check mode and refusals change nothing."""
import os
import shutil
import tempfile

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.lifeboat.dr.plugins.filter.engine_property import engines_supporting
from ansible_collections.lifeboat.dr.plugins.module_utils import engines
from ansible_collections.lifeboat.dr.plugins.module_utils import missing_rows as mr
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils.engines import postgresql as pg
from ansible_collections.lifeboat.dr.plugins.module_utils.process import Runner
from ansible_collections.lifeboat.dr.tests.unit import test_restore_fidelity as pg_tests


def col(name, kind="integer", **extra):
    return dict({"name": name, "type": kind, "generated": False, "identity": False, "sequence": None}, **extra)


def table(name, columns, key=("id",), references=()):
    return {"quoted": name, "columns": columns, "key": list(key) if key else None, "references": list(references)}


PROD = {
    "public.customers": table("public.customers", [col("id", sequence="public.customers_id_seq"), col("name", "text")]),
    "public.orders": table("public.orders", [col("id", "bigint", identity=True, sequence="public.orders_id_seq"),
                                             col("customer_id"), col("total", "numeric", generated=True)],
                           references=["public.customers"]),
    "public.seal": table("public.seal", [col("seal", "text")], key=None),
}


# --- the decision, from metadata alone ----------------------------------------------------------------

def test_names_without_a_schema_are_in_public():
    assert mr.table_name("orders") == "public.orders" and mr.table_name(" app.t ") == "app.t"
    with pytest.raises(LifeboatError, match="empty table name"):
        mr.table_name("")


def test_parents_are_copied_before_the_tables_that_reference_them():
    chosen = mr.plan(PROD, PROD, "appdb_staging", "appdb", ["orders", "customers", "public.orders"])
    assert chosen == {"tables": ["public.customers", "public.orders"], "skipped": {}}
    cycle = {"a": table("a", [col("id")], references=["b"]), "b": table("b", [col("id")], references=["a"])}
    assert mr.dependency_order(["b", "a"], cycle) == ["b", "a"]


def test_the_side_database_must_not_be_production():
    with pytest.raises(LifeboatError, match="side database appdb is the production database.*appdb_staging"):
        mr.plan(PROD, PROD, "appdb", "appdb", ["orders"])


def test_every_refusal_names_its_table_and_nothing_is_planned():
    side = dict(PROD, **{"public.extra": table("public.extra", [col("id")]),
                         "public.customers": table("public.customers", [col("id"), col("name", "varchar(20)"),
                                                                        col("vip", "boolean")])})
    with pytest.raises(LifeboatError) as caught:
        mr.plan(side, PROD, "appdb_staging", "appdb", ["seal", "extra", "nowhere", "customers"])
    text = str(caught.value)
    assert text.startswith("copying the missing rows from appdb_staging into appdb refused, nothing was copied")
    assert "table public.seal has no primary key in appdb" in text
    assert "table public.extra is missing in the production database appdb" in text
    assert "table public.nowhere is not in the side database appdb_staging" in text
    assert ("table public.customers: the columns differ (only in appdb_staging: vip (boolean); "
            "name is varchar(20) in appdb_staging and text in appdb)") in text
    other_key = dict(PROD, **{"public.orders": dict(PROD["public.orders"], key=["id", "customer_id"])})
    with pytest.raises(LifeboatError, match=r"public.orders: the primary key is \(id, customer_id\) in s"):
        mr.plan(other_key, PROD, "s", "appdb", ["orders"])


def test_by_default_every_table_both_have_and_a_table_only_the_side_has_is_skipped():
    side = dict(PROD, **{"public.extra": table("public.extra", [col("id")])})
    with pytest.raises(LifeboatError, match="public.seal has no primary key"):
        mr.plan(side, PROD, "s", "appdb")
    prod = dict((k, v) for k, v in PROD.items() if k != "public.seal")
    side.pop("public.seal")
    chosen = mr.plan(side, prod, "s", "appdb")
    assert chosen["tables"] == ["public.customers", "public.orders"]
    assert chosen["skipped"] == {"public.extra": "not in the production database appdb"}
    with pytest.raises(LifeboatError, match="no table the production database appdb also has"):
        mr.plan({"public.extra": side["public.extra"]}, prod, "s", "appdb")


def test_generated_columns_are_left_to_the_server_and_sequences_are_found():
    assert mr.copy_columns(PROD["public.orders"]) == ["id", "customer_id"]
    assert mr.sequences(PROD["public.orders"]) == [("id", "public.orders_id_seq")]
    sql = pg.missing_rows_sql(1, "public.orders", PROD["public.orders"], check_mode=False)
    assert 'INSERT INTO public.orders ("id", "customer_id") OVERRIDING SYSTEM VALUE SELECT s."id", s."customer_id" ' \
           'FROM lifeboat_missing_1 s WHERE NOT EXISTS (SELECT 1 FROM public.orders p WHERE p."id" = s."id") ' \
           'ON CONFLICT DO NOTHING' in sql[1]
    assert "setval('public.orders_id_seq'::regclass, m)" in sql[2]
    assert len(pg.missing_rows_sql(1, "public.orders", PROD["public.orders"], check_mode=True)) == 1


def test_only_postgresql_copies_missing_rows_and_the_others_say_so():
    assert engines.names(supporting="copy_missing_rows") == ("postgresql",)
    assert engines_supporting("copy_missing_rows") == ["postgresql"]
    with pytest.raises(AnsibleFilterError, match="unknown engine capability"):
        engines_supporting("teleport")
    with pytest.raises(NotImplementedError, match="mysql: copying missing rows back .* not supported"):
        engines.get("mysql").copy_missing_rows(None, {})


def test_the_summary_says_what_was_copied_and_what_production_kept():
    tables = {"t": {"rows_in_side": 5, "rows_missing": 3, "rows_copied": 2, "rows_conflicting": 1}}
    assert mr.summary(tables, False) == ("2 of 3 missing row(s) copied back; 1 not copied because production has "
                                         "another row with the same unique value")
    assert "would be copied back (check mode" in mr.summary(tables, True)


# --- a real server ------------------------------------------------------------------------------------------

# The fidelity tests' throwaway server, by the collection's name (ansible-test units runs the built collection).
PG_BIN, PgServer, _has_user = pg_tests.PG_BIN, pg_tests.PgServer, pg_tests._has_user


SCHEMA = """
CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, email text NOT NULL UNIQUE);
CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                     customer_id int NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
                     amount numeric(10, 2) NOT NULL, note text, tags text[], doc jsonb,
                     doubled numeric GENERATED ALWAYS AS (amount * 2) STORED);
CREATE TABLE "Odd ""q"" x" (a int, b text, PRIMARY KEY (b, a));
CREATE TABLE seal (seal text);
INSERT INTO customers (name, email) SELECT 'c' || g, 'c' || g || '@example.org' FROM generate_series(1, 20) g;
INSERT INTO orders (customer_id, amount, note, tags, doc)
SELECT 1 + g % 20, g * 1.25, CASE WHEN g % 3 = 0 THEN E'tab\\there, \\\\ and ''quote''' WHEN g % 3 = 1 THEN 'Größe ✓'
       END, ARRAY['x', 'y' || g],
       jsonb_build_object('g', g) FROM generate_series(1, 100) g;
INSERT INTO "Odd ""q"" x" SELECT g, 'b' || g FROM generate_series(1, 5) g;
INSERT INTO seal VALUES ('sealed');
"""
CONTENT = ("SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM %s t")


@pytest.fixture(scope="module")
def server():
    if not PG_BIN or not shutil.which("psql") or (os.geteuid() == 0 and not _has_user("postgres")):
        pytest.skip("PostgreSQL server binaries not installed")
    base = tempfile.mkdtemp(prefix="lbpgmr-", dir="/tmp")
    os.chmod(base, 0o755)
    os.mkdir(base + "/0")
    srv = PgServer(base + "/0", 55432 + os.getpid() % 1000)
    try:
        srv.sql("CREATE ROLE app LOGIN; CREATE ROLE lifeboat LOGIN CREATEDB IN ROLE app PASSWORD 'secret-pw';"
                "GRANT pg_read_all_data TO lifeboat")
        yield srv
    finally:
        srv.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def dbs(server):
    """appdb with its side copy appdb_staging (as a restore to staging leaves it); then the mistake and writes since."""
    server.sql("DROP DATABASE IF EXISTS appdb; DROP DATABASE IF EXISTS appdb_staging; CREATE DATABASE appdb OWNER app")
    server.sql(SCHEMA, "appdb", user="app")
    server.sql("CREATE DATABASE appdb_staging TEMPLATE appdb OWNER app")
    return server


def _spec(server, **extra):
    conn = pg.Connection(host=server.dir, port=server.port, user="lifeboat", password="secret-pw")
    return dict({"engine": "postgresql", "database": "appdb", "side_database": "appdb_staging", "tables": None,
                 "connection": conn}, **extra)


def _content(server, name, database="appdb", where=""):
    return server.sql(CONTENT % ("(SELECT * FROM %s %s)" % (name, where)), database)


def test_deleted_rows_come_back_identical_and_writes_since_stay(dbs):
    originals = _content(dbs, "orders", where="WHERE id BETWEEN 10 AND 19")
    # The mistake, then writes since: new rows 101..110, an update, and a new row in another table.
    dbs.sql("DELETE FROM orders WHERE id BETWEEN 10 AND 19;"
            "INSERT INTO orders (customer_id, amount, note) SELECT 1, g, 'since' FROM generate_series(101, 110) g;"
            "UPDATE orders SET note = 'changed since' WHERE id = 50;"
            "UPDATE orders SET note = 'changed since' WHERE id = 9", "appdb", user="app")
    since = _content(dbs, "orders", where="WHERE id > 100 OR id IN (9, 50)")
    assert dbs.sql("SELECT count(*) FROM orders WHERE id BETWEEN 101 AND 110", "appdb") == "10"
    runner = Runner()
    out = engines.get("postgresql").copy_missing_rows(runner, _spec(dbs, tables=["orders", "customers"]))
    assert out["changed"] and out["rows_copied"] == 10 and out["order"] == ["public.customers", "public.orders"]
    assert out["tables"]["public.orders"] == {"rows_in_side": 100, "rows_missing": 10, "rows_copied": 10,
                                              "rows_conflicting": 0, "rows_differing": 2}
    assert out["tables"]["public.customers"]["rows_missing"] == 0
    assert _content(dbs, "orders", where="WHERE id BETWEEN 10 AND 19") == originals
    assert _content(dbs, "orders", where="WHERE id > 100 OR id IN (9, 50)") == since
    assert dbs.sql("SELECT note FROM orders WHERE id = 50", "appdb") == "changed since"
    assert dbs.sql("SELECT count(*) FROM orders", "appdb") == "110"
    assert "secret-pw" not in " ".join(runner.executed)
    # The sequence was already past the copied ids: left alone. A new insert gets the next id.
    assert out["sequences_advanced"] == {}
    assert dbs.sql("INSERT INTO orders (customer_id, amount) VALUES (1, 1) RETURNING id", "appdb", user="app") == "111"
    # A second run finds nothing missing and changes nothing.
    again = engines.get("postgresql").copy_missing_rows(Runner(), _spec(dbs, tables=["orders"]))
    assert not again["changed"] and again["tables"]["public.orders"]["rows_missing"] == 0


def test_a_cascade_is_undone_parents_first_and_sequences_move_past_the_copied_keys(dbs):
    before = dict((t, _content(dbs, t)) for t in ("customers", "orders"))
    # Deleting customers cascades to their orders; the newest ones go too, so the sequences would hand out their ids.
    dbs.sql("DELETE FROM customers WHERE id IN (3, 20); DELETE FROM orders WHERE id > 95;"
            "SELECT setval('customers_id_seq', 2); ALTER TABLE orders ALTER COLUMN id RESTART WITH 90", "appdb")
    left = int(dbs.sql("SELECT count(*) FROM orders", "appdb"))
    out = engines.get("postgresql").copy_missing_rows(Runner(), _spec(dbs, tables=["orders", "customers",
                                                                                   'Odd "q" x']))
    assert out["tables"]["public.customers"]["rows_copied"] == 2
    assert out["tables"]["public.orders"]["rows_copied"] == 100 - left == 14  # 10 by the cascade, 4 more after 95
    assert dict((t, _content(dbs, t)) for t in ("customers", "orders")) == before
    assert out["sequences_advanced"] == {"public.customers_id_seq": 20, "public.orders_id_seq": 100}
    assert dbs.sql("INSERT INTO orders (customer_id, amount) VALUES (1, 1) RETURNING id", "appdb", user="app") == "101"


def test_columns_in_another_order_are_matched_by_name(dbs):
    row = "SELECT id, name, email FROM customers WHERE id = 4"
    original = dbs.sql(row, "appdb")
    dbs.sql("ALTER TABLE customers ADD COLUMN name2 text; UPDATE customers SET name2 = name;"
            "ALTER TABLE customers DROP COLUMN name; ALTER TABLE customers RENAME name2 TO name;"
            "ALTER TABLE customers ALTER name SET NOT NULL; DELETE FROM customers WHERE id = 4", "appdb")
    out = engines.get("postgresql").copy_missing_rows(Runner(), _spec(dbs, tables=["customers"]))
    assert out["tables"]["public.customers"]["rows_copied"] == 1
    assert out["tables"]["public.customers"]["rows_differing"] == 0
    assert dbs.sql(row, "appdb") == original


def test_check_mode_counts_and_changes_nothing(dbs):
    dbs.sql("DELETE FROM orders WHERE id BETWEEN 10 AND 19", "appdb")
    before = _content(dbs, "orders")
    out = engines.get("postgresql").copy_missing_rows(Runner(), _spec(dbs, tables=["orders"]), check_mode=True)
    assert out["changed"] and out["rows_copied"] == 0
    assert out["tables"]["public.orders"]["rows_missing"] == 10 and "check mode" in out["summary"]
    assert _content(dbs, "orders") == before
    assert dbs.sql("SELECT count(*) FROM pg_class WHERE relname LIKE 'lifeboat_missing%'", "appdb") == "0"


def test_a_row_another_unique_key_holds_stays_productions(dbs):
    dbs.sql("DELETE FROM customers WHERE id = 5; INSERT INTO customers (id, name, email) "
            "VALUES (500, 'new', 'c5@example.org')", "appdb")
    out = engines.get("postgresql").copy_missing_rows(Runner(), _spec(dbs, tables=["customers"]))
    assert out["tables"]["public.customers"]["rows_missing"] == 1
    assert out["tables"]["public.customers"]["rows_copied"] == 0
    assert out["tables"]["public.customers"]["rows_conflicting"] == 1 and "1 not copied" in out["summary"]
    assert dbs.sql("SELECT name FROM customers WHERE email = 'c5@example.org'", "appdb") == "new"


@pytest.mark.parametrize("change, spec, message", [
    ("", dict(tables=["seal"]), "table public.seal has no primary key in appdb"),
    ("", dict(tables=None), "table public.seal has no primary key in appdb"),
    ('DROP TABLE "Odd ""q"" x"', dict(tables=["orders", 'Odd "q" x']),
     'table public.Odd "q" x is missing in the production database appdb'),
    ("ALTER TABLE customers ADD COLUMN vip boolean", dict(tables=["customers"]),
     r"table public.customers: the columns differ \(only in appdb: vip \(boolean\)\)"),
    ("", dict(side_database="appdb", tables=["orders"]), "side database appdb is the production database"),
])
def test_refusals_leave_production_untouched(dbs, change, spec, message):
    dbs.sql("DELETE FROM orders WHERE id BETWEEN 10 AND 19; DELETE FROM customers WHERE id = 7", "appdb")
    if change:
        dbs.sql(change, "appdb")
    before = [_content(dbs, t) for t in ("orders", "customers")]
    with pytest.raises(LifeboatError, match=message):
        engines.get("postgresql").copy_missing_rows(Runner(), _spec(dbs, **spec))
    assert [_content(dbs, t) for t in ("orders", "customers")] == before


def test_a_failure_inside_the_transaction_copies_nothing(dbs):
    dbs.sql("DELETE FROM orders WHERE id BETWEEN 10 AND 19; DELETE FROM customers WHERE id = 7;"
            "ALTER TABLE orders ADD CONSTRAINT small CHECK (amount < 5) NOT VALID", "appdb")
    before = [_content(dbs, t) for t in ("orders", "customers")]
    with pytest.raises(LifeboatError, match="rolled back and nothing was copied: .*small"):
        engines.get("postgresql").copy_missing_rows(Runner(), _spec(dbs, tables=["customers", "orders"]))
    assert [_content(dbs, t) for t in ("orders", "customers")] == before
