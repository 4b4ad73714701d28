"""An upload from read to validation report: find the header, normalise every column, check every row.

`parse_upload(path, kind)` reads a department's file (reader), finds the header row (header), parses and checks
each column of the table spec (columns) in `validate` and reports every problem at once, in Chinese, with the
Excel row number, the header as in the file, the value and what to do. Database checks (unknown device codes …) are the registry's.
Columns are parsed on their distinct values only, so large files cost little more than reading them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl.utils import get_column_letter

from .columns import TABLES, TableSpec
from .header import Header, find_header
from .parse import cell_label, clean_text
from .limits import ReadLimits
from .reader import HEADER_SCAN_ROWS, RawSheet, read_sheet
from .report import ValidationReport
from .validate import validate_rows


@dataclass
class ParsedUpload:
    report: ValidationReport
    frame: pd.DataFrame | None = None
    columns: dict[str, str] = field(default_factory=dict)  # spec key -> header as in the file


def parse_upload(path: Path, kind: str, *, default_crs: str | None = None, boundary: Any = None,
                 limits: ReadLimits | None = None) -> ParsedUpload:
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
    raw = read_sheet(path, report, limits,
                     pick=lambda rows: (h := find_header(rows, kind)) is not None and h.score >= wanted,
                     width=lambda rows: _named_width(find_header(rows, kind)))
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
    frame = validate_rows(raw, header, spec, columns, report, default_crs, boundary)
    return ParsedUpload(report, frame, columns)


def _named_width(header: Header | None) -> int | None:
    """Columns up to the header's last named one (None: no header found, keep every column)."""
    return max(header.labels) + 1 if header is not None and header.labels else None


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
