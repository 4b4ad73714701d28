"""VIO: abnormally high capture counts and fine amounts (采集量、罚款数额畸高), against peers and own history.

No official threshold exists: the rules compute statistical baselines and report the score and the baseline.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .base import BASIS_GUOFA_2024_5, IN_USE, Rule, device_states, memo, register
from .data import coverage, day_to_date, segments, violations

if TYPE_CHECKING:
    from .context import AuditContext

MAD_SCALE = 1.4826      # MAD → standard deviation under normality
MEANAD_SCALE = 1.253314  # mean absolute deviation → standard deviation (used when the MAD is 0)
MIN_SPIKE_SCALE = 0.1   # floor of a device's own log-ratio scale, so a very regular series does not flag noise
WEEKDAYS_ZH = "一二三四五六日"
BASIS_VIO = f"{BASIS_GUOFA_2024_5}（对违法事实采集量、罚款数额畸高的设备开展大数据分析，重点监督）"


def robust_scores(values: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Robust z per value within its group: (x − median) / (1.4826·MAD), or / (1.2533·mean |x − median|) when
    the MAD is 0 (Iglewicz–Hoaglin); 0 when both are 0. Returns (score, group median, group size)."""
    frame = pd.DataFrame({"x": values, "g": groups})
    grouped = frame.groupby("g")["x"]
    med = grouped.transform("median").to_numpy()
    dev = np.abs(values - med)
    by_dev = pd.Series(dev).groupby(groups)
    mad = by_dev.transform("median").to_numpy() * MAD_SCALE
    mean_ad = by_dev.transform("mean").to_numpy() * MEANAD_SCALE
    scale = np.where(mad > 0, mad, mean_ad)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(scale > 0, (values - med) / scale, 0.0)
    return score, med, grouped.transform("size").to_numpy()


def device_totals(devices: pd.DataFrame, ctx: AuditContext) -> pd.DataFrame:
    """Per device position: window_start/window_end (days), days in service within the data, violations, fines.

    The window runs from the later of the department's first data day and the device's 启用日期 (its own first
    data day when 启用日期 is empty) to the department's last data day (never past the as-of date).
    """
    def compute() -> pd.DataFrame:
        cov = coverage(devices, ctx)
        started = devices["in_service_on"]
        start_day = np.where(started.notna(),
                             started.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)
                             .astype(float), cov["first"].to_numpy())
        start = np.fmax(start_day, cov["dept_first"].to_numpy())
        end = cov["dept_last"].to_numpy()
        v = violations(devices, ctx)
        v = v.take(v.day >= start[v.dev])
        known = ~np.isnan(v.fine)
        n = len(devices)
        return pd.DataFrame({
            "window_start": start, "window_end": end, "days": end - start + 1,
            "rows": np.bincount(v.dev, minlength=n),
            "violations": np.bincount(v.dev, weights=v.count, minlength=n),
            "fine": np.bincount(v.dev[known], weights=v.fine[known], minlength=n),
            "fine_rows": np.bincount(v.dev[known], minlength=n),
            "fined_violations": np.bincount(v.dev[known], weights=v.count[known], minlength=n),
        })
    return memo(ctx, "device_totals", compute)


