"""CAL: metrological verification (计量检定) of devices under compulsory verification."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .base import (
    BASIS_GUOFA_2024_5,
    BASIS_MPS_157,
    IN_USE,
    UNKNOWN,
    Rule,
    as_timestamp,
    device_states,
    fmt_dates,
    register,
    unknown_state_findings,
    unsupplied,
)
from .data import Rows, day_to_date, latest_verification, segments, valid_on_days, verification_history, violations
from .stakes import OPEN, day_numbers_of, stakes_for

if TYPE_CHECKING:
    from .context import AuditContext

BASIS_METROLOGY = "《中华人民共和国计量法》第九条（强制检定）"
BASIS_CAL = f"{BASIS_GUOFA_2024_5}；{BASIS_METROLOGY}；{BASIS_MPS_157}第十五条"


class _CalibrationRule(Rule):
    """Shared: devices under compulsory verification in use, their latest record. CAL01–CAL03 state the cases at
    stake: the violations and fines recorded with no verification, after it expired or since it failed."""

    severity = "严重"
    action = "停用"
    settings: tuple[str, ...] = ("verification_required", "verification_cycle_months")

    def required(self, devices: pd.DataFrame, ctx: AuditContext) -> pd.Series:
        """True for devices whose type is under compulsory verification in the profile."""
        return self.setting(ctx, "verification_required").for_types(devices["device_type"]).astype(bool)

    def history(self, devices: pd.DataFrame, ctx: AuditContext) -> pd.DataFrame:
        return verification_history(devices, ctx, self.setting(ctx, "verification_cycle_months"))

    def threshold_rows(self, ctx: AuditContext, rows: pd.DataFrame) -> list[dict]:
        return self.thresholds(ctx, self.settings, rows["device_type"])

    def scope(self, devices: pd.DataFrame, ctx: AuditContext) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
        """(devices under compulsory verification in use, latest record per in-use device, unknown-state rows)."""
        required = self.required(devices, ctx)
        state = device_states(devices, ctx)
        positions = pd.Series(np.arange(len(devices)), index=devices.index)
        mask = required & (state == IN_USE)
        used = devices[mask].copy()
        used["_dev"] = positions[mask]  # (assign() on an empty selection would take the Series' index)
        latest = latest_verification(self.history(devices, ctx)).reindex(used["_dev"].to_numpy())
        latest.index = used.index
        return used, latest, devices[required & (state == UNKNOWN)]


@register
class NoVerification(_CalibrationRule):
    """A device of a type under compulsory verification is in use with no verification record at all.

    Why: 国发〔2024〕5号: devices not verified according to law (未经依法检定) must not be used; speed meters and
    weigh-in-motion scales are compulsory-verification instruments (JJG 527/528/907); 公安部令第157号第十五条.

    Fails: 固定测速, status 在用, no 最近检定日期 and no verification record.
    Passes: 固定测速 with a record dated before the as-of date; 闯红灯 (not a metering instrument) with none.
    """

    code = "CAL01"
    title_zh = "强制检定设备未经检定投入使用"
    title_en = "In use without metrological verification"
    basis = BASIS_CAL

    def check(self, devices: pd.DataFrame, ctx: AuditContext) -> list[pd.DataFrame]:
        used, latest, unknown = self.scope(devices, ctx)
        none = latest["verified_on"].isna()
        # No record, and the department never sent verification columns: the registry cannot say either way.
        absent = none & unsupplied(used, "verified_on")
        out = used[none & ~absent]
        stakes, cases = stakes_for(devices, ctx, out, -OPEN, OPEN, [f"截至{ctx.as_of:%Y-%m-%d}该设备"] * len(out))
        messages = [f"{t}设备属强制检定的计量器具，在用但无任何检定记录（截至{ctx.as_of:%Y-%m-%d}）；应立即停用，检定合格后方可使用；"
                    f"{stake}。" for t, stake in zip(out["device_type"], stakes)]
        evidence = [{"verification_records": 0, "cases": c} for c in cases]
        return [
            self.findings(out, messages, evidence, self.threshold_rows(ctx, out), is_plain=True),
            self.cannot_assess(used[absent], ["verified_on"], "强制检定设备是否经过检定",
                               reason="上传的设备登记表没有检定信息列，也未导入该设备的检定记录"),
            unknown_state_findings(self, unknown, ctx, "强制检定设备是否在用"),
        ]


@register
class VerificationExpired(_CalibrationRule):
    """The latest verification of a device in use expired before the as-of date (逾期未检定).

    Why: 国发〔2024〕5号: devices overdue for verification must not be used. The valid-until date is the
    certificate's; when it is not given, verified_on + the type's cycle (profile: verification_cycle_months) − 1 day.

    Fails (as of 2024-06-30): 固定测速 in use, verified 2023-01-10, valid until 2024-01-09 (173 days lapsed).
    Passes: valid until 2025-01-09; or a 拆除 device with an old certificate.
    """

    code = "CAL02"
    title_zh = "检定逾期仍在使用"
    title_en = "Verification expired while in use"
    basis = BASIS_CAL
    # Key: the lapsed certificate's valid-until date (a later lapse of a renewed certificate is another problem).

    def check(self, devices: pd.DataFrame, ctx: AuditContext) -> list[pd.DataFrame]:
        day = as_timestamp(ctx.as_of)
        used, latest, unknown = self.scope(devices, ctx)
        expired = latest["verified_on"].notna() & (latest["result"] != "不合格") & (latest["valid_until"] < day)
        out, rec = used[expired], latest[expired]
        lapse = (day - rec["valid_until"]).dt.days.tolist()
        v_on, v_until = fmt_dates(rec["verified_on"]), fmt_dates(rec["valid_until"])
        derived = rec["valid_until_derived"].astype(bool).tolist()
        stakes, cases = stakes_for(devices, ctx, out, day_numbers_of(rec["valid_until"]) + 1, OPEN,
                                   [f"有效期届满后（{b} 以后）" for b in v_until])
        messages = [f"最近一次检定 {a}，有效期至 {b}{'（按检定周期推算）' if d else ''}，至 {day:%Y-%m-%d} 已逾期 {n} 天仍在使用；"
                    f"应立即停用，重新检定合格后方可使用；{stake}。"
                    for a, b, d, n, stake in zip(v_on, v_until, derived, lapse, stakes)]
        evidence = [{"key": b, "verified_on": a, "valid_until": b, "valid_until_derived": d, "lapse_days": n,
                     "certificate_no": c, "cases": k}
                    for a, b, d, n, c, k in zip(v_on, v_until, derived, lapse, rec["certificate_no"].tolist(), cases)]
        return [
            self.findings(out, messages, evidence, self.threshold_rows(ctx, out), is_plain=True),
            unknown_state_findings(self, unknown, ctx, "强制检定设备是否在用、检定是否逾期"),
        ]


@register
class VerificationFailed(_CalibrationRule):
    """The latest verification of a device in use failed (检定结果 不合格).

    Why: 国发〔2024〕5号: devices that failed verification (检定不合格) must not be used.

    Fails: 固定测速 in use whose latest record (2024-03-01) says 不合格, even if an earlier 合格 certificate
    would still run.
    Passes: latest record 合格; a record with no result is reported as cannot-assess.
    """

    code = "CAL03"
    title_zh = "检定不合格仍在使用"
    title_en = "Failed verification while in use"
    basis = BASIS_CAL
    # Key: the date of the failed verification.

    def check(self, devices: pd.DataFrame, ctx: AuditContext) -> list[pd.DataFrame]:
        used, latest, unknown = self.scope(devices, ctx)
        failed = latest["result"] == "不合格"
        out, rec = used[failed], latest[failed]
        v_on = fmt_dates(rec["verified_on"])
        stakes, cases = stakes_for(devices, ctx, out, day_numbers_of(rec["verified_on"]), OPEN,
                                   [f"检定不合格后（{a} 起）" for a in v_on])
        messages = [f"最近一次检定（{a}，证书编号 {c or '未填'}）结果为不合格，设备仍在使用；应立即停用，维修并重新检定合格后方可使用；"
                    f"{stake}。" for a, c, stake in zip(v_on, rec["certificate_no"].tolist(), stakes)]
        evidence = [{"key": a, "verified_on": a, "result": "不合格", "certificate_no": c, "cases": k}
                    for a, c, k in zip(v_on, rec["certificate_no"].tolist(), cases)]
        no_result = latest["verified_on"].notna() & latest["result"].isna()
        return [
            self.findings(out, messages, evidence, self.threshold_rows(ctx, out), is_plain=True),
            self.cannot_assess(used[no_result], ["verification_result"], "最近一次检定是否合格",
                               extra=[{"verified_on": a} for a in fmt_dates(latest.loc[no_result, "verified_on"])]),
            unknown_state_findings(self, unknown, ctx, "强制检定设备是否在用"),
        ]


@register
class ViolationsWithoutVerification(_CalibrationRule):
    """Violations were recorded on days when the device had no valid verification: count them and their fines.

    Why: data captured while a device was unverified, overdue or failed (国发〔2024〕5号) cannot support a
    penalty; the department must review those cases. A day is covered when the latest record on or before it
    is not 不合格 and the day is within its validity. Monthly totals count when no day of the month was covered
    and are reported apart when only part of the month was.

    Only lapses with cases are reported (a lapse without any is CAL02's or CAL03's: nothing to review). One
    problem per device (no key); material: none (the counts grow with every day of data).

    Fails: 固定测速 valid until 2024-01-09 with 12 violations (2,400.00 元) recorded on 2024-02-01.
    Passes: all violation days within 2024-01-10 … 2025-01-09 of a 合格 certificate; a lapse whose rows are all 0.
    """

    code = "CAL04"
    title_zh = "无有效检定期间采集的违法记录"
    title_en = "Violations recorded without valid verification"
    basis = f"{BASIS_CAL}；《中华人民共和国行政处罚法》第四十一条第二款"
    severity = "较重"
    action = "核查"

    def check(self, devices: pd.DataFrame, ctx: AuditContext) -> list[pd.DataFrame]:
        required = self.required(devices, ctx).to_numpy()
        state = device_states(devices, ctx).to_numpy()
        in_use_required = required & (state == IN_USE)
        if not ctx.has_counts():
            return [self.context_cannot_assess(devices.loc[in_use_required, "department"],
                                               "无有效检定期间是否采集违法记录", "未导入违法采集量统计",
                                               "导入违法采集量统计表")]
        history = self.history(devices, ctx)
        v = violations(devices, ctx)
        v = v.take(required[v.dev])
        n = len(devices)
        with_data = np.zeros(n, dtype=bool)
        with_data[v.dev] = True
        daily = v.take(~v.monthly)
        lapsed = daily.take(~valid_on_days(history, daily.dev, daily.day))
        known = ~np.isnan(lapsed.fine)
        days = np.bincount(lapsed.dev, minlength=n)
        count = np.bincount(lapsed.dev, weights=lapsed.count, minlength=n)
        fine = np.bincount(lapsed.dev[known], weights=lapsed.fine[known], minlength=n)
        unknown = np.bincount(lapsed.dev[~known], minlength=n)
        first = np.zeros(n, dtype=np.int64)
        last = np.zeros(n, dtype=np.int64)
        devs, starts = segments(lapsed.dev)
        first[devs] = lapsed.day[starts]
        last[devs] = lapsed.day[np.r_[starts[1:], len(lapsed)] - 1] if len(devs) else lapsed.day[:0]
        m = self._months(history, v.take(v.monthly), n)
        # Only lapses with cases: a lapse without any is CAL02's or CAL03's, and there is nothing to review.
        flagged = np.flatnonzero((count + m["count"] > 0) | (m["partial_count"] > 0))
        messages, evidence = [], []
        for dev in flagged.tolist():
            d, months, partial = int(days[dev]), int(m["months"][dev]), int(m["partial"][dev])
            total = int(count[dev] + m["count"][dev])
            money_total = float(fine[dev] + m["fine"][dev])
            missing_fines = int(unknown[dev] + m["unknown"][dev])
            a, b = (day_to_date(first[dev]), day_to_date(last[dev])) if d else (None, None)
            texts = []
            if total:
                spans = []
                if d:
                    spans.append(f"{d} 天，{a:%Y-%m-%d} 至 {b:%Y-%m-%d} 间")
                if months:
                    spans.append(f"{months} 个整月")
                money = ("罚款金额未填" if missing_fines == d + months else f"罚款 {money_total:,.2f} 元"
                         + (f"（另有 {missing_fines} 条记录未填罚款金额）" if missing_fines else ""))
                texts.append(f"无有效检定期间（{'；'.join(spans)}）采集违法 {total} 起，{money}，应逐案核查，"
                             "无有效检定期间的记录不得作为处罚证据")
            if m["partial_count"][dev]:
                texts.append(f"{'另有' if total else '有'} {partial} 个月仅部分日期有有效检定，这些月份违法 "
                             f"{int(m['partial_count'][dev])} 起、罚款 {float(m['partial_fine'][dev]):,.2f} 元，需逐案核对采集日期")
            messages.append("；".join(texts) + "。")
            evidence.append({
                "lapse_days": d, "first_day": a, "last_day": b, "lapse_months": months, "violations": total,
                "fine_yuan": round(money_total, 2), "fine_unknown_rows": missing_fines, "partial_months": partial,
                "partial_violations": int(m["partial_count"][dev]),
                "partial_fine_yuan": round(float(m["partial_fine"][dev]), 2)})
        rows = devices.iloc[flagged]
        no_data = devices[in_use_required & ~with_data]
        return [
            self.findings(rows, messages, evidence, self.threshold_rows(ctx, rows)),
            self.cannot_assess(no_data, [], "无有效检定期间是否采集违法记录", reason="未报送该设备的违法采集量统计"),
        ]

    @staticmethod
    def _months(history: pd.DataFrame, monthly: Rows, n: int) -> dict[str, np.ndarray]:
        """Per device: monthly rows with no covered day (months, count, fine, unknown) and with some (partial …)."""
        nd = monthly.ndays
        row = np.repeat(np.arange(len(monthly)), nd)
        offset = np.arange(nd.sum()) - np.repeat(np.cumsum(nd) - nd, nd)
        ok = valid_on_days(history, np.repeat(monthly.dev, nd), np.repeat(monthly.day, nd) + offset)
        covered = np.bincount(row, weights=ok, minlength=len(monthly))
        full, part = covered == 0, (covered > 0) & (covered < nd)
        known = ~np.isnan(monthly.fine)
        fine = np.where(known, monthly.fine, 0.0)
        dev = monthly.dev
        return {"months": np.bincount(dev[full], minlength=n),
                "count": np.bincount(dev[full], weights=monthly.count[full], minlength=n),
                "fine": np.bincount(dev[full], weights=fine[full], minlength=n),
                "unknown": np.bincount(dev[full & ~known], minlength=n),
                "partial": np.bincount(dev[part], minlength=n),
                "partial_count": np.bincount(dev[part], weights=monthly.count[part], minlength=n),
                "partial_fine": np.bincount(dev[part], weights=fine[part], minlength=n)}
