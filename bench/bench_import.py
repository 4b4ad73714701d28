"""Import benchmark: a generated 10,000-device xlsx and a 1,000,000-row violations CSV.

Reference: a plain `pandas.read_excel(engine="calamine")` / `pandas.read_csv` of the same file.
Target: the whole import (read, validate, write to SQLite) within 3x of the plain read.
"""
from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from audit.intake.columns import DEVICE_COLUMNS  # noqa: E402
from audit.registry.db import init_db, make_engine, session_factory  # noqa: E402
from audit.registry.store import import_file  # noqa: E402

N_DEVICES = 10_000
N_VIOLATION_ROWS = 1_000_000


def make_devices(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    types = np.array(["固定测速", "闯红灯", "违法停车", "区间测速", "城市管理"])
    start = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1500, n), unit="D")
    return pd.DataFrame({
        "设备编号": [f"BM-{i:06d}" for i in range(n)],
        "设备名称": [f"测试设备{i}" for i in range(n)],
        "设备类型": rng.choice(types, n),
        "抓拍违法行为": "超速行驶",
        "所属单位": "基准测试大队",
        "道路名称": [f"测试路{i % 300}" for i in range(n)],
        "方向": rng.choice(["由东向西", "由西向东", "双向"], n),
        "设置地点": [f"测试路{i % 300}第{i}号" for i in range(n)],
        "经度": np.round(117.2 + rng.random(n) * 0.6, 6),
        "纬度": np.round(26.5 + rng.random(n) * 0.5, 6),
        "坐标系": "WGS84",
        "安装日期": (start - pd.Timedelta(days=30)).strftime("%Y-%m-%d"),
        "启用日期": start.strftime("%Y-%m-%d"),
        "状态": "在用",
        "法制审核日期": (start - pd.Timedelta(days=20)).strftime("%Y-%m-%d"),
        "法制审核文号": [f"审〔2023〕{i}号" for i in range(n)],
        "技术审核日期": (start - pd.Timedelta(days=15)).strftime("%Y-%m-%d"),
        "标识设置": rng.choice(["是", "否"], n),
        "标识距离米": rng.integers(50, 800, n),
        "社会公布日期": (start - pd.Timedelta(days=10)).strftime("%Y-%m-%d"),
        "公布渠道": "门户网站",
        "限速值": rng.choice([40, 60, 80], n),
        "设置依据": "事故多发",
        "最近检定日期": "2024-05-20",
        "检定有效期至": "2025-05-19",
        "检定结果": "合格",
        "检定证书编号": [f"JD{i}" for i in range(n)],
    }, columns=[c.header for c in DEVICE_COLUMNS])


def make_violations(n_rows: int, n_devices: int) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    days = n_rows // n_devices
    dates = pd.date_range("2022-01-01", periods=days).strftime("%Y-%m-%d")
    counts = rng.poisson(8, n_rows)
    return pd.DataFrame({
        "设备编号": np.repeat([f"BM-{i:06d}" for i in range(n_devices)], days),
        "日期": np.tile(dates, n_devices),
        "违法数量": counts,
        "罚款金额": counts * 200,
    })


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        xlsx, csv = tmp / "devices.xlsx", tmp / "violations.csv"
        make_devices(N_DEVICES).to_excel(xlsx, index=False)
        make_violations(N_VIOLATION_ROWS, N_DEVICES).to_csv(csv, index=False)
        engine = make_engine(f"sqlite:///{tmp / 'bench.sqlite3'}")
        init_db(engine)
        Session = session_factory(engine)

        def run(path: Path, kind: str, **kw):
            with Session() as session:
                result = import_file(session, path, kind, **kw)
                assert result.report.ok, result.report.format_text(limit=5)
                session.commit()
            return result

        print(f"import benchmark ({dt.date.today()}): SQLite, {N_DEVICES:,} devices, {N_VIOLATION_ROWS:,} rows")
        ref_x, _ = timed(lambda: pd.read_excel(xlsx, engine="calamine"))
        imp_x, res = timed(lambda: run(xlsx, "devices", department="基准测试大队"))
        print(f"  devices xlsx   plain read_excel(calamine) {ref_x:7.2f} s   full import {imp_x:7.2f} s   "
              f"ratio {imp_x / ref_x:5.2f}x   (target 3x; {len(res.new):,} new)")
        ref_c, _ = timed(lambda: pd.read_csv(csv))
        imp_c, res = timed(lambda: run(csv, "violations"))
        print(f"  violations csv plain read_csv             {ref_c:7.2f} s   full import {imp_c:7.2f} s   "
              f"ratio {imp_c / ref_c:5.2f}x   (target 3x; {res.counts['新增记录']:,} rows)")
        engine.dispose()


if __name__ == "__main__":
    main()
