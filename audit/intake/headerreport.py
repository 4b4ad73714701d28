"""What the header of an upload says, in the report: no header found, duplicated columns, columns that are not
the table's, columns with content but no header, required columns missing."""
from __future__ import annotations

import pandas as pd
from openpyxl.utils import get_column_letter

from .columns import TableSpec
from .header import Header
from .parse import cell_label, clean_text
from .reader import HEADER_SCAN_ROWS, RawSheet
from .report import ValidationReport


def named_width(header: Header | None) -> int | None:
    """Columns up to the header's last named one (None: no header found, keep every column)."""
    return max(header.labels) + 1 if header is not None and header.labels else None


def report_no_header(raw: RawSheet, spec: TableSpec, report: ValidationReport) -> None:
    rows = raw.rows(0, HEADER_SCAN_ROWS)
    texts = max(([t for c in row if (t := cell_label(c))] for row in rows), key=len, default=[])
    found = "、".join(f"“{t}”" for t in texts[:30]) or "（无）"
    where = f"工作表“{raw.sheet}”的" if raw.sheet is not None else ""
    for col in spec.columns:
        if col.required:
            report.error("MISSING_COLUMN", f"缺少必填列“{col.header}”：{where}前{HEADER_SCAN_ROWS}行中找不到本表"
                                           f"（{spec.title}）的表头，找到的内容最多的一行为：{found}。"
                                           "请使用本表的模板填写，不要修改表头，然后重新上传。", column=col.header)


def report_header(raw: RawSheet, header: Header, spec: TableSpec, report: ValidationReport,
                  filled: set[int] | None = None) -> None:
    """filled: the columns with content below the header (default: those of `raw`)."""
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
        elif (j in filled) if filled is not None else column_has_value(data[j]):
            report.warning("COLUMN_NO_HEADER", f"第{get_column_letter(j + 1)}列有内容但没有表头，该列不会导入；"
                                               "请补上表头或删除该列。", row=row)


def column_has_value(values: pd.Series) -> bool:
    filled = values.dropna()
    return bool(len(filled)) and bool(filled.map(lambda v: clean_text(v) is not None).any())


def unheaded_columns(data: pd.DataFrame, header: Header) -> set[int]:
    """The columns of the data rows `data` that have content and no header (report_header's `filled`)."""
    known = set(header.columns.values()) | {j for _, j in header.duplicates} | set(header.labels)
    return {j for j in range(data.shape[1]) if j not in known and column_has_value(data[j])}


def report_missing(header: Header, spec: TableSpec, report: ValidationReport) -> bool:
    """Report every required column the header lacks; True if any."""
    missing = [c for c in spec.columns if c.required and c.key not in header.columns]
    for col in missing:
        found = "、".join(f"“{h}”" for h in header.labels.values()) or "（无）"
        alias = "、".join((col.key, *col.aliases))
        report.error("MISSING_COLUMN", f"缺少必填列“{col.header}”。第{report.header_row}行的表头为：{found}。"
                                       f"请按模板添加该列（表头写“{col.header}”或“{col.label}”，也可写 {alias}），"
                                       "然后重新上传。", row=report.header_row, column=col.header)
    return bool(missing)
