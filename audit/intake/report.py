"""The validation report of an upload: every problem at once, errors and warnings apart."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ERROR = "error"
WARNING = "warning"
LEVEL_ZH = {ERROR: "错误", WARNING: "警告"}


@dataclass
class Problem:
    """One problem: row is the row number the clerk sees in Excel (None for the whole file), column the header."""

    level: str
    code: str
    message: str
    row: int | None = None
    column: str | None = None
    value: str | None = None

    def to_dict(self) -> dict[str, Any]:
        # by hand: dataclasses.asdict deep-copies every field (1.5 s for the 30,000 warnings of a large inventory)
        return {"level": self.level, "code": self.code, "message": self.message, "row": self.row,
                "column": self.column, "value": self.value}


@dataclass
class ValidationReport:
    filename: str
    kind: str
    problems: list[Problem] = field(default_factory=list)
    sheet: str | None = None
    header_row: int | None = None
    data_rows: int = 0

    def add(self, level: str, code: str, message: str, row: int | None = None,
            column: str | None = None, value: Any = None) -> None:
        self.problems.append(Problem(level, code, message, row, column, None if value is None else str(value)))

    def error(self, code: str, message: str, **where: Any) -> None:
        self.add(ERROR, code, message, **where)

    def warning(self, code: str, message: str, **where: Any) -> None:
        self.add(WARNING, code, message, **where)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.level == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.level == WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors

    def sorted_problems(self) -> list[Problem]:
        return sorted(self.problems, key=lambda p: (p.level != ERROR, p.row or 0, p.column or "", p.code))

    def to_dict(self) -> dict[str, Any]:
        return {
            "filename": self.filename,
            "kind": self.kind,
            "sheet": self.sheet,
            "header_row": self.header_row,
            "data_rows": self.data_rows,
            "ok": self.ok,
            "error_count": len(self.errors),
            "warning_count": len(self.warnings),
            "errors": [p.to_dict() for p in self.sorted_problems() if p.level == ERROR],
            "warnings": [p.to_dict() for p in self.sorted_problems() if p.level == WARNING],
        }

    def write_json(self, path: str | Path, extra: dict[str, Any] | None = None) -> None:
        data = self.to_dict() | (extra or {})
        Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str), encoding="utf-8")

    def format_text(self, limit: int | None = None) -> str:
        """The report as the CLI prints it."""
        lines = [f"校验报告：{self.filename}（{len(self.errors)} 个错误，{len(self.warnings)} 个警告）"]
        shown = self.sorted_problems()
        for p in shown[:limit] if limit else shown:
            where = []
            if p.row is not None:
                where.append(f"第{p.row}行")
            if p.column:
                where.append(f"“{p.column}”列")
            if p.value not in (None, ""):
                where.append(f"值“{p.value}”")
            lines.append(f"  [{LEVEL_ZH[p.level]}] {p.code} {' '.join(where)}：{p.message}")
        if limit and len(shown) > limit:
            lines.append(f"  …… 另有 {len(shown) - limit} 条，请用 --report 保存完整报告。")
        return "\n".join(lines)
