"""Peer comparison: each device's rate per day in service against the devices of its type, and the funnel plot.

The one step of the audit that looks across devices: rates are computed per device (`service_totals`), then
compared with a reference group (`peer_scores`): the devices of the same type within the department where it has
enough of them (setting peer_within_department), otherwise across the audit. Devices that recorded violations out
of service (SRV01) are no one's reference.

Score: robust z of log(1 + rate) against the group's median and 1.4826 × MAD, the Poisson error of a rate over
few days added to the spread: z = (x − median) / √(scale² + var_x), var_x ≈ rate / days / (1 + rate)². A funnel
plot draws the same limits as a function of the days in service.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .base import IN_USE, device_states, memo
from .data import coverage
from .service import out_of_service, out_of_service_days
from .stakes import cases_between

if TYPE_CHECKING:
    from .context import AuditContext

MAD_SCALE = 1.4826       # MAD → standard deviation under normality
MEANAD_SCALE = 1.253314  # mean absolute deviation → standard deviation (used when the MAD is 0)


def service_totals(devices: pd.DataFrame, ctx: AuditContext) -> pd.DataFrame:
    """Per device position: its window in the data and its days, violations and fines in service.

    The window runs from the later of its department's first data day and its 启用日期 (its own first data day
    when 启用日期 is empty) to its department's last data day — for a device not in use on the as-of date, to its
    own last data day (its data stop when it stopped). Days and rows out of service (audit.rules.service) are
    left out. Columns: window_start, window_end, days, rows, violations, fine, fine_rows, fined_violations,
    out_of_service (the device recorded violations out of service).
    """
    def compute() -> pd.DataFrame:
        cov = coverage(devices, ctx)
        started = devices["in_service_on"]
        start_day = np.where(started.notna(),
                             started.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)
                             .astype(float), cov["first"].to_numpy())
        start = np.fmax(start_day, cov["dept_first"].to_numpy())
        in_use = (device_states(devices, ctx) == IN_USE).to_numpy()
        end = np.where(in_use, cov["dept_last"].to_numpy(), np.fmin(cov["dept_last"].to_numpy(), cov["last"].to_numpy()))
        days = end - start + 1 - out_of_service_days(devices, ctx, start, end)
        n = len(devices)
        # The cases in the window, less those of its days out of service (audit.rules.stakes prefix sums).
        dev = np.arange(n)
        empty = np.isnan(start) | np.isnan(end)
        a = np.where(empty, 1, np.nan_to_num(start)).astype(np.int64)
        b = np.where(empty, 0, np.nan_to_num(end)).astype(np.int64)
        window = cases_between(devices, ctx, dev, a, b)
        periods, _ = out_of_service(devices, ctx)
        outside = np.zeros(n, dtype=bool)
        columns = ["rows", "violations", "partial_share", "fine_yuan", "fine_unknown_rows", "fined_violations"]
        less = pd.DataFrame(0.0, index=dev, columns=columns)
        if len(periods):
            p_dev = periods["dev"].to_numpy(np.int64)
            cases = cases_between(devices, ctx, p_dev, periods["start"].to_numpy(np.int64),
                                  periods["end"].to_numpy(np.int64))
            hit = ((cases["violations"] > 0) | (cases["partial_violations"] > 0)).to_numpy()
            outside[p_dev[hit]] = True
            clipped = cases_between(devices, ctx, p_dev, np.maximum(periods["start"].to_numpy(np.int64), a[p_dev]),
                                    np.minimum(periods["end"].to_numpy(np.int64), b[p_dev]))
            for column in columns:
                less[column] = np.bincount(p_dev, weights=clipped[column].to_numpy(float), minlength=n)
        rows = window["rows"].to_numpy() - less["rows"].to_numpy()
        unknown = window["fine_unknown_rows"].to_numpy() - less["fine_unknown_rows"].to_numpy()
        return pd.DataFrame({
            "window_start": start, "window_end": end, "days": days, "rows": rows.astype(np.int64),
            "violations": (window["violations"] + window["partial_share"]).to_numpy()
            - (less["violations"] + less["partial_share"]).to_numpy(),
            "fine": window["fine_yuan"].to_numpy() - less["fine_yuan"].to_numpy(),
            "fine_rows": (rows - unknown).astype(np.int64),
            "fined_violations": window["fined_violations"].to_numpy() - less["fined_violations"].to_numpy(),
            "out_of_service": outside,
        })
    return memo(ctx, "service_totals", compute)


def given_service_totals(ctx: AuditContext, totals: pd.DataFrame) -> None:
    """Service totals computed elsewhere (those of each chunk of the audit: audit.rules.chunks), one row per device
    position, for the peer rules to compare every device without reading its daily rows."""
    ctx.cache["service_totals"] = totals


@dataclass
class PeerScores:
    """Per scored device: score, the group's median (of x), robust scale, size and whether it is the department's."""

    score: np.ndarray
    median: np.ndarray
    scale: np.ndarray
    size: np.ndarray
    within_department: np.ndarray


def _group_median(x: np.ndarray, codes: np.ndarray, n: int) -> np.ndarray:
    """Median of x per group code 0 … n − 1 (NaN for an empty group), by one sort."""
    order = np.lexsort((x, codes))
    xs = x[order]
    size = np.bincount(codes, minlength=n)
    start = np.cumsum(size) - size
    lo, hi = start + np.maximum(size - 1, 0) // 2, start + size // 2
    out = np.full(n, np.nan)
    has = size > 0
    out[has] = (xs[lo[has]] + xs[np.minimum(hi[has], len(xs) - 1)]) / 2
    return out


def _robust(x: np.ndarray, codes: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per group code 0 … n − 1: median, robust scale (1.4826·MAD, or 1.2533·mean absolute deviation when the MAD
    is 0) and size."""
    med = _group_median(x, codes, n)
    dev = np.abs(x - med[codes])
    mad = _group_median(dev, codes, n) * MAD_SCALE
    size = np.bincount(codes, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_ad = np.bincount(codes, weights=dev, minlength=n) / size * MEANAD_SCALE
    return med, np.where(mad > 0, mad, mean_ad), size


def peer_groups(types: np.ndarray, departments: np.ndarray) -> tuple[np.ndarray, int, np.ndarray, int]:
    """(code of each device's department and type, their number, code of its type, their number)."""
    types = pd.Series(types, dtype=object).fillna("")
    local, local_labels = pd.factorize(pd.Series(departments, dtype=object).fillna("") + "\x1f" + types)
    kind, kind_labels = pd.factorize(types)
    return local, len(local_labels), kind, len(kind_labels)


def peer_scores(x: np.ndarray, var: np.ndarray, groups: tuple[np.ndarray, int, np.ndarray, int],
                reference: np.ndarray, min_peers: int, within_department: bool) -> PeerScores:
    """Robust z of x against each device's peers (see the module docstring): the reference devices of its type
    in its department (groups: peer_groups) where within_department and there are at least min_peers of them,
    else those of its type across the audit. size is the number of peers."""
    local, n_local, kind, n_kind = groups
    l_med, l_scale, l_size = _robust(x[reference], local[reference], n_local)
    k_med, k_scale, k_size = _robust(x[reference], kind[reference], n_kind)
    own = within_department & (l_size[local] >= min_peers)
    m = np.where(own, l_med[local], k_med[kind])
    s = np.where(own, l_scale[local], k_scale[kind])
    size = np.where(own, l_size[local], k_size[kind]).astype(int)
    with np.errstate(divide="ignore", invalid="ignore"):
        total = np.sqrt(s * s + var)
        score = np.where(total > 0, (x - m) / total, 0.0)
    return PeerScores(score=score, median=m, scale=s, size=size, within_department=own)


def rate_variance(rate: np.ndarray, days: np.ndarray, per_case: np.ndarray | float = 1.0) -> np.ndarray:
    """Poisson variance of log(1 + rate) for a rate of cases (× per_case, for fines) per day over `days` days."""
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = rate * per_case
        v = per_case * scaled / days / (1 + scaled) ** 2
    return np.where(np.isfinite(v), v, 0.0)


def funnel(days: np.ndarray, median_x: float, scale: float, z: float, min_ratio: float, shortest: float,
           points: int = 60) -> dict[str, Any]:
    """The funnel of a peer group: for days in service from `shortest` (the fewest a device is compared with) to
    the longest, the centre (the group's median rate) and the control limits exp(median ± z·√(scale² +
    var(days))) − 1, var the Poisson term at the centre; `flag` is the line a device must cross to be flagged
    (the upper limit or min_ratio × centre)."""
    centre = float(np.expm1(median_x))
    lo, hi = float(min(shortest, np.nanmin(days))), float(np.nanmax(days))
    grid = np.unique(np.linspace(max(lo, 1.0), max(hi, lo + 1.0), points).round(1))
    spread = np.sqrt(scale ** 2 + rate_variance(np.full(len(grid), centre), grid))
    upper = np.expm1(median_x + z * spread)
    lower = np.maximum(np.expm1(median_x - z * spread), 0.0)
    return {"days": grid.tolist(), "centre": centre, "upper": upper.tolist(), "lower": lower.tolist(),
            "flag": np.maximum(upper, min_ratio * centre).tolist()}


__all__ = ["service_totals", "given_service_totals", "peer_groups", "peer_scores", "rate_variance", "funnel", "PeerScores"]
