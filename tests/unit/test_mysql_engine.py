"""MariaDB engine: counting rows in the dump stream, the option file, restore checks (no server needed)."""
import os
import stat

from hypothesis import given, settings, strategies as st

from ansible_collections.lifeboat.dr.plugins.module_utils.engines import mysql
from ansible_collections.lifeboat.dr.plugins.module_utils.process import Runner

SAMPLE = os.path.join(os.path.dirname(__file__), "data", "mariadb_dump_sample.sql")


def count(data, sizes=None):
    counter = mysql.DumpCounter()
    if sizes is None:
        counter.feed(data)
    else:
        offset = 0
        for size in sizes:
            counter.feed(data[offset:offset + size])
            offset += size
        counter.feed(data[offset:])
    return counter.finish()


def sample():
    with open(SAMPLE, "rb") as handle:
        return handle.read()


def test_real_mariadb_dump_is_counted_per_table_and_object():
    # The sample is mariadb-dump 10.11 output: quotes, brackets, "),(" and newlines inside strings.
    counter = count(sample())
    assert counter.tables == {"audit": 2, "customers": 2, "empty_t": 0, "orders": 2}
    assert counter.objects == {"views": 1, "triggers": 1, "routines": 2, "events": 1}
    assert counter.completed


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=400), max_size=40))
def test_chunk_boundaries_do_not_change_the_counts(sizes):
    data = sample()
    assert count(data, sizes).tables == count(data).tables


def test_a_truncated_dump_is_not_complete():
    data = sample()
    assert not count(data[: data.index(b"-- Dump completed")]).completed


def escape(text):
    # What mariadb-dump does to string values.
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\0", "\\0") + "'"


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.one_of(st.none(), st.integers(), st.text(alphabet="ab'\"\\()\n,;0x"),
                                   st.binary(max_size=8)), min_size=1, max_size=4), max_size=30),
       st.booleans())
def test_rows_with_awkward_values_are_counted_exactly(rows, one_line):
    def value(item):
        if item is None:
            return "NULL"
        if isinstance(item, int):
            return str(item)
        if isinstance(item, bytes):
            return "0x" + item.hex().upper() if item else "''"
        return escape(item)

    tuples = ["(" + ",".join(value(item) for item in row) + ")" for row in rows]
    lines = ["CREATE TABLE `we``ird` (", "  `id` int", ");"]
    if tuples:
        if one_line:
            lines.append("INSERT INTO `we``ird` VALUES " + ",".join(tuples) + ";")
        else:
            lines += ["INSERT INTO `we``ird` VALUES"] + [t + "," for t in tuples[:-1]] + [tuples[-1] + ";"]
    lines.append("-- Dump completed on 2026-11-23  2:27:06")
    counter = count(("\n".join(lines) + "\n").encode("utf-8"))
    assert counter.tables == {"we`ird": len(rows)}


def test_option_file_is_private_and_removed_and_password_never_in_argv():
    conn = {"user": "lifeboat", "password": 'pa"ss\\word #1', "host": "db1", "port": 3306}
    runner = Runner()
    with mysql.Client(conn) as client:
        mode = stat.S_IMODE(os.stat(client.path).st_mode)
        with open(client.path) as handle:
            text = handle.read()
        argv = client.argv(runner, "cat")
        assert argv[1] == "--defaults-extra-file=" + client.path
        assert runner.run(argv[:1] + [client.path]).decode() == text
        path = client.path
    assert mode == 0o600
    assert 'password="pa\\"ss\\\\word #1"' in text and "host=\"db1\"" in text
    assert not os.path.exists(path)
    assert "pa\"ss" not in " ".join(argv)


def test_object_differences_are_named():
    assert mysql.compare_objects({"views": 1, "triggers": 2}, {"views": 1, "triggers": 1, "events": 3}) == [
        "triggers: 1, metadata says 2"]


def test_scratch_name_fits_mariadb_identifiers():
    assert len(mysql.scratch_name("x" * 64)) == 64
    assert mysql.scratch_name("shop") == "shop__lifeboat_restore"
