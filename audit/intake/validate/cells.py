"""Per-column checks: each column parsed on its distinct values, bad and empty cells reported, formulas flagged,
the typed values produced; rows that are totals, notes or repeated headers dropped."""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

import numpy as np
import pandas as pd

from geo.crs import CrsSpec, parse_crs

from ..columns import DEVICE_TYPES_EN, Column
from ..header import lookup, match
from ..hygiene import CONTROL, LINE_BREAKS, first_control, visible, without_control
from ..parse import (
    BOOL_HINT,
    DATE_HINT,
    FORMULA_PREFIXES,
    MONTH_HINT,
    Parsed,
    choice_parser,
    clean_code,
    clean_text,
    fast_codes,
    fast_iso_dates,
    fast_iso_days,
    factorize,
    fast_numbers,
    fast_texts,
    parse_bool,
    parse_coordinate,
    parse_date,
    parse_month_or_date,
    parse_number,
    parse_unique,
)
from .rows import SheetRows

SYNONYMS = {
    "device_type": {en: zh for zh, en in DEVICE_TYPES_EN.items()} | {"红灯": "闯红灯", "闯红灯抓拍": "闯红灯",
                                                                     "违停": "违法停车", "违停抓拍": "违法停车"},
    "status": {"使用中": "在用", "正常使用": "在用", "已停用": "停用", "已拆除": "拆除", "规划": "拟建"},
}
_TOTAL_ROW = re.compile(r"^(合计|总计|小计|共计)")
_NOTE_ROW = re.compile(r"^(填表人|填报人|审核人|负责人|单位负责人|联系人|联系电话|制表人|制表|注|说明|备注)\s*[:：]")


def control_characters(sheet: SheetRows, col: Column, values: pd.Series) -> tuple[np.ndarray, list[Any]]:
    """The column's cells, factorized, without control characters (tabs and line breaks too, unless the column is
    multiline): each cell changed gets a warning; in a code, where removing them would make another identifier,
    an error (and the code is left as it is)."""
    codes, uniques = factorize(values)
    texts = [(i, u) for i, u in enumerate(uniques) if isinstance(u, str)]
    found = CONTROL if col.multiline else re.compile(f"{CONTROL.pattern}|{LINE_BREAKS.pattern}")
    if not texts or not found.search(",".join(u for _, u in texts)):
        return codes, uniques
    affected = np.zeros(len(uniques) + 1, dtype=bool)
    cleaned = list(uniques)
    for i, u in texts:
        if found.search(u):
            affected[i] = True
            cleaned[i] = without_control(u, col.multiline) or None
    for index in np.flatnonzero(affected[codes]):
        raw = uniques[codes[index]]
        position, char = first_control(raw, col.multiline)
        what = f"不可见的控制字符（{char}，第{position}个字符）" if CONTROL.search(raw) else f"换行或制表符（{char}，第{position}个字符）"
        if col.kind == "code":
            sheet.error("CONTROL_CHARACTER", f"“{col.header}”中有{what}；编号中不能有这种字符（删去它编号就变了），"
                        "请删除后重新上传。", col.key, index, visible(raw))
        else:
            done = "已删除" if CONTROL.search(raw) else "本列只填一行，已换成空格"
            sheet.warning("CONTROL_CHARACTER", f"单元格中有{what}，{done}；请核对内容。", col.key, index, visible(raw))
    return (codes, uniques) if col.kind == "code" else (codes, cleaned)


def too_long(sheet: SheetRows, col: Column, parsed: Parsed) -> None:
    """Text longer than its column holds: an error naming the length and the limit."""
    limit = col.max_length
    if limit is None:
        return
    over = np.array([isinstance(r, str) and len(r) > limit for r in parsed.results] + [False])
    for index in np.flatnonzero(over[parsed.codes]):
        text = parsed.results[parsed.codes[index]]
        sheet.error("TOO_LONG", f"“{col.header}”有 {len(text):,} 个字符，超过上限 {limit:,} 个；请缩短后重新上传。",
                    col.key, index, visible(text[:60]) + "…")


def parse_column(col: Column, values: pd.Series | tuple[np.ndarray, list[Any]]) -> Parsed:
    if col.key in ("lon", "lat"):
        return parse_unique(values, parse_coordinate, fast_numbers)
    if col.key == "crs":
        return parse_unique(values, _parse_crs_cell)
    if col.kind == "text":
        return parse_unique(values, clean_text, fast_texts)
    if col.kind == "code":
        return parse_unique(values, clean_code, fast_codes)
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


def months_typed_as_dates(sheet: SheetRows, parsed: Parsed) -> None:
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
    sheet.report.warning("PERIOD_MONTH_ASSUMED", "该列的日期都是某月1日，按月份（整月统计）处理；"
                         "如果是按日统计的数据，请把单元格格式设为文本并填写 2024-03-01 这样的日期。",
                         row=sheet.report.header_row, column=sheet.columns["date"])


