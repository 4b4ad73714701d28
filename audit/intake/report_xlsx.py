"""The validation report as an annotated workbook: the upload as read, problem cells coloured and commented.

Sheet 1 shows every row of the uploaded sheet at its Excel row number; a cell with an error is red, with only
warnings yellow, and its comment lists the messages. Sheet 问题清单 lists every problem. Every value is written
with audit.xlsxsafe.set_cell, so text such as '=cmd' stays an inert string.
"""
from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from .parse import cell_label
from .reader import FILE_CODES, read_sheet
from .report import ERROR, LEVEL_ZH, Problem, ValidationReport
from .hygiene import document_text
from .xlsxsafe import set_cell

ERROR_FILL = PatternFill("solid", fgColor="FFC7CE")
WARNING_FILL = PatternFill("solid", fgColor="FFEB9C")
LIST_SHEET = "问题清单"
LIST_HEADERS = ("级别", "行号", "列", "值", "代码", "说明")
LIST_WIDTHS = (8, 8, 18, 24, 28, 90)
AUTHOR = "camaudit"


def write_annotated(path: Path, report: ValidationReport, out_path: Path) -> None:
    """Write the annotated copy of the upload at `path` with the problems of `report` to `out_path` (.xlsx)."""
    wb = Workbook(write_only=True)
    raw = None
    if not any(p.code in FILE_CODES for p in report.problems):
        raw = read_sheet(Path(path), ValidationReport(report.filename, report.kind), sheet=report.sheet)
    if raw is not None:
        name = re.sub(r"[\[\]:*?/\\]", "_", document_text(report.sheet or "数据")).strip("'")[:31] or "数据"
        ws = wb.create_sheet("原表" if name == LIST_SHEET else name)
        _write_sheet(ws, raw.rows(), [int(r) for r in raw.row_numbers], report)
    _write_list(wb.create_sheet(LIST_SHEET), report)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out_path)


def _header_columns(rows_by_number: dict[int, list[Any]], header_row: int | None) -> dict[str, int]:
    """Header text (as reported) -> column index, from the header row and the row above (two-row headers)."""
    found: dict[str, int] = {}
    if header_row is None:
        return found
    for number in (header_row, header_row - 1):
        for j, cell in enumerate(rows_by_number.get(number, [])):
            label = cell_label(cell)
            if label is not None:
                found.setdefault(label, j)
    return found


def _write_sheet(ws: Worksheet, rows: list[list[Any]], numbers: list[int], report: ValidationReport) -> None:
    by_number = dict(zip(numbers, rows))
    columns = _header_columns(by_number, report.header_row)
    notes: dict[tuple[int, int], list[Problem]] = defaultdict(list)
    for p in report.problems:
        if p.row is not None:
            notes[(p.row, columns.get(p.column or "", 0))].append(p)
    noted_width: dict[int, int] = defaultdict(int)  # row number -> columns needed to reach its noted cells
    for r, j in notes:
        noted_width[r] = max(noted_width[r], j + 1)
    last = max([*numbers, *noted_width], default=0)
    # Cells without a note are written through one reusable cell per column and value type (openpyxl writes each
    # appended row at once); a value type keeps the number format openpyxl gives it (dates), so none leaks.
    pool: dict[tuple[int, type], Any] = {}
    for number in range(1, last + 1):
        values = by_number.get(number, [])
        while values and _plain(values[-1]) is None:
            values = values[:-1]
        cells: list[Any] = []
        for j in range(max(len(values), noted_width.get(number, 0))):
            value = _plain(values[j]) if j < len(values) else None
            problems = notes.get((number, j))
            if not problems:
                if value is None:
                    cells.append(None)
                    continue
                cell = pool.get((j, type(value)))
                if cell is None:
                    cell = pool[(j, type(value))] = WriteOnlyCell(ws)
                set_cell(cell, value)
                cells.append(cell)
                continue
            cell = WriteOnlyCell(ws)
            set_cell(cell, value)
            cell.fill = ERROR_FILL if any(p.level == ERROR for p in problems) else WARNING_FILL
            comment = Comment(document_text("\n".join(f"[{LEVEL_ZH[p.level]}] {p.code}：{p.message}" for p in problems)),
                              AUTHOR)
            comment.width, comment.height = 320, min(60 + 40 * len(problems), 400)
            cell.comment = comment
            cells.append(cell)
        ws.append(cells)


def _plain(value: Any) -> Any:
    """A cell value as openpyxl can write it: empty and NaN as None, numpy scalars as Python ones."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _write_list(ws: Worksheet, report: ValidationReport) -> None:
    for letter, width in zip("ABCDEF", LIST_WIDTHS):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"
    header = []
    for text in LIST_HEADERS:
        cell = WriteOnlyCell(ws)
        set_cell(cell, text)
        cell.font = Font(bold=True)
        header.append(cell)
    ws.append(header)
    wrap = Alignment(wrap_text=True, vertical="top")
    for p in report.sorted_problems():
        cells = []
        for value in (LEVEL_ZH[p.level], p.row, p.column, p.value, p.code, p.message):
            cell = WriteOnlyCell(ws)
            set_cell(cell, value)
            cell.alignment = wrap
            if p.level == ERROR and value == LEVEL_ZH[ERROR]:
                cell.fill = ERROR_FILL
            elif value == LEVEL_ZH[p.level]:
                cell.fill = WARNING_FILL
            cells.append(cell)
        ws.append(cells)