class _PeerRule(Rule):
    """Shared: which devices can be compared with peers, and the cannot-assess findings for the others."""

    severity = "较重"
    action = "核查"
    what: str

    def eligible(self, devices: pd.DataFrame, ctx: AuditContext, need_fines: bool) -> tuple[np.ndarray, list]:
        used = (device_states(devices, ctx) == IN_USE).to_numpy()
        if len(ctx.violations) == 0:
            return np.zeros(len(devices), dtype=bool), [self.context_cannot_assess(
                devices.loc[used, "department"], self.what, "未导入违法采集量统计", "导入违法采集量统计表")]
        tot = device_totals(devices, ctx)
        min_days = int(self.setting(ctx, "peer_min_days").value)
        has_rows = tot["rows"].to_numpy() > 0
        long_enough = np.nan_to_num(tot["days"].to_numpy(), nan=0) >= min_days
        ok = has_rows & long_enough
        parts = [self.cannot_assess(devices[used & ~has_rows], [], self.what, reason="未报送该设备的违法采集量统计"),
                 self.cannot_assess(devices[has_rows & ~long_enough], [], self.what,
                                    reason=f"统计期内在用不足 {min_days} 天")]
        if need_fines:
            fines = tot["fine_rows"].to_numpy() > 0
            parts.append(self.cannot_assess(devices[ok & ~fines], [], self.what, reason="违法采集量统计未填罚款金额"))
            ok &= fines
        min_peers = int(self.setting(ctx, "peer_min_devices").value)
        types = devices["device_type"].to_numpy(dtype=object)
        peers = pd.Series(types[ok]).value_counts()
        few = ok & (pd.Series(types).map(peers).fillna(0).to_numpy() < min_peers)
        parts.append(self.cannot_assess(devices[few], [], self.what,
                                        reason=f"同类设备中可比较的不足 {min_peers} 台"))
        return ok & ~few, parts


@register
class PeerCaptureCount(_PeerRule):
    """Capture count abnormally high against peers of the same type (violations per day in service).

    Score: robust z of log(1 + violations per day) within the device type, median and MAD over the devices that
    can be compared (at least peer_min_days in service within the data; at least peer_min_devices peers).
    The peers are the devices of the audit (one department, or all). Flagged above peer_score_threshold.

    Fails: one 固定测速 at 108 violations/day among ten at 10–19/day (score ≈ 7.5).
    Passes: a device at 18/day among the same; a device with 5 days of data (reported as cannot assess).
    """

    code = "VIO01"
    title_zh = "违法采集量畸高（同类比较）"
    title_en = "Capture count abnormally high against peers"
    basis = BASIS_VIO
    settings = ("peer_min_devices", "peer_min_days", "peer_score_threshold")
    what = "违法采集量是否畸高"

    def check(self, devices: pd.DataFrame, ctx: AuditContext) -> list[pd.DataFrame]:
        ok, parts = self.eligible(devices, ctx, need_fines=False)
        if not ok.any():
            return parts
        tot = device_totals(devices, ctx)[ok]
        types = devices["device_type"].to_numpy(dtype=object)[ok]
        rate = tot["violations"].to_numpy() / tot["days"].to_numpy()
        score, med, size = robust_scores(np.log1p(rate), types)
        limit = float(self.setting(ctx, "peer_score_threshold").value)
        hit = score > limit
        rows = devices[ok][hit]
        peer_rate = np.expm1(med[hit])
        t = tot[hit]
        messages = [f"{day_to_date(a):%Y-%m-%d} 至 {day_to_date(b):%Y-%m-%d} 日均采集违法 {r:.1f} 起（{int(d)} 天共 {int(n)} 起），"
                    f"为同类（{ty}，{int(k)} 台）中位数 {p:.1f} 起/日的 {r / p if p > 0 else float('inf'):.1f} 倍，"
                    f"稳健Z分数 {s:.1f}，超过 {limit:g}；应重点核查设置地点、设备状态和违法记录。"
                    for a, b, r, d, n, ty, k, p, s in zip(t["window_start"], t["window_end"], rate[hit], t["days"],
                                                          t["violations"], types[hit], size[hit], peer_rate,
                                                          score[hit])]
        evidence = [{"per_day": round(r, 3), "violations": int(n), "days": int(d), "window_start": day_to_date(a),
                     "window_end": day_to_date(b), "peer_type": ty, "peer_count": int(k),
                     "peer_median_per_day": round(p, 3), "score": round(s, 3)}
                    for a, b, r, d, n, ty, k, p, s in zip(t["window_start"], t["window_end"], rate[hit], t["days"],
                                                          t["violations"], types[hit], size[hit], peer_rate,
                                                          score[hit])]
        threshold = {n: self.setting(ctx, n).threshold() for n in self.settings}
        return parts + [self.findings(rows, messages, evidence, threshold)]


