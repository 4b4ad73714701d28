"""The audit reads the daily counts as typed columns (audit.registry.daily) and finds exactly what it finds on the
frame of the same rows: on the demo county and on a generated registry, on both databases."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from audit.registry import daily, store
from audit.registry.daily import load_daily_rows
from audit.registry.db import session_factory
from audit.rules.engine import load_inputs, run_rules
from audit.rules.profiles import load_profile

DEPT = "基准测试大队"


def both_ways(session, as_of, department=None):
    devices, ctx = load_inputs(session, as_of=as_of, profile=load_profile("national"), department=department)
    typed = run_rules(devices, ctx)
    codes = None if department is None else devices["device_code"].tolist()
    ctx.violations = store.load_violations_frame(session, codes)
    ctx.__post_init__()
    framed = run_rules(devices, ctx)
    return typed, framed


def generated(session, tmp_path):
    rng = np.random.default_rng(3)
    n, days = 300, 120
    codes = [f"GN-{i:04d}" for i in range(n)]
    pd.DataFrame({"设备编号": codes, "设备类型": rng.choice(["固定测速", "闯红灯", "违法停车"], n),
                  "经度": np.round(117.3 + rng.random(n) * 0.3, 6), "纬度": np.round(26.6 + rng.random(n) * 0.3, 6),
                  "启用日期": "2023-07-01", "状态": rng.choice(["在用", "在用", "停用"], n),
                  "法制审核日期": np.where(rng.random(n) < 0.8, "2023-06-01", ""),
                  "最近检定日期": "2024-06-01", "检定有效期至": "2025-05-31", "检定结果": "合格"}
                 ).to_csv(tmp_path / "d.csv", index=False)
    assert store.import_file(session, tmp_path / "d.csv", "devices", department=DEPT).applied
    dates = pd.date_range("2025-01-01", periods=days).strftime("%Y-%m-%d")
    level = rng.gamma(2, 5, n)
    counts = rng.poisson(np.repeat(level, days))
    counts[rng.random(len(counts)) < 0.01] *= 20  # spikes
    rows = pd.DataFrame({"设备编号": np.repeat(codes, days), "日期": np.tile(dates, n), "违法数量": counts,
                         "罚款金额": np.where(rng.random(len(counts)) < 0.2, np.nan, counts * 200.0)})
    rows = rows[rng.random(len(rows)) > 0.05]  # outages
    months = pd.DataFrame({"设备编号": codes[:20], "日期": "2024-12", "违法数量": rng.integers(100, 900, 20)})
    pd.concat([rows, months]).to_csv(tmp_path / "v.csv", index=False)
    assert store.import_file(session, tmp_path / "v.csv", "violations").applied
    session.commit()


def test_the_audit_of_typed_rows_finds_what_the_frame_finds(db_engine, tmp_path):
    with session_factory(db_engine)() as session:
        generated(session, tmp_path)
        rows = load_daily_rows(session)
        assert len(rows) == len(store.load_violations_frame(session)) and rows.count.dtype == np.int64
        typed, framed = both_ways(session, dt.date(2025, 4, 30))
        assert len(typed) > 50 and {"VIO01", "VIO04"} & set(typed["rule"])
        pd.testing.assert_frame_equal(typed, framed)
        typed, framed = both_ways(session, dt.date(2025, 4, 30), department=DEPT)
        pd.testing.assert_frame_equal(typed, framed)


def test_the_rows_read_in_small_batches_are_the_rows_read_at_once(db_engine, tmp_path, monkeypatch):
    """Batches that end inside a COPY row, many ranges of device ids, with and without a department's join."""
    with session_factory(db_engine)() as session:
        generated(session, tmp_path)
        for department in (None, DEPT):
            whole = load_daily_rows(session, department)
            with monkeypatch.context() as m:
                m.setattr(daily, "BATCH", 1_000)
                m.setattr(daily, "SQLITE_DEVICES", 7)
                batched = load_daily_rows(session, department)
            assert len(whole) > 30_000
            for name in ("device_id", "day", "monthly", "count", "fine"):
                np.testing.assert_array_equal(getattr(batched, name), getattr(whole, name))
                assert getattr(batched, name).dtype == getattr(whole, name).dtype
            assert np.isnan(whole.fine).any() and whole.monthly.sum() == 20


def test_the_demo_audit_of_typed_rows_finds_what_the_frame_finds(db_engine):
    from audit.cli.demo import load_demo

    pytest.importorskip("folium")
    load_demo(db_engine.url.render_as_string(hide_password=False), echo=lambda *_: None)
    with session_factory(db_engine)() as session:
        typed, framed = both_ways(session, dt.date(2025, 6, 30))
        assert len(typed) > 100
        pd.testing.assert_frame_equal(typed, framed)


