"""The expected band of one device's daily counts, for the device page: the count model's expected count of each day
and the range ordinary days fall in (central 95% of its negative binomial predictive distribution)."""
from __future__ import annotations

import datetime as dt
from typing import Iterable

import numpy as np
import pandas as pd

from .countmodel import DailySeries, fit, nb_quantile
from .profiles import Profile

BAND = 0.95


def _day(value: dt.date) -> int:
    return (pd.Timestamp(value) - pd.Timestamp("1970-01-01")).days


def expected_band(days: Iterable[dt.date], counts: Iterable[int], profile: Profile,
                  reported: Iterable[dt.date] | None = None, span_end: dt.date | None = None) -> pd.DataFrame:
    """Per calendar day of the device's series: day, count (NaN: unknown), expected, lower, upper (NaN where the
    model has no level, e.g. fewer than count_model_min_days days of data).

    reported: the days its department reported daily rows (a day without a row counts as 0 on those, as in the
    audit; by default the device's own days); span_end: the last day of the series for a device in use (its
    department's last reported day).
    """
    frame = pd.DataFrame({"day": list(days), "count": list(counts)})
    columns = ["day", "count", "expected", "lower", "upper"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame = frame.groupby("day", as_index=False)["count"].sum().sort_values("day")
    day = np.array([_day(d) for d in frame["day"]], dtype=np.int64)
    own = sorted(set(day.tolist()) | ({_day(d) for d in reported} if reported is not None else set()))
    series = DailySeries(dev=np.zeros(len(day), dtype=np.int64), day=day, count=frame["count"].to_numpy(float),
                         span_end=np.array([float(_day(span_end)) if span_end else np.nan]),
                         group=np.zeros(1, dtype=np.int64), reported=np.array(own, dtype=np.int64))
    window = int(profile.get("count_model_window_days").value)
    (chunk,) = list(fit(series, half_window=max(window // 2, 1)))
    enough = chunk.history[0] >= int(profile.get("count_model_min_days").value)
    mu, size = chunk.mu[0].astype(float), chunk.size[0].astype(float)
    if not enough:
        mu = np.full_like(mu, np.nan)
    tail = (1 - BAND) / 2
    ok = np.isfinite(mu)
    lower, upper = np.full(len(mu), np.nan), np.full(len(mu), np.nan)
    lower[ok] = nb_quantile(tail, mu[ok], size[ok])
    upper[ok] = nb_quantile(1 - tail, mu[ok], size[ok])
    calendar = pd.to_datetime(chunk.day0 + np.arange(len(mu)), unit="D")
    return pd.DataFrame({"day": calendar.date, "count": chunk.y[0].astype(float), "expected": mu, "lower": lower,
                         "upper": upper})[columns]


__all__ = ["expected_band", "BAND"]
