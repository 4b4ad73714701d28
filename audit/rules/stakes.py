"""The cases at stake: the violations and fines a device recorded within a window, for the findings whose window
makes those cases unusable as evidence (行政处罚法 第四十一条: recorded before review, before publication, without
valid verification, out of service) and that the department must therefore review one by one (逐案核查).

Daily rows count exactly. A monthly row counts when its whole month lies in the window; a month only partly in
the window is reported apart, with its total and the share of its days inside (pro rata), since a monthly total
cannot say on which days its cases were recorded. A device with no rows at all is "not reported", never zero.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .base import memo
from .data import Rows, day_to_date, violation_keys, violations

if TYPE_CHECKING:
    from .context import AuditContext

OPEN = np.iinfo(np.int32).max  # a window without a start (−OPEN) or end (+OPEN)
SHIFT = np.int64(1 << 32)


def _prefix(values: np.ndarray) -> np.ndarray:
    """Cumulative sums with a leading 0 (int64 for counts, float64 for amounts)."""
    out = np.zeros(len(values) + 1, dtype=np.float64 if values.dtype.kind == "f" else np.int64)
    np.cumsum(values, dtype=out.dtype, out=out[1:])  # the dtype keeps a boolean sum off numpy's slow cast path
    return out


def _indexed(devices: pd.DataFrame, ctx: AuditContext) -> dict[str, Any]:
    """The violation rows split into daily and monthly, each with (device, day) keys and prefix sums."""
    def compute() -> dict[str, Any]:
        v = violations(devices, ctx)
        keys = violation_keys(devices, ctx)
        out: dict[str, Any] = {"reported": np.bincount(v.dev, minlength=len(devices)) > 0}
        for name, mask in (("daily", ~v.monthly), ("monthly", v.monthly)):
            part = v.take(mask)
            known = ~np.isnan(part.fine)
            key = keys if mask.all() else keys[mask]
            positive = np.flatnonzero(part.count > 0)
            count = _prefix(part.count)
            if known.all():  # every fine given (a common upload): no unknown rows, every case fined
                fine, unknown, fined = _prefix(part.fine), np.zeros(len(part) + 1, dtype=np.int64), count
            elif not known.any():  # no fine given at all (Chicago)
                fine, unknown, fined = np.zeros(len(part) + 1), np.arange(len(part) + 1), np.zeros_like(count)
            else:
                fine, unknown = _prefix(np.where(known, part.fine, 0.0)), _prefix(~known)
                fined = _prefix(np.where(known, part.count, 0))
            out[name] = {"rows": part, "key": key, "count": count, "fine": fine, "unknown": unknown, "fined": fined,
                         "positive": positive, "positive_key": key[positive]}
        return out
    return memo(ctx, "stakes_index", compute)


def cases_between(devices: pd.DataFrame, ctx: AuditContext, dev: np.ndarray, start: np.ndarray,
                  end: np.ndarray) -> pd.DataFrame:
    """For each (device position, first day, last day) window (days since 1970; ±OPEN for an open end): the cases.

    Columns: violations (daily rows plus whole months inside), fine_yuan, fine_unknown_rows, fined_violations
    (the violations whose row has a fine), rows (daily and whole months), first_day and last_day (of daily rows
    with cases; NaN if none), whole_months, partial_months, partial_violations (their totals), partial_share
    (the part of their violations in the window, pro rata by days), reported (the device has any violation rows).
    """
    idx = _indexed(devices, ctx)
    dev = np.asarray(dev, dtype=np.int64)
    start = np.clip(np.asarray(start, dtype=np.int64), -OPEN, OPEN)
    end = np.clip(np.asarray(end, dtype=np.int64), -OPEN, OPEN)
    d = idx["daily"]
    lo = np.searchsorted(d["key"], dev * SHIFT + start)
    hi = np.searchsorted(d["key"], dev * SHIFT + end, side="right")
    positive = d["positive_key"]
    p_lo = np.searchsorted(positive, dev * SHIFT + start)
    p_hi = np.searchsorted(positive, dev * SHIFT + end, side="right")
    has = p_hi > p_lo
    days = d["rows"].day
    pos = d["positive"]
    first = np.where(has, days[pos[np.minimum(p_lo, max(len(pos) - 1, 0))]] if len(pos) else 0, np.nan)
    last = np.where(has, days[pos[np.maximum(p_hi - 1, 0)]] if len(pos) else 0, np.nan)
    out = pd.DataFrame({
        "violations": d["count"][hi] - d["count"][lo], "fine_yuan": d["fine"][hi] - d["fine"][lo],
        "fine_unknown_rows": d["unknown"][hi] - d["unknown"][lo], "fined_violations": d["fined"][hi] - d["fined"][lo],
        "rows": hi - lo, "first_day": first, "last_day": last,
        "whole_months": 0, "partial_months": 0, "partial_violations": 0.0, "partial_share": 0.0,
        "reported": idx["reported"][dev] if len(dev) else np.zeros(0, dtype=bool)})
    m = idx["monthly"]
    if len(m["rows"]) and len(dev):
        _months(out, m, dev, start, end)
    return out


def _months(out: pd.DataFrame, m: dict[str, Any], dev: np.ndarray, start: np.ndarray, end: np.ndarray) -> None:
    """Add the monthly rows overlapping each window: whole months to the counts, partial ones apart."""
    rows: Rows = m["rows"]
    lo = np.searchsorted(m["key"], dev * SHIFT + start - 31)
    hi = np.searchsorted(m["key"], dev * SHIFT + end, side="right")
    size = hi - lo
    window = np.repeat(np.arange(len(dev)), size)
    row = np.repeat(lo - np.cumsum(np.r_[0, size[:-1]]), size) + np.arange(size.sum())
    first, nd = rows.day[row], rows.ndays[row]
    inside = np.minimum(first + nd - 1, end[window]) - np.maximum(first, start[window]) + 1
    overlap = inside > 0
    whole = overlap & (inside == nd)
    part = overlap & ~whole
    known = ~np.isnan(rows.fine[row])
    n = len(dev)
    add = (lambda mask, w: np.bincount(window[mask], weights=w[mask] if w is not None else None, minlength=n))
    out["violations"] += add(whole, rows.count[row].astype(float))
    out["fine_yuan"] += add(whole & known, np.nan_to_num(rows.fine[row]))
    out["fine_unknown_rows"] += add(whole & ~known, None)
    out["fined_violations"] += add(whole & known, rows.count[row].astype(float))
    out["rows"] += add(whole, None).astype(int)
    out["whole_months"] += add(whole, None).astype(int)
    out["partial_months"] += add(part, None).astype(int)
    out["partial_violations"] += add(part, rows.count[row].astype(float))
    out["partial_share"] += add(part, rows.count[row] * inside / nd)


def stake_evidence(cases: pd.DataFrame, start: np.ndarray, end: np.ndarray) -> list[dict[str, Any]]:
    """The `cases` evidence of each window: the window, the counts and fines, the first and last day."""
    out = []
    for rec, a, b in zip(cases.to_dict("records"), np.asarray(start), np.asarray(end)):
        out.append({
            "window_start": None if a <= -OPEN else day_to_date(int(a)).date().isoformat(),
            "window_end": None if b >= OPEN else day_to_date(int(b)).date().isoformat(),
            "violations": int(rec["violations"]), "fine_yuan": round(float(rec["fine_yuan"]), 2),
            "fine_unknown_rows": int(rec["fine_unknown_rows"]),
            "first_day": None if np.isnan(rec["first_day"]) else day_to_date(int(rec["first_day"])).date().isoformat(),
            "last_day": None if np.isnan(rec["last_day"]) else day_to_date(int(rec["last_day"])).date().isoformat(),
            "whole_months": int(rec["whole_months"]), "partial_months": int(rec["partial_months"]),
            "partial_violations": int(rec["partial_violations"]),
            "partial_share": round(float(rec["partial_share"]), 1), "reported": bool(rec["reported"])})
    return out


def stake_text(case: dict[str, Any], window: str, imported: bool = True) -> str:
    """What a finding says about its cases: how many to review one by one, or that there are none."""
    if not imported:
        return "未导入违法采集量统计，未能统计涉及的违法记录"
    if not case["reported"]:
        return f"未报送该设备的违法采集量统计，无法统计{window}采集的违法记录"
    n, partial = case["violations"], case["partial_months"]
    if n == 0 and (partial == 0 or case["partial_violations"] == 0):
        return f"{window}未采集违法记录，无需逐案核查"
    parts = []
    if n:
        span = f"（{case['first_day']} 至 {case['last_day']}）" if case["first_day"] else ""
        unknown = case["fine_unknown_rows"]
        money = "罚款金额未填" if unknown and not case["fine_yuan"] else \
            f"罚款 {case['fine_yuan']:,.2f} 元" + (f"（另有 {unknown} 条记录未填罚款金额）" if unknown else "")
        parts.append(f"{window}采集违法 {n} 起{span}、{money}，应逐案核查，不得作为处罚证据")
    if partial and case["partial_violations"]:
        parts.append(f"{'另有' if n else window + '涉及'} {partial} 个按月统计的月份仅部分日期在此期间（共违法 "
                     f"{case['partial_violations']} 起，按天数折算约 {case['partial_share']:g} 起），需逐案核对采集日期")
    return "；".join(parts)


def stakes_for(devices: pd.DataFrame, ctx: AuditContext, rows: pd.DataFrame, start: np.ndarray, end: np.ndarray,
               windows: list[str]) -> tuple[list[str], list[dict[str, Any]]]:
    """For finding rows of `devices` (their index is the device position) and their windows: the sentence on the
    cases at stake and the `cases` evidence of each."""
    imported = ctx.has_counts()
    start = np.broadcast_to(np.asarray(start, dtype=np.int64), (len(rows),))
    end = np.broadcast_to(np.asarray(end, dtype=np.int64), (len(rows),))
    if not imported or not len(rows):
        return [stake_text({}, w, imported=False) for w in windows], [{"imported": False}] * len(rows)
    cases = cases_between(devices, ctx, rows.index.to_numpy(np.int64), start, end)
    evidence = stake_evidence(cases, start, end)
    return [stake_text(e, w) for e, w in zip(evidence, windows)], evidence


def day_numbers_of(series: pd.Series) -> np.ndarray:
    """Days since 1970 of a date column (NaT as OPEN, an open end)."""
    days = series.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)
    return np.where(series.isna().to_numpy(), OPEN, days)


__all__ = ["cases_between", "stake_evidence", "stake_text", "stakes_for", "day_numbers_of", "OPEN"]