def test_the_rows_read_are_exactly_the_rows_stored(db_engine, tmp_path, monkeypatch):
    """The shapes the benchmark never shows: a device of one row, a day and a month of the same first day, unknown
    and fractional fines, devices and a department without rows, ids out of order, ids of no device."""
    from audit.registry.models import Device

    with session_factory(db_engine)() as session:
        for department, codes in (("甲县公安局交通管理大队", ["A1", "A2", "A3"]), ("乙县交通运输局", ["B1"]),
                                  ("丙县城市管理局", ["C1"])):
            pd.DataFrame({"设备编号": codes, "设备类型": "固定测速", "经度": 117.3, "纬度": 26.6,
                          "启用日期": "2023-07-01", "状态": "在用", "法制审核日期": "2023-06-01",
                          "最近检定日期": "2024-06-01", "检定有效期至": "2025-05-31", "检定结果": "合格"}
                         ).to_csv(tmp_path / "d.csv", index=False)
            assert store.import_file(session, tmp_path / "d.csv", "devices", department=department).applied
        stored = [("A1", "2025-01-02", 3, 0.07), ("A2", "2024-12", 400, None), ("A2", "2024-12-01", 9, 123.45),
                  ("A2", "2024-12-02", 0, None), ("A2", "2025-01-01", 12, 0.1), ("A2", "2025-01-03", 7, 1234567.89),
                  ("B1", "2025-01-01", 5, 19.99), ("B1", "2025-01-02", 2_000_000_000, None)]
        pd.DataFrame(stored, columns=["设备编号", "日期", "违法数量", "罚款金额"]).to_csv(tmp_path / "v.csv", index=False)
        assert store.import_file(session, tmp_path / "v.csv", "violations").applied
        session.commit()
        ids = dict(session.query(Device.device_code, Device.id))

        def expected(codes):
            rows = [(ids[c], int(np.datetime64(d[:7] + "-01" if len(d) == 7 else d, "D").astype(np.int64)),
                     len(d) == 7, n, np.nan if f is None else f) for c, d, n, f in stored if c in codes]
            return sorted(rows, key=lambda r: (r[0], r[1], r[2]))

        def read(**how):
            rows = load_daily_rows(session, **how)
            for name, dtype in (("device_id", np.int32), ("day", np.int32), ("monthly", bool), ("count", np.int64),
                                ("fine", np.float64)):
                assert getattr(rows, name).dtype == dtype
            order = np.lexsort((rows.monthly, rows.day, rows.device_id))
            return sorted(zip(*(getattr(rows, name)[order].tolist() for name in
                                ("device_id", "day", "monthly", "count", "fine"))), key=lambda r: (r[0], r[1], r[2]))

        def same(got, want):
            assert len(got) == len(want)
            for g, w in zip(got, want):
                assert g[:4] == w[:4] and (g[4] == w[4] or (np.isnan(g[4]) and np.isnan(w[4]))), (g, w)

        settings = text("SELECT " + ", ".join(f"current_setting('{n}')" for n in daily._PLAIN_PLAN))
        planned = session.execute(settings).one() if db_engine.dialect.name == "postgresql" else None
        for batch in (daily.BATCH, 1):
            monkeypatch.setattr(daily, "BATCH", batch)  # 1: every batch ends after one device
            same(read(), expected({"A1", "A2", "B1"}))
            same(read(device_ids=np.array([ids["B1"], ids["A3"], 99_999, ids["A1"]])), expected({"A1", "B1"}))
            same(read(device_ids=np.array([ids["A3"], ids["C1"]])), [])
            same(read(device_ids=np.array([], dtype=np.int64)), [])
            same(read(department="甲县公安局交通管理大队"), expected({"A1", "A2"}))
            same(read(department="丙县城市管理局"), [])
        if planned is not None:  # the reads' plain plan ends with them: the session's later queries planned as before
            assert session.execute(settings).one() == planned


def _copy_row(device_id, arrays):
    """One device's COPY row as _copy_rows's query sends it: arrays of (type oid, width, format, values)."""
    import struct

    out = struct.pack(">hii", 5, 4, device_id)
    for oid, width, fmt, values, *flags in arrays:
        has_null = flags[0] if flags else 0
        body = struct.pack(">iiiii", 1, has_null, oid, len(values), 1) + b"".join(
            struct.pack(">i" + fmt, width, v) for v in values)
        out += struct.pack(">i", len(body)) + body
    return out


def test_a_copy_stream_of_another_layout_raises():
    good = [(16, 1, "?", [False, True]), (1082, 4, "i", [9131, 9131]), (23, 4, "i", [5, 40]),
            (20, 8, "q", [-2**63, 12345])]
    parsed = daily._Arrays()
    pending = bytearray(_copy_row(7, good) + b"\xff\xff")
    parsed.take(pending)
    assert pending == b"\xff\xff"
    rows = parsed.batches.rows()
    assert rows.device_id.tolist() == [7, 7] and rows.monthly.tolist() == [False, True]
    assert rows.day.tolist() == [9131 + 10957] * 2 and rows.count.tolist() == [5, 40]
    assert np.isnan(rows.fine[0]) and rows.fine[1] == 123.45
    for bad in ([*good[:3], (1700, 8, "q", [0, 12345])],  # fines as numeric
                [*good[:3], (20, 8, "q", [0, 12345], 1)],  # an array with NULL
                [*good[:2], (23, 4, "i", [5]), good[3]]):  # arrays of different lengths
        with pytest.raises(RuntimeError, match="PostgreSQL COPY"):
            daily._Arrays().take(bytearray(_copy_row(7, bad) + _copy_row(8, good) + b"\xff\xff"))
