"""The count model: each device's expected daily count from its own history, and how surprising a day is.

Functions over the daily rows of a set of devices (no global state): the devices are laid out in chunks as dense
device × day matrices on the calendar, and every step is a matrix operation.

Per device, the expected count of day t is μ_t = level_t × weekday factor, and neither uses day t itself:

- weekday rates: the device's mean count on each weekday, half a case added to the weekday's total so that a
  weekday of zeros keeps a small rate; the factors are the rates over their mean. The rate of day t's own
  weekday is recomputed without day t.
- level (season and trend): Σy / Σr over the days within `half_window` either side of t, r being each day's
  weekday rate (the Poisson estimate of the level, in which days of a weekday with almost no captures weigh
  almost nothing). Near the end of the series the window is one-sided: the last day is scored from the days
  before it like any other day near an edge.
- robust: a robust reference (the median of the days with captures of the same weekday within three weeks either
  side) decides which days the fit leaves out — days improbably low under it (outages, partial operation) — and
  where it clips (3 × reference + 5), so that a spike moves its neighbours' levels by a bounded amount and an
  outage does not pull the level down.
- its own count never reaches μ_t: day t enters only the references of the days of its weekday within three
  weeks. Its own decision is left out with it, and for μ_t the decisions on the others are those their reference
  makes without day t. So μ_t is the same whatever day t's count (float32 rounding apart): a spike neither
  lowers nor raises its own expected count.
- overdispersion: negative binomial, Var = μ + αμ², α per device by moments, robust to spikes and to excess
  zeros (see `_dispersion`). A day is judged by the dispersion of the other days (its own residual left out, so
  a spike does not widen the spread it is judged by); its predictive dispersion adds the error of its own level
  (1/n_t for the n_t days in its window), so days near the end, with half a window, are judged with the wider
  spread they have.

A second, guarded baseline serves sustained rises and outages: the same estimate over the days `GUARD_DAYS` …
`GUARD_DAYS + GUARD_SPAN` away on either side, which a rise or an outage shorter than the guard cannot move.

Missing data: a device's series runs from its first daily row to its span end (for a device in use, the last day
its department reported). A day in the series without a row counts as 0 when the department reported other
devices that day (many systems leave zero days out), and as unknown when it reported nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np
from scipy import stats

WEEKDAY_PSEUDO_COUNT = 0.5   # cases added to each weekday's total
MIN_WINDOW_DAYS = 7          # a level needs at least this many days of data in its window
REFERENCE_WEEKS = 3          # the robust reference: median of the weekday's days with captures within ±3 weeks …
MIN_REFERENCE_DAYS = 2       # … at least two of them
LOW_Z = 3.09                 # days this many SDs below the reference on the Anscombe scale are left out (1e-3)
CLIP_FACTOR, CLIP_ADD = 3.0, 5.0   # the fit clips counts at 3 × reference + 5
CAP_Z = 4.0                  # the dispersion caps a day's squared residual at 4² times its variance
PRIOR_DISPERSION = 0.05      # typical α of real cameras (median of Chicago's 2019 speed cameras: 0.054) …
PRIOR_WEIGHT = 400.0         # … weighing as much as Σμ² = 400, i.e. 50 days at 2.8 a day
GUARD_DAYS = 28              # the guarded baseline leaves out the four weeks either side of the day …
GUARD_SPAN = 56              # … and uses the eight weeks beyond them
MIN_GUARD_DAYS = 14          # a guarded baseline needs at least this many days of data
MAX_SIZE = 1e6               # negative binomial size used for (near-)Poisson days
DAYS_PER_100_DEVICE_YEARS = 36_500


@dataclass
class DailySeries:
    """The daily rows of a set of devices and what the model needs besides the counts.

    dev, day, count: the rows, sorted by device position and day (days since 1970-01-01).
    span_end: per device position, the last day of its series (NaN: its last row); group: per position, the
    reporting group (department) index; reported: sorted keys group·2³² + day of the days on which each group
    reported daily rows.
    """

    dev: np.ndarray
    day: np.ndarray
    count: np.ndarray
    span_end: np.ndarray
    group: np.ndarray
    reported: np.ndarray


@dataclass
class ChunkFit:
    """The model fitted on one chunk: k devices × T calendar days from day0 (float32 matrices).

    y: counts (0 for days without a row that the department reported, NaN where unknown or outside the series);
    known: ~isnan(y); mu: expected count; size: negative binomial size of each day's predictive distribution;
    base: the guarded expected count (NaN with too few days); factor (k × 7, Monday first): weekday factors;
    dispersion: α per device; history: days of data per device; guarded: days with a guarded baseline per device;
    last: the last day of each device's series; group: each device's reporting group.
    """

    devs: np.ndarray
    day0: int
    y: np.ndarray
    known: np.ndarray
    mu: np.ndarray
    size: np.ndarray
    base: np.ndarray
    factor: np.ndarray
    dispersion: np.ndarray
    history: np.ndarray
    guarded: np.ndarray
    last: np.ndarray
    group: np.ndarray


def weekday(days: np.ndarray) -> np.ndarray:
    """0 = Monday … 6 = Sunday (1970-01-01 was a Thursday)."""
    return (np.asarray(days) + 3) % 7


def nb_sf(x: np.ndarray, mu: np.ndarray, size: np.ndarray) -> np.ndarray:
    """P(X ≥ x) for X negative binomial with mean mu and the given size; 0 where mu is 0 and x ≥ 1."""
    x, mu, size = (np.asarray(a, dtype=float) for a in (x, mu, size))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = stats.nbinom.sf(x - 1, size, size / (size + mu))
    return np.where(x <= 0, 1.0, np.where(mu <= 0, 0.0, p))


def nb_quantile(q: float, mu: np.ndarray, size: np.ndarray) -> np.ndarray:
    """The q-quantile of the negative binomial with mean mu and the given size (0 where mu is 0)."""
    mu, size = np.asarray(mu, dtype=float), np.asarray(size, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = stats.nbinom.ppf(q, size, size / (size + mu))
    return np.where(mu > 0, out, 0.0)


def log_p_zero(mu: np.ndarray, dispersion: np.ndarray) -> np.ndarray:
    """log P(X = 0) under the negative binomial with mean mu and dispersion α (Poisson as α → 0)."""
    a = np.maximum(dispersion, 1.0 / MAX_SIZE)
    return -np.log1p(a * mu) / a


def budget_alpha(per_100_device_years: float) -> float:
    """The per-day (per-test) false-alarm probability that spends the budget over all device-days (Bonferroni):
    VIO04 and VIO05 use it on every day, VIO02 on average (audit.rules.anomalies.spikes shares it out)."""
    return per_100_device_years / DAYS_PER_100_DEVICE_YEARS


# ---- matrix helpers ------------------------------------------------------------------------------------------

class WindowSums:
    """Sums of a k × T matrix over day windows [t + lo, t + hi] (clipped to the matrix), from one cumulative sum
    (float64 unless dtype says otherwise: short windows of small counts can do with float32): each window is
    computed interval by interval as the difference of two column slices (or edge columns)."""

    def __init__(self, a: np.ndarray, dtype: type = np.float64) -> None:
        k, self.width = a.shape
        self.c = np.zeros((k, self.width + 1), dtype=dtype)
        np.cumsum(a, axis=1, dtype=dtype, out=self.c[:, 1:])

    def sum(self, lo: int, hi: int) -> np.ndarray:
        """float32 sums (the cumulative sum is float64, so long series keep their precision)."""
        width, c = self.width, self.c
        out = np.empty((c.shape[0], width), dtype=np.float32)
        # The sum is c[t + hi + 1] − c[t + lo], indices clipped to 0 … width: between these breakpoints each
        # index is a slice or a constant column.
        cuts = sorted({0, width, *(min(max(x, 0), width) for x in (-lo, width - lo, -hi - 1, width - hi - 1))})

        def column(off: int, t0: int, t1: int) -> np.ndarray:
            x0, x1 = t0 + off, t1 - 1 + off
            if 0 <= x0 and x1 <= width:
                return c[:, x0:x1 + 1]
            x = min(max(x0, 0), width)
            return c[:, x:x + 1]

        for t0, t1 in zip(cuts[:-1], cuts[1:]):
            np.subtract(column(hi + 1, t0, t1), column(lo, t0, t1), out=out[:, t0:t1])
        return out


def _same_weekday(u: np.ndarray, half: int) -> np.ndarray:
    """For each day, Σu over the days of the same weekday within `half` days either side (the day included)."""
    k, width = u.shape
    nb, m = -(-width // 7), half // 7
    blocks = np.zeros((k, nb + 2 * m + 1, 7), dtype=np.float32)
    np.cumsum(np.pad(u, ((0, 0), (0, nb * 7 - width))).reshape(k, nb, 7), axis=1, out=blocks[:, m + 1:m + 1 + nb])
    blocks[:, m + 1 + nb:] = blocks[:, m + nb:m + 1 + nb]
    out = blocks[:, 2 * m + 1:2 * m + 1 + nb] - blocks[:, :nb]
    return out.reshape(k, nb * 7)[:, :width]


def _factors(total: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Weekday factors averaging 1 over the weekdays with data (1 for a weekday without)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(days > 0, total / days, np.nan)
        f = rate / np.nanmean(rate, axis=1, keepdims=True)
    return np.where(np.isfinite(f), f, 1.0)


def _reference(z: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """A robust level of the counts z of the days with captures (NaN otherwise): for each day, the median of the
    days of its weekday within REFERENCE_WEEKS weeks either side, itself included (NaN with fewer than
    MIN_REFERENCE_DAYS). Zero days do not enter it, so that an outage, even a long one, cannot lower it, and a
    spike cannot move a median by more than one value. It is biased upwards at low counts and only decides which
    days the fit leaves out and where it clips.

    Also, per day, what `_without` needs: the sorted values a, b, c, d at the positions lo, lo + 1, hi, hi + 1,
    lo and hi being the middle positions once one value is removed, and the number of values."""
    k, width = z.shape
    nb, m = -(-width // 7), REFERENCE_WEEKS
    weeks = np.pad(z, ((0, 0), (0, nb * 7 - width)), constant_values=np.nan).reshape(k, nb, 7)
    around = np.pad(weeks, ((0, 0), (m, m), (0, 0)), constant_values=np.nan)
    near = np.sort(np.lib.stride_tricks.sliding_window_view(around, 2 * m + 1, axis=1), axis=-1)  # NaN last
    count = np.sum(~np.isnan(near), axis=-1)

    def at(i: np.ndarray) -> np.ndarray:
        return np.take_along_axis(near, np.minimum(np.maximum(i, 0), 2 * m)[..., None], axis=-1)[..., 0] \
            .reshape(k, nb * 7)[:, :width]

    lo, hi = (count - 2) // 2, (count - 1) // 2
    a, b, c, d = at(lo), at(lo + 1), at(hi), at(hi + 1)
    flat = count.reshape(k, nb * 7)[:, :width]
    # The median is (b + c) / 2: of an odd number of values b = c is the middle one, of an even number b and c
    # are the two middle ones.
    median = np.where(flat >= MIN_REFERENCE_DAYS, (b + c) / 2, np.float32(np.nan))
    return median, (a, b, c, d, flat)


def _without(order: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """The reference median without one of its values v, for v ≤ a, a < v ≤ c and v > c: removing v from the
    sorted values shifts those from v on down by one, so the value at a middle position is the one there if it is
    below v, else the next one (NaN with fewer than MIN_REFERENCE_DAYS values left)."""
    a, b, c, d, count = order
    few = count - 1 < MIN_REFERENCE_DAYS
    return tuple(np.where(few, np.float32(np.nan), m) for m in ((b + d) / 2, (a + d) / 2, (a + c) / 2))


def _decisions(y: np.ndarray, known: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(days used, their counts clipped) under the reference: a day improbably low under it is left out (LOW_Z
    standard deviations below it on the Anscombe scale, whose variance 1 + α·ref uses α = PRIOR_DISPERSION, a
    constant and not an estimate, so that no day's count moves the decisions on the others through it); counts
    are clipped at CLIP_FACTOR × ref + CLIP_ADD. No decision where the reference is NaN."""
    f32 = np.float32
    r = np.nan_to_num(ref)
    resid = 2 * (np.sqrt(y + f32(0.375)) - np.sqrt(r + f32(0.375)))
    use = known & ~(resid < f32(-LOW_Z) * np.sqrt(1 + f32(PRIOR_DISPERSION) * r))
    return use, np.where(use, np.fmin(y, f32(CLIP_FACTOR) * ref + f32(CLIP_ADD)), f32(0.0))


