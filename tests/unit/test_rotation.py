"""GFS rotation: properties over random calendars, and the safety rules."""
import datetime
import os

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.lifeboat.dr.plugins.module_utils import backup_files as bf
from ansible_collections.lifeboat.dr.plugins.module_utils import rotation

UTC = datetime.timezone.utc
START = datetime.datetime(2024, 1, 1, tzinfo=UTC)


def entry(kind, when, seq=0, verified=True):
    backup_id = bf.backup_id_for(kind, when, seq)
    return {"backup_id": backup_id, "type": kind, "timestamp": when, "seq": seq,
            "path": "/r/svc/%s/%s.dump.zst" % (kind, backup_id), "metadata": {"verified": verified}}


calendars = st.lists(
    st.tuples(st.integers(min_value=0, max_value=800 * 24), st.sampled_from(bf.BACKUP_TYPES), st.booleans()),
    min_size=0, max_size=60, unique_by=lambda t: (t[0], t[1]))
policies = st.fixed_dictionaries({k: st.integers(min_value=0, max_value=6) for k in rotation.DEFAULT_POLICY})


def build(calendar):
    return [entry(kind, START + datetime.timedelta(hours=h), verified=v) for h, kind, v in calendar]


def oracle_keep(backups, policy):
    """The policy, stated independently: count newer distinct periods per class."""
    keep = set()
    for b in backups:
        same = [o for o in backups if o["type"] == b["type"]]
        newer_periods = {rotation.period(b["type"], o["timestamp"]) for o in same
                         if rotation.period(b["type"], o["timestamp"]) > rotation.period(b["type"], b["timestamp"])}
        if len(newer_periods) < policy[b["type"]]:
            keep.add(b["path"])
    for kind in bf.BACKUP_TYPES:
        verified = [o for o in backups if o["type"] == kind and o["metadata"]["verified"]]
        if verified:
            keep.add(max(verified, key=lambda o: o["timestamp"])["path"])
    if backups:  # ties at the same second are broken by sequence, then id
        keep.add(max(backups, key=lambda o: (o["timestamp"], o["seq"], o["backup_id"]))["path"])
    return keep


@settings(max_examples=300, deadline=None)
@given(calendars, policies)
def test_kept_set_is_exactly_the_policy(calendar, policy):
    backups = build(calendar)
    kept, deleted = rotation.plan(backups, policy)
    kept_paths = {k["path"] for k in kept}
    assert kept_paths == oracle_keep(backups, policy)
    assert kept_paths.isdisjoint(d["path"] for d in deleted)
    assert kept_paths | {d["path"] for d in deleted} == {b["path"] for b in backups}


@settings(max_examples=200, deadline=None)
@given(calendars, policies, st.randoms())
def test_plan_is_deterministic_and_order_free(calendar, policy, rnd):
    backups = build(calendar)
    shuffled = list(backups)
    rnd.shuffle(shuffled)
    assert rotation.plan(backups, policy) == rotation.plan(shuffled, policy)


@settings(max_examples=200, deadline=None)
@given(calendars, policies)
def test_newest_backup_and_newest_verified_per_class_survive(calendar, policy):
    backups = build(calendar)
    if not backups:
        return
    kept = {k["path"] for k in rotation.plan(backups, policy)[0]}
    assert max(backups, key=lambda b: (b["timestamp"], b["seq"], b["backup_id"]))["path"] in kept
    for kind in bf.BACKUP_TYPES:
        verified = [b for b in backups if b["type"] == kind and b["metadata"]["verified"]]
        if verified:
            assert max(verified, key=lambda b: b["timestamp"])["path"] in kept


def test_reference_policy_on_a_year_of_nightly_runs():
    backups = []
    day = datetime.datetime(2025, 1, 1, 2, 0, tzinfo=UTC)
    while day.year == 2025:
        backups.append(entry(bf.auto_backup_type(day), day))
        day += datetime.timedelta(days=1)
    kept = rotation.plan(backups, {"daily": 7, "weekly": 4, "monthly": 12})[0]
    by_type = {}
    for k in kept:
        by_type.setdefault(k["path"].split("/")[3], []).append(k)
    assert {t: len(v) for t, v in by_type.items()} == {"daily": 7, "weekly": 4, "monthly": 12}


def test_several_runs_a_day_are_kept_within_kept_days():
    runs = [entry("daily", datetime.datetime(2025, 3, d, h, tzinfo=UTC)) for d in (3, 4, 5) for h in (0, 6, 12, 18)]
    kept, deleted = rotation.plan(runs, {"daily": 2})
    assert len(kept) == 8 and all("2025030" in k["path"] and ("_20250304" in k["path"] or "_20250305" in k["path"])
                                  for k in kept)
    assert len(deleted) == 4


@pytest.mark.parametrize("bad", [{"hourly": 3}, {"daily": -1}, {"weekly": "4"}, {"monthly": True}])
def test_bad_policies_are_refused(bad):
    with pytest.raises(bf.LifeboatError):
        rotation.check_policy(bad)


def _write(root, kind, when, verified=True, meta=True):
    directory = os.path.join(root, "svc", kind)
    os.makedirs(directory, exist_ok=True)
    backup_id = bf.backup_id_for(kind, when)
    path = os.path.join(directory, backup_id + ".dump.zst")
    with open(path, "wb") as handle:
        handle.write(b"x")
    if meta:
        bf.write_json_atomic(bf.metadata_path_for(path), {"backup_id": backup_id, "engine": "postgresql",
                                                          "files": [os.path.basename(path)], "size_bytes": 1,
                                                          "checksum": bf.sha256_file(path), "verified": verified})
    return path


def test_rotate_deletes_files_keeps_incomplete_and_check_mode_deletes_nothing(tmp_path):
    root = str(tmp_path)
    days = [_write(root, "daily", datetime.datetime(2025, 3, d, 2, tzinfo=UTC)) for d in range(3, 13)]
    orphan = _write(root, "daily", datetime.datetime(2025, 3, 1, 2, tzinfo=UTC), meta=False)
    partial = os.path.join(root, "svc", "daily", ".partial-backup_daily_20250313_020000.dump.zst.abc")
    open(partial, "w").close()
    preview = rotation.rotate(root, "svc", {"daily": 3}, check_mode=True)
    assert len(preview["deleted"]) == 7 and all(os.path.exists(p) for p in days)
    result = rotation.rotate(root, "svc", {"daily": 3})
    assert sorted(k["path"] for k in result["kept"]) == sorted(days[-3:])
    assert all(not os.path.exists(p) and not os.path.exists(bf.metadata_path_for(p)) for p in days[:7])
    assert os.path.exists(orphan) and os.path.exists(partial)
    assert [s["path"] for s in result["incomplete"]] == [orphan]
    again = rotation.rotate(root, "svc", {"daily": 3})
    assert again["deleted"] == [] and again["changed"] is False