@register
class PeerFineAmount(_PeerRule):
    """Fine amount abnormally high against peers of the same type: fines per day in service, and per violation.

    Scores as VIO01 (robust z within the type) on log(1 + fines per day) and on log(1 + fine per violation),
    over rows whose fine is known; flagged when either exceeds peer_score_threshold.

    Fails: a 固定测速 collecting 30,000 元/day among ten at 1,000–3,000 元/day; or at 1,500 元 per violation
    among peers at 200 元.
    Passes: a device at 2,000 元/day and 200 元 per violation among the same.
    """

    code = "VIO03"
    title_zh = "罚款数额畸高（同类比较）"
    title_en = "Fine amount abnormally high against peers"
    basis = BASIS_VIO
    settings = ("peer_min_devices", "peer_min_days", "peer_score_threshold")
    what = "罚款数额是否畸高"

    def check(self, devices: pd.DataFrame, ctx: AuditContext) -> list[pd.DataFrame]:
        ok, parts = self.eligible(devices, ctx, need_fines=True)
        if not ok.any():
            return parts
        tot = device_totals(devices, ctx)[ok]
        types = devices["device_type"].to_numpy(dtype=object)[ok]
        per_day = tot["fine"].to_numpy() / tot["days"].to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            per_case = np.where(tot["fined_violations"] > 0, tot["fine"] / tot["fined_violations"], 0.0)
        s_day, m_day, size = robust_scores(np.log1p(per_day), types)
        s_case, m_case, _ = robust_scores(np.log1p(per_case), types)
        limit = float(self.setting(ctx, "peer_score_threshold").value)
        hit = (s_day > limit) | (s_case > limit)
        rows, t = devices[ok][hit], tot[hit]
        messages, evidence = [], []
        for a, b, fd, fc, total, d, ty, k, md, mc, sd, sc in zip(
                t["window_start"], t["window_end"], per_day[hit], per_case[hit], t["fine"], t["days"], types[hit],
                size[hit], np.expm1(m_day[hit]), np.expm1(m_case[hit]), s_day[hit], s_case[hit]):
            high = []
            if sd > limit:
                high.append(f"日均罚款 {fd:,.2f} 元，为同类中位数 {md:,.2f} 元的 {fd / md if md > 0 else float('inf'):.1f} 倍"
                            f"（稳健Z分数 {sd:.1f}）")
            if sc > limit:
                high.append(f"每起罚款 {fc:,.2f} 元，为同类中位数 {mc:,.2f} 元的 {fc / mc if mc > 0 else float('inf'):.1f} 倍"
                            f"（稳健Z分数 {sc:.1f}）")
            messages.append(f"{day_to_date(a):%Y-%m-%d} 至 {day_to_date(b):%Y-%m-%d} 罚款共 {total:,.2f} 元，"
                            + "；".join(high) + f"，超过 {limit:g}（同类：{ty}，{int(k)} 台）；应重点核查处罚是否合法适当。")
            evidence.append({"fine_yuan": round(total, 2), "days": int(d), "window_start": day_to_date(a),
                             "window_end": day_to_date(b), "fine_per_day": round(fd, 2),
                             "fine_per_violation": round(fc, 2), "peer_type": ty, "peer_count": int(k),
                             "peer_median_fine_per_day": round(md, 2), "peer_median_fine_per_violation": round(mc, 2),
                             "score_per_day": round(sd, 3), "score_per_violation": round(sc, 3)})
        threshold = {n: self.setting(ctx, n).threshold() for n in self.settings}
        return parts + [self.findings(rows, messages, evidence, threshold)]


