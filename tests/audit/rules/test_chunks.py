"""The audit in chunks of whole departments (audit.rules.chunks) finds exactly what the audit of every row at once
finds: same rows, same order, same evidence; on the demo county and on a generated registry of several departments,
on both databases, with chunks from one department to all."""
from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time

import numpy as np
import pandas as pd
import pytest

from audit.registry import store
from audit.registry.db import session_factory
from audit.registry.daily import DailyRows, load_daily_rows
from audit.rules.chunks import TotalsByDevice, department_chunks, rows_in_turn
from audit.rules.engine import audit_findings, devices_frame, load_inputs, run_in_chunks, run_rules
from audit.rules.profiles import load_profile

AS_OF = dt.date(2025, 4, 30)
DEPARTMENTS = {"甲县公安局交通管理大队": 70, "乙县公安局交通管理大队": 45, "丙县交通运输局": 25, "丁县城市管理局": 12,
               "戊县公安局交通管理大队": 9}
SILENT = "戊县公安局交通管理大队"  # registered devices, no counts at all


def at_once(session, as_of, department=None, rules=None):
    devices, ctx = load_inputs(session, as_of=as_of, profile=load_profile("national"), department=department)
    return run_rules(devices, ctx, rules=rules)


def in_chunks(session, as_of, chunk_devices, department=None, rules=None):
    devices, ctx = load_inputs(session, as_of=as_of, profile=load_profile("national"), department=department,
                               daily_rows=False)
    assert len(ctx.violations) == 0
    return audit_findings(session, devices, ctx, rules=rules, chunk_devices=chunk_devices)


def import_devices(session, tmp_path, frame):
    for name in frame["所属单位"].unique():
        store.get_department(session, name, create=True)
    frame.to_csv(tmp_path / "d.csv", index=False)
    result = store.import_file(session, tmp_path / "d.csv", "devices", department=frame["所属单位"].iloc[0],
                               department_from_column=True)
    assert result.applied, result.report.format_text(5)


def import_counts(session, tmp_path, frame):
    frame.to_csv(tmp_path / "v.csv", index=False)
    result = store.import_file(session, tmp_path / "v.csv", "violations")
    assert result.applied, result.report.format_text(5)


def generated(session, tmp_path, departments=DEPARTMENTS, silent=(SILENT,), days=120, seed=5, retired=False):
    """Departments of several sizes: devices retired (停用, 拆除), planned (拟建) or started late with counts out
    of service, lapsed verifications, monthly reporters, spikes, outages, unknown fines; `silent` ones send none."""
    rng = np.random.default_rng(seed)
    names = np.repeat(list(departments), list(departments.values()))
    n = len(names)
    codes = np.array([f"CK-{i:04d}" for i in range(n)], dtype=object)
    rng.shuffle(names)  # the departments' device ids interleave, as a bureau-wide file gives them
    status = rng.choice(["停用", "拆除"] if retired else ["在用"] * 8 + ["停用", "拆除", "拟建"], n)
    start = np.where(rng.random(n) < 0.1, "2025-02-15", "2023-07-01")  # some start within the data: SRV01
    import_devices(session, tmp_path, pd.DataFrame({
        "设备编号": codes, "设备类型": rng.choice(["固定测速", "闯红灯", "违法停车"], n), "所属单位": names,
        "经度": np.round(117.3 + rng.random(n) * 0.05, 6), "纬度": np.round(26.6 + rng.random(n) * 0.05, 6),
        "启用日期": start, "状态": status, "法制审核日期": np.where(rng.random(n) < 0.8, "2023-06-01", ""),
        "最近检定日期": "2024-03-01", "检定有效期至": np.where(rng.random(n) < 0.8, "2025-02-28", "2025-12-31"),
        "检定结果": "合格"}))
    sending = ~np.isin(names, list(silent))
    monthly = sending & (rng.random(n) < 0.1)
    daily = sending & ~monthly & (rng.random(n) < 0.95)  # a few send nothing within departments that send
    dates = pd.date_range("2025-01-01", periods=days).strftime("%Y-%m-%d")
    level = rng.gamma(2, 5, n)[daily]
    level[:3] *= 12  # far above their peers: VIO01
    counts = rng.poisson(np.repeat(level, days))
    counts[rng.random(len(counts)) < 0.01] *= 20  # spikes
    rows = pd.DataFrame({"设备编号": np.repeat(codes[daily], days), "日期": np.tile(dates, daily.sum()),
                         "违法数量": counts,
                         "罚款金额": np.where(rng.random(len(counts)) < 0.2, np.nan, counts * 200.0)})
    rows = rows[rng.random(len(rows)) > 0.05]  # outages
    months = pd.DataFrame({"设备编号": np.repeat(codes[monthly], 3), "日期": np.tile(["2025-01", "2025-02", "2025-03"],
                                                                                  monthly.sum()),
                           "违法数量": rng.integers(100, 900, 3 * monthly.sum())})
    if len(rows) or len(months):
        import_counts(session, tmp_path, pd.concat([rows, months]))
    session.commit()


