"""Checks across columns and rows: implausible dates, dates in the wrong order, numbers out of range, duplicate
keys, device codes differing only by letter case, devices reported both by day and by month.

The checks across rows (duplicates, case variants, mixed periods) go through `sheet.checks`: at once on a whole
sheet (filechecks.WholeFile), or accumulated over the chunks of a streamed file (filechecks.Streamed)."""
from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from .rows import SheetRows

SPEED_LIMIT_RANGE = (5, 150)  # km/h; outside it a speed limit is almost certainly a typing error
EARLIEST_PLAUSIBLE = dt.date(1990, 1, 1)  # non-site enforcement devices did not exist before
VALID_UNTIL_KEYS = ("verification_valid_until", "valid_until")
PERIOD_MIXED = "同一设备既有按日又有按月的数据；请确认月度数据没有与日数据重复统计。"
CASE_VARIANT = "与第{first}行的设备编号“{code}”仅大小写不同；编号不区分大小写，同一设备只能填一行，不同设备请使用不同的编号。"


def cross_checks(sheet: SheetRows, frame: pd.DataFrame) -> None:
    kind = sheet.spec.kind
    today = pd.Timestamp(dt.date.today())
    for col in sheet.spec.columns:
        source = "period_start" if col.kind == "month_or_date" else col.key
        if source not in frame.columns or col.kind not in ("date", "month_or_date"):
            continue
        values = frame[source]
        if col.key not in VALID_UNTIL_KEYS:
            for index in np.flatnonzero((values > today).to_numpy()):
                sheet.warning("FUTURE_DATE", f"日期晚于今天（{today.date().isoformat()}）；请核对。", col.key, index)
        for index in np.flatnonzero((values < pd.Timestamp(EARLIEST_PLAUSIBLE)).to_numpy()):
            sheet.warning("DATE_TOO_EARLY", "日期早于1990年，不合常理；请核对（是否把数字当成了日期）。", col.key, index)
    if kind == "devices":
        order(sheet, "installed_on", "in_service_on", "warning", "IN_SERVICE_BEFORE_INSTALLED",
              "启用日期早于安装日期；请核对两个日期。", frame)
        order(sheet, "verified_on", "verification_valid_until", "error", "VALID_UNTIL_BEFORE_VERIFIED",
              "检定有效期至早于最近检定日期；请按检定证书改正。", frame)
        in_range(sheet, "speed_limit_kmh", frame, lambda v: (v < SPEED_LIMIT_RANGE[0]) | (v > SPEED_LIMIT_RANGE[1]),
                 "warning", "SPEED_LIMIT_RANGE",
                 f"限速值不在 {SPEED_LIMIT_RANGE[0]}–{SPEED_LIMIT_RANGE[1]} km/h 之间；请核对（单位为 km/h）。")
        in_range(sheet, "sign_distance_m", frame, lambda v: v < 0, "error", "NEGATIVE_NUMBER",
                 "标识距离不能为负数；请填写标志到设备的距离（米）。")
        sheet.checks.duplicates(sheet, frame, ["device_code"], "DUPLICATE_CODE",
                   "设备编号与第{first}行重复；同一文件内每台设备只能填一行，请核对编号或删除重复行。")
        sheet.checks.case_variants(sheet, frame)
    elif kind == "violations":
        in_range(sheet, "count", frame, lambda v: v < 0, "error", "NEGATIVE_COUNT", "违法数量不能为负数；请改正。")
        if "fine_yuan" in frame.columns:
            in_range(sheet, "fine_yuan", frame, lambda v: v < 0, "error", "NEGATIVE_FINE", "罚款金额不能为负数；请改正。")
            no_count = (frame["count"] == 0).fillna(False).to_numpy() & (frame["fine_yuan"] > 0).to_numpy()
            for index in np.flatnonzero(no_count):
                sheet.warning("FINE_WITHOUT_COUNT", "违法数量为 0，罚款金额却大于 0；请核对。", "fine_yuan", index)
        sheet.checks.duplicates(sheet, frame, ["device_code", "date"], "DUPLICATE_KEY",
                   "同一设备同一日期（月份）与第{first}行重复填报；请合并为一行或删除重复行。", column="date")
        sheet.checks.mixed_periods(sheet, frame)
    else:
        order(sheet, "verified_on", "valid_until", "error", "VALID_UNTIL_BEFORE_VERIFIED",
              "有效期至早于检定日期；请按检定证书改正。", frame)
        sheet.checks.duplicates(sheet, frame, ["device_code", "verified_on"], "DUPLICATE_KEY",
                   "同一设备同一检定日期与第{first}行重复；请删除重复行。", column="verified_on")