def nanmedian_last(a: np.ndarray, min_count: int = 1) -> np.ndarray:
    """Median over the last axis ignoring NaN (NaN where fewer than min_count values); fast for short axes."""
    s = np.sort(a, axis=-1)  # NaN sorts last
    c = np.sum(~np.isnan(a), axis=-1)
    lo = np.take_along_axis(s, np.maximum((c - 1) // 2, 0)[..., None], axis=-1)[..., 0]
    hi = np.take_along_axis(s, np.minimum(c // 2, a.shape[-1] - 1)[..., None], axis=-1)[..., 0]
    return np.where(c >= max(min_count, 1), (lo + hi) / 2, np.nan)


def window_weeks(window_days: int) -> int:
    """The baseline window in whole weeks, odd so that it is centred on the day's week (at least 3)."""
    return max(3, 2 * int(round((window_days / 7 - 1) / 2)) + 1)


def spike_scores(dev: np.ndarray, day: np.ndarray, count: np.ndarray, window_days: int,
                 max_cells: int = 4_000_000) -> dict[str, np.ndarray]:
    """Per daily row (sorted by dev, day): level, weekday factor, expected count and robust score.

    Each device's days are laid out from its first day in blocks of 7 (one of each weekday). The level of a
    day is the median of the block means over the surrounding window (window_weeks blocks; a block needs 4 days
    with data), i.e. the season; the weekday factor is the device's median of count / level on that weekday.
    Score: log((count + 1) / (expected + 1)) minus the device's median, over max(1.4826 × MAD, 0.1).
    Devices are processed in chunks of similar length, as dense device × day matrices of at most max_cells.
    """
    n_rows = len(dev)
    out = {k: np.full(n_rows, np.nan) for k in ("level", "factor", "expected", "score")}
    if not n_rows:
        return out
    devs, starts = segments(dev)
    ends = np.r_[starts[1:], n_rows]
    first = day[starts]
    blocks = (day[ends - 1] - first) // 7 + 1
    half = window_weeks(window_days) // 2
    order = np.argsort(blocks, kind="stable")
    k0 = 0
    while k0 < len(order):
        k1 = k0 + 1
        while k1 < len(order) and (k1 - k0 + 1) * int(blocks[order[k1]]) * 7 <= max_cells:
            k1 += 1
        chunk = order[k0:k1]
        nb = int(blocks[chunk].max())
        lengths = ends[chunk] - starts[chunk]
        local = np.repeat(np.arange(len(chunk)), lengths)
        rows = starts[chunk][local] + np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        offset = day[rows] - first[chunk][local]
        m = np.full((len(chunk), nb * 7), np.nan)
        m[local, offset] = count[rows]
        b = m.reshape(len(chunk), nb, 7)
        valid = np.sum(~np.isnan(b), axis=2)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.where(valid >= 4, np.nansum(b, axis=2) / np.maximum(valid, 1), np.nan)
        padded = np.pad(means, ((0, 0), (half, half)), constant_values=np.nan)
        windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1, axis=1)
        level = nanmedian_last(windows, min_count=half + 1)                       # (k, nb)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(level[:, :, None] > 0, b / level[:, :, None], np.nan)  # (k, nb, 7)
        factor = nanmedian_last(ratio.transpose(0, 2, 1))                        # (k, 7)
        factor = np.where(np.isfinite(factor) & (factor > 0), factor, 1.0)
        expected = level[:, :, None] * factor[:, None, :]
        r = np.log((b + 1.0) / (expected + 1.0)).reshape(len(chunk), nb * 7)
        r_med = nanmedian_last(r)
        mad = nanmedian_last(np.abs(r - r_med[:, None])) * MAD_SCALE
        score = (r - r_med[:, None]) / np.maximum(mad, MIN_SPIKE_SCALE)[:, None]
        block, pos = offset // 7, offset % 7
        out["level"][rows] = level[local, block]
        out["factor"][rows] = factor[local, pos]
        out["expected"][rows] = expected[local, block, pos]
        out["score"][rows] = score[local, offset]
        k0 = k1
    return out


@register
class CaptureSpike(Rule):
    """A day whose capture count spikes against the device's own history, controlling for weekday and season.

    Baseline per device and day (see spike_scores): the level of the season, the median of the device's weekly
    means over the surrounding spike_window_days (whole weeks, centred; one spike cannot move a median), times
    the device's weekday factor (its median of count / level on that weekday). Score: log((count + 1) /
    (expected + 1)) minus the device's median log ratio, over 1.4826 × its MAD (at least 0.1). A day is flagged
    when the score exceeds spike_score_threshold and the count is at least spike_min_count. Devices need
    spike_min_history_days days of daily data; monthly totals cannot be used.

    Fails: a camera at 2–5 violations a day that records 56 on 2024-03-05.
    Passes: the same camera at 5 on a Monday when its Mondays run at 4–6; a rise to 12 (below the minimum count).
    """

    code = "VIO02"
    title_zh = "违法采集量突增（与自身历史比较）"
    title_en = "Capture count spike against own history"
    basis = BASIS_VIO
    severity = "一般"
    action = "核查"
    settings = ("spike_window_days", "spike_min_history_days", "spike_score_threshold", "spike_min_count")

    def check(self, devices: pd.DataFrame, ctx: AuditContext) -> list[pd.DataFrame]:
        what = "单日违法采集量是否突增"
        used = (device_states(devices, ctx) == IN_USE).to_numpy()
        if len(ctx.violations) == 0:
            return [self.context_cannot_assess(devices.loc[used, "department"], what, "未导入违法采集量统计",
                                               "导入违法采集量统计表")]
        window = int(self.setting(ctx, "spike_window_days").value)
        min_hist = int(self.setting(ctx, "spike_min_history_days").value)
        limit = float(self.setting(ctx, "spike_score_threshold").value)
        min_count = int(self.setting(ctx, "spike_min_count").value)
        v = violations(devices, ctx)
        daily = v.take(~v.monthly)
        n_days = np.bincount(daily.dev, minlength=len(devices))
        enough = n_days >= min_hist
        parts = [
            self.cannot_assess(devices[used & (n_days == 0)], [], what, reason="未报送该设备的按日违法采集量统计"),
            self.cannot_assess(devices[(n_days > 0) & ~enough], [], what,
                               reason=f"按日统计不足 {min_hist} 天，无法建立基线"),
        ]
        d = daily.take(enough[daily.dev])
        if not len(d):
            return parts
        scored = spike_scores(d.dev, d.day, d.count.astype(float), window)
        hit = np.flatnonzero((scored["score"] > limit) & (d.count >= min_count))
        rows = devices.iloc[d.dev[hit]]
        dates = day_to_date(d.day[hit])
        wd = (d.day[hit] + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
        count, expected = d.count[hit].tolist(), scored["expected"][hit].tolist()
        score, level = scored["score"][hit].tolist(), scored["level"][hit].tolist()
        factor = scored["factor"][hit].tolist()
        weeks = window_weeks(window)
        messages = [f"{day:%Y-%m-%d}（周{WEEKDAYS_ZH[w]}）采集违法 {c} 起，按自身历史（前后共 {weeks} 周的水平 × 星期系数）预期 {e:.1f} 起，"
                    f"为预期的 {(c / e) if e > 0 else float('inf'):.1f} 倍，稳健Z分数 {s:.1f}，超过 {limit:g}；应核查当日设备状态和违法记录。"
                    for day, w, c, e, s in zip(dates, wd, count, expected, score)]
        evidence = [{"date": day, "weekday": int(w) + 1, "count": c, "expected": round(e, 2), "level": round(lv, 2),
                     "weekday_factor": round(f, 3), "score": round(s, 3), "history_days": int(n_days[dv])}
                    for day, w, c, e, lv, f, s, dv in zip(dates, wd, count, expected, level, factor, score,
                                                          d.dev[hit].tolist())]
        threshold = {n: self.setting(ctx, n).threshold() for n in self.settings}
        return parts + [self.findings(rows, messages, evidence, threshold)]
