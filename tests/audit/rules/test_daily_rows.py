"""The audit reads the daily counts as typed columns (audit.registry.daily) and finds exactly what it finds on the
frame of the same rows: on the demo county and on a generated registry, on both databases."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

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