def order(sheet: SheetRows, earlier: str, later: str, level: str, code: str, message: str, frame: pd.DataFrame) -> None:
    if earlier not in frame.columns or later not in frame.columns:
        return
    for index in np.flatnonzero((frame[later] < frame[earlier]).to_numpy()):
        value = f"{frame[earlier].iat[index].date()} / {frame[later].iat[index].date()}"
        sheet.add(level, code, message, later, index, value)


def in_range(sheet: SheetRows, key: str, frame: pd.DataFrame, test: Any, level: str, code: str, message: str) -> None:
    if key not in frame.columns:
        return
    values = pd.Series(frame[key], dtype="Float64")
    for index in np.flatnonzero(test(values).fillna(False).to_numpy(dtype=bool)):
        sheet.add(level, code, message, key, index)


def duplicates(sheet: SheetRows, frame: pd.DataFrame, keys: list[str], code: str, message: str,
               column: str = "device_code") -> None:
    if not all(k in sheet.parsed for k in keys):
        return
    combined = np.zeros(len(frame), dtype=np.int64)
    complete = np.ones(len(frame), dtype=bool)
    for k in keys:
        codes = sheet.parsed[k].key_codes().astype(np.int64)
        complete &= codes >= 0
        combined = combined * (int(codes.max(initial=0)) + 2) + codes + 1
    combined = pd.Series(np.where(complete, combined, -np.arange(1, len(frame) + 1)))
    dup = combined.duplicated(keep="first").to_numpy()
    if not dup.any():
        return
    first_row = pd.Series(sheet.rows).groupby(combined.to_numpy(), sort=False).transform("first").to_numpy()
    for index in np.flatnonzero(dup):
        sheet.error(code, message.format(first=int(first_row[index])), column, index)


def case_variants(sheet: SheetRows, frame: pd.DataFrame, first: dict[str, tuple[str, int]]) -> None:
    """An error for each row whose device code differs only by letter case from an earlier row's (jl-jt-0001
    after JL-JT-0001: two devices to the registry, one to a clerk). `first`: per case-folded code, its first
    spelling and row (carried over the chunks of a streamed file)."""
    if "device_code" not in frame.columns:
        return
    factors, spellings = pd.factorize(frame["device_code"].to_numpy(dtype=object), use_na_sentinel=True)
    # the first row of each spelling, in the order factorize numbers them (that of first appearance)
    at = np.flatnonzero(~pd.Series(factors).duplicated().to_numpy() & (factors >= 0))
    variant = np.zeros(len(spellings) + 1, dtype=bool)
    earlier: list[tuple[str, int]] = []
    for i, (code, index) in enumerate(zip(spellings.tolist(), at.tolist())):
        seen = first.setdefault(code.casefold(), (code, int(sheet.rows[index])))
        variant[i] = seen[0] != code
        earlier.append(seen)
    for index in np.flatnonzero(variant[factors]).tolist():
        code, row = earlier[factors[index]]
        sheet.error("CODE_CASE_VARIANT", CASE_VARIANT.format(first=row, code=code), "device_code", index)


def mixed_periods(sheet: SheetRows, frame: pd.DataFrame) -> None:
    device = sheet.parsed["device_code"].key_codes().astype(np.int64)
    dates = sheet.parsed["date"]
    monthly = dates.take([bool(r) and r[0] == "month" for r in dates.results], missing=False, dtype=bool)
    daily = dates.take([bool(r) and r[0] == "day" for r in dates.results], missing=False, dtype=bool)
    known = device >= 0
    both = np.intersect1d(device[known & monthly], device[known & daily])
    if not len(both):
        return
    rows = np.flatnonzero(known & monthly & np.isin(device, both))
    _, first = np.unique(device[rows], return_index=True)
    for index in rows[first]:
        sheet.warning("PERIOD_MIXED", PERIOD_MIXED, "date", int(index))
