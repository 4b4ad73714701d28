"""A large CSV upload validated a chunk at a time: memory is bounded by the chunk, not by the file.

The file is measured whole first (csvstream: encoding, delimiter, lines, the read limits), its header found in the
first rows as for a file read whole, then each chunk of rows is validated by the same code (validate.validate_rows)
with the checks across rows carried from chunk to chunk (validate.filechecks.Streamed), and its typed rows are
appended to a spool file (audit.intake.parsed). The report is the one the whole-file path gives; where only that
path can read the file exactly (csvstream.NeedsWholeFile, a read error half-way), `parse_streamed` returns None and
the caller reads it whole.
"""
from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

from .columns import TABLES
from .csvstream import NeedsWholeFile, open_csv_stream
from .header import Header, find_header
from .headerreport import named_width, report_header, report_missing, report_no_header, unheaded_columns
from .limits import ReadLimits
from .parsed import ParsedUpload
from .reader import (HEADER_SCAN_ROWS, RawSheet, _cut_columns, _FileProblem, _has_value, header_fields,
                     refuse_extra_fields)
from .report import ValidationReport
from .validate import validate_rows
from .validate.filechecks import Streamed

STREAM_MIN_BYTES = 32 * 2**20  # smaller CSV files are read whole
CHUNK_CELLS = 2_000_000  # cells of one chunk (about 200 MB of text cells)


def parse_streamed(path: Path, kind: str, *, default_crs: str | None, boundary: Any, limits: ReadLimits,
                   chunk_rows: int | None = None, spool_dir: Path | None = None) -> ParsedUpload | None:
    """parse_upload of a CSV a chunk at a time, or None when the file must be read whole."""
    report = ValidationReport(filename=path.name, kind=kind)
    try:
        stream = open_csv_stream(path, limits, report)
    except _FileProblem as exc:
        report.error(exc.code, str(exc))
        return ParsedUpload(report)
    if stream is None:
        return None
    rows = chunk_rows or max(1000, CHUNK_CELLS // stream.width)
    fd, name = tempfile.mkstemp(prefix="camaudit-", suffix=".rows", dir=spool_dir)
    spool = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            parsed = _validate_chunks(stream.chunks(rows, max(rows, HEADER_SCAN_ROWS)), kind, report, fh,
                                      default_crs, boundary)
    except (NeedsWholeFile, _FileProblem):
        spool.unlink(missing_ok=True)
        return None
    except BaseException:
        spool.unlink(missing_ok=True)
        raise
    if parsed is None or not parsed.chunk_columns:
        spool.unlink(missing_ok=True)
        return parsed if parsed is None else ParsedUpload(parsed.report, None, parsed.columns)
    parsed.spool = spool
    return parsed


def _validate_chunks(chunks: Any, kind: str, report: ValidationReport, spool: Any, default_crs: str | None,
                     boundary: Any) -> ParsedUpload | None:
    spec = TABLES[kind]
    first: RawSheet | None = next(chunks, None)
    if first is None:
        return None
    found = find_header(first.rows(0, HEADER_SCAN_ROWS), kind)
    keep = named_width(found)
    # The whole-file reader's refusal of records longer than the header's line, chunk by chunk
    fields = header_fields(first, found.index, keep) if found is not None else None
    if fields is not None:
        refuse_extra_fields(first, found.index + 1, fields, report)
    cut = _Cut(keep, report)
    cut(first)
    if not _has_value(first.frame):
        return None  # the first rows empty: the whole-file reader decides whether the file is
    header = find_header(first.rows(0, HEADER_SCAN_ROWS), kind)
    if header is None:
        report_no_header(first, spec, report)
        return ParsedUpload(report)
    report.header_row = int(first.row_numbers[header.index])
    columns = {key: header.labels.get(j, spec.column(key).header) for key, j in header.columns.items()}
    heading = ValidationReport(filename=report.filename, kind=kind, header_row=report.header_row)
    absent = ValidationReport(filename=report.filename, kind=kind, header_row=report.header_row)
    missing = report_missing(header, spec, absent)
    checks = Streamed()
    rest = Header(-1, header.columns, header.labels, header.duplicates)
    filled: set[int] = set()
    chunk_columns: list[str] = []
    chunk, chunk_header = first, header
    while chunk is not None:
        filled |= unheaded_columns(chunk.frame.iloc[chunk_header.index + 1:], header)
        if not missing:
            typed = validate_rows(chunk, chunk_header, spec, columns, report, default_crs, boundary, checks)
            chunk_columns = chunk_columns or list(typed.columns)
            pickle.dump(typed, spool, protocol=pickle.HIGHEST_PROTOCOL)
        chunk = next(chunks, None)
        if chunk is not None:
            if fields is not None:
                refuse_extra_fields(chunk, 0, fields, report)
            cut(chunk)
            chunk_header = rest
    report_header(first, header, spec, heading, filled)
    report.problems[:0] = heading.problems + absent.problems
    if missing:
        return ParsedUpload(report, None, columns)
    checks.finish(report, columns)
    return ParsedUpload(report, None, columns, chunk_columns=chunk_columns)


class _Cut:
    """The whole-file reader's cut of the columns right of the header's last named one, chunk by chunk: one
    warning, at the first row cut that had content."""

    def __init__(self, keep: int | None, report: ValidationReport):
        self.keep, self.report, self.warned = keep, report, False

    def __call__(self, chunk: RawSheet) -> None:
        scratch = ValidationReport(filename=self.report.filename, kind=self.report.kind)
        _cut_columns(chunk, self.keep, scratch)
        if scratch.problems and not self.warned:
            self.report.problems.extend(scratch.problems)
            self.warned = True
