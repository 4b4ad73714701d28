"""What the count model finds, chunk by chunk: one-day spikes, sustained rises (level shifts) and outages.

Each detector takes the fitted chunks (audit.rules.countmodel.fit) and returns one row per event with device
positions and days (days since 1970-01-01). Alarms are controlled by a per-test false-alarm probability `alpha`
(a budget of false alarms per device-days, spent with Bonferroni), together with minimum sizes.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from .countmodel import ChunkFit, WindowSums, log_p_zero, nb_sf, weekday

SPIKE_COLUMNS = ["dev", "day", "count", "expected", "factor", "dispersion", "p", "history"]
PERIOD_COLUMNS = ["dev", "start", "end", "days", "observed", "expected", "ongoing", "log10_p"]
BASELINE_DAYS = 57  # days a guarded baseline rests on where one side is complete (for the error of the baseline)


def _frame(parts: list[dict[str, np.ndarray]], columns: list[str]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in columns})
    return pd.DataFrame({c: np.concatenate([p[c] for p in parts]) for c in columns})


def spikes(fits: Iterable[ChunkFit], alpha: float, min_count: int, min_ratio: float) -> pd.DataFrame:
    """Days whose count has an upper-tail probability of at most alpha under the model, with at least min_count
    captures and at least min_ratio times the expected count."""
    parts = []
    for f in fits:
        with np.errstate(invalid="ignore"):
            cand = f.known & np.isfinite(f.mu) & (f.y >= max(min_count, 1)) & (f.y >= min_ratio * f.mu)
        i, j = np.nonzero(cand)
        if not len(i):
            continue
        y, mu, size = f.y[i, j].astype(float), f.mu[i, j].astype(float), f.size[i, j].astype(float)
        p = nb_sf(y, mu, size)
        hit = p <= alpha
        i, j = i[hit], j[hit]
        day = f.day0 + j
        parts.append({"dev": f.devs[i], "day": day, "count": y[hit], "expected": mu[hit],
                      "factor": f.factor[i, weekday(day)], "dispersion": f.dispersion[i], "p": p[hit],
                      "history": f.history[i]})
    return _frame(parts, SPIKE_COLUMNS)


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, first column, last column) of every run of True along the rows of a boolean matrix."""
    edges = np.diff(np.pad(mask, ((0, 0), (1, 1))).astype(np.int8), axis=1)
    rows, first = np.nonzero(edges == 1)
    _, stop = np.nonzero(edges == -1)
    return rows, first, stop - 1


def _window(a: np.ndarray, m: int) -> np.ndarray:
    """Sums over the m days starting at each day (shorter at the end of the matrix); float32 for these short
    windows."""
    return WindowSums(a, np.float32).sum(0, m - 1)


