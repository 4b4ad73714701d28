"""An upload read and validated: its report, and its typed rows as one frame or as a spool of chunks.

A file read whole keeps its rows in `frame`. A large CSV validated a chunk at a time (audit.intake.stream) writes
each chunk's typed rows to a spool file (pickled frames, one after the other), so that neither the reading nor
the hand-over from a worker process holds every row at once; `frames()` reads them back one chunk at a time.
Whoever asked for the parse removes the spool with `discard()` once done with the rows (the rows of a file with
errors are kept too: the registry checks them, so that one report lists every fix).
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pandas as pd

from .report import ValidationReport


@dataclass
class ParsedUpload:
    report: ValidationReport
    frame: pd.DataFrame | None = None
    columns: dict[str, str] = field(default_factory=dict)  # spec key -> header as in the file
    spool: Path | None = None  # the typed rows, chunk by chunk, instead of `frame`
    chunk_columns: list[str] = field(default_factory=list)  # the columns of every spooled chunk

    @property
    def has_rows(self) -> bool:
        return self.frame is not None or self.spool is not None

    @property
    def row_columns(self) -> list[str]:
        """The columns of the typed rows (spec keys present, period fields, raw coordinates, row)."""
        return list(self.frame.columns) if self.frame is not None else list(self.chunk_columns)

    def frames(self) -> Iterator[pd.DataFrame]:
        """The typed rows, a chunk at a time (the whole frame for a file read whole)."""
        if self.frame is not None:
            yield self.frame
            return
        if self.spool is None:
            return
        with open(self.spool, "rb") as fh:
            while True:
                try:
                    yield pickle.load(fh)
                except EOFError:
                    return

    def discard(self) -> None:
        """Remove the spool file (nothing for a file read whole)."""
        if self.spool is not None:
            self.spool.unlink(missing_ok=True)
            self.spool = None
