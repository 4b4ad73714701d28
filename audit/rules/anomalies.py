"""What the count model finds, chunk by chunk: one-day spikes, sustained rises (level shifts) and outages.

Each detector takes the fitted chunks (audit.rules.countmodel.fit) and returns one row per event with device
positions and days (days since 1970-01-01). Alarms are controlled by a per-test false-alarm probability `alpha`
(a budget of false alarms per device-days, spent with Bonferroni, for spikes weighted), together with minimum sizes.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd
from scipy import special

from .countmodel import ChunkFit, WindowSums, log_p_zero, nb_sf, weekday

# A spike's dispersion is its day's predictive α (1/size: the other days' spread and the error of its level), the one
# its p-value uses, so that expected and dispersion reproduce p.
SPIKE_COLUMNS = ["dev", "day", "count", "expected", "factor", "dispersion", "p", "alpha", "history"]
PERIOD_COLUMNS = ["dev", "start", "end", "days", "observed", "expected", "ongoing", "log10_p"]
BASELINE_DAYS = 57  # days a guarded baseline rests on where one side is complete (for the error of the baseline)
DESIGN_RATIO = 5.0      # the spike budget is laid out for one-day spikes at 5x the expected count (issue 12) …
SHARE_FLOOR, SHARE_CAP = 0.03, 4.0  # … every tested day getting 0.03 … 4 times the average share
XI_STEP, XI_MAX = 0.01, 40.0  # the grid of design z-scores on which the budget is balanced
N_BINS = int(round(XI_MAX / XI_STEP))


def _frame(parts: list[dict[str, np.ndarray]], columns: list[str]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in columns})
    return pd.DataFrame({c: np.concatenate([p[c] for p in parts]) for c in columns})


def _design_z(mu: np.ndarray, size: np.ndarray, min_count: int) -> np.ndarray:
    """How clearly a spike at DESIGN_RATIO times the expected count (at least min_count) would stand out on each
    day, as the normal z-score of its upper-tail probability (XI_STEP … XI_MAX). It uses only the day's expected
    count and spread, never its count. In float32 (twice as fast over all device-days): the tail probability
    P(X ≥ d) = I_{μ/(size+μ)}(d, size) underflows below 1e-45, where ξ ≈ 14 and every share is at the floor;
    the rare cells on which the float32 series does not converge (NaN) are computed again in float64."""
    mu, size = np.asarray(mu, dtype=np.float32), np.asarray(size, dtype=np.float32)
    design = np.maximum(np.ceil(np.float32(DESIGN_RATIO) * mu), np.float32(max(min_count, 1)))
    x = mu / (size + mu)
    p = special.betainc(design, size, x)
    bad = np.isnan(p)
    if bad.any():
        p[bad] = special.betainc(design[bad].astype(float), size[bad].astype(float), x[bad].astype(float))
    return np.clip(-special.ndtri(np.minimum(p, np.float32(0.5))), XI_STEP, XI_MAX)


def _share(xi: np.ndarray, c: float, alpha: float) -> np.ndarray:
    """A day's false-alarm probability under the optimal weights for its design z-score (Roeder & Wasserman 2009):
    Φ̄(ξ/2 + c/ξ), kept within SHARE_FLOOR … SHARE_CAP × alpha: a busy device's day keeps enough to flag a
    lesser spike than 5x, and a quiet device audited among busy ones does not get most of the budget (its false
    alarms run at most SHARE_CAP times the budget's rate)."""
    return np.clip(special.ndtr(-(xi / 2 + c / xi)), SHARE_FLOOR * alpha, SHARE_CAP * alpha)


def budget_constants(keys: np.ndarray, counts: np.ndarray, alpha: float) -> np.ndarray:
    """Per reporting group (department index), the constant c of `_share` that spends alpha per day on average
    over the group's tested days, whose design z-scores are given as (keys group · N_BINS + bin on the grid
    XI_STEP · (1 … ), counts) (`design_counts`): found by bisection, all groups at once (0 where even c = 0
    spends less)."""
    keys = np.asarray(keys, dtype=np.int64)
    counts = np.asarray(counts, dtype=float)
    group = keys // N_BINS
    xi = XI_STEP * (keys % N_BINS + 1)
    n_groups = int(group.max()) + 1 if len(keys) else 0
    n = np.bincount(group, weights=counts, minlength=n_groups)
    tested = np.where(n > 0, n, 1.0)

    def spent(c: np.ndarray) -> np.ndarray:
        return np.bincount(group, weights=counts * _share(xi, c[group], alpha), minlength=n_groups) / tested

    over = (n > 0) & (spent(np.zeros(n_groups)) > alpha)
    lo, hi = np.zeros(n_groups), np.ones(n_groups)
    while (grow := over & (spent(hi) > alpha)).any():
        lo[grow], hi[grow] = hi[grow], hi[grow] * 2
    for _ in range(50):
        mid = (lo + hi) / 2
        high = spent(mid) > alpha
        lo, hi = np.where(high, mid, lo), np.where(high, hi, mid)
    return np.where(over, hi, 0.0)


def _scored(f: ChunkFit, scored: np.ndarray | None) -> np.ndarray:
    """The chunk's device-days that are tested: known, with an expected count, of a scored device."""
    cells = f.known & np.isfinite(f.mu)
    return cells if scored is None else cells & scored[f.devs][:, None]


def design_counts(f: ChunkFit, min_count: int, scored: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The chunk's tested days counted by reporting group and design z-score: (keys group · N_BINS + bin on the
    grid of `budget_constants`, counts); the counts of chunks add up (`merge_counts`)."""
    tested = _scored(f, scored)
    xi = _design_z(f.mu[tested], f.size[tested], min_count)
    group = np.broadcast_to(f.group[:, None], tested.shape)[tested].astype(np.int64)
    return np.unique(group * N_BINS + np.rint(xi / XI_STEP).astype(np.int64) - 1, return_counts=True)


def merge_counts(parts: Iterable[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """The design counts of several chunks added up."""
    parts = list(parts)
    if not parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    keys, index = np.unique(np.concatenate([k for k, _ in parts]), return_inverse=True)
    return keys, np.bincount(index, weights=np.concatenate([c for _, c in parts]).astype(float))


def spikes(fits: Iterable[ChunkFit], alpha: float, min_count: int, min_ratio: float,
           scored: np.ndarray | None = None) -> pd.DataFrame:
    """Days whose count has an upper-tail probability of at most their share of the budget under the model, with
    at least min_count captures and at least min_ratio times the expected count.

    The budget (alpha per device-day on average) is spent with weighted Bonferroni, weights optimal for spikes at
    DESIGN_RATIO times the expected count (Roeder & Wasserman 2009): a day on which such a spike would stand out
    by ξ standard deviations gets Φ̄(ξ/2 + c/ξ) (within SHARE_FLOOR … SHARE_CAP × alpha), c such that the tested
    days of each reporting group (department; `scored`: per device position, the devices tested, all by default)
    get alpha on average. So each department's expected number of false alarms is that of alpha on every day,
    but a busy regular device, on which a 5x spike stands out at any threshold, leaves part of its share to the
    quiet or irregular devices of its department, on which it is near the limit. A day's threshold depends on
    the other devices of its department (never on another department's, so a department audited alone or with
    the county, or in a chunk of whole departments, is judged alike); its own count enters it only through the
    expected counts of its neighbours, in c.
    """
    fits = list(fits)
    c = budget_constants(*merge_counts(design_counts(f, min_count, scored) for f in fits), alpha)
    parts = []
    for f in fits:
        with np.errstate(invalid="ignore"):
            cand = _scored(f, scored) & (f.y >= max(min_count, 1)) & (f.y >= min_ratio * f.mu)
        i, j = np.nonzero(cand)
        if not len(i):
            continue
        y, mu, size = f.y[i, j].astype(float), f.mu[i, j].astype(float), f.size[i, j].astype(float)
        p = nb_sf(y, mu, size)
        share = _share(_design_z(mu, size, min_count), c[f.group[i]], alpha)
        hit = p <= share
        i, j = i[hit], j[hit]
        day = f.day0 + j
        parts.append({"dev": f.devs[i], "day": day, "count": y[hit], "expected": mu[hit],
                      "factor": f.factor[i, weekday(day)], "dispersion": 1.0 / size[hit], "p": p[hit],
                      "alpha": share[hit], "history": f.history[i]})
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