def shifts(fits: Iterable[ChunkFit], alpha: float, min_days: int, min_ratio: float) -> pd.DataFrame:
    """Periods of at least min_days days at min_ratio times the guarded baseline or more.

    A window of min_days days is flagged when its count is at least min_ratio times its baseline expected count,
    still so without its highest day (one spike does not make a rise), and improbable under the baseline
    (negative binomial for the sum, its dispersion the device's divided by the days, plus the error of the
    baseline itself); the window needs two thirds of its days with data. Overlapping flagged windows make a
    period, trimmed at both ends to the days at least halfway (in ratio) to min_ratio, and kept when it still
    spans min_days days.
    """
    m = max(int(min_days), 1)
    need = m - m // 3
    mid = (1 + min_ratio) / 2
    parts = []
    for f in fits:
        valid = f.known & np.isfinite(f.base)
        y = np.where(valid, f.y, np.float32(0.0))
        e = np.where(valid, f.base, np.float32(0.0))
        sy, se, nv = _window(y, m), _window(e, m), _window(valid.astype(np.float32), m)
        top = y.copy()
        for k in range(1, m):
            np.maximum(top[:, :-k], y[:, k:], out=top[:, :-k])
        with np.errstate(invalid="ignore", divide="ignore"):
            cand = (nv >= need) & (se > 0) & (sy >= min_ratio * se) & \
                (sy - top >= min_ratio * se * (nv - 1) / np.maximum(nv, 1))
        i, j = np.nonzero(cand)
        if not len(i):
            continue
        disp = f.dispersion[i]
        mean_day = se[i, j] / nv[i, j]
        var = disp / nv[i, j] + (1 + disp * mean_day) / (mean_day * BASELINE_DAYS)
        p = nb_sf(sy[i, j], se[i, j], 1 / var)
        hit = p <= alpha
        if not hit.any():
            continue
        # From here on only the devices with a flagged window.
        sub, i = np.unique(i[hit], return_inverse=True)
        flagged = np.zeros((len(sub), y.shape[1]), dtype=bool)
        flagged[i, j[hit]] = True
        covered = flagged.copy()  # a day is covered when a flagged window starts up to m − 1 days before
        for k in range(1, m):
            covered[:, k:] |= flagged[:, :-k]
        y, e, valid = y[sub], e[sub], valid[sub]
        with np.errstate(invalid="ignore"):
            high = valid & (y >= mid * e)
        rows, first, last = _runs(covered)
        if not len(rows):
            continue
        # Trim each period to its first and last high day.
        cum = np.cumsum(high, axis=1)
        before = np.where(first > 0, cum[rows, np.maximum(first - 1, 0)], 0)
        has_high = cum[rows, last] > before
        rows, first, last = rows[has_high], first[has_high], last[has_high]
        hi_cols = [np.flatnonzero(high[r, a:b + 1]) + a for r, a, b in zip(rows, first, last)]
        start = np.array([c[0] for c in hi_cols], dtype=np.int64)
        end = np.array([c[-1] for c in hi_cols], dtype=np.int64)
        long = end - start + 1 >= m
        rows, start, end = rows[long], start[long], end[long]
        obs = np.array([y[r, a:b + 1].sum() for r, a, b in zip(rows, start, end)])
        exp = np.array([e[r, a:b + 1].sum() for r, a, b in zip(rows, start, end)])
        ndays = np.array([valid[r, a:b + 1].sum() for r, a, b in zip(rows, start, end)], dtype=float)
        disp = f.dispersion[sub[rows]]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_day = exp / np.maximum(ndays, 1)
            var = disp / np.maximum(ndays, 1) + (1 + disp * mean_day) / (mean_day * BASELINE_DAYS)
            log10_p = np.log10(np.maximum(nb_sf(obs, exp, 1 / var), 1e-300))
        dev = sub[rows]
        parts.append({"dev": f.devs[dev], "start": f.day0 + start, "end": f.day0 + end,
                      "days": end - start + 1, "observed": obs, "expected": exp,
                      "ongoing": f.day0 + end >= f.last[dev], "log10_p": log10_p})
    return _frame(parts, PERIOD_COLUMNS)


def outages(fits: Iterable[ChunkFit], alpha: float, min_days: int) -> pd.DataFrame:
    """Runs of at least min_days days without captures (zero rows, or no row while the department reported
    others) whose probability under the guarded baseline is at most alpha. Days without data break a run."""
    m = max(int(min_days), 1)
    parts = []
    for f in fits:
        zero = f.known & (f.y == 0)
        # Only the devices with a run of min_days zeros somewhere (a window of min_days days all zero).
        long = np.flatnonzero((_window(zero.astype(np.float32), m) >= m).any(axis=1))
        rows, first, last = _runs(zero[long])
        keep = last - first + 1 >= m
        rows, first, last = long[rows[keep]], first[keep], last[keep]
        if not len(rows):
            continue
        # Only the cells of the long runs: their expected counts and log P(0), summed per run.
        length = last - first + 1
        run = np.repeat(np.arange(len(rows)), length)
        col = np.repeat(first - np.cumsum(np.r_[0, length[:-1]]), length) + np.arange(length.sum())
        e = f.base[rows[run], col].astype(float)
        e = np.where(np.isfinite(e), e, 0.0)
        lp = log_p_zero(e, f.dispersion[rows[run]])
        log_p = np.bincount(run, weights=lp, minlength=len(rows))
        exp = np.bincount(run, weights=e, minlength=len(rows))
        hit = log_p <= np.log(alpha)
        rows, first, last = rows[hit], first[hit], last[hit]
        parts.append({"dev": f.devs[rows], "start": f.day0 + first, "end": f.day0 + last,
                      "days": last - first + 1, "observed": np.zeros(len(rows)), "expected": exp[hit],
                      "ongoing": f.day0 + last >= f.last[rows], "log10_p": log_p[hit] / np.log(10)})
    return _frame(parts, PERIOD_COLUMNS)


__all__ = ["spikes", "shifts", "outages", "SPIKE_COLUMNS", "PERIOD_COLUMNS"]
