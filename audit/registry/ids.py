"""Record ids as a request, a command line or a file spells them."""
from __future__ import annotations

from typing import Any

from ..intake.columns import INT_MAX

_DIGITS = len(str(INT_MAX))


def record_id(value: Any) -> int | None:
    """The id `value` spells: ASCII digits (surrounding spaces allowed) up to INT_MAX, the most an id column
    (INTEGER on PostgreSQL) holds; None for anything else, a number of thousands of digits included (which int()
    refuses, and PostgreSQL could not compare)."""
    text = "" if value is None else str(value).strip()
    if not text.isascii() or not text.isdigit() or len(text.lstrip("0")) > _DIGITS or int(text) > INT_MAX:
        return None
    return int(text)
