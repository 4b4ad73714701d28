"""Data the rules share, prepared once per run: violations indexed by device and day, the verification history."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..registry.daily import DailyRows
from .base import as_timestamp, memo

if TYPE_CHECKING:
    from .context import AuditContext
    from .profiles import ProfileValue


def day_numbers(series: pd.Series) -> np.ndarray:
    """Days since 1970-01-01 as int64 (NaT becomes a very small number: filter NaT first)."""
    return series.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)


def as_day_number(day) -> int:
    return int(np.datetime64(as_timestamp(day).date(), "D").astype(np.int64))


def day_to_date(days: np.ndarray | int) -> pd.DatetimeIndex | pd.Timestamp:
    if np.ndim(days) == 0:
        return pd.Timestamp(np.datetime64(int(days), "D"))
    return pd.DatetimeIndex(np.asarray(days, dtype=np.int64).astype("datetime64[D]"))


class Rows:
    """Columns of equal length as numpy arrays (lighter than a DataFrame for 10⁷ rows): rows.dev, rows.day …"""

    def __init__(self, **columns: np.ndarray) -> None:
        self.columns = columns

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self.__dict__["columns"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __len__(self) -> int:
        return len(next(iter(self.columns.values())))

    def take(self, index: np.ndarray) -> Rows:
        """The rows selected by a boolean mask or positions (order kept); no copy when a mask keeps every row."""
        if index.dtype == bool and index.all():
            return self
        return Rows(**{k: v[index] for k, v in self.columns.items()})


def device_positions(devices: pd.DataFrame, codes: pd.Series) -> np.ndarray:
    """Position in `devices` of each code (-1 when not audited); categorical codes are matched once per category."""
    index = pd.Index(devices["device_code"].astype(object))
    if isinstance(codes.dtype, pd.CategoricalDtype):
        per_category = index.get_indexer(codes.cat.categories.astype(object))
        cat = codes.cat.codes.to_numpy()
        return np.where(cat >= 0, per_category[np.maximum(cat, 0)], -1)
    return index.get_indexer(codes.astype(object))


def violations(devices: pd.DataFrame, ctx: AuditContext) -> Rows:
    """The violation rows of the audited devices up to the as-of date, sorted by device and day.

    Columns: dev (position of the device in `devices`), day (first day, days since 1970), ndays (1 for a day,
    the month's length for a month), monthly (bool), count, fine (NaN when unknown). Their sort keys are
    `violation_keys`.
    """
    def compute() -> Rows:
        v = ctx.violations
        as_of = as_day_number(ctx.as_of)
        if isinstance(v, DailyRows):  # typed columns from the database (audit.registry.daily)
            dev = pd.Index(devices["id"].to_numpy(dtype=np.int64)).get_indexer(v.device_id.astype(np.int64))
            keep = (dev >= 0) & (v.day <= as_of)
            day = v.day[keep].astype(np.int64)
            monthly, count, fine = v.monthly[keep], v.count[keep], v.fine[keep]
        else:
            dev = device_positions(devices, v["device_code"])
            start = v["period_start"].to_numpy(dtype="datetime64[ns]")
            keep = (dev >= 0) & ~np.isnat(start) & (start <= np.datetime64(as_timestamp(ctx.as_of).date(), "ns"))
            day = start[keep].astype("datetime64[D]").astype(np.int64)
            monthly = (v["period"] == "month").to_numpy(dtype=bool)[keep]
            count = v["count"].to_numpy(dtype=np.int64)[keep]
            fine = v["fine_yuan"].to_numpy(dtype=np.float64)[keep]
        ndays = np.ones(len(day), dtype=np.int64)
        if monthly.any():
            month = day[monthly].astype("datetime64[D]").astype("datetime64[M]")
            ndays[monthly] = ((month + 1).astype("datetime64[D]") - month.astype("datetime64[D]")).astype(np.int64)
        rows = Rows(dev=dev[keep].astype(np.int64), day=day, ndays=ndays, monthly=monthly, count=count, fine=fine)
        key = (rows.dev << 32) + rows.day
        # A device's rows by day, a day before a month of the same first day: one order whatever the order read.
        order = np.lexsort((rows.monthly, key))
        if len(key) and not np.array_equal(order, np.arange(len(key))):
            rows, key = rows.take(order), key[order]
        ctx.cache["violation_keys"] = key
        return rows
    return memo(ctx, "violations", compute)


def violation_keys(devices: pd.DataFrame, ctx: AuditContext) -> np.ndarray:
    """The sort keys dev · 2³² + day of the violation rows (`violations`), computed with them."""
    violations(devices, ctx)
    return ctx.cache["violation_keys"]


def segments(sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct keys, start positions) of runs of equal values in a sorted array."""
    if not len(sorted_keys):
        return sorted_keys[:0], np.array([], dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    return sorted_keys[starts], starts


def verification_history(devices: pd.DataFrame, ctx: AuditContext, cycle: ProfileValue) -> pd.DataFrame:
    """Every verification record of the audited devices dated on or before the as-of date.

    The inventory's latest record and the uploaded history are combined: one row per device and date, the
    first non-empty value of each field (history before inventory). A missing valid-until date is derived as
    the day before the anniversary verified_on + the type's cycle, or the month's last day where that month has no
    such day (29 February + 12 months: 28 February; valid_until_derived True). Columns: dev, device_code, verified_on,
    valid_until, result, certificate_no, valid_until_derived; sorted by dev, verified_on.
    """
    def compute() -> pd.DataFrame:
        inv = devices.loc[devices["verified_on"].notna(),
                          ["device_code", "verified_on", "verification_valid_until", "verification_result",
                           "certificate_no"]]
        inv = inv.rename(columns={"verification_valid_until": "valid_until", "verification_result": "result"})
        hist = ctx.verifications[["device_code", "verified_on", "valid_until", "result", "certificate_no"]]
        both = pd.concat([hist.astype({"result": object, "certificate_no": object}),
                          inv.astype({"result": object, "certificate_no": object})], ignore_index=True)
        both = both[both["verified_on"].notna() & (both["verified_on"] <= as_timestamp(ctx.as_of))]
        codes = pd.Index(devices["device_code"].astype(object))
        both = both.assign(dev=codes.get_indexer(both["device_code"].astype(object)))
        both = both[both["dev"] >= 0]
        merged = both.groupby(["dev", "verified_on"], sort=True, as_index=False).first()
        types = devices["device_type"].to_numpy(dtype=object)[merged["dev"].to_numpy()]
        months = pd.Series(types, index=merged.index).map(
            {t: int(cycle.for_type(t)) for t in set(types)}).fillna(int(cycle.value)).astype(int)
        derived = merged["valid_until"].isna()
        if derived.any():
            fill = [cycle_end(v, m) for v, m in zip(merged.loc[derived, "verified_on"], months[derived])]
            merged.loc[derived, "valid_until"] = fill
        merged["valid_until_derived"] = derived
        merged["device_code"] = codes.to_numpy()[merged["dev"].to_numpy()]
        return merged[["dev", "device_code", "verified_on", "valid_until", "result", "certificate_no",
                       "valid_until_derived"]].reset_index(drop=True)
    return memo(ctx, "verification_history", compute)


def cycle_end(verified_on: pd.Timestamp, months: int) -> pd.Timestamp:
    """The last day of a cycle of `months` from verified_on: the day before its anniversary, or the last day of
    the anniversary's month where that month has no such day (the month-end rule for periods by months)."""
    anniversary = verified_on + pd.DateOffset(months=months)
    return anniversary if anniversary.day < verified_on.day else anniversary - pd.Timedelta(days=1)


def latest_verification(history: pd.DataFrame) -> pd.DataFrame:
    """The latest record per device (indexed by dev)."""
    return history.groupby("dev", sort=True).tail(1).set_index("dev")


def valid_on_days(history: pd.DataFrame, dev: np.ndarray, day: np.ndarray) -> np.ndarray:
    """For each (device position, day): whether the latest verification on or before that day is valid then.

    Valid means result is not 不合格 and the day is on or before valid_until. A 不合格 record ends the validity
    of earlier certificates. Vectorised with one searchsorted over (device, day) keys.
    """
    if len(history) == 0 or len(dev) == 0:
        return np.zeros(len(dev), dtype=bool)
    shift = np.int64(1 << 32)
    h_dev = history["dev"].to_numpy(dtype=np.int64)
    h_key = h_dev * shift + day_numbers(history["verified_on"])
    key = dev.astype(np.int64) * shift + day.astype(np.int64)
    pos = np.searchsorted(h_key, key, side="right") - 1
    found = pos >= 0
    pos = np.where(found, pos, 0)
    same = found & (h_dev[pos] == dev)
    good = (history["result"].to_numpy(dtype=object) != "不合格")
    until = day_numbers(history["valid_until"])
    return same & good[pos] & (day <= until[pos])


def coverage(devices: pd.DataFrame, ctx: AuditContext) -> pd.DataFrame:
    """Per device position: the first and last day of its own violation data and of its department's data.

    Columns first, last, dept_first, dept_last (days since 1970, NaN where there is no data). A month counts
    up to its last day; nothing counts beyond the as-of date.
    """
    def compute() -> pd.DataFrame:
        v = violations(devices, ctx)
        first = np.full(len(devices), np.nan)
        last = np.full(len(devices), np.nan)
        if len(v):
            end = np.minimum(v.day + v.ndays - 1, as_day_number(ctx.as_of))
            devs, starts = segments(v.dev)
            first[devs] = v.day[starts]
            last[devs] = np.maximum.reduceat(end, starts)
        out = pd.DataFrame({"first": first, "last": last})
        dept = pd.Series(devices["department"].to_numpy(dtype=object)).fillna("")
        span = out.groupby(dept.to_numpy()).agg(dept_first=("first", "min"), dept_last=("last", "max"))
        out["dept_first"] = dept.map(span["dept_first"]).to_numpy(dtype=float)
        out["dept_last"] = dept.map(span["dept_last"]).to_numpy(dtype=float)
        return out
    return memo(ctx, "coverage", compute)
