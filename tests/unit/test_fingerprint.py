import sqlite3

from ansible_collections.lifeboat.dr.plugins.module_utils import fingerprint


def _db(path, rows):
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (id INTEGER, v TEXT)")
    conn.executemany("INSERT INTO t VALUES (?, ?)", rows)
    conn.commit()
    conn.close()
    return fingerprint.of_service(None, {"engine": "sqlite", "path": path})


def test_same_rows_in_any_order_match_and_one_change_does_not(tmp_path):
    rows = [(i, "value %d" % i) for i in range(200)]
    a = _db(str(tmp_path / "a.db"), rows)
    b = _db(str(tmp_path / "b.db"), list(reversed(rows)))
    changed = list(rows)
    changed[17] = (17, "value 17!")
    c = _db(str(tmp_path / "c.db"), changed)
    assert a == b and fingerprint.combine(a) == fingerprint.combine(b)
    assert a["t"]["rows"] == c["t"]["rows"] == 200
    assert a["t"]["hash"] != c["t"]["hash"]
    assert fingerprint.combine(a) != fingerprint.combine(c)
