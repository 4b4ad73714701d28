"""An upload from read to validation report: find the header, normalise every column, check every row.

`parse_upload(path, kind)` reads a department's file (audit.reader), finds the header row, parses each column
of the table spec (audit.columns) and reports every problem at once, in Chinese, with the Excel row number, the
header as in the file, the value and what to do. Database checks (unknown device codes …) are the registry's.
Columns are parsed on their distinct values only, so large files cost little more than reading them.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl.utils import get_column_letter

from geo.crs import CrsSpec, in_china, looks_swapped, parse_crs, to_wgs84

from .columns import DEVICE_TYPES_EN, TABLES, Column, TableSpec
from .parse import (
    BOOL_HINT,
    DATE_HINT,
    FORMULA_PREFIXES,
    MONTH_HINT,
    Parsed,
    cell_label,
    choice_parser,
    clean_code,
    clean_text,
    fast_iso_dates,
    fast_iso_days,
    fast_numbers,
    header_variants,
    parse_bool,
    parse_coordinate,
    parse_date,
    parse_month_or_date,
    parse_number,
    parse_unique,
)
from .reader import DEFAULT_MAX_BYTES, HEADER_SCAN_ROWS, RawSheet, read_sheet
from .report import ValidationReport

SPEED_LIMIT_RANGE = (5, 150)  # km/h; outside it a speed limit is almost certainly a typing error
EARLIEST_PLAUSIBLE = dt.date(1990, 1, 1)  # non-site enforcement devices did not exist before
VALID_UNTIL_KEYS = ("verification_valid_until", "valid_until")
GEOGRAPHIC = ("wgs84", "cgcs2000", "gcj02", "bd09")

SYNONYMS = {
    "device_type": {en: zh for zh, en in DEVICE_TYPES_EN.items()} | {"红灯": "闯红灯", "闯红灯抓拍": "闯红灯",
                                                                   "违停": "违法停车", "违停抓拍": "违法停车"},
    "status": {"使用中": "在用", "正常使用": "在用", "已停用": "停用", "已拆除": "拆除", "规划": "拟建"},
}
_TOTAL_ROW = re.compile(r"^(合计|总计|小计|共计)")
_NOTE_ROW = re.compile(r"^(填表人|填报人|审核人|负责人|单位负责人|联系人|联系电话|制表人|制表|注|说明|备注)\s*[:：]")


@dataclass
class ParsedUpload:
    report: ValidationReport
    frame: pd.DataFrame | None = None
    columns: dict[str, str] = field(default_factory=dict)  # spec key -> header as in the file


@dataclass
class Header:
    """The header found in a sheet: its (last) row index in the frame and the column of every known key."""

    index: int
    columns: dict[str, int]
    labels: dict[int, str]  # column index -> header text as in the file, for every non-empty header cell
    duplicates: list[tuple[str, int]]

    @property
    def score(self) -> int:
        return len(self.columns)


# --- header ------------------------------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _lookup(kind: str) -> dict[str, str]:
    spec = TABLES[kind]
    table: dict[str, str] = {}
    for col in spec.columns:
        for name in (col.header, col.key, *col.aliases):
            for variant in header_variants(name):
                table.setdefault(variant, col.key)
    return table


def _match(cell: Any, lookup: dict[str, str]) -> str | None:
    for variant in header_variants(cell):
        if variant in lookup:
            return lookup[variant]
    return None


def _row_match(row: list[Any], lookup: dict[str, str]) -> dict[int, str]:
    return {j: key for j, cell in enumerate(row) if isinstance(cell, str) and (key := _match(cell, lookup))}


def find_header(rows: list[list[Any]], kind: str) -> Header | None:
    """The header among the first rows: the row naming most columns of the table (title and 填报单位 rows above
    it are skipped). A two-row header (group titles merged over sub-headers) is read as one."""
    lookup = _lookup(kind)
    matches = [_row_match(row, lookup) for row in rows[:HEADER_SCAN_ROWS]]
    if not matches or not any(matches):
        return None
    best = max(range(len(matches)), key=lambda i: (len(set(matches[i].values())), -i))
    found = dict(matches[best])
    top, last = best, best
    for other in (best - 1, best + 1):
        if 0 <= other < len(matches) and matches[other] and _is_header_level(rows[other], matches[other], found):
            for j, key in matches[other].items():
                found.setdefault(j, key)
            top, last = min(top, other), max(last, other)
    columns: dict[str, int] = {}
    duplicates: list[tuple[str, int]] = []
    for j in sorted(found):
        key = found[j]
        if key in columns:
            duplicates.append((key, j))
        else:
            columns[key] = j
    labels: dict[int, str] = {}
    for i in range(top, last + 1):
        for j, cell in enumerate(rows[i]):
            label = cell_label(cell)
            if label is not None and (j not in labels or j in found and _match(cell, lookup)):
                labels[j] = label
    return Header(last, columns, labels, duplicates)


def _is_header_level(row: list[Any], match: dict[int, str], found: dict[int, str]) -> bool:
    """True if `row` is the other level of a two-row header: its known headers sit where the found row is empty
    and it is empty (merged) where the found row has its headers."""
    if any(j in found for j in match):
        return False
    return all(j >= len(row) or clean_text(row[j]) is None for j in found)


# --- the upload --------------------------------------------------------------------------------------------------

def parse_upload(path: Path, kind: str, *, default_crs: str | None = None, boundary: Any = None,
                 max_bytes: int | None = DEFAULT_MAX_BYTES) -> ParsedUpload:
    """Read, normalise and validate an upload of `kind` ('devices' | 'violations' | 'verifications').

    The frame (None when the file cannot be read or lacks a required column) holds the spec keys present in the
    file and `row` (Excel row number); violations have `period` and `period_start` for 日期; devices have WGS-84
    `lon`/`lat`, `raw_lon`/`raw_lat` as given and `crs` (the row's coordinate system label).
    """
    if kind not in TABLES:
        raise ValueError(f"未知的表类型“{kind}”，应为 {'、'.join(TABLES)}。")
    path = Path(path)
    spec = TABLES[kind]
    report = ValidationReport(filename=path.name, kind=kind)
    wanted = min(2, sum(c.required for c in spec.columns))
    raw = read_sheet(path, report, max_bytes,
                     pick=lambda rows: (h := find_header(rows, kind)) is not None and h.score >= wanted)
    if raw is None:
        return ParsedUpload(report)
    header = find_header(raw.rows(0, HEADER_SCAN_ROWS), kind)
    if header is None:
        _report_no_header(raw, spec, report)
        return ParsedUpload(report)
    report.header_row = int(raw.row_numbers[header.index])
    columns = {key: header.labels.get(j, spec.column(key).header) for key, j in header.columns.items()}
    _report_header(raw, header, spec, report)
    missing = [c for c in spec.columns if c.required and c.key not in header.columns]
    for col in missing:
        found = "、".join(f"“{h}”" for h in header.labels.values()) or "（无）"
        alias = "、".join((col.key, *col.aliases))
        report.error("MISSING_COLUMN", f"缺少必填列“{col.header}”。第{report.header_row}行的表头为：{found}。"
                                       f"请按模板添加该列（表头写“{col.header}”或“{col.label}”，也可写 {alias}），"
                                       "然后重新上传。", row=report.header_row, column=col.header)
    if missing:
        return ParsedUpload(report, None, columns)
    frame = _Validator(raw, header, spec, columns, report).run(default_crs, boundary)
    return ParsedUpload(report, frame, columns)


def _report_no_header(raw: RawSheet, spec: TableSpec, report: ValidationReport) -> None:
    rows = raw.rows(0, HEADER_SCAN_ROWS)
    texts = max(([t for c in row if (t := cell_label(c))] for row in rows), key=len, default=[])
    found = "、".join(f"“{t}”" for t in texts[:30]) or "（无）"
    for col in spec.columns:
        if col.required:
            report.error("MISSING_COLUMN", f"缺少必填列“{col.header}”：前{HEADER_SCAN_ROWS}行中找不到本表"
                                           f"（{spec.title}）的表头，找到的内容最多的一行为：{found}。"
                                           "请使用本表的模板填写，不要修改表头，然后重新上传。", column=col.header)


def _report_header(raw: RawSheet, header: Header, spec: TableSpec, report: ValidationReport) -> None:
    row = report.header_row
    known = set(header.columns.values())
    for key, j in header.duplicates:
        first = header.labels.get(header.columns[key], key)
        report.error("DUPLICATE_COLUMN", f"表头“{header.labels.get(j, key)}”与“{first}”是同一列"
                                         f"（{spec.column(key).header}），重复出现；请删除多余的一列后重新上传。"
                                         "当前按前一列校验。", row=row, column=header.labels.get(j))
    data = raw.frame.iloc[header.index + 1:]
    duplicate_cols = {j for _, j in header.duplicates}
    for j in range(raw.frame.shape[1]):
        if j in known or j in duplicate_cols:
            continue
        label = header.labels.get(j)
        if label is not None:
            report.warning("COLUMN_UNKNOWN", f"“{label}”不是本表的列，该列内容不会导入；如为需要导入的信息，"
                                             "请按模板的表头填写。", row=row, column=label)
        elif _column_has_value(data[j]):
            report.warning("COLUMN_NO_HEADER", f"第{get_column_letter(j + 1)}列有内容但没有表头，该列不会导入；"
                                               "请补上表头或删除该列。", row=row)


def _column_has_value(values: pd.Series) -> bool:
    filled = values.dropna()
    return bool(len(filled)) and bool(filled.map(lambda v: clean_text(v) is not None).any())


def _show(value: Any) -> str | None:
    """A raw cell value as the clerk sees it."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return str(value)


class _Validator:
    """Parses and checks the data rows of one sheet; `run` returns the typed frame."""

    def __init__(self, raw: RawSheet, header: Header, spec: TableSpec, columns: dict[str, str],
                 report: ValidationReport):
        self.spec, self.columns, self.report = spec, columns, report
        data = raw.frame.iloc[header.index + 1:]
        self.rows = np.asarray(raw.row_numbers[header.index + 1:], dtype=np.int64)
        self.cells = {key: data[j].reset_index(drop=True) for key, j in header.columns.items()}
        self.formula_rows = {key: {r for (r, c), _ in raw.formulas.items() if c == j}
                             for key, j in header.columns.items()}
        self.error_cells = {key: {r: t for (r, c), t in raw.errors.items() if c == j}
                            for key, j in header.columns.items()}
        self.parsed: dict[str, Parsed] = {}
        self.out: dict[str, Any] = {}

    # problem helpers -----------------------------------------------------------------------------------------

    def _add(self, level: str, code: str, message: str, key: str, index: int, value: Any = None) -> None:
        if value is None and key in self.parsed:
            value = _show(self.parsed[key].raw(index))
        self.report.add(level, code, message, row=int(self.rows[index]), column=self.columns.get(key, key),
                        value=value)

    def error(self, code: str, message: str, key: str, index: int, value: Any = None) -> None:
        self._add("error", code, message, key, index, value)

    def warning(self, code: str, message: str, key: str, index: int, value: Any = None) -> None:
        self._add("warning", code, message, key, index, value)

    # pipeline ------------------------------------------------------------------------------------------------

    def run(self, default_crs: str | None, boundary: Any) -> pd.DataFrame:
        for key, values in self.cells.items():
            self.parsed[key] = self._parse(self.spec.column(key), values)
        if self.spec.kind == "violations" and "date" in self.parsed:
            self._months_typed_as_dates(self.parsed["date"])
        keep = self._rows_to_keep()
        self.rows = self.rows[keep]
        for key, parsed in self.parsed.items():
            parsed.codes = parsed.codes[keep]
        self.report.data_rows = int(keep.sum())
        if not self.report.data_rows:
            self.report.error("NO_DATA", f"第{self.report.header_row}行表头下面没有任何数据行；请填写数据后再上传"
                                         "（上传空表会被当作本单位没有任何数据）。", row=self.report.header_row)
        for key, parsed in self.parsed.items():
            self._check_cells(self.spec.column(key), parsed)
        frame = pd.DataFrame({k: pd.Series(v, dtype=object) if isinstance(v, np.ndarray) and v.dtype == object
                              else v for k, v in self.out.items()})
        frame.insert(len(frame.columns), "row", self.rows)
        if self.spec.kind == "devices":
            self._coordinates(frame, default_crs, boundary)
        self._cross_checks(frame)
        order = [k for k in self.spec.keys if k in frame.columns]
        extra = [k for k in ("period", "period_start", "raw_lon", "raw_lat") if k in frame.columns]
        return frame[[*order, *extra, "row"]]

    def _parse(self, col: Column, values: pd.Series) -> Parsed:
        if col.key in ("lon", "lat"):
            return parse_unique(values, parse_coordinate, fast_numbers)
        if col.key == "crs":
            return parse_unique(values, _parse_crs_cell)
        if col.kind == "text":
            return parse_unique(values, clean_text)
        if col.kind == "code":
            return parse_unique(values, clean_code)
        if col.kind == "choice":
            return parse_unique(values, choice_parser(col.choices, SYNONYMS.get(col.key)))
        if col.kind == "date":
            return parse_unique(values, parse_date, fast_iso_dates)
        if col.kind == "month_or_date":
            return parse_unique(values, parse_month_or_date, fast_iso_days)
        if col.kind == "bool":
            return parse_unique(values, parse_bool)
        if col.kind in ("int", "float", "money"):
            return parse_unique(values, parse_number, fast_numbers)
        raise ValueError(f"unknown column kind {col.kind}")

    def _months_typed_as_dates(self, parsed: Parsed) -> None:
        """Excel turns a typed '2024-03' into the date 2024-03-01: if every date cell of the column is the first
        of a month (and there are several months) and no text gives a day, the column is taken as months."""
        typed = [i for i, u in enumerate(parsed.uniques) if isinstance(u, dt.date) and parsed.results[i]]
        typed_set = set(typed)
        texts_days = any(r and r[0] == "day" for i, r in enumerate(parsed.results) if i not in typed_set)
        if not typed or texts_days or any(parsed.results[i][1].day != 1 for i in typed):
            return
        if len({parsed.results[i][1] for i in typed}) < 2:
            return
        for i in typed:
            parsed.results[i] = ("month", parsed.results[i][1])
        self.report.warning("PERIOD_MONTH_ASSUMED", "该列的日期都是某月1日，按月份（整月统计）处理；"
                                                    "如果是按日统计的数据，请把单元格格式设为文本并填写 2024-03-01 这样的日期。",
                            row=self.report.header_row, column=self.columns["date"])

    def _rows_to_keep(self) -> np.ndarray:
        """Rows with any value, less total (合计) rows, signature/note rows and repeated header rows."""
        n = len(self.rows)
        filled = np.zeros(n, dtype=bool)
        for parsed in self.parsed.values():
            filled |= ~parsed.empty
        keep = filled.copy()
        code = self.parsed.get("device_code")
        if code is None:
            return keep
        kinds = []
        for u in code.uniques:
            text = clean_code(u) or ""
            kinds.append("total" if _TOTAL_ROW.match(text) else "note" if _NOTE_ROW.match(text)
                         else "header" if _match(text, _lookup(self.spec.kind)) == "device_code" else "")
        row_kind = code.take(kinds, missing="")
        for index in np.flatnonzero(filled & (row_kind != "")):
            what = {"total": ("TOTAL_ROW_SKIPPED", "合计行，不作为数据导入。"),
                    "note": ("NOTE_ROW_SKIPPED", "签名、备注等说明行，不作为数据导入；如是数据请改正。"),
                    "header": ("HEADER_ROW_SKIPPED", "重复的表头行，已跳过。")}[row_kind[index]]
            self.warning(*what, "device_code", index)
            keep[index] = False
        return keep

    # per-column checks ---------------------------------------------------------------------------------------

    def _check_cells(self, col: Column, parsed: Parsed) -> None:
        bad, empty = parsed.bad, parsed.empty
        excel_errors = self.error_cells[col.key]
        if excel_errors:
            is_error = np.isin(self.rows, list(excel_errors))
            for index in np.flatnonzero(is_error):
                self.error("CELL_ERROR", f"单元格是 Excel 错误值 {excel_errors[int(self.rows[index])]}（公式出错）；"
                                         "请填写正确的值本身。", col.key, index)
            bad, empty = bad & ~is_error, empty & ~is_error
        if col.required:
            for index in np.flatnonzero(empty):
                example = f"（如 {col.example}）" if col.example else ""
                self.error("REQUIRED_EMPTY", f"“{col.header}”为必填项，不能为空；请填写{example}。", col.key, index)
        for index in np.flatnonzero(bad):
            code, message = self._bad_message(col, parsed, index)
            self.error(code, message, col.key, index)
        if col.kind in ("text", "code"):
            self._formula_text(col, parsed)
        typed = self._typed(col, parsed)
        if typed is not None:
            self.out[col.key] = typed

    def _bad_message(self, col: Column, parsed: Parsed, index: int) -> tuple[str, str]:
        reason = parsed.reason(index)
        raw = parsed.raw(index)
        if not reason and isinstance(raw, str) and raw.startswith("="):
            reason = f"单元格为公式“{raw}”，系统不计算公式；请填写值本身"
        why = f"（{reason}）" if reason else ""
        if col.key in ("lon", "lat"):
            name, example = ("经度", "117.47312") if col.key == "lon" else ("纬度", "26.72851")
            return "COORD_NOT_NUMERIC", f"{name}应为数字（十进制度，如 {example}）{why}，请改正后重新上传。"
        if col.key == "crs":
            return "BAD_CRS", reason or "无法识别的坐标系。"
        if col.kind == "date":
            return "BAD_DATE", f"无法识别的日期{why}；{DATE_HINT}。"
        if col.kind == "month_or_date":
            return "BAD_DATE", f"无法识别的日期或月份{why}；{MONTH_HINT}。"
        if col.kind == "bool":
            return "BAD_BOOL", f"应填“是”或“否”（也可写 {BOOL_HINT}）{why}；请改正后重新上传。"
        if col.kind == "choice":
            return "BAD_CHOICE", f"“{col.header}”只能填写：{'、'.join(col.choices)}{why}；请从下拉列表中选择。"
        unit = "整数" if col.kind == "int" else "数字"
        example = f"，如 {col.example}" if col.example else ""
        return "BAD_NUMBER", f"“{col.header}”应为{unit}{why}；请只填数字{example}，不要带文字。"

    def _formula_text(self, col: Column, parsed: Parsed) -> None:
        risky = [isinstance(r, str) and r.startswith(FORMULA_PREFIXES) for r in parsed.results]
        if not any(risky):
            return
        formulas = self.formula_rows[col.key]
        for index in np.flatnonzero(parsed.take(risky, missing=False, dtype=bool)):
            value = parsed.results[parsed.codes[index]]
            if int(self.rows[index]) in formulas:
                message = f"单元格为公式，已按文本“{value}”保存，不会计算；请填写数值本身。"
            else:
                message = (f"内容以“{value[0]}”开头，已按文本原样保存，不会当作公式计算；导出时会加以处理。"
                           "如非本意请改正。")
            self.warning("CELL_FORMULA", message, col.key, index, value)

    def _typed(self, col: Column, parsed: Parsed) -> Any:
        if col.key == "crs":
            return parsed.take([r.label if r is not None else None for r in parsed.results])
        if col.kind in ("text", "code", "choice"):
            return parsed.take()
        if col.kind == "date":
            return _dates(parsed, parsed.results)
        if col.kind == "month_or_date":
            self.out["period"] = parsed.take([r[0] if r else None for r in parsed.results])
            self.out["period_start"] = _dates(parsed, [r[1] if r else None for r in parsed.results])
            return None
        if col.kind == "bool":
            values = parsed.take([r if r is not None else pd.NA for r in parsed.results], missing=pd.NA)
            return pd.array(values, dtype="boolean")
        numbers = parsed.take([np.nan if r is None else float(r) for r in parsed.results], missing=np.nan,
                              dtype=np.float64)
        numbers[parsed.bad] = np.nan
        if col.kind == "int":
            fractional = np.isfinite(numbers) & (numbers != np.round(numbers))
            for index in np.flatnonzero(fractional):
                self.error("BAD_NUMBER", f"“{col.header}”应为整数；请改正后重新上传。", col.key, index)
            numbers[fractional] = np.nan
            return _int_array(numbers)
        if col.kind == "money":
            numbers = np.round(numbers, 2)
        return numbers

    # coordinates ---------------------------------------------------------------------------------------------

    def _coordinates(self, frame: pd.DataFrame, default_crs: str | None, boundary: Any) -> None:
        n = len(frame)
        x = np.asarray(frame["lon"], dtype=float)
        y = np.asarray(frame["lat"], dtype=float)
        frame["raw_lon"], frame["raw_lat"] = x.copy(), y.copy()
        try:
            default = parse_crs(None, default=default_crs)
        except ValueError as exc:
            self.report.error("BAD_CRS", f"导入时指定的默认坐标系有误：{exc}")
            default = parse_crs(None)
        specs = np.empty(n, dtype=object)
        unnamed = np.ones(n, dtype=bool)
        bad_crs = np.zeros(n, dtype=bool)
        if "crs" in self.parsed:
            parsed = self.parsed["crs"]
            specs[:] = parsed.take()
            unnamed = parsed.empty
            bad_crs = parsed.bad
        specs[unnamed] = default
        if default_crs is None and unnamed.any() and np.isfinite(x[unnamed]).any():
            self.report.warning("CRS_ASSUMED", f"{int(unnamed.sum())} 行未填写坐标系，导入时也未指定，按 WGS84 处理；"
                                               "如坐标取自高德、腾讯地图请填 GCJ02，取自百度地图请填 BD09。",
                                row=self.report.header_row, column=self.columns.get("crs"))
        lon = np.full(n, np.nan)
        lat = np.full(n, np.nan)
        given = np.isfinite(x) & np.isfinite(y) & ~bad_crs
        zero = given & ((x == 0) | (y == 0))
        for index in np.flatnonzero(zero):
            self.error("COORD_ZERO", "经度或纬度为 0，不是设备的实际位置；请填写实际坐标。", "lon", index)
        given &= ~zero
        labels = np.array([s.label if s is not None else None for s in specs], dtype=object)
        for label in pd.unique(labels[given]):
            rows = np.flatnonzero(given & (labels == label))
            spec: CrsSpec = specs[rows[0]]
            lon[rows], lat[rows] = self._convert(spec, x[rows], y[rows], rows)
        frame["crs"] = pd.Series(labels, dtype=object)
        valid = np.isfinite(lon) & np.isfinite(lat)
        outside = valid & ~in_china(lon, lat)
        for index in np.flatnonzero(outside):
            self.warning("COORD_OUTSIDE_CHINA", f"坐标（经度 {lon[index]:.6f}，纬度 {lat[index]:.6f}）不在中国境内；"
                                                "请核对经纬度和坐标系。", "lon", index)
        if boundary is not None:
            from geo.boundary import points_within

            for index in np.flatnonzero(valid & ~points_within(lon, lat, boundary)):
                self.warning("COORD_OUTSIDE_BOUNDARY", f"坐标（经度 {lon[index]:.6f}，纬度 {lat[index]:.6f}）"
                                                       "不在本单位辖区范围内；请核对坐标和坐标系。", "lon", index)
        frame["lon"], frame["lat"] = lon, lat

    def _convert(self, spec: CrsSpec, x: np.ndarray, y: np.ndarray, rows: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
        x, y = x.copy(), y.copy()
        if spec.kind in GEOGRAPHIC:
            swapped = looks_swapped(x, y) & (np.abs(y) <= 180) & (np.abs(x) <= 90)
        else:
            plain = to_wgs84(x, y, spec)[0]
            flipped_lon, flipped_lat = to_wgs84(y, x, spec)
            swapped = ~np.isfinite(plain) & np.isfinite(flipped_lon) & in_china(flipped_lon, flipped_lat)
        for k in np.flatnonzero(swapped):
            self.warning("COORD_SWAPPED", f"经度、纬度（东、北坐标）似乎填反了：经度列为 {_num(x[k])}，纬度列为 "
                                          f"{_num(y[k])}，已按经度 {_num(y[k])}、纬度 {_num(x[k])} 处理；"
                                          "请核对并在文件中改正。", "lon", rows[k], f"{_num(x[k])}, {_num(y[k])}")
        x[swapped], y[swapped] = y[swapped], x[swapped]
        if spec.kind in GEOGRAPHIC:
            wrong = (np.abs(x) > 180) | (np.abs(y) > 90)
            x[wrong] = y[wrong] = np.nan
            lon, lat = to_wgs84(x, y, spec)
        else:
            lon, lat = to_wgs84(x, y, spec)
        wrong = ~np.isfinite(lon) | ~np.isfinite(lat) | (np.abs(lon) > 180) | (np.abs(lat) > 90)
        for k in np.flatnonzero(wrong):
            if spec.kind in GEOGRAPHIC:
                message = ("坐标超出范围：经度应在 -180～180、纬度应在 -90～90 之间（十进制度）；请检查是否少了小数点，"
                           "或填的是投影坐标（米）——投影坐标须在坐标系列写明带号，如 CGCS2000-3度带-39。")
            else:
                message = (f"投影坐标与坐标系“{spec.label}”不符：东坐标应为带号加6位整数（如 39500000）或6位整数，"
                           "北坐标为7位整数（米）；请核对坐标和带号。")
            self.error("COORD_OUT_OF_RANGE", message, "lon", rows[k], f"{_num(x[k])}, {_num(y[k])}")
        lon[wrong] = lat[wrong] = np.nan
        return lon, lat

    # checks across columns -----------------------------------------------------------------------------------

    def _cross_checks(self, frame: pd.DataFrame) -> None:
        kind = self.spec.kind
        today = pd.Timestamp(dt.date.today())
        for col in self.spec.columns:
            source = "period_start" if col.kind == "month_or_date" else col.key
            if source not in frame.columns or col.kind not in ("date", "month_or_date"):
                continue
            values = frame[source]
            if col.key not in VALID_UNTIL_KEYS:
                for index in np.flatnonzero((values > today).to_numpy()):
                    self.warning("FUTURE_DATE", f"日期晚于今天（{today.date().isoformat()}）；请核对。", col.key, index)
            for index in np.flatnonzero((values < pd.Timestamp(EARLIEST_PLAUSIBLE)).to_numpy()):
                self.warning("DATE_TOO_EARLY", "日期早于1990年，不合常理；请核对（是否把数字当成了日期）。", col.key, index)
        if kind == "devices":
            self._order("installed_on", "in_service_on", "warning", "IN_SERVICE_BEFORE_INSTALLED",
                        "启用日期早于安装日期；请核对两个日期。", frame)
            self._order("verified_on", "verification_valid_until", "error", "VALID_UNTIL_BEFORE_VERIFIED",
                        "检定有效期至早于最近检定日期；请按检定证书改正。", frame)
            self._range("speed_limit_kmh", frame, lambda v: (v < SPEED_LIMIT_RANGE[0]) | (v > SPEED_LIMIT_RANGE[1]),
                        "warning", "SPEED_LIMIT_RANGE",
                        f"限速值不在 {SPEED_LIMIT_RANGE[0]}–{SPEED_LIMIT_RANGE[1]} km/h 之间；请核对（单位为 km/h）。")
            self._range("sign_distance_m", frame, lambda v: v < 0, "error", "NEGATIVE_NUMBER",
                        "标识距离不能为负数；请填写标志到设备的距离（米）。")
            self._duplicates(frame, ["device_code"], "DUPLICATE_CODE",
                             "设备编号与第{first}行重复；同一文件内每台设备只能填一行，请核对编号或删除重复行。")
        elif kind == "violations":
            self._range("count", frame, lambda v: v < 0, "error", "NEGATIVE_COUNT", "违法数量不能为负数；请改正。")
            if "fine_yuan" in frame.columns:
                self._range("fine_yuan", frame, lambda v: v < 0, "error", "NEGATIVE_FINE", "罚款金额不能为负数；请改正。")
                no_count = (frame["count"] == 0).fillna(False).to_numpy() & (frame["fine_yuan"] > 0).to_numpy()
                for index in np.flatnonzero(no_count):
                    self.warning("FINE_WITHOUT_COUNT", "违法数量为 0，罚款金额却大于 0；请核对。", "fine_yuan", index)
            self._duplicates(frame, ["device_code", "date"], "DUPLICATE_KEY",
                             "同一设备同一日期（月份）与第{first}行重复填报；请合并为一行或删除重复行。", column="date")
            self._mixed_periods(frame)
        else:
            self._order("verified_on", "valid_until", "error", "VALID_UNTIL_BEFORE_VERIFIED",
                        "有效期至早于检定日期；请按检定证书改正。", frame)
            self._duplicates(frame, ["device_code", "verified_on"], "DUPLICATE_KEY",
                             "同一设备同一检定日期与第{first}行重复；请删除重复行。", column="verified_on")

    def _order(self, earlier: str, later: str, level: str, code: str, message: str, frame: pd.DataFrame) -> None:
        if earlier not in frame.columns or later not in frame.columns:
            return
        for index in np.flatnonzero((frame[later] < frame[earlier]).to_numpy()):
            value = f"{frame[earlier].iat[index].date()} / {frame[later].iat[index].date()}"
            self._add(level, code, message, later, index, value)

    def _range(self, key: str, frame: pd.DataFrame, test: Any, level: str, code: str, message: str) -> None:
        if key not in frame.columns:
            return
        values = pd.Series(frame[key], dtype="Float64")
        for index in np.flatnonzero(test(values).fillna(False).to_numpy(dtype=bool)):
            self._add(level, code, message, key, index)

    def _duplicates(self, frame: pd.DataFrame, keys: list[str], code: str, message: str,
                    column: str = "device_code") -> None:
        if not all(k in self.parsed for k in keys):
            return
        combined = np.zeros(len(frame), dtype=np.int64)
        complete = np.ones(len(frame), dtype=bool)
        for k in keys:
            codes = self.parsed[k].key_codes().astype(np.int64)
            complete &= codes >= 0
            combined = combined * (int(codes.max(initial=0)) + 2) + codes + 1
        combined = pd.Series(np.where(complete, combined, -np.arange(1, len(frame) + 1)))
        dup = combined.duplicated(keep="first").to_numpy()
        if not dup.any():
            return
        first_row = pd.Series(self.rows).groupby(combined.to_numpy(), sort=False).transform("first").to_numpy()
        for index in np.flatnonzero(dup):
            self.error(code, message.format(first=int(first_row[index])), column, index)

    def _mixed_periods(self, frame: pd.DataFrame) -> None:
        device = self.parsed["device_code"].key_codes().astype(np.int64)
        dates = self.parsed["date"]
        monthly = dates.take([bool(r) and r[0] == "month" for r in dates.results], missing=False, dtype=bool)
        daily = dates.take([bool(r) and r[0] == "day" for r in dates.results], missing=False, dtype=bool)
        known = device >= 0
        both = np.intersect1d(device[known & monthly], device[known & daily])
        if not len(both):
            return
        rows = np.flatnonzero(known & monthly & np.isin(device, both))
        _, first = np.unique(device[rows], return_index=True)
        for index in rows[first]:
            self.warning("PERIOD_MIXED", "同一设备既有按日又有按月的数据；请确认月度数据没有与日数据重复统计。",
                         "date", int(index))


def _parse_crs_cell(value: Any) -> CrsSpec | None:
    text = clean_code(value)
    return None if text is None else parse_crs(text)


def _dates(parsed: Parsed, values: list[Any]) -> np.ndarray:
    table = np.array([np.datetime64(v, "ns") if v is not None else np.datetime64("NaT", "ns") for v in values]
                     + [np.datetime64("NaT", "ns")], dtype="datetime64[ns]")
    return table[parsed.codes]


def _int_array(numbers: np.ndarray) -> pd.arrays.IntegerArray:
    mask = ~np.isfinite(numbers)
    return pd.arrays.IntegerArray(np.where(mask, 0, numbers).astype(np.int64), mask)


def _num(value: float) -> str:
    return f"{value:.10g}"
