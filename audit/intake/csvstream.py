"""A large CSV read a chunk of rows at a time, so that memory is bounded by the chunk, not by the file.

The file is measured first in blocks of bytes, as the whole-file reader measures it (audit.intake.reader): its
encoding, delimiter, lines and widest line, within the read limits; then pandas reads it `chunk_rows` rows at a
time. Each chunk is a RawSheet whose row numbers continue from the previous one. `open_csv_stream` returns None
where only the whole-file reader gives the exact result (UTF-16, lines wider than the column limit); a chunk that
pandas cannot split (a quoted field spanning lines and so wider than any line) raises NeedsWholeFile, before
anything was written anywhere, and the caller reads the file whole.
"""
from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from .limits import ReadLimits
from .reader import (BAD_CHARACTERS, UNKNOWN_ENCODING, RawSheet, _delimiter, _FileProblem, csv_width, file_kind,
                     head_fields)
from .report import ValidationReport

BLOCK = 1 << 24
_BOM = b"\xef\xbb\xbf"


class NeedsWholeFile(Exception):
    """This file must be read whole (see the module's docstring)."""


@dataclass
class CsvStream:
    path: Path
    encoding: str
    delimiter: str
    lines: int
    width: int
    fields: list[int]  # RawSheet.fields of the first chunk

    def chunks(self, chunk_rows: int, first_rows: int) -> Iterator[RawSheet]:
        """The file's rows, `first_rows` in the first chunk and `chunk_rows` in each of the others."""
        reader = pd.read_csv(self.path, encoding=self.encoding, sep=self.delimiter, header=None,
                             names=range(self.width), dtype=str, keep_default_na=False, na_values=[""],
                             skip_blank_lines=False, quotechar='"', iterator=True)
        start, size = 0, first_rows
        try:
            with reader:
                while True:
                    try:
                        frame = reader.get_chunk(size)
                    except StopIteration:
                        return
                    frame.columns = range(frame.shape[1])
                    frame = frame.reset_index(drop=True)
                    yield RawSheet(None, frame, np.arange(start + 1, start + len(frame) + 1),
                                   fields=self.fields if start == 0 else [])
                    start += len(frame)
                    size = chunk_rows
        except (pd.errors.ParserError, ValueError) as exc:
            raise NeedsWholeFile(str(exc)) from exc
        except UnicodeDecodeError:
            raise _FileProblem("FILE_ENCODING", BAD_CHARACTERS)


def _blocks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while block := fh.read(BLOCK):
            yield block


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        for block in _blocks(path):
            decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _encoding(path: Path) -> str | None:
    """The whole-file reader's choice (reader._encoding) made on blocks; None for UTF-16."""
    with path.open("rb") as fh:
        head = fh.read(4)
    if head.startswith(_BOM):
        return "utf-8-sig"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None
    for encoding in ("utf-8", "gb18030"):
        if _decodes(path, encoding):
            return encoding
    raise _FileProblem("FILE_ENCODING", UNKNOWN_ENCODING)


def _line_shape(path: Path, delimiter: str) -> tuple[int, int, bool]:
    """reader._line_shape on blocks: (lines, most fields on one line, whether a carriage return ends a line
    alone: such a file is read whole, with its line ends made line feeds, reader.lines_ending_in_lf)."""
    sep = ord(delimiter)
    lines, widest, carry, last, lone_cr = 0, 0, 0, b"", False
    for block in _blocks(path):
        raw = np.frombuffer(block, dtype=np.uint8)
        if last == b"\r" and raw[0] != 10:
            lone_cr = True
        returns = np.flatnonzero(raw[:-1] == 13)
        lone_cr = lone_cr or bool((raw[returns + 1] != 10).any())
        ends = np.flatnonzero(raw == 10)
        seps = np.flatnonzero(raw == sep)
        if len(ends):
            before = np.searchsorted(seps, ends)
            per_line = np.diff(before, prepend=0)
            per_line[0] += carry
            widest = max(widest, int(per_line.max()))
            carry = len(seps) - int(before[-1])
        else:
            carry += len(seps)
        lines += len(ends)
        last = block[-1:]
    widest = max(widest, carry)
    lone_cr = lone_cr or last == b"\r"
    if last and last != b"\n":
        lines += 1
    return lines, widest + 1, lone_cr


def open_csv_stream(path: Path, limits: ReadLimits, report: ValidationReport) -> CsvStream | None:
    """The CSV measured within the limits (raises reader._FileProblem), or None: not a CSV, or one to read whole."""
    if file_kind(path, limits, report) != "csv":
        return None
    encoding = _encoding(path)
    if encoding is None:
        return None
    with path.open("rb") as fh:
        sample = fh.read(65536).decode(encoding, errors="ignore")
    delimiter = _delimiter(sample)
    lines, widest, lone_cr = _line_shape(path, delimiter)
    width = csv_width(lines, widest, limits)
    if widest > limits.max_columns or lone_cr:
        return None
    with path.open(encoding=encoding, errors="replace", newline="") as text:
        fields = head_fields(text, delimiter)
    return CsvStream(path, encoding, delimiter, lines, width, fields)
