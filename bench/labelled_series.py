"""Realistic labelled series for the detection benchmark: devices with daily (or monthly) counts and planted defects.

Counts are negative binomial around level × weekday × season × trend × a slow drift, with department holidays:
- levels log-uniform from 2 to 200 a day; weekday patterns of speed, red-light, town and truck cameras;
- season ±0–25% with a random phase, trend ±20% a year, an AR(1) drift of the log level (6% standard deviation);
- each department's holidays: a 7-day festival at 0.7–1.4 times and a 3-day holiday at 0.85–1.2 times;
- dispersion α per device log-normal around 0.05 (the median estimated for Chicago's 2019 speed cameras), so
  Var = μ + αμ²; a tenth of the devices report monthly totals.
Planted, each on devices of its own: one-day spikes at 5x the expected count (a third on the last day),
3x rises for 7–28 days (a quarter still going on the last day), 10-day outages on devices averaging 20 a day or
more (half as zero rows, half as missing rows; a quarter at the end), captures out of service (before 启用日期,
on a 拟建 device, after a dated 停用) and late publication; the cases of the last two are counted exactly
(monthly reporters get month-aligned dates).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

START = dt.date(2024, 1, 1)
WEEKDAY = np.array([[0.95, 0.95, 0.95, 1.0, 1.1, 1.2, 1.15], [1.05, 1.05, 1.05, 1.05, 1.1, 0.9, 0.85],
                    [1.1, 1.1, 1.1, 1.1, 1.1, 0.8, 0.7], [1.1, 1.1, 1.1, 1.1, 1.0, 0.85, 0.75]])
KINDS = {"clean": 0.50, "spike": 0.12, "rise": 0.10, "outage": 0.08, "out_of_service": 0.10, "late_publication": 0.10}
DEPARTMENT_SIZE = 100


@dataclass
class Labelled:
    devices: pd.DataFrame      # registry records (audit.rules.engine.devices_frame reads them)
    violations: pd.DataFrame   # device_code, period, period_start, count, fine_yuan
    status_history: pd.DataFrame
    labels: pd.DataFrame       # device_code, kind, detail, start, end, cases, monthly, level
    as_of: dt.date
    days: int


def _clean_device(code: str, dept: int) -> dict:
    return {"device_code": code, "department": f"第{dept:02d}执法单位", "name": code, "device_type": "闯红灯",
            "violation_kinds": "机动车违反信号灯通行", "address": "测试路口", "crs": "WGS84",
            "lon": 117.0 + int(code[1:]) % 1000 * 1e-3, "lat": 26.5 + int(code[1:]) // 1000 * 1e-3, "installed_on": dt.date(2023, 5, 1),
            "in_service_on": dt.date(2023, 7, 1), "status": "在用", "legal_review_on": dt.date(2023, 6, 1),
            "legal_review_no": "审〔2023〕1号", "tech_review_on": dt.date(2023, 6, 10), "signage": True,
            "published_on": dt.date(2023, 5, 20), "publication_channel": "县政府门户网站",
            "justification": "事故多发路段"}


def generate(n_devices: int = 4000, days: int = 365, seed: int = 12) -> Labelled:
    rng = np.random.default_rng(seed)
    n = n_devices
    dates = pd.date_range(START, periods=days, freq="D")
    dow, doy = dates.day_of_week.to_numpy(), np.arange(days)
    dept = np.arange(n) // DEPARTMENT_SIZE
    n_dept = int(dept.max()) + 1
    level = np.exp(rng.uniform(np.log(2), np.log(200), n))
    weekly = 1 + rng.uniform(0.5, 1.5, n)[:, None] * (WEEKDAY[rng.integers(0, 4, n)] - 1)
    season = 1 + rng.uniform(0, 0.25, n)[:, None] * np.sin(2 * np.pi * (doy[None, :] - rng.uniform(0, 365, n)[:, None])
                                                          / 365)
    trend = np.exp(rng.uniform(-0.2, 0.2, n)[:, None] * doy[None, :] / 365)
    drift = np.zeros((n, days))
    e = rng.normal(0, 0.064, n)
    for t in range(days):
        e = 0.95 * e + rng.normal(0, 0.02, n)
        drift[:, t] = e
    holiday = np.ones((n_dept, days))
    for d in range(n_dept):
        first = int(rng.integers(20, days - 30))
        holiday[d, first:first + 7] *= rng.uniform(0.7, 1.4)
        second = int(rng.integers(0, days - 3))
        holiday[d, second:second + 3] *= rng.uniform(0.85, 1.2)
    mu = level[:, None] * weekly[:, dow] * season * trend * np.exp(drift) * holiday[dept]
    alpha = np.clip(rng.lognormal(np.log(0.05), 0.6, n), 0.005, 0.5)
    size = (1 / alpha)[:, None]

    kinds = np.array(list(KINDS))
    kind = rng.choice(kinds, n, p=list(KINDS.values()))
    kind[(kind == "outage") & (level < 20)] = "clean"
    monthly = np.isin(kind, ("clean", "out_of_service", "late_publication")) & (rng.random(n) < 0.1)
    counts = rng.negative_binomial(size, size / (size + mu)).astype(np.int64)
    keep = np.ones((n, days), dtype=bool)
    records = [_clean_device(f"D{k:05d}", int(dept[k])) for k in range(n)]
    labels, history = [], []
    last = days - 1
    month_starts = np.flatnonzero(dates.day == 1)

    def day_of(i: int) -> dt.date:
        return dates[i].date()

    for k in range(n):
        code, kd = records[k]["device_code"], kind[k]
        if kd == "spike":
            i = last if rng.random() < 1 / 3 else int(rng.integers(0, days))
            counts[k, i] = int(round(5 * mu[k, i]))
            labels.append((code, kd, "last_day" if i == last else "", i, i, int(counts[k, i])))
        elif kd == "rise":
            length = int(rng.integers(7, 29))
            i = days - length if rng.random() < 0.25 else int(rng.integers(0, days - length))
            r = size[k, 0]
            counts[k, i:i + length] = rng.negative_binomial(r, r / (r + 3 * mu[k, i:i + length]))
            labels.append((code, kd, "ongoing" if i + length == days else "", i, i + length - 1, 0))
        elif kd == "outage":
            i = days - 10 if rng.random() < 0.25 else int(rng.integers(0, days - 10))
            counts[k, i:i + 10] = 0
            missing = rng.random() < 0.5
            keep[k, i:i + 10] = not missing
            labels.append((code, kd, "missing" if missing else "zeros", i, i + 9, 0))
        elif kd == "out_of_service":
            how = str(rng.choice(["before_start", "planned", "stopped"]))
            if how == "planned":
                records[k] |= {"status": "拟建", "in_service_on": None}
                a, b = 0, last
            else:
                a_month = int(rng.choice(month_starts[1:-1]))
                cut = a_month if monthly[k] else int(rng.integers(20, days - 20))
                if how == "before_start":
                    records[k]["in_service_on"] = day_of(cut)
                    a, b = 0, cut - 1
                else:
                    records[k]["status"] = "停用"  # decided the day before: out of service from the cut on
                    history.append((code, day_of(cut - 1), "停用", "处理决定"))
                    a, b = cut, last
            labels.append((code, kd, how, a, b, int(counts[k, a:b + 1].sum())))
        elif kd == "late_publication":
            if monthly[k]:  # month-aligned, so that whole months hold the cases exactly
                start = int(rng.choice(month_starts[1:4]))
                late = int(rng.choice(month_starts[month_starts > start][:-1]))
            else:
                start = int(rng.integers(10, 100))
                late = start + int(rng.integers(5, 90))
            records[k] |= {"in_service_on": day_of(start), "published_on": day_of(late),
                           "legal_review_on": day_of(start) - dt.timedelta(days=30),
                           "tech_review_on": day_of(start) - dt.timedelta(days=20),
                           "installed_on": day_of(start) - dt.timedelta(days=40)}
            counts[k, :start] = 0  # it records from 启用日期 on
            keep[k, :start] = False
            # Cases before publication (national lead time 0 days).
            labels.append((code, kd, "", start, late - 1, int(counts[k, start:late].sum())))
    rows = _rows(records, counts, keep, monthly, dates)
    label_frame = pd.DataFrame(labels, columns=["device_code", "kind", "detail", "start", "end", "cases"])
    label_frame["monthly"] = label_frame["device_code"].map(dict(zip([r["device_code"] for r in records], monthly)))
    label_frame["level"] = label_frame["device_code"].map(dict(zip([r["device_code"] for r in records], level)))
    label_frame["start"] = [day_of(i) for i in label_frame["start"]]
    label_frame["end"] = [day_of(i) for i in label_frame["end"]]
    kinds_of = dict(zip([r["device_code"] for r in records], kind))
    clean = [c for c, kd in kinds_of.items() if kd == "clean"]
    label_frame = pd.concat([label_frame, pd.DataFrame({
        "device_code": clean, "kind": "clean", "detail": "", "start": day_of(0), "end": day_of(last), "cases": 0,
        "monthly": [bool(monthly[int(c[1:])]) for c in clean], "level": [float(level[int(c[1:])]) for c in clean]})],
        ignore_index=True)
    return Labelled(devices=pd.DataFrame(records), violations=rows,
                    status_history=pd.DataFrame(history, columns=["device_code", "since", "status", "source"]),
                    labels=label_frame, as_of=day_of(last), days=days)


def _rows(records: list[dict], counts: np.ndarray, keep: np.ndarray, monthly: np.ndarray,
          dates: pd.DatetimeIndex) -> pd.DataFrame:
    """The violation table: daily rows (those kept), and monthly totals for the monthly reporters."""
    codes = np.array([r["device_code"] for r in records], dtype=object)
    daily = keep & ~monthly[:, None]
    k, t = np.nonzero(daily)
    parts = [pd.DataFrame({"device_code": codes[k], "period": "day", "period_start": dates[t],
                           "count": counts[k, t], "fine_yuan": counts[k, t] * 200.0})]
    months = dates.to_period("M")
    for k in np.flatnonzero(monthly):
        total = pd.Series(counts[k]).groupby(months).sum()
        parts.append(pd.DataFrame({"device_code": codes[k], "period": "month",
                                   "period_start": total.index.to_timestamp(), "count": total.to_numpy(),
                                   "fine_yuan": total.to_numpy() * 200.0}))
    return pd.concat(parts, ignore_index=True)


__all__ = ["Labelled", "generate", "KINDS"]
