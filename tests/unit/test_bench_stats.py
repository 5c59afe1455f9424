"""bench/stats.py: the figures the benchmark reports."""
import os
import sys

import pytest
from hypothesis import given, strategies as st

BENCH = os.path.join(os.path.dirname(__file__), "..", "..", "bench")
if not os.path.isdir(BENCH):
    # ansible-test runs the unit tests on the built collection, which does not ship bench/;
    # `make unit` runs this test in the working copy.
    pytest.skip("bench/ is not part of the built collection", allow_module_level=True)
sys.path.insert(0, BENCH)
import stats  # noqa: E402


def runs(*walls, **other):
    return [dict({"wall_s": wall}, **{key: values[i] for key, values in other.items()}) for i, wall in enumerate(walls)]


def test_summary_gives_median_range_and_relative_spread():
    out = stats.summary(runs(10.0, 12.0, 11.0, output_mb=[5.0, 5.0, 5.0]))
    assert out["runs"] == 3
    assert out["wall_s"] == {"median": 11.0, "min": 10.0, "max": 12.0, "spread": round(2 / 11, 3)}
    assert out["output_mb"]["spread"] == 0.0
    assert "cpu_s" not in out  # not measured, not invented


def test_ratio_pairs_repeat_i_with_repeat_i():
    # contender twice as fast in every repeat even though the runs drift: the pairing shows exactly 0.5
    assert stats.paired_ratio(runs(5, 10, 20), runs(10, 20, 40)) == 0.5
    assert stats.paired_ratio(runs(5), runs(None)) is None


@given(st.lists(st.floats(min_value=0.01, max_value=1e4), min_size=1, max_size=9),
       st.floats(min_value=0.01, max_value=100))
def test_a_contender_k_times_the_baseline_has_ratio_k(base, k):
    contender = [value * k for value in base]
    assert abs(stats.paired_ratio(runs(*contender), runs(*base)) - k) <= 0.001 + k * 1e-9


def _results(**walls):
    return {name.replace("__", "/").replace("_", "-"): {"runs": runs(*values)} for name, values in walls.items()}


def test_targets_are_judged_on_the_measured_ratios():
    results = _results(backup__reference=[100, 100, 100], backup__lifeboat_module=[40, 50, 60],
                       backup__pgbackrest=[30, 30, 30], restore__reference=[100, 100, 100],
                       restore__lifeboat_module=[70, 70, 70])
    for entry in results.values():
        for run in entry["runs"]:
            run["output_mb"] = 10.0
    scaling = [{"hosts": 1, "wall_s": {"median": 4.0}}, {"hosts": 10, "wall_s": {"median": 9.0}}]
    table = {row["target"]: row for row in stats.targets(results, scaling, 2.5)}
    assert table["backup time vs reference (pg_dump | gzip -9)"]["met"] is True
    assert table["backup time vs reference (pg_dump | gzip -9)"]["value"] == 0.5
    assert table["restore time vs reference (gunzip | psql)"]["met"] is False
    assert table["backup time vs pgBackRest"]["met"] is False
    assert table["restore time vs pgBackRest"]["met"] is None  # pgBackRest restore not measured
    assert table["Ansible fixed overhead per run (s)"]["met"] is True
    assert table["backup.yml on 10 hosts vs 1 host"]["value"] == 2.25
    assert table["backup.yml on 10 hosts vs 1 host"]["met"] is False


def test_markdown_shows_every_contender_and_marks_missed_targets():
    results = _results(backup__reference=[100, 110], backup__lifeboat_module=[40, 44])
    for name, entry in results.items():
        entry["label"] = name
        entry["summary"] = stats.summary(entry["runs"])
    results["backup/lifeboat-module"]["vs_reference"] = 0.4
    report = {"date": "2026-11-23", "results": results, "scaling": [],
              "machine": {"cpu": "Test CPU", "cores": 2, "memory_gib": 24, "kernel": "6.1"},
              "dataset": {"size_mb": 1024.0, "rows": 5000000, "tables": ["a", "b"], "server_version": "15.8"},
              "settings": {"repeat": 2},
              "targets": [{"target": "x", "value": 0.7, "goal": "<= 0.5", "met": False}]}
    text = stats.markdown(report)
    assert "Test CPU (2 cores, 24 GiB RAM" in text and "5,000,000 rows" in text
    assert "| backup/lifeboat-module | 42.0 (±5%) |" in text and "| 0.40x |" in text
    assert "| x | 0.7 | <= 0.5 | **no** |" in text


def test_failover_table_shows_medians_and_leaves_unmeasured_cells_empty():
    import failover
    runs_ = [{"writable_s": w, "fenced_s": None, "command_s": 0.1, "rejoined_s": 4.0} for w in (10.0, 30.0, 12.0)]
    result = {"date": "2026-12-04 21:00 UTC", "machine": "test", "repeat": 3,
              "contenders": {"patroni-auto-default": {"trigger": "primary killed", "runs": runs_,
                                                      "summary": stats.summary(runs_, failover.FIELDS)}}}
    table = failover.markdown(result)
    row = next(line for line in table.splitlines() if line.startswith("| patroni-auto-default"))
    # writable: median 12 of 10, 30, 12; fenced was not measured (the primary was killed): "-", not 0
    assert row == "| patroni-auto-default | primary killed | 12.0 (10.0-30.0) | - | 0.1 (0.1-0.1) | 4.0 (4.0-4.0) |"
    assert "lifeboat-postgresql" not in table  # not run, not shown
