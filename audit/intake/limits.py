"""How much one upload may make the reader build: file size, rows, columns, cells and unzipped bytes.

Every limit is checked before the reader expands anything (an .xlsx's zip members and declared dimension, the
cells its sheet really holds, a CSV's lines and delimiters), so a small hostile file cannot make it allocate
gigabytes. Each limit is a setting with a default: `ReadLimits.from_settings` reads them from a mapping such as the
web app's config or the environment (READ_MAX_ROWS …); `how_to_raise` says, in a refusal's message, how the user
of that channel raises a limit (the CLI's options).
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, Mapping


def _limit(default: int | None, unit: str, help: str) -> Any:
    return field(default=default, metadata={"unit": unit, "help": help})


@dataclass(frozen=True)
class ReadLimits:
    """The limits of one read; each field's metadata gives its unit and help text."""

    max_bytes: int | None = _limit(None, "bytes", "Largest file accepted (None: any size; the web passes its "
                                                  "MAX_CONTENT_LENGTH).")
    max_rows: int = _limit(5_000_000, "rows", "Rows of one sheet or CSV file (Excel itself stops at 1,048,576).")
    max_columns: int = _limit(1_000, "columns", "Columns of a CSV line that are read; further ones are not split.")
    max_cells: int = _limit(20_000_000, "cells", "Cells of the area a sheet spans: rows × columns from the first to "
                                                 "the last filled cell, as a reader lays it out in memory.")
    max_unzipped_bytes: int = _limit(512 * 2**20, "bytes", "Unzipped size of the parts of an .xlsx added up "
                                                           "(sheets, shared strings, styles).")
    # limit name -> how the user raises it, e.g. {"max_bytes": "用 --max-mb 调高上限"}; ends the refusal.
    how_to_raise: Mapping[str, str] = field(default_factory=dict, compare=False, metadata={"setting": False})

    @classmethod
    def settings(cls) -> list[Any]:
        return [f for f in fields(cls) if f.metadata.get("setting", True)]

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], prefix: str = "READ_", **overrides: Any) -> "ReadLimits":
        """Limits from settings named prefix + upper-case name (READ_MAX_ROWS …); unset ones keep their default."""
        values: dict[str, Any] = {}
        for f in cls.settings():
            raw = settings.get(prefix + f.name.upper())
            if raw not in (None, ""):
                values[f.name] = int(raw)
        return replace(cls(**values), **overrides)

    def hint(self, name: str) -> str:
        """The advice a refusal of limit `name` ends with ('' when the channel has no way to raise it)."""
        how = self.how_to_raise.get(name)
        return f"如确需读取整个文件，可{how}。" if how else ""
