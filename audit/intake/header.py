"""The header of an upload: the row (or two merged rows) among the first rows that names most columns of the table,
matched by header, key and aliases in every spelling variant."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .columns import TABLES
from .parse import cell_label, clean_text, header_variants
from .reader import HEADER_SCAN_ROWS


@dataclass
class Header:
    """The header found in a sheet: its (last) row index in the frame and the column of every known key."""

    index: int
    columns: dict[str, int]
    labels: dict[int, str]  # column index -> header text as in the file, for every non-empty header cell
    duplicates: list[tuple[str, int]]

    @property
    def score(self) -> int:
        return len(self.columns)


@lru_cache(maxsize=None)
def lookup(kind: str) -> dict[str, str]:
    spec = TABLES[kind]
    table: dict[str, str] = {}
    for col in spec.columns:
        for name in (col.header, col.key, *col.aliases):
            for variant in header_variants(name):
                table.setdefault(variant, col.key)
    return table


def match(cell: Any, table: dict[str, str]) -> str | None:
    for variant in header_variants(cell):
        if variant in table:
            return table[variant]
    return None


def _row_match(row: list[Any], lookup: dict[str, str]) -> dict[int, str]:
    return {j: key for j, cell in enumerate(row) if isinstance(cell, str) and (key := match(cell, lookup))}


def find_header(rows: list[list[Any]], kind: str) -> Header | None:
    """The header among the first rows: the row naming most columns of the table (title and 填报单位 rows above
    it are skipped). A two-row header (group titles merged over sub-headers) is read as one."""
    table = lookup(kind)
    matches = [_row_match(row, table) for row in rows[:HEADER_SCAN_ROWS]]
    if not matches or not any(matches):
        return None
    best = max(range(len(matches)), key=lambda i: (len(set(matches[i].values())), -i))
    found = dict(matches[best])
    top, last = best, best
    for other in (best - 1, best + 1):
        if 0 <= other < len(matches) and matches[other] and _is_header_level(rows[other], matches[other], found):
            for j, key in matches[other].items():
                found.setdefault(j, key)
            top, last = min(top, other), max(last, other)
    columns: dict[str, int] = {}
    duplicates: list[tuple[str, int]] = []
    for j in sorted(found):
        key = found[j]
        if key in columns:
            duplicates.append((key, j))
        else:
            columns[key] = j
    labels: dict[int, str] = {}
    for i in range(top, last + 1):
        for j, cell in enumerate(rows[i]):
            label = cell_label(cell)
            if label is not None and (j not in labels or j in found and match(cell, table)):
                labels[j] = label
    return Header(last, columns, labels, duplicates)


def _is_header_level(row: list[Any], matched: dict[int, str], found: dict[int, str]) -> bool:
    """True if `row` is the other level of a two-row header: its known headers sit where the found row is empty
    and it is empty (merged) where the found row has its headers."""
    if any(j in found for j in matched):
        return False
    return all(j >= len(row) or clean_text(row[j]) is None for j in found)
