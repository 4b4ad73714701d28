"""Validation of the data rows of one sheet, split by concern: per-column parsing and checks (cells),
coordinates (coordinates), checks across columns and rows (crosschecks), the checks that need the whole file
(filechecks: at once, or carried over the chunks of a streamed file), over the shared state (rows)."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..columns import TableSpec
from ..header import Header
from ..reader import RawSheet
from ..report import ValidationReport
from .cells import check_cells, control_characters, months_typed_as_dates, parse_column, rows_to_keep
from .coordinates import coordinates
from .crosschecks import cross_checks
from .filechecks import Streamed, WholeFile
from .rows import SheetRows


def validate_rows(raw: RawSheet, header: Header, spec: TableSpec, columns: dict[str, str],
                  report: ValidationReport, default_crs: str | None, boundary: Any,
                  checks: WholeFile | Streamed | None = None) -> pd.DataFrame:
    """Parse and check the data rows below the header; every problem goes to the report; the typed frame.

    `checks` (default: WholeFile) runs the checks across rows; a Streamed one carries them over the chunks of a
    file, each chunk validated by its own call (the header row index -1: every row of the chunk is data)."""
    sheet = SheetRows(raw, header, spec, columns, report, checks or WholeFile())
    for key, values in sheet.cells.items():
        col = sheet.spec.column(key)
        sheet.parsed[key] = parse_column(col, control_characters(sheet, col, values))
    if sheet.spec.kind == "violations" and "date" in sheet.parsed:
        months_typed_as_dates(sheet, sheet.parsed["date"])
    keep = rows_to_keep(sheet)
    sheet.rows = sheet.rows[keep]
    for key, parsed in sheet.parsed.items():
        parsed.codes = parsed.codes[keep]
    sheet.checks.data_rows(sheet, int(keep.sum()))
    for key, parsed in sheet.parsed.items():
        check_cells(sheet, sheet.spec.column(key), parsed)
    frame = pd.DataFrame({k: pd.Series(v, dtype=object) if isinstance(v, np.ndarray) and v.dtype == object
                          else v for k, v in sheet.out.items()})
    frame.insert(len(frame.columns), "row", sheet.rows)
    if sheet.spec.kind == "devices":
        coordinates(sheet, frame, default_crs, boundary)
    cross_checks(sheet, frame)
    order = [k for k in sheet.spec.keys if k in frame.columns]
    extra = [k for k in ("period", "period_start", "raw_lon", "raw_lat") if k in frame.columns]
    return frame[[*order, *extra, "row"]]