def _own_changes(y: np.ndarray, known: np.ndarray, order: tuple[np.ndarray, ...], u: np.ndarray,
                 yc: np.ndarray, half: int) -> tuple[np.ndarray, ...]:
    """For each day t, how the decisions on the days whose reference t enters (its weekday within REFERENCE_WEEKS
    weeks) change when t is left out of those references: the changes in their days used and clipped counts,
    summed over all of them and over those within ±half of t (dU, dY, dU_win, dY_win).

    Each day's decisions are taken under its three references without a value (`_without`); only the days on
    which one of them decides otherwise than the reference itself are then matched with the days t."""
    k, width = y.shape
    a, _, c, _, _ = order
    du, dy = [], []
    for ref in _without(order):
        use, clipped = _decisions(y, known, ref)
        du.append(use.astype(np.float32) - u)
        dy.append(clipped - yc)
    rows, cols = np.nonzero((du[0] != 0) | (du[1] != 0) | (du[2] != 0) | (dy[0] != 0) | (dy[1] != 0) | (dy[2] != 0))
    du_s, dy_s = np.stack([x[rows, cols] for x in du]), np.stack([x[rows, cols] for x in dy])
    capture = known & (y > 0)
    out = tuple(np.zeros((k, width), dtype=np.float32) for _ in range(4))
    for j in (*range(-REFERENCE_WEEKS, 0), *range(1, REFERENCE_WEEKS + 1)):
        t = cols - 7 * j
        i = np.flatnonzero((t >= 0) & (t < width))
        i = i[capture[rows[i], t[i]]]  # a day without captures is in no reference
        r, s, t = rows[i], cols[i], t[i]
        v = y[r, t]
        which = np.where(v <= a[r, s], 0, np.where(v <= c[r, s], 1, 2))
        # Within one shift the days t are distinct, so the changes add up by plain indexing.
        out[0][r, t] += du_s[which, i]
        out[1][r, t] += dy_s[which, i]
        if 7 * abs(j) <= half:
            out[2][r, t] += du_s[which, i]
            out[3][r, t] += dy_s[which, i]
    return out


