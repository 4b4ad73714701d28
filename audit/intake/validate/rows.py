"""The data rows of one sheet under validation: the cells by column key, their parsed values, the typed output,
and the report every check writes to (row numbers as Excel shows them)."""
from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from ..columns import TableSpec
from ..header import Header
from ..parse import Parsed
from ..reader import RawSheet
from ..report import ValidationReport


class SheetRows:
    """State shared by the checks of one sheet; the checks are functions in cells, coordinates and crosschecks."""

    def __init__(self, raw: RawSheet, header: Header, spec: TableSpec, columns: dict[str, str],
                 report: ValidationReport, checks: Any):
        # checks: the checks across rows (filechecks.WholeFile, or filechecks.Streamed over a file's chunks)
        self.spec, self.columns, self.report, self.checks = spec, columns, report, checks
        data = raw.frame.iloc[header.index + 1:]
        self.rows = np.asarray(raw.row_numbers[header.index + 1:], dtype=np.int64)
        self.cells = {key: data[j].reset_index(drop=True) for key, j in header.columns.items()}
        self.formula_rows = {key: {r for (r, c), _ in raw.formulas.items() if c == j}
                             for key, j in header.columns.items()}
        self.error_cells = {key: {r: t for (r, c), t in raw.errors.items() if c == j}
                            for key, j in header.columns.items()}
        self.parsed: dict[str, Parsed] = {}
        self.out: dict[str, Any] = {}

    def add(self, level: str, code: str, message: str, key: str, index: int, value: Any = None) -> None:
        if value is None and key in self.parsed:
            value = show(self.parsed[key].raw(index))
        self.report.add(level, code, message, row=int(self.rows[index]), column=self.columns.get(key, key),
                        value=value)

    def error(self, code: str, message: str, key: str, index: int, value: Any = None) -> None:
        self.add("error", code, message, key, index, value)

    def warning(self, code: str, message: str, key: str, index: int, value: Any = None) -> None:
        self.add("warning", code, message, key, index, value)


def show(value: Any) -> str | None:
    """A raw cell value as the clerk sees it."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return str(value)
