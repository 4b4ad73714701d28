"""Writing spreadsheet cells that can never be evaluated (CSV/formula injection) nor break the file."""
from __future__ import annotations

from typing import Any

from .hygiene import document_text

DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(DANGEROUS_PREFIXES)


def set_cell(cell: Any, value: Any) -> None:
    """Set an openpyxl cell; text that looks like a formula is stored as an inert string, never as a formula, and
    loses the characters an .xlsx cannot hold."""
    value = document_text(value)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"


def csv_safe(value: Any) -> Any:
    """A CSV field that a spreadsheet opening the file will show as text, not evaluate."""
    if is_formula_like(value):
        return "'" + value
    return value