def _dispersion(y: np.ndarray, use: np.ndarray, mu: np.ndarray,
                n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(α per device, α per day without the day) by moments: E[(y − μ)²] = (μ + αμ²)(1 + 1/n) for a level
    estimated from n days, so α = Σ[(y − μ)²/(1 + 1/n) − μ] / Σμ² over the days used (the improbably low days are
    already left out).

    Robust to excess zeros: a day without captures enters not by its residual μ² but every day enters by the
    expectation of that term, P(0 | μ, α)·μ², i.e. Σ_{y>0} (y − μ)² + Σ P(0)·μ² estimates Σ(y − μ)² without
    bias under the negative binomial, and days off (a school-zone camera's weekdays without school, counted as 0
    because its department reported other devices) do not widen the spread. The days off still lower the level
    the other days are measured against. On the real Chicago counts, the α of school-zone cameras fell by up to
    half (CHI062 at 3.5 a day 0.21 to 0.16, CHI136 at 2.4 a day 0.13 to 0.06); on the benchmark's clean negative
    binomial series the false alarms did not change (2.69 per 100 device-years, 2.72 without this).

    Robust to spikes: each day's squared residual is capped at CAP_Z² times its variance under the previous
    estimate, four times over (a spike's influence shrinks to that of a 4-sigma day), after the pass-2 clipping.
    A cap at 3 sigma cut the ordinary upper tail of skewed (low-count) negative binomial days too and left α
    too low: on the benchmark's clean series, days beyond the model's 1e-4 quantile came about 2.2 times as often
    as 1e-4 (about 1.7 times with the cap at 4, the rest being the error of α itself).
    Shrunk towards PRIOR_DISPERSION, since a quiet device's estimate is imprecise (±0.07 from 90 days at 3 a day).

    Each day's own α leaves its own (capped) term out of the sums (leave-one-out): a spike on a quiet device,
    even capped at 4 sigma, raised α a lot (Chicago's CHI136 at 2.4 a day: 0.13, with a 5x spike on its last day
    0.23), so that the spike itself looked less improbable.
    """
    f32 = np.float32
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.where(use, mu, f32(0.0))
        inflation = (1 + 1 / np.maximum(n, 1)).astype(f32)  # of the variance, by the level's own error
        r2 = np.where(use, (y - m) ** 2 / inflation, f32(0.0))
        # The residual of a day without captures is replaced by its expectation under the estimate, P(0)·μ², on
        # every day: excess zeros (a school camera's days off) do not widen the spread.
        w = np.where(use, m * m / inflation, f32(0.0))
        r2[use & (y == 0)] = 0.0
        total = (r2 - m).sum(axis=1, dtype=float)
        den = (m * m).sum(axis=1, dtype=float)
        # Only days beyond 3² times a Poisson variance can be capped (the cap grows with α): iterate on those.
        rows, cols = np.nonzero(r2 > CAP_Z ** 2 * m)
        r2c, mc = r2[rows, cols].astype(float), m[rows, cols].astype(float)
    alpha = np.full(len(m), PRIOR_DISPERSION)
    for _ in range(4):
        excess = np.maximum(r2c - CAP_Z ** 2 * (mc + alpha[rows] * mc * mc), 0.0)
        zeros = np.exp(log_p_zero(m, alpha.astype(f32)[:, None])) * w
        num = total - np.bincount(rows, weights=excess, minlength=len(m)) + zeros.sum(axis=1, dtype=float)
        alpha = np.maximum((num + PRIOR_WEIGHT * PRIOR_DISPERSION) / (den + PRIOR_WEIGHT), 0.0)
    # Each day's own spread without its own (capped) residual: a spike does not widen the spread it is judged by.
    r2[rows, cols] -= excess.astype(f32)
    with np.errstate(invalid="ignore", divide="ignore"):
        own = ((num + PRIOR_WEIGHT * PRIOR_DISPERSION)[:, None] - (r2 + zeros - m)) \
            / ((den + PRIOR_WEIGHT)[:, None] - m * m)
    return alpha, np.maximum(own, 0.0).astype(f32)


# ---- the fit -----------------------------------------------------------------------------------------------

def _layout(series: DailySeries, devs: np.ndarray, rows: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """(day0, the counts matrix, the last day of each series) of the chunk."""
    local = np.searchsorted(devs, series.dev[rows])
    # Rows are sorted by device and day: each device's first and last row bound its run.
    starts = np.flatnonzero(np.r_[True, local[1:] != local[:-1]])
    stops = np.r_[starts[1:], len(local)] - 1
    day = series.day[rows]
    first_row, last_row = day[starts], day[stops]
    ends = np.asarray(series.span_end, dtype=float)[devs]
    end = np.where(np.isnan(ends), last_row, np.fmax(ends, last_row)).astype(np.int64)
    day0 = int(first_row.min())
    days = day0 + np.arange(int(end.max()) - day0 + 1)
    if len(rows) == len(devs) * len(days) and (first_row == day0).all():
        step = np.diff(day)
        step[starts[1:] - 1] = 1
        if (step == 1).all():  # a row for every device and day, in order: the matrix as it comes
            return day0, series.count[rows].astype(np.float32).reshape(len(devs), len(days)), end
    inside = (days[None, :] >= first_row[:, None]) & (days[None, :] <= end[:, None])
    # The days each of the chunk's groups reported, as a small group × day table.
    groups, group_row = np.unique(series.group[devs], return_inverse=True)
    lo = np.searchsorted(series.reported, (groups.astype(np.int64) << 32) + day0)
    hi = np.searchsorted(series.reported, (groups.astype(np.int64) << 32) + days[-1], side="right")
    table = np.zeros((len(groups), len(days)), dtype=bool)
    for g, (a, b) in enumerate(zip(lo, hi)):
        table[g, (series.reported[a:b] & 0xFFFFFFFF) - day0] = True
    if not table.all():
        inside &= table[group_row]
    y = np.where(inside, np.float32(0.0), np.float32(np.nan))
    y[local, day - day0] = series.count[rows]
    return day0, y, end


def fit_chunk(series: DailySeries, devs: np.ndarray, rows: np.ndarray, half_window: int) -> ChunkFit:
    """Fit the model on the devices `devs` (sorted positions) whose rows are `rows` (indices into series)."""
    day0, y, last = _layout(series, devs, rows)
    k, width = y.shape
    f32 = np.float32
    known = ~np.isnan(y)
    dow = weekday(day0 + np.arange(width))
    onehot = np.zeros((width, 7), dtype=f32)
    onehot[np.arange(width), dow] = 1.0
    half = max(int(half_window), 1)
    y0 = np.where(known, y, f32(0.0))

    # The robust reference: what the fit leaves out (improbably low days) and where it clips.
    with np.errstate(invalid="ignore"):
        ref, order = _reference(np.where(known & (y0 > 0), y0, f32(np.nan)))
        use, yc = _decisions(y0, known, ref)
    u = use.astype(f32)

    # For day t's own level, the decisions on the days of its weekday whose reference it enters are taken
    # without it: the changes in their days used and counts (all of them, and those within ±half).
    d_u, d_y, d_u_win, d_y_win = _own_changes(y0, known, order, u, yc, half)
    # Weekday rates, and day t's own rate without day t (the other weekdays' mean rate where it is alone).
    total, wdays = (yc @ onehot).astype(float) + WEEKDAY_PSEUDO_COUNT, (u @ onehot).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(wdays > 0, total / wdays, np.nan)
        has = np.isfinite(rate)
        mean_rate = np.nanmean(rate, axis=1, keepdims=True)
        others = (np.nansum(rate, axis=1, keepdims=True) - np.where(has, rate, 0.0)) \
            / (has.sum(axis=1, keepdims=True) - has)
        rcol = np.where(has, rate, mean_rate).astype(f32)[:, dow]
        own_days = wdays.astype(f32)[:, dow] - u + d_u
        own = np.where(own_days > 0, (total.astype(f32)[:, dow] - yc + d_y) / own_days, others.astype(f32)[:, dow])
    # The level: Σy / Σr within ±half, the day left out (its weekday's days weighted by its own rate).
    far = GUARD_DAYS + GUARD_SPAN
    ru = rcol * u
    w_y, w_r, w_u = WindowSums(yc), WindowSums(ru), WindowSums(u)
    same = _same_weekday(u, half) - u
    num = w_y.sum(-half, half) - yc + d_y_win
    den = w_r.sum(-half, half) - ru - same * rcol + (same + d_u_win) * own
    n = w_u.sum(-half, half) - u + d_u_win
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = np.where((n >= MIN_WINDOW_DAYS) & (den > 0), own * num / den, f32(np.nan))
    alpha, alpha_t = _dispersion(yc, use & np.isfinite(mu), mu, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        a_t = alpha_t * (1 + 1 / n) + 1 / (n * mu)
        size = np.where(np.isfinite(a_t) & (a_t > f32(1 / MAX_SIZE)), 1 / a_t, f32(MAX_SIZE))

    # The guarded baseline: the days GUARD_DAYS … GUARD_DAYS + GUARD_SPAN away on either side.
    def guarded(w: WindowSums) -> np.ndarray:
        return w.sum(-far, -GUARD_DAYS) + w.sum(GUARD_DAYS, far)

    g_sum, g_w, g_n = guarded(w_y), guarded(w_r), guarded(w_u)
    with np.errstate(invalid="ignore", divide="ignore"):
        base = np.where((g_n >= MIN_GUARD_DAYS) & (g_w > 0), g_sum / g_w * rcol, f32(np.nan))
    return ChunkFit(devs=devs, day0=day0, y=y, known=known, mu=mu, size=size, base=base,
                    factor=_factors(total, wdays), dispersion=alpha, history=known.sum(axis=1),
                    guarded=(known & np.isfinite(base)).sum(axis=1), last=last,
                    group=series.group[devs])


def _chunks(first: np.ndarray, last: np.ndarray, max_cells: int) -> Iterator[np.ndarray]:
    """Device positions in groups whose calendar box (devices × days) holds at most max_cells (one device at
    least), devices sorted by first day so that a box stays compact."""
    order = np.lexsort((last, first))
    k0 = 0
    while k0 < len(order):
        lo, hi, k1 = first[order[k0]], last[order[k0]], k0 + 1
        while k1 < len(order):
            nlo, nhi = min(lo, first[order[k1]]), max(hi, last[order[k1]])
            if (k1 - k0 + 1) * (nhi - nlo + 1) > max_cells:
                break
            lo, hi, k1 = nlo, nhi, k1 + 1
        yield np.sort(order[k0:k1])
        k0 = k1


def fit(series: DailySeries, half_window: int, max_cells: int = 1_000_000) -> Iterator[ChunkFit]:
    """The model fitted on every device with daily rows, chunk by chunk."""
    if not len(series.dev):
        return
    starts = np.flatnonzero(np.r_[True, series.dev[1:] != series.dev[:-1]])
    stops = np.r_[starts[1:], len(series.dev)]
    devs = series.dev[starts]
    ends = np.asarray(series.span_end, dtype=float)[devs]
    last = np.where(np.isnan(ends), series.day[stops - 1], np.fmax(ends, series.day[stops - 1])).astype(np.int64)
    for chunk in _chunks(series.day[starts], last, max_cells):
        lengths = stops[chunk] - starts[chunk]
        rows = np.repeat(starts[chunk] - np.cumsum(np.r_[0, lengths[:-1]]), lengths) + np.arange(lengths.sum())
        yield fit_chunk(series, devs[chunk], rows, half_window)


__all__ = ["DailySeries", "ChunkFit", "WindowSums", "fit", "fit_chunk", "nb_sf", "nb_quantile", "log_p_zero", "budget_alpha",
           "weekday"]