def test_a_generated_registry_in_chunks_finds_what_the_audit_at_once_finds(db_engine, tmp_path):
    with session_factory(db_engine)() as session:
        generated(session, tmp_path)
        whole = at_once(session, AS_OF)
        rules = set(whole["rule"])
        assert {"VIO01", "VIO03", "VIO02", "VIO05", "SRV01", "CAL04", "PLC01", "PLC04", "REV01"} <= rules, rules
        silent = whole[whole["department"] == SILENT]
        assert not silent.empty and (silent["evidence"].map(lambda e: bool(e.get("cannot_assess")))
                                     | ~silent["rule"].str.startswith("VIO")).all()
        assert len(department_chunks(load_inputs(session, as_of=AS_OF, profile=load_profile("national"),
                                                 daily_rows=False)[0], 50)) == 4
        for chunk in (1, 30, 50, 10_000):  # one department a chunk … every device in one
            pd.testing.assert_frame_equal(in_chunks(session, AS_OF, chunk), whole)
        one = next(iter(DEPARTMENTS))
        pd.testing.assert_frame_equal(in_chunks(session, AS_OF, 1, department=one), at_once(session, AS_OF, one))
        pd.testing.assert_frame_equal(in_chunks(session, AS_OF, 1, department=SILENT),
                                      at_once(session, AS_OF, SILENT))
        # the last day of the data, and rules given by code (the recheck of suspended devices runs some rules)
        first = dt.date(2025, 1, 1)
        pd.testing.assert_frame_equal(in_chunks(session, first, 20), at_once(session, first))
        chosen = ["VIO01", "PLC01", "CAL04"]
        pd.testing.assert_frame_equal(in_chunks(session, AS_OF, 20, rules=chosen),
                                      at_once(session, AS_OF, rules=chosen))


@pytest.mark.parametrize("shape", ["one device", "one department", "no counts", "all retired"])
def test_shapes_in_chunks_of_one_device(db_engine, tmp_path, shape):
    with session_factory(db_engine)() as session:
        if shape == "one device":
            generated(session, tmp_path, departments={"甲县公安局交通管理大队": 1}, silent=())
        elif shape == "one department":
            generated(session, tmp_path, departments={"甲县公安局交通管理大队": 40}, silent=())
        elif shape == "no counts":
            generated(session, tmp_path, silent=tuple(DEPARTMENTS))
        else:
            generated(session, tmp_path, departments={"甲县公安局交通管理大队": 20, "乙县交通运输局": 10}, silent=(),
                      retired=True)
        whole = at_once(session, AS_OF)
        assert len(whole)
        if shape == "no counts":
            vio = whole[whole["rule"] == "VIO01"]
            assert sorted(vio["department"]) == sorted(DEPARTMENTS) and vio["device_code"].isna().all()
        pd.testing.assert_frame_equal(in_chunks(session, AS_OF, 1), whole)


def test_departments_are_packed_whole_and_in_order():
    frame = devices_frame([{"device_code": f"D{i}", "department": d} for i, d in enumerate("BABCCCAB")])
    chunks = department_chunks(frame, 5)
    assert [frame["department"].iloc[c].tolist() for c in chunks] == [["B", "A", "B", "A", "B"], ["C", "C", "C"]]
    assert [c.tolist() for c in department_chunks(frame, 1)] == [[1, 6], [0, 2, 7], [3, 4, 5]]
    assert department_chunks(devices_frame([]), 5) == []


def test_the_demo_in_chunks_finds_what_the_audit_at_once_finds(db_engine):
    from audit.cli.demo import load_demo

    pytest.importorskip("folium")
    load_demo(db_engine.url.render_as_string(hide_password=False), echo=lambda *_: None)
    as_of = dt.date(2025, 6, 30)
    with session_factory(db_engine)() as session:
        whole = at_once(session, as_of)
        assert len(whole) > 100 and whole["department"].nunique() >= 4
        for chunk in (1, 150):
            pd.testing.assert_frame_equal(in_chunks(session, as_of, chunk), whole)


