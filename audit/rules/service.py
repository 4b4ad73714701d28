"""Service periods: when a device was out of service, and the rule on captures recorded then (SRV01).

A device is out of service before its 启用日期, while its status is 拟建, and from the day a 停用 or 拆除 status
took effect until it was restored: from the day of an upload that set it, from the day after a decision (the
decision's own day holds captures from before it). The dates come from the dated status changes (`AuditContext.status_history`:
the change log of inventory uploads, the decisions of the casework); the registry frame gives the status on the
as-of day (status_on: the current one unless a later change is recorded). A device 拟建 then was never in service.
A device 停用/拆除 then whose status has no date of effect (it was registered so, or the history does not reach
it) cannot be judged: when it stopped is unknown.
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .base import BASIS_GUOFA_2024_5, BASIS_LAW_41, Rule, memo, register
from .data import day_numbers, violations
from .stakes import OPEN, cases_between, stake_evidence, stake_text

if TYPE_CHECKING:
    from .context import AuditContext

OUT_OF_SERVICE = ("拟建", "停用", "拆除")
REASONS_ZH = {"before_start": "启用日期前", "拟建": "拟建", "停用": "停用", "拆除": "拆除"}


REGISTERED = "登记"  # the status_history source of the status a device was registered with (no date)


def status_on(devices: pd.DataFrame, history: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """The registry frame with the status each device had on the as-of day, for an audit of an earlier day than
    a recorded status change: the status of its last change on or before that day, else the status it was
    registered with (the history's row of source 登记). A device with no change after that day keeps its
    current status, as does one whose history lacks both.
    """
    day = pd.Timestamp(as_of)
    later = history["device_code"][history["since"] > day]
    if later.empty:
        return devices
    hist = history[history["device_code"].isin(set(later))]
    dated = hist[hist["since"].notna() & (hist["since"] <= day)].sort_values(["device_code", "since"], kind="stable")
    then = dict(zip(hist["device_code"][hist["source"] == REGISTERED], hist["status"][hist["source"] == REGISTERED]))
    last = dated.drop_duplicates("device_code", keep="last")
    then.update(zip(last["device_code"], last["status"]))
    codes = devices["device_code"]
    known = codes.isin(then.keys()).to_numpy()
    if not known.any():
        return devices
    devices = devices.copy()
    status = devices["status"].to_numpy(dtype=object).copy()
    status[known] = [then[c] for c in codes[known]]
    devices["status"] = status
    return devices


def out_of_service(devices: pd.DataFrame, ctx: AuditContext) -> tuple[pd.DataFrame, np.ndarray]:
    """(periods, undated): the periods each device was out of service, merged where they overlap, and per device
    position whether it is 停用/拆除 now without a dated change to that status.

    Periods: dev, start, end (days since 1970, ±OPEN for an open end), reason (before_start, 拟建, 停用, 拆除: of
    the earliest period merged), since (the date the reason took effect; NaT when undated), source (启用日期,
    变更记录, 处理决定, or 当前状态 for a device 拟建 now).
    """
    def compute() -> tuple[pd.DataFrame, np.ndarray]:
        n = len(devices)
        status = devices["status"].to_numpy(dtype=object)
        parts = []
        started = devices["in_service_on"]
        has_start = started.notna().to_numpy()
        pos = np.flatnonzero(has_start)
        start_day = day_numbers(started[has_start])
        parts.append(pd.DataFrame({"dev": pos, "start": -OPEN, "end": start_day - 1, "reason": "before_start",
                                   "since": started[has_start].to_numpy(), "source": "启用日期"}))
        hist = ctx.status_history
        codes = pd.Index(devices["device_code"].astype(object))
        hist = hist.assign(dev=codes.get_indexer(hist["device_code"].astype(object)))
        hist = hist[(hist["dev"] >= 0) & hist["since"].notna()
                    & (hist["since"] <= pd.Timestamp(ctx.as_of))].sort_values(["dev", "since"], kind="stable")
        last_status = np.full(n, None, dtype=object)
        if len(hist):
            dev = hist["dev"].to_numpy()
            day = day_numbers(hist["since"])
            following = np.r_[day[1:], OPEN + 1]
            following = np.where(np.r_[dev[1:] != dev[:-1], True], OPEN + 1, following)
            off = hist["status"].isin(OUT_OF_SERVICE).to_numpy()
            # A decision's day itself is not out of service: its day's counts cannot tell the captures made before
            # the decision from those after it. A suspension restored the next day leaves no period.
            start = day + (hist["source"] == "处理决定").to_numpy()
            off = off & (start <= following - 1)
            parts.append(pd.DataFrame({"dev": dev[off], "start": start[off], "end": following[off] - 1,
                                       "reason": hist["status"].to_numpy(dtype=object)[off],
                                       "since": hist["since"].to_numpy()[off],
                                       "source": hist["source"].to_numpy(dtype=object)[off]}))
            ends = np.r_[np.flatnonzero(dev[1:] != dev[:-1]), len(dev) - 1]
            last_status[dev[ends]] = hist["status"].to_numpy(dtype=object)[ends]
        planned = np.flatnonzero(status == "拟建")
        parts.append(pd.DataFrame({"dev": planned, "start": -OPEN, "end": OPEN, "reason": "拟建",
                                   "since": pd.NaT, "source": "当前状态"}))
        undated = np.isin(status, ("停用", "拆除")) & (last_status != status)
        periods = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else \
            pd.DataFrame(columns=["dev", "start", "end", "reason", "since", "source"])
        return _merge(periods), undated
    return memo(ctx, "out_of_service", compute)


def _merge(periods: pd.DataFrame) -> pd.DataFrame:
    """Overlapping or touching periods of a device as one, with the reason, date and source of the earliest."""
    if periods.empty:
        return periods.assign(dev=periods["dev"].astype(np.int64))
    p = periods.astype({"dev": np.int64, "start": np.int64, "end": np.int64}).sort_values(
        ["dev", "start", "end"], kind="stable").reset_index(drop=True)
    several = p["dev"].duplicated(keep=False).to_numpy()
    if not several.any():
        return p
    q = p[several].reset_index(drop=True)
    reach = q.groupby("dev")["end"].cummax().shift(1)
    same = (q["dev"] == q["dev"].shift(1)) & (q["start"] <= reach + 1)
    group = (~same).cumsum()
    merged = q.groupby(group).agg(dev=("dev", "first"), start=("start", "first"), end=("end", "max"),
                                  reason=("reason", "first"), since=("since", "first"), source=("source", "first"))
    return pd.concat([p[~several], merged], ignore_index=True).sort_values(["dev", "start"], kind="stable") \
        .reset_index(drop=True)


def out_of_service_days(devices: pd.DataFrame, ctx: AuditContext, start: np.ndarray,
                        end: np.ndarray) -> np.ndarray:
    """Per device position: the days of [start, end] (NaN: none) on which it was out of service."""
    periods, _ = out_of_service(devices, ctx)
    out = np.zeros(len(devices))
    if periods.empty:
        return out
    dev = periods["dev"].to_numpy(np.int64)
    a = np.maximum(periods["start"].to_numpy(float), start[dev])
    b = np.minimum(periods["end"].to_numpy(float), end[dev])
    days = np.where(np.isfinite(a) & np.isfinite(b), np.maximum(b - a + 1, 0), 0)
    return np.bincount(dev, weights=days, minlength=len(devices))


@register
class UseOutOfService(Rule):
    """Violations recorded while the device was out of service: before its 启用日期, while 拟建, or after a 停用 or
    拆除 status took effect (the change log or a decision gives the date), with count, fines, first and last day.

    Why: 《行政处罚法》第四十一条 lets only devices that went through legal and technical review, were published
    and are in use collect evidence; a device not in service that records violations is used outside the law,
    and its records cannot support a penalty. Such devices are left out of the peer comparisons (VIO01, VIO03).
    The key names the period (its reason and date); material_evidence is empty: the count grows while the device
    keeps recording, and the period is the key.

    Fails: 启用日期 2024-05-01 with 20 violations a day from 2024-03-01; a 拟建 device with violations; a device
    停用 from 2024-04-01 (a decision) that still records in May.
    Passes: violations only from 启用日期 on; a 停用 device whose violations all predate its suspension, or were
    recorded on the day of the decision.
    """

    code = "SRV01"
    title_zh = "非在用期间采集违法记录"
    title_en = "Violations recorded while out of service"
    basis = f"{BASIS_LAW_41}；{BASIS_GUOFA_2024_5}；《中华人民共和国行政处罚法》第四十一条第二款"
    severity = "严重"
    action = "核查"
    material_evidence = ()
    examines = "all"

    def check(self, devices: pd.DataFrame, ctx: AuditContext) -> list[pd.DataFrame]:
        what = "是否在非在用期间采集违法记录"
        if not ctx.has_counts():
            return [self.context_cannot_assess(devices["department"], what, "未导入违法采集量统计",
                                               "导入违法采集量统计表")]
        periods, undated = out_of_service(devices, ctx)
        v = violations(devices, ctx)
        has_rows = np.bincount(v.dev, minlength=len(devices)) > 0
        parts = []
        if not periods.empty:
            dev = periods["dev"].to_numpy(np.int64)
            start, end = periods["start"].to_numpy(np.int64), periods["end"].to_numpy(np.int64)
            cases = cases_between(devices, ctx, dev, start, end)
            hit = ((cases["violations"] > 0) | (cases["partial_violations"] > 0)).to_numpy()
            evidence = stake_evidence(cases[hit], start[hit], end[hit])
            chosen = periods[hit]
            messages, out = [], []
            for rec, case in zip(chosen.to_dict("records"), evidence):
                since = None if pd.isna(rec["since"]) else pd.Timestamp(rec["since"]).date().isoformat()
                reason = rec["reason"]
                if reason == "before_start":
                    head = f"启用日期为 {since}，此前设备尚未投入使用"
                    todo = "应核实启用日期"
                    key = f"启用前:{since}"
                elif since is None:
                    head = "设备状态为拟建（尚未投入使用）"
                    todo = "应立即停止采集，核实设备状态"
                    key = "拟建"
                else:
                    head = f"设备自 {since} 起为{reason}状态（依据：{rec['source']}）"
                    if rec["source"] == "处理决定":
                        head += "，决定作出当日的采集无法区分决定前后，自次日起计"
                    todo = "应立即停止采集，核实设备状态"
                    key = f"{reason}:{since}"
                messages.append(f"{head}，{stake_text(case, '此期间')}；{todo}。")
                out.append({"key": key, "reason": REASONS_ZH.get(reason, reason), "since": since,
                            "source": rec["source"], "cases": case})
            parts.append(self.findings(devices.iloc[dev[hit]], messages, out, is_plain=True))
        unknown = devices[undated & has_rows]
        parts.append(self.cannot_assess(
            unknown, [], what, reason="设备当前为停用或拆除，但未记录该状态的生效日期（登记表更新状态的变更记录，或停用、拆除的处理决定）",
            extra=[{"status": s} for s in unknown["status"]]))
        return parts


__all__ = ["out_of_service", "out_of_service_days", "UseOutOfService", "OUT_OF_SERVICE"]
