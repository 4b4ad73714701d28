"""Daily violation counts and fines of every device in use, with weekday, season and holiday patterns.

Counts are negative binomial (overdispersed like real camera counts: each device's dispersion is drawn around the
median of Chicago's 2019 speed cameras, 0.05), with the planted spikes, rises and outages of builder.defects."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from .county import (
    BASE_RATE,
    FINE,
    NEEDS_VERIFICATION,
    OVERLOAD_FINES,
    PERIOD_END,
    PERIOD_START,
    SEVERE_SPEED_FINE,
    County,
)

# --- violations -------------------------------------------------------------------------------------------------------

WEEKDAY = {"speed": (0.95, 0.95, 0.95, 1.0, 1.1, 1.2, 1.15), "redlight": (1.05, 1.05, 1.05, 1.05, 1.1, 0.9, 0.85),
           "town": (1.1, 1.1, 1.1, 1.1, 1.1, 0.8, 0.7), "truck": (1.1, 1.1, 1.1, 1.1, 1.0, 0.85, 0.75)}
WEEKDAY_GROUP = {"固定测速": "speed", "移动测速": "speed", "区间测速": "speed", "闯红灯": "redlight",
                 "违法停车": "town", "城市管理": "town", "超限超载": "truck", "尾气遥感": "truck"}
HOLIDAYS = [  # (first, last, factor per weekday group)
    (dt.date(2025, 1, 25), dt.date(2025, 2, 6), {"speed": 1.4, "redlight": 1.1, "town": 1.25, "truck": 0.45}),
    (dt.date(2025, 4, 4), dt.date(2025, 4, 6), {"speed": 1.2, "redlight": 1.0, "town": 0.9, "truck": 0.8}),
    (dt.date(2025, 5, 1), dt.date(2025, 5, 5), {"speed": 1.25, "redlight": 1.05, "town": 1.2, "truck": 0.8}),
    (dt.date(2025, 5, 31), dt.date(2025, 6, 2), {"speed": 1.15, "redlight": 1.0, "town": 1.1, "truck": 0.9}),
]


def day_factors(days: pd.DatetimeIndex) -> dict[str, np.ndarray]:
    out = {}
    doy = days.day_of_year.to_numpy()
    for group, weekly in WEEKDAY.items():
        f = np.asarray(weekly)[days.day_of_week.to_numpy()] * (1 + 0.06 * np.sin(2 * np.pi * (doy - 60) / 365))
        for first, last, factors in HOLIDAYS:
            mask = (days >= pd.Timestamp(first)) & (days <= pd.Timestamp(last))
            f = np.where(mask, f * factors[group], f)
        out[group] = f
    return out


def violations(county: County) -> pd.DataFrame:
    rng = county.rng
    days = pd.date_range(PERIOD_START, PERIOD_END, freq="D")
    factors = day_factors(days)
    frames = []
    for dev in county.devices:
        if dev.status != "在用" and not dev.records_out_of_service:
            continue
        lam = BASE_RATE[dev.type] * dev.rate_mult * factors[WEEKDAY_GROUP[dev.type]]
        if dev.rise:
            first, n, multiple = dev.rise
            i = (first - PERIOD_START).days
            lam[i:i + n] *= multiple
        size = 1 / dev.dispersion
        counts = rng.negative_binomial(size, size / (size + lam))
        if dev.spike:
            day, count = dev.spike
            counts[(day - PERIOD_START).days] = count
        keep = np.ones(len(days), dtype=bool)
        if dev.outage:
            first, n, left_out = dev.outage
            i = (first - PERIOD_START).days
            counts[i:i + n] = 0
            keep[i:i + n] = not left_out
        warned = rng.binomial(counts, dev.warn_share)
        paid = counts - warned
        if dev.type == "超限超载":
            cases = rng.multinomial(paid, rng.dirichlet((4, 3, 2)))  # per day: cases fined 1,000/1,500/2,000
            fines = cases @ np.asarray(OVERLOAD_FINES, dtype=float)
        else:
            severe = rng.binomial(paid, dev.severe_share) if dev.severe_share else np.zeros_like(paid)
            fines = (paid - severe) * FINE[dev.type] + severe * SEVERE_SPEED_FINE
        fines = np.round(fines * dev.fine_mult / 10) * 10 if dev.fine_mult != 1 else fines.astype(float)
        frames.append(pd.DataFrame({"设备编号": dev.code, "日期": days.strftime("%Y-%m-%d"), "违法数量": counts,
                                    "罚款金额": fines})[keep])
    return pd.concat(frames, ignore_index=True)


def uncovered_violations(county: County, table: pd.DataFrame) -> list[tuple[str, str, str]]:
    """Every device needing verification that recorded violations on days without a valid 合格 certificate."""
    out = []
    by_device = dict(tuple(table.groupby("设备编号", sort=False)))
    for dev in county.devices:
        if dev.type not in NEEDS_VERIFICATION or dev.code not in by_device:
            continue
        rows = by_device[dev.code]
        day = pd.to_datetime(rows["日期"]).dt.date
        covered = np.zeros(len(rows), dtype=bool)
        for r in dev.verifications:
            if r["result"] == "合格":
                covered |= ((day >= r["verified_on"]) & (day <= r["valid_until"])).to_numpy()
        bad = ~covered & (rows["违法数量"].to_numpy() > 0)
        if bad.any():
            out.append((dev.code, "violations_without_valid_verification",
                        f"{int(bad.sum())}天无有效检定仍有抓拍，共{int(rows['违法数量'].to_numpy()[bad].sum())}起、"
                        f"罚款{rows['罚款金额'].to_numpy()[bad].sum():.2f}元"))
    return out
