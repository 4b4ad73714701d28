"""VIO02, VIO04, VIO05: a device's daily counts against its own history (audit.rules.countmodel): one-day spikes,
sustained rises and outages.

国发〔2024〕5号 asks for big-data analysis of devices whose capture counts are abnormally high; the Chicago Inspector
General (2014) found cameras jumping from a few tickets a day to 56 for weeks, with zero-ticket runs either side.
No official threshold exists: each alarm states the model's expected count, the day's (or the period's) count and
how improbable it is; the false-alarm budget (expected false alarms per 100 device-years on normal data) is a
profile setting, spent per day with Bonferroni, together with minimum sizes.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .anomalies import outages, shifts, spikes
from .base import BASIS_GUOFA_2024_5, IN_USE, Rule, device_states, memo, register
from .countmodel import DailySeries, budget_alpha, fit
from .data import day_to_date, violation_keys, violations
from .stakes import cases_between

if TYPE_CHECKING:
    from .context import AuditContext
    from .countmodel import ChunkFit

WEEKDAYS_ZH = "一二三四五六日"
BASIS_VIO = f"{BASIS_GUOFA_2024_5}（对违法事实采集量、罚款数额畸高的设备开展大数据分析，重点监督）"
MODEL_SETTINGS = ("count_model_window_days", "count_model_min_days", "alarm_budget_per_100_device_years")


def daily_series(devices: pd.DataFrame, ctx: AuditContext) -> DailySeries:
    """The daily rows of the audited devices, for the count model.

    A device in use on the as-of date runs to the last day its department reported daily rows (so that a
    device that stopped reporting shows as an outage); any other device to its own last row. The reporting
    groups are the departments (the one step that looks across devices: which days each department reported).
    """
    def compute() -> DailySeries:
        v = violations(devices, ctx)
        daily = v.take(~v.monthly)
        group = pd.factorize(devices["department"].fillna("").to_numpy(dtype=object))[0].astype(np.int64)
        reported = np.zeros(0, dtype=np.int64)
        if len(daily):
            d0 = int(daily.day.min())
            table = np.zeros((int(group.max()) + 1, int(daily.day.max()) - d0 + 1), dtype=bool)
            table[group[daily.dev], daily.day - d0] = True
            g, d = np.nonzero(table)
            reported = g.astype(np.int64) * np.int64(1 << 32) + d0 + d
        # Each department's last reported day: the last row of each device (rows are sorted), then per group.
        last = np.full(group.max() + 1 if len(group) else 0, np.nan)
        if len(daily):
            ends = np.r_[np.flatnonzero(daily.dev[1:] != daily.dev[:-1]), len(daily) - 1]
            per_group = pd.Series(daily.day[ends]).groupby(group[daily.dev[ends]]).max()
            last[per_group.index.to_numpy()] = per_group.to_numpy(dtype=float)
        in_use = (device_states(devices, ctx) == IN_USE).to_numpy()
        span_end = np.where(in_use, last[group] if len(group) else np.nan, np.nan)
        return DailySeries(dev=daily.dev, day=daily.day, count=daily.count.astype(float), span_end=span_end,
                           group=group, reported=reported)
    return memo(ctx, "daily_series", compute)


def model_fits(devices: pd.DataFrame, ctx: AuditContext, window_days: int) -> list[ChunkFit]:
    """The count model fitted on every device with daily rows (shared by the three rules of one run)."""
    return memo(ctx, f"model_fits:{window_days}",
                lambda: list(fit(daily_series(devices, ctx), half_window=max(window_days // 2, 1))))


def history_days(devices: pd.DataFrame, fits: list[ChunkFit], guarded: bool = False) -> np.ndarray:
    """Per device position: the days of daily data its series holds (rows, and reported days counted as 0), or
    with guarded, the days that have a guarded baseline (data four weeks or more away)."""
    out = np.zeros(len(devices), dtype=np.int64)
    for f in fits:
        out[f.devs] = f.guarded if guarded else f.history
    return out


def _date(day: int | float) -> str:
    return day_to_date(int(day)).date().isoformat()


def _p_text(log10_p: float) -> str:
    return f"1e{int(np.floor(log10_p))}" if log10_p < -6 else f"{10 ** log10_p:.1e}"


class _HistoryRule(Rule):
    """Shared: which devices the model can judge, and the cannot-assess findings for the others."""

    basis = BASIS_VIO
    action = "核查"
    guarded = False  # the rule reads the guarded baseline, which needs data four weeks or more away
    what: str

    def assessable(self, devices: pd.DataFrame, ctx: AuditContext) -> tuple[list[ChunkFit], np.ndarray,
                                                                           list[pd.DataFrame]]:
        """(fits, devices with enough history, cannot-assess findings)."""
        used = (device_states(devices, ctx) == IN_USE).to_numpy()
        if not ctx.has_counts():
            return [], np.zeros(len(devices), dtype=bool), [self.context_cannot_assess(
                devices.loc[used, "department"], self.what, "未导入违法采集量统计", "导入违法采集量统计表")]
        window = int(self.setting(ctx, "count_model_window_days").value)
        min_days = int(self.setting(ctx, "count_model_min_days").value)
        fits = model_fits(devices, ctx, window)
        history = history_days(devices, fits)
        v = violations(devices, ctx)
        rows = np.bincount(v.dev, minlength=len(devices))
        monthly = np.bincount(v.dev[v.monthly], minlength=len(devices))
        enough = history >= min_days
        short = np.zeros(len(devices), dtype=bool)
        if self.guarded:
            short = enough & (history_days(devices, fits, guarded=True) == 0)
            enough &= ~short
        return fits, enough, [
            self.cannot_assess(devices[used & (rows == 0)], [], self.what, reason="未报送该设备的违法采集量统计"),
            self.cannot_assess(devices[used & (rows > 0) & (rows == monthly)], [], self.what,
                               reason="该设备按月报送违法采集量，无法逐日分析"),
            # No request for more data of a device not in use (拆除, 拟建, 停用): nothing to judge it for.
            self.cannot_assess(devices[used & (history > 0) & (history < min_days)], [], self.what,
                               reason=f"按日统计不足 {min_days} 天，无法建立基线"),
            self.cannot_assess(devices[used & short], [], self.what,
                               reason="按日统计期过短（不足约十周），无法建立不受异常期间影响的基线"),
        ]

    def alpha(self, ctx: AuditContext) -> float:
        return budget_alpha(float(self.setting(ctx, "alarm_budget_per_100_device_years").value))

    def threshold(self, ctx: AuditContext) -> dict[str, Any]:
        return {n: self.setting(ctx, n).threshold() for n in self.settings}

    def budget_text(self, ctx: AuditContext) -> str:
        budget = float(self.setting(ctx, "alarm_budget_per_100_device_years").value)
        return f"误报预算（每 100 设备·年 {budget:g} 次，即每设备·日 {self.alpha(ctx):.1e}）"


@register
class CaptureSpike(_HistoryRule):
    """A day whose capture count is improbably high against the device's own history (weekday, season, trend).

    The count model (audit.rules.countmodel) gives each day an expected count from the days around it (never
    from the day itself, and one-sided at the end of the data, so that the last day is scored like any other) and
    a negative binomial spread estimated per device (robust to days off; each day judged by the spread of the other
    days, so that a spike does not widen its own). A day is flagged when the probability of a count at least
    as high is below the day's share of the false-alarm budget, the count is at least spike_min_count and at least
    spike_min_ratio times the expected count. The budget (alarm_budget_per_100_device_years / 36,500 per
    device-day on average) is shared out by how clearly a spike at 5x the expected count would stand out on each
    day (weighted Bonferroni, audit.rules.anomalies.spikes): days of quiet or irregular devices get more than the
    average, days of busy regular devices, where a 5x spike stands out anyway, less. Devices need
    count_model_min_days days of daily data; monthly totals cannot be used. The key is the day; material: the
    day's count (a corrected upload of that day sends the problem back to review; the expected count moves with
    every new day of data).

    Fails: a camera at 2–5 violations a day that records 56 on 2024-03-05; a 10x day on the last day of data.
    Passes: the same camera at 5 on a Monday when its Mondays run at 4–6; a rise to 8 (below the minimum count).
    """

    code = "VIO02"
    title_zh = "违法采集量单日突增（与自身历史比较）"
    title_en = "One-day capture spike against own history"
    severity = "一般"
    settings = (*MODEL_SETTINGS, "spike_min_count", "spike_min_ratio")
    material_evidence = ("count",)
    what = "单日违法采集量是否突增"

    def check(self, devices: pd.DataFrame, ctx: AuditContext) -> list[pd.DataFrame]:
        fits, enough, parts = self.assessable(devices, ctx)
        if not fits:
            return parts
        min_count = int(self.setting(ctx, "spike_min_count").value)
        ratio = float(self.setting(ctx, "spike_min_ratio").value)
        window = int(self.setting(ctx, "count_model_window_days").value)
        found = spikes(fits, self.alpha(ctx), min_count, ratio, scored=enough)
        messages, evidence = [], []
        for r in found.itertuples(index=False):
            day = _date(r.day)
            wd = (int(r.day) + 3) % 7
            level = r.expected / r.factor if r.factor > 0 else r.expected
            p = float(r.p)
            messages.append(
                f"{day}（周{WEEKDAYS_ZH[wd]}）采集违法 {int(r.count)} 起，按自身历史（前后各 {window // 2} 天的水平 "
                f"{level:.1f} × 星期系数 {r.factor:.2f}）预期 {r.expected:.1f} 起，为预期的 "
                f"{r.count / r.expected if r.expected > 0 else float('inf'):.1f} 倍；正常波动下出现的概率约 "
                f"{_p_text(np.log10(max(p, 1e-300)))}，低于当日分得的误报概率 {float(r.alpha):.1e}"
                f"（{self.budget_text(ctx)}，在本单位各设备·日间按 5 倍突增显现的难易分配）；应核查当日设备状态和违法记录。")
            evidence.append({"key": day, "date": day, "weekday": wd + 1, "count": int(r.count),
                             "expected": round(float(r.expected), 2), "level": round(float(level), 2),
                             "weekday_factor": round(float(r.factor), 3), "dispersion": float(f"{float(r.dispersion):.4g}"),
                             "p_value": float(f"{p:.3g}"), "p_threshold": float(f"{float(r.alpha):.3g}"),
                             "history_days": int(r.history)})
        rows = devices.iloc[found["dev"].to_numpy(np.int64)] if len(found) else devices.iloc[:0]
        return parts + [self.findings(rows, messages, evidence, self.threshold(ctx), is_plain=True)]


def _period_cases(devices: pd.DataFrame, ctx: AuditContext, found: pd.DataFrame) -> pd.DataFrame:
    return cases_between(devices, ctx, found["dev"].to_numpy(np.int64), found["start"].to_numpy(np.int64),
                         found["end"].to_numpy(np.int64))


@register
class CaptureShift(_HistoryRule):
    """A sustained rise: at least shift_min_days days at shift_min_ratio times the device's usual level or more.

    Baseline: the count model's guarded level (the weeks beyond four weeks either side of each day, which a rise
    shorter than four weeks cannot move) × the weekday factor. Windows of shift_min_days days whose count is at
    least shift_min_ratio times their expected count — still so without their highest day, so that one spike is
    not a rise — and improbable under the budget are joined into a period, trimmed to its elevated days. The
    finding gives start, end (or ongoing), level before and during, the cases and fines of the period. The key
    is the first day; material: the level during the period (the issue's "a shift's level, not the running
    count": the end and the counts of an ongoing rise grow with every day).

    Fails: a camera at about 8 a day at 24 a day for two weeks from 2024-03-04; a rise still going on the last day.
    Passes: a camera with a 40% seasonal swing; one day at 5x (a spike, VIO02, not a rise).
    """

    code = "VIO04"
    title_zh = "违法采集量持续升高（与自身历史比较）"
    title_en = "Sustained rise in captures against own history"
    severity = "较重"
    settings = (*MODEL_SETTINGS, "shift_min_days", "shift_min_ratio")
    material_evidence = ("level_during",)
    guarded = True
    what = "违法采集量是否持续升高"

    def check(self, devices: pd.DataFrame, ctx: AuditContext) -> list[pd.DataFrame]:
        fits, enough, parts = self.assessable(devices, ctx)
        if not fits:
            return parts
        min_days = int(self.setting(ctx, "shift_min_days").value)
        ratio = float(self.setting(ctx, "shift_min_ratio").value)
        found = shifts(fits, self.alpha(ctx), min_days, ratio)
        found = found[enough[found["dev"].to_numpy(np.int64)]].reset_index(drop=True) if len(found) else found
        cases = _period_cases(devices, ctx, found) if len(found) else None
        messages, evidence = [], []
        for k, r in enumerate(found.itertuples(index=False)):
            a, b = _date(r.start), _date(r.end)
            before, during = r.expected / r.days, r.observed / r.days
            fine = float(cases["fine_yuan"].iloc[k])
            unknown = int(cases["fine_unknown_rows"].iloc[k])
            money = "罚款金额未填" if unknown and not fine else f"罚款 {fine:,.2f} 元"
            state = "，仍在持续" if r.ongoing else ""
            messages.append(
                f"{a} 至 {b}（{int(r.days)} 天{state}）采集违法 {int(r.observed)} 起、{money}，日均 {during:.1f} 起；"
                f"按自身历史（前后四周以外的水平 × 星期系数）预期日均 {before:.1f} 起，为预期的 "
                f"{during / before if before > 0 else float('inf'):.1f} 倍；正常波动下出现的概率约 {_p_text(r.log10_p)}，"
                f"低于{self.budget_text(ctx)}；应核查设备设置、抓拍参数和此期间的违法记录。")
            evidence.append({"key": a, "start": a, "end": b, "ongoing": bool(r.ongoing), "days": int(r.days),
                             "violations": int(r.observed),
                             "fine_yuan": None if unknown and not fine else round(fine, 2),
                             "expected": round(float(r.expected), 1), "level_before": round(float(before), 1),
                             "level_during": round(float(during), 1),
                             "ratio": round(float(during / before), 2) if before > 0 else None,
                             "log10_p": round(float(r.log10_p), 1)})
        rows = devices.iloc[found["dev"].to_numpy(np.int64)] if len(found) else devices.iloc[:0]
        return parts + [self.findings(rows, messages, evidence, self.threshold(ctx), is_plain=True)]


@register
class CaptureOutage(_HistoryRule):
    """An outage (设备采集中断): a run of days without captures that the device's usual level makes improbable.

    Days without captures are zero rows and days without a row on which the department reported other devices
    (days the department reported nothing break a run). A run of at least outage_min_days days is flagged when
    the probability of no capture on all of its days, under the count model's guarded level × weekday factor
    and the device's negative binomial spread, is below the false-alarm budget. For a device in use the series
    runs to its department's last reported day, so a device that stopped reporting shows as an ongoing outage.
    The key is the first day; material: none (an ongoing outage grows with every day of data; its first day
    names it).

    Fails: a camera at about 20 a day with 12 days of zeros; a camera whose rows stop ten days before its
    department's.
    Passes: a camera at 0.5 a day with a week of zeros; the weekends of a camera that never records on weekends.
    """

    code = "VIO05"
    title_zh = "设备采集中断"
    title_en = "Capture outage"
    severity = "一般"
    settings = (*MODEL_SETTINGS, "outage_min_days")
    material_evidence = ()
    guarded = True
    what = "设备采集是否中断"

    def check(self, devices: pd.DataFrame, ctx: AuditContext) -> list[pd.DataFrame]:
        fits, enough, parts = self.assessable(devices, ctx)
        if not fits:
            return parts
        min_days = int(self.setting(ctx, "outage_min_days").value)
        found = outages(fits, self.alpha(ctx), min_days)
        found = found[enough[found["dev"].to_numpy(np.int64)]].reset_index(drop=True) if len(found) else found
        zero_rows = _zero_rows(devices, ctx, found)
        messages, evidence = [], []
        for r, zeros in zip(found.itertuples(index=False), zero_rows):
            a, b = _date(r.start), _date(r.end)
            missing = int(r.days) - zeros
            detail = "、".join(t for t in (f"{zeros} 天报送为 0" if zeros else "",
                                           f"{missing} 天未报送而本单位其他设备有报送" if missing else "") if t)
            state = "，仍在持续" if r.ongoing else ""
            messages.append(
                f"{a} 至 {b}（{int(r.days)} 天{state}）无违法记录（{detail}）；按自身历史预期约 {r.expected:.0f} 起"
                f"（日均 {r.expected / r.days:.1f} 起），全部为零的概率约 {_p_text(r.log10_p)}，低于{self.budget_text(ctx)}；"
                f"应核查设备运行和数据上传是否中断。")
            evidence.append({"key": a, "start": a, "end": b, "ongoing": bool(r.ongoing), "days": int(r.days),
                             "zero_days": zeros, "missing_days": missing, "expected": round(float(r.expected), 1),
                             "expected_per_day": round(float(r.expected / r.days), 2),
                             "log10_p": round(float(r.log10_p), 1)})
        rows = devices.iloc[found["dev"].to_numpy(np.int64)] if len(found) else devices.iloc[:0]
        return parts + [self.findings(rows, messages, evidence, self.threshold(ctx), is_plain=True)]


def _zero_rows(devices: pd.DataFrame, ctx: AuditContext, found: pd.DataFrame) -> list[int]:
    """Per outage: the days of the run that have a row (of 0); the others had none."""
    if not len(found):
        return []
    v = violations(devices, ctx)
    keys = violation_keys(devices, ctx)
    key = keys[~v.monthly] if v.monthly.any() else keys
    dev = found["dev"].to_numpy(np.int64) * np.int64(1 << 32)
    lo = np.searchsorted(key, dev + found["start"].to_numpy(np.int64))
    hi = np.searchsorted(key, dev + found["end"].to_numpy(np.int64), side="right")
    return (hi - lo).astype(int).tolist()


__all__ = ["CaptureSpike", "CaptureShift", "CaptureOutage", "daily_series", "model_fits", "history_days"]
