"""The checks that need the whole file: duplicate keys, device codes differing only by letter case, devices
reported both by day and by month, the count of rows without a coordinate system, a sheet without data rows.

WholeFile runs them on a sheet read whole. Streamed carries them over the chunks of a file validated one chunk at
a time (audit.intake.stream): what it keeps grows with the distinct keys of the file (12 bytes a key) and its
devices, not with the cells; it reports exactly what WholeFile reports on the same file.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..report import ValidationReport
from .crosschecks import PERIOD_MIXED, case_variants, duplicates, mixed_periods
from .rows import SheetRows, show

CRS_ASSUMED = ("{rows} 行未填写坐标系，导入时也未指定，按 WGS84 处理；如坐标取自高德、腾讯地图请填 GCJ02，"
               "取自百度地图请填 BD09。")
# Day numbers of the dates a cell may hold (audit.intake.parse: years 1900-2100) made non-negative.
_DAY_OFFSET = 25568
_DATE_BITS = 18  # (day + offset) * 2 + monthly < 2**18
NO_DATA = "第{row}行表头下面没有任何数据行；请填写数据后再上传（上传空表会被当作本单位没有任何数据）。"


class WholeFile:
    """The checks across rows on a sheet read whole."""

    def duplicates(self, sheet: SheetRows, frame: pd.DataFrame, keys: list[str], code: str, message: str,
                   column: str = "device_code") -> None:
        duplicates(sheet, frame, keys, code, message, column)

    def case_variants(self, sheet: SheetRows, frame: pd.DataFrame) -> None:
        case_variants(sheet, frame, {})

    def mixed_periods(self, sheet: SheetRows, frame: pd.DataFrame) -> None:
        mixed_periods(sheet, frame)

    def crs_assumed(self, sheet: SheetRows, rows: int, with_coordinates: bool) -> None:
        if with_coordinates:
            sheet.report.warning("CRS_ASSUMED", CRS_ASSUMED.format(rows=rows), row=sheet.report.header_row,
                                 column=sheet.columns.get("crs"))

    def data_rows(self, sheet: SheetRows, rows: int) -> None:
        sheet.report.data_rows = rows
        if not rows:
            sheet.report.error("NO_DATA", NO_DATA.format(row=sheet.report.header_row), row=sheet.report.header_row)


class _KeySet:
    """Integer keys seen so far with the row each was first seen on: sorted runs merged as they grow (an LSM
    tree), so adding n keys and looking keys up costs O(n log n) overall."""

    def __init__(self) -> None:
        self.runs: list[tuple[np.ndarray, np.ndarray]] = []

    def first_rows(self, keys: np.ndarray) -> np.ndarray:
        """Per key, the row it was first seen on (0 when not seen)."""
        found = np.zeros(len(keys), dtype=np.int64)
        for run_keys, run_rows in self.runs:
            pos = np.minimum(np.searchsorted(run_keys, keys), len(run_keys) - 1)
            hit = run_keys[pos] == keys
            found[hit] = run_rows[pos[hit]]
        return found

    def add(self, keys: np.ndarray, rows: np.ndarray) -> None:
        """Keys not seen before (distinct) and their rows."""
        if not len(keys):
            return
        order = np.argsort(keys, kind="stable")
        self.runs.append((keys[order], rows[order]))
        while len(self.runs) > 1 and len(self.runs[-1][0]) * 2 >= len(self.runs[-2][0]):
            (k2, r2), (k1, r1) = self.runs.pop(), self.runs.pop()
            keys_, rows_ = np.concatenate([k1, k2]), np.concatenate([r1, r2])
            order = np.argsort(keys_, kind="stable")
            self.runs.append((keys_[order], rows_[order]))


class Streamed:
    """The checks across rows carried over the chunks of one file; `finish` reports what needs every chunk."""

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}  # device code -> number in order of first appearance
        self.seen: dict[str, _KeySet] = {}
        self.rows = 0
        self.unnamed_crs = 0
        self.crs_with_coordinates = False
        self.monthly_first: dict[int, tuple[int, str | None]] = {}  # device number -> first monthly row, its cell
        self.daily: set[int] = set()
        self.spellings: dict[str, tuple[str, int]] = {}  # case-folded device code -> first spelling, its row

    def _code_numbers(self, codes: Any) -> np.ndarray:
        """Per row, the file-wide number of its device code (-1 when empty or bad)."""
        codes_, uniques = pd.factorize(np.asarray(codes, dtype=object), use_na_sentinel=True)
        numbers = np.array([self.codes.setdefault(u, len(self.codes)) for u in uniques] + [-1], dtype=np.int64)
        return numbers[codes_]

    def _key(self, frame: pd.DataFrame, key: str) -> np.ndarray:
        if key == "device_code":
            return self._code_numbers(frame["device_code"])
        stamps = frame["period_start" if key == "date" else key].to_numpy(dtype="datetime64[ns]")
        known = ~np.isnat(stamps)
        days = np.where(known, stamps.astype("datetime64[D]").astype(np.int64), 0) + _DAY_OFFSET
        part = days * 2 + ((frame["period"] == "month").to_numpy(dtype=bool) if key == "date" else 0)
        return np.where(known, part, -1)

    def duplicates(self, sheet: SheetRows, frame: pd.DataFrame, keys: list[str], code: str, message: str,
                   column: str = "device_code") -> None:
        if not all(k in sheet.parsed for k in keys):
            return
        combined = np.zeros(len(frame), dtype=np.int64)
        complete = np.ones(len(frame), dtype=bool)
        for i, k in enumerate(keys):
            part = self._key(frame, k)
            complete &= part >= 0
            combined = (combined << _DATE_BITS) + part if i else part
        index = np.flatnonzero(complete)
        keys_ = combined[index]
        rows = sheet.rows[index].astype(np.int64)
        seen = self.seen.setdefault(code + ":" + ",".join(keys), _KeySet())
        first = seen.first_rows(keys_)
        series = pd.Series(keys_)
        within = series.duplicated(keep="first").to_numpy()
        first_here = pd.Series(rows).groupby(keys_, sort=False).transform("first").to_numpy()
        first = np.where(first > 0, first, np.where(within, first_here, 0))
        for position in np.flatnonzero(first > 0):
            sheet.error(code, message.format(first=int(first[position])), column, int(index[position]))
        fresh = (first == 0)
        seen.add(keys_[fresh], rows[fresh])

    def case_variants(self, sheet: SheetRows, frame: pd.DataFrame) -> None:
        case_variants(sheet, frame, self.spellings)

    def mixed_periods(self, sheet: SheetRows, frame: pd.DataFrame) -> None:
        device = self._code_numbers(frame["device_code"])
        period = frame["period"].to_numpy(dtype=object)
        known = device >= 0
        self.daily.update(np.unique(device[known & (period == "day")]).tolist())
        monthly = np.flatnonzero(known & (period == "month"))
        devices, first = np.unique(device[monthly], return_index=True)
        for number, index in zip(devices.tolist(), monthly[first].tolist()):
            if number not in self.monthly_first:
                value = show(sheet.parsed["date"].raw(index)) if "date" in sheet.parsed else None
                self.monthly_first[number] = (int(sheet.rows[index]), value)

    def crs_assumed(self, sheet: SheetRows, rows: int, with_coordinates: bool) -> None:
        self.unnamed_crs += rows
        self.crs_with_coordinates |= with_coordinates

    def data_rows(self, sheet: SheetRows, rows: int) -> None:
        self.rows += rows

    def finish(self, report: ValidationReport, columns: dict[str, str]) -> None:
        """Once every chunk is validated: the rows counted, and what only the whole file shows."""
        report.data_rows = self.rows
        if not self.rows:
            report.error("NO_DATA", NO_DATA.format(row=report.header_row), row=report.header_row)
        if self.crs_with_coordinates:
            report.warning("CRS_ASSUMED", CRS_ASSUMED.format(rows=self.unnamed_crs), row=report.header_row,
                           column=columns.get("crs"))
        for number in sorted(self.monthly_first.keys() & self.daily):
            row, value = self.monthly_first[number]
            report.warning("PERIOD_MIXED", PERIOD_MIXED, row=row, column=columns.get("date", "date"), value=value)
