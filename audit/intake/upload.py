"""An upload from read to validation report: find the header, normalise every column, check every row.

`parse_upload(path, kind)` reads a department's file (reader), finds the header row (header), parses and checks
each column of the table spec (columns) in `validate` and reports every problem at once, in Chinese, with the
Excel row number, the header as in the file, the value and what to do. Database checks (unknown device codes …) are the registry's.
Columns are parsed on their distinct values only, so large files cost little more than reading them. A large CSV
is read and validated a chunk at a time (stream), its typed rows spooled to a file: memory is bounded by the chunk.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .columns import TABLES
from .header import find_header
from .headerreport import named_width, report_header, report_missing, report_no_header
from .limits import ReadLimits
from .parsed import ParsedUpload
from .reader import HEADER_SCAN_ROWS, read_sheet
from .report import ValidationReport
from .stream import STREAM_MIN_BYTES, parse_streamed
from .validate import validate_rows


def parse_upload(path: Path, kind: str, *, default_crs: str | None = None, boundary: Any = None,
                 limits: ReadLimits | None = None, chunk_rows: int | None = None,
                 spool_dir: Path | None = None) -> ParsedUpload:
    """Read, normalise and validate an upload of `kind` ('devices' | 'violations' | 'verifications').

    The rows (none when the file cannot be read or lacks a required column) hold the spec keys present in the
    file and `row` (Excel row number); violations have `period` and `period_start` for 日期; devices have WGS-84
    `lon`/`lat`, `raw_lon`/`raw_lat` as given and `crs` (the row's coordinate system label).

    A CSV of STREAM_MIN_BYTES or more, or any CSV when `chunk_rows` is given, is validated `chunk_rows` rows at a
    time (default: by its width) and its rows spooled to a file in `spool_dir` (default: the system's temporary
    folder); the caller removes it with ParsedUpload.discard(). The report is the same either way.
    """
    if kind not in TABLES:
        raise ValueError(f"未知的表类型“{kind}”，应为 {'、'.join(TABLES)}。")
    path = Path(path)
    limits = limits or ReadLimits()
    if path.suffix.lower() == ".csv" and (chunk_rows is not None or _size(path) >= STREAM_MIN_BYTES):
        streamed = parse_streamed(path, kind, default_crs=default_crs, boundary=boundary, limits=limits,
                                  chunk_rows=chunk_rows, spool_dir=spool_dir)
        if streamed is not None:
            return streamed
    return parse_whole(path, kind, default_crs=default_crs, boundary=boundary, limits=limits)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def parse_whole(path: Path, kind: str, *, default_crs: str | None = None, boundary: Any = None,
                limits: ReadLimits | None = None) -> ParsedUpload:
    """parse_upload with the file read whole (its rows in ParsedUpload.frame)."""
    spec = TABLES[kind]
    report = ValidationReport(filename=path.name, kind=kind)
    wanted = min(2, sum(c.required for c in spec.columns))
    raw = read_sheet(path, report, limits,
                     pick=lambda rows: (h := find_header(rows, kind)) is not None and h.score >= wanted,
                     width=lambda rows: named_width(find_header(rows, kind)),
                     header_row=lambda rows: None if (h := find_header(rows, kind)) is None else h.index)
    if raw is None:
        return ParsedUpload(report)
    header = find_header(raw.rows(0, HEADER_SCAN_ROWS), kind)
    if header is None:
        report_no_header(raw, spec, report)
        return ParsedUpload(report)
    report.header_row = int(raw.row_numbers[header.index])
    columns = {key: header.labels.get(j, spec.column(key).header) for key, j in header.columns.items()}
    report_header(raw, header, spec, report)
    if report_missing(header, spec, report):
        return ParsedUpload(report, None, columns)
    frame = validate_rows(raw, header, spec, columns, report, default_crs, boundary)
    return ParsedUpload(report, frame, columns)