def rows_to_keep(sheet: SheetRows) -> np.ndarray:
    """Rows with any value, less total (合计) rows, signature/note rows and repeated header rows."""
    n = len(sheet.rows)
    filled = np.zeros(n, dtype=bool)
    for parsed in sheet.parsed.values():
        filled |= ~parsed.empty
    keep = filled.copy()
    code = sheet.parsed.get("device_code")
    if code is None:
        return keep
    kinds = []
    for text in code.results:  # the codes as parse_column cleaned them (clean_code)
        text = text or ""
        kinds.append("total" if _TOTAL_ROW.match(text) else "note" if _NOTE_ROW.match(text)
                     else "header" if match(text, lookup(sheet.spec.kind)) == "device_code" else "")
    row_kind = code.take(kinds, missing="")
    for index in np.flatnonzero(filled & (row_kind != "")):
        what = {"total": ("TOTAL_ROW_SKIPPED", "合计行，不作为数据导入。"),
                "note": ("NOTE_ROW_SKIPPED", "签名、备注等说明行，不作为数据导入；如是数据请改正。"),
                "header": ("HEADER_ROW_SKIPPED", "重复的表头行，已跳过。")}[row_kind[index]]
        sheet.warning(*what, "device_code", index)
        keep[index] = False
    return keep


def check_cells(sheet: SheetRows, col: Column, parsed: Parsed) -> None:
    bad, empty = parsed.bad, parsed.empty
    excel_errors = sheet.error_cells[col.key]
    if excel_errors:
        is_error = np.isin(sheet.rows, list(excel_errors))
        for index in np.flatnonzero(is_error):
            sheet.error("CELL_ERROR", f"单元格是 Excel 错误值 {excel_errors[int(sheet.rows[index])]}（公式出错）；"
                        "请填写正确的值本身。", col.key, index)
        bad, empty = bad & ~is_error, empty & ~is_error
    if col.required:
        for index in np.flatnonzero(empty):
            example = f"（如 {col.example}）" if col.example else ""
            sheet.error("REQUIRED_EMPTY", f"“{col.header}”为必填项，不能为空；请填写{example}。", col.key, index)
    for index in np.flatnonzero(bad):
        code, message = bad_message(col, parsed, index)
        sheet.error(code, message, col.key, index)
    if col.kind in ("text", "code"):
        too_long(sheet, col, parsed)
        formula_text(sheet, col, parsed)
    values = typed(sheet, col, parsed)
    if values is not None:
        sheet.out[col.key] = values


def bad_message(col: Column, parsed: Parsed, index: int) -> tuple[str, str]:
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


def formula_text(sheet: SheetRows, col: Column, parsed: Parsed) -> None:
    risky = [isinstance(r, str) and r.startswith(FORMULA_PREFIXES) for r in parsed.results]
    if not any(risky):
        return
    formulas = sheet.formula_rows[col.key]
    for index in np.flatnonzero(parsed.take(risky, missing=False, dtype=bool)):
        value = parsed.results[parsed.codes[index]]
        if int(sheet.rows[index]) in formulas:
            message = f"单元格为公式，已按文本“{value}”保存，不会计算；请填写数值本身。"
        else:
            message = (f"内容以“{value[0]}”开头，已按文本原样保存，不会当作公式计算；导出时会加以处理。"
                       "如非本意请改正。")
        sheet.warning("CELL_FORMULA", message, col.key, index, value)


def typed(sheet: SheetRows, col: Column, parsed: Parsed) -> Any:
    if col.key == "crs":
        return parsed.take([r.label if r is not None else None for r in parsed.results])
    if col.kind in ("text", "code", "choice"):
        return parsed.take()
    if col.kind == "date":
        return _dates(parsed, parsed.results)
    if col.kind == "month_or_date":
        sheet.out["period"] = parsed.take([r[0] if r else None for r in parsed.results])
        sheet.out["period_start"] = _dates(parsed, [r[1] if r else None for r in parsed.results])
        return None
    if col.kind == "bool":
        values = parsed.take([r if r is not None else pd.NA for r in parsed.results], missing=pd.NA)
        return pd.array(values, dtype="boolean")
    numbers = parsed.take([np.nan if r is None else float(r) for r in parsed.results], missing=np.nan,
                          dtype=np.float64)
    numbers[parsed.bad] = np.nan
    if col.max_value is not None:
        too_large = np.abs(numbers) > col.max_value
        bound = f"{col.max_value:,.2f}" if col.kind == "money" else f"{col.max_value:,.0f}"
        for index in np.flatnonzero(too_large):
            sheet.error("NUMBER_TOO_LARGE", f"“{col.header}”超出系统能保存的范围（±{bound}）；"
                        "请核对是否多填了数字或填错了列，改正后重新上传。", col.key, index)
        numbers[too_large] = np.nan
    if col.kind == "int":
        fractional = np.isfinite(numbers) & (numbers != np.round(numbers))
        for index in np.flatnonzero(fractional):
            sheet.error("BAD_NUMBER", f"“{col.header}”应为整数；请改正后重新上传。", col.key, index)
        numbers[fractional] = np.nan
        return _int_array(numbers)
    if col.kind == "money":
        numbers = np.round(numbers, 2)
    return numbers


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