@pytest.mark.parametrize("within_department", [True, False])
def test_a_recheck_of_some_departments_finds_what_a_pass_over_every_chunk_finds(db_engine, tmp_path,
                                                                               within_department):
    """The recheck of suspended devices (audit.casework.problems.recheck_suspended) runs the rules about one
    department only on the departments holding a suspended device and gives the peer rules the totals of the audit's own
    pass for the others: the suspended devices' findings are those of a pass over every chunk and every row, with
    peers of their department or (within_department False) of every department."""
    profile = load_profile("national")
    setting = profile.values["peer_within_department"]
    profile = dataclasses.replace(profile, values=profile.values | {
        "peer_within_department": dataclasses.replace(setting, value=within_department)})
    with session_factory(db_engine)() as session:
        generated(session, tmp_path)
        devices, ctx = load_inputs(session, as_of=AS_OF, profile=profile, daily_rows=False)
        read: list[int] = []

        def rows_of(ids):
            read.append(len(ids))
            return load_daily_rows(session, device_ids=ids)

        kept = TotalsByDevice()
        run_in_chunks(devices, ctx, rows_of, chunk_devices=50, kept=kept)
        assert len(read) == 4 and kept.frame is not None and len(kept.frame) == len(devices)
        # The suspended devices of two of the five departments; their devices in use too, for the peer rule VIO01.
        two = ["乙县公安局交通管理大队", "丁县城市管理局"]
        chosen = devices["department"].isin(two) & (devices["status"] == "停用")
        in_use = devices.loc[devices["department"].isin(two) & (devices["status"] == "在用"), "device_code"]
        assert chosen.sum() >= 3
        rechecked = devices.copy()
        rechecked.loc[chosen, "status"] = "在用"
        codes = set(rechecked.loc[chosen, "device_code"]) | set(in_use)
        focus = rechecked.loc[rechecked["device_code"].isin(codes), "id"]
        assert len(department_chunks(rechecked.loc[rechecked["department"].isin(two)], 50)) == 2
        before = run_in_chunks(rechecked, ctx, lambda ids: load_daily_rows(session, device_ids=ids), chunk_devices=50)
        before = before[before["device_code"].isin(codes)].reset_index(drop=True)
        assert {"VIO01", "CAL04", "VIO03"} <= set(before["rule"]), set(before["rule"])
        read.clear()
        after = run_in_chunks(rechecked, ctx, rows_of, chunk_devices=50, focus=focus, kept=kept)
        after = after[after["device_code"].isin(codes)].reset_index(drop=True)
        pd.testing.assert_frame_equal(after, before)
        # Only the rows of the two departments are read, in chunks of their own (not those they share with others).
        holding = department_chunks(rechecked.loc[rechecked["department"].isin(two)], 50)
        assert sorted(read) == sorted(len(c) for c in holding)
        assert sum(read) < sum(len(c) for c in department_chunks(rechecked, 50)
                               if rechecked["id"].iloc[c].isin(focus).any())
        # Without the audit's totals, the recheck reads every device's rows for the peer rules: the same findings.
        read.clear()
        alone = run_in_chunks(rechecked, ctx, rows_of, chunk_devices=50, focus=focus)
        pd.testing.assert_frame_equal(alone[alone["device_code"].isin(codes)].reset_index(drop=True), before)
        assert sum(read) == len(rechecked)


def test_the_next_chunk_is_read_while_the_rules_run_and_an_early_stop_waits_for_the_read():
    """rows_in_turn: the rows in the order asked for; with ahead, the next read starts when a chunk is handed over
    (without, only when asked for); closed early, it returns only once the read under way has ended."""
    events: list[tuple[str, int]] = []
    second_started = threading.Event()

    def rows_of(ids):
        events.append(("start", int(ids[0])))
        if ids[0] == 1:
            second_started.set()
            time.sleep(0.3)
        events.append(("end", int(ids[0])))
        return DailyRows(**{name: np.asarray(ids) for name in ("device_id", "day", "monthly", "count", "fine")})

    reads = [np.array([i]) for i in range(4)]
    assert [int(r.device_id[0]) for r in rows_in_turn(rows_of, reads, ahead=True)] == [0, 1, 2, 3]
    events.clear()
    rows = rows_in_turn(rows_of, reads, ahead=True)
    assert int(next(rows).device_id[0]) == 0
    assert second_started.wait(5)  # read while the caller holds chunk 0
    rows.close()
    assert events == [("start", 0), ("end", 0), ("start", 1), ("end", 1)]
    events.clear()
    rows = rows_in_turn(rows_of, reads)
    next(rows)
    assert events == [("start", 0), ("end", 0)]
    rows.close()


def test_an_error_while_the_next_chunk_is_read_leaves_the_session_usable(db_engine, tmp_path):
    """The audit stops in the second chunk (on PostgreSQL with the third chunk's rows being read on the second
    thread): the error reaches the caller, the transaction rolls back, and the connection serves the next audit."""
    with session_factory(db_engine)() as session:
        generated(session, tmp_path)
        devices, ctx = load_inputs(session, as_of=AS_OF, profile=load_profile("national"), daily_rows=False)
        calls = []

        def progress(code, step, steps):
            calls.append(code)
            if step == steps // 4 + 1:
                raise RuntimeError("stopped")

        with pytest.raises(RuntimeError, match="stopped"):
            audit_findings(session, devices, ctx, chunk_devices=30, progress=progress)
        session.rollback()
        assert len(calls) > 1
        devices, ctx = load_inputs(session, as_of=AS_OF, profile=load_profile("national"), daily_rows=False)
        pd.testing.assert_frame_equal(audit_findings(session, devices, ctx, chunk_devices=30), at_once(session, AS_OF))
