"""Text for a terminal: columns aligned by display width (a Chinese character takes two columns), coordinates to
7 decimals (about 1 cm), the audit summary table, and how to call camaudit so that a printed command works."""
from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from wcwidth import wcswidth

if TYPE_CHECKING:
    import pandas as pd

COORDINATE_DECIMALS = 7
COORDINATE_KEYS = ("lon", "lat", "raw_lon", "raw_lat")
NO_DEPARTMENT = "（未注明单位）"


def display_width(text: str) -> int:
    """Columns the text takes in a terminal; a character wcwidth cannot measure (control) counts as one."""
    width = wcswidth(text)
    return width if width >= 0 else sum(max(wcswidth(ch), 1) for ch in text)


def pad(text: str, width: int, align: str = "left") -> str:
    fill = " " * max(0, width - display_width(text))
    return fill + text if align == "right" else text + fill


def grid(rows: Sequence[Sequence[str]], right: Sequence[bool] = (), indent: str = "") -> list[str]:
    """Rows of cells as aligned lines (columns two spaces apart); right[i]: column i aligned right (numbers)."""
    if not rows:
        return []
    widths = [max(display_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    flags = list(right) + [False] * (len(widths) - len(right))
    return [indent + "  ".join(pad(cell, w, "right" if r else "left") for cell, w, r in zip(row, widths, flags))
            .rstrip() for row in rows]


def table(records: list[dict[str, Any]], keys: list[str], headers: dict[str, str]) -> str:
    rows = [[headers.get(k, k) for k in keys]] + [[cell(r.get(k), k) for k in keys] for r in records]
    return "\n".join(grid(rows))


def cell(value: Any, key: str = "") -> str:
    if value is None:
        return ""
    if key in COORDINATE_KEYS and isinstance(value, float):
        return f"{round(value, COORDINATE_DECIMALS):.{COORDINATE_DECIMALS}f}".rstrip("0").rstrip(".")
    return str(value)


def round_coordinates(record: dict[str, Any]) -> dict[str, Any]:
    """The record with WGS-84 and original coordinates to 7 decimals (converted values carry false precision)."""
    return {k: round(v, COORDINATE_DECIMALS) if k in COORDINATE_KEYS and isinstance(v, float) else v
            for k, v in record.items()}


def summary_text(findings: pd.DataFrame) -> str:
    """Counts by rule and department, problems and cannot-assess apart, as `make demo` and `camaudit audit` print."""
    from ..rules.findings import is_cannot_assess

    if findings.empty:
        return "未发现问题。"
    unassessed = is_cannot_assess(findings)
    problems = findings[~unassessed]
    lines = [f"审查发现问题 {len(problems)} 条；因数据缺失无法评估 {int(unassessed.sum())} 条。"]
    departments = sorted(findings["department"].fillna(NO_DEPARTMENT).unique())
    titles = dict(zip(findings["rule"], findings["title_zh"]))
    if len(departments) > 1:
        lines.append("单位：" + "；".join(f"{n} {d}" for n, d in enumerate(departments, start=1)))
    heads = [str(n) for n in range(1, len(departments) + 1)] if len(departments) > 1 else departments
    for label, part in (("问题", problems), ("无法评估", findings[unassessed])):
        if part.empty:
            continue
        counts = part.assign(department=part["department"].fillna(NO_DEPARTMENT)).pivot_table(
            index="rule", columns="department", values="message", aggfunc="count", fill_value=0)
        counts = counts.reindex(columns=departments, fill_value=0)
        rows = [["规则", label, *heads, "合计"]]
        rows += [[str(rule), str(titles.get(rule, "")), *(str(int(row[d])) for d in departments), str(int(row.sum()))]
                 for rule, row in counts.iterrows()]
        lines.append(f"{label}（按规则、单位统计）：")
        lines += grid(rows, right=[False, False, *[True] * (len(departments) + 1)], indent="  ")
    if not problems.empty:
        by_action = problems["action"].value_counts()
        lines.append("建议处理：" + "，".join(f"{a} {n} 条" for a, n in by_action.items()))
    return "\n".join(lines)


def command_prefix() -> str:
    """How to call this camaudit from the current folder: `camaudit` when that is the one on PATH, else the path of
    the installed script (e.g. .venv/bin/camaudit after `make`), so that a printed command runs as printed."""
    script = Path(sys.executable).with_name("camaudit.exe" if os.name == "nt" else "camaudit")
    if not script.exists():
        return f"{shlex.quote(sys.executable)} -m audit.cli"
    found = shutil.which("camaudit")
    if found and Path(found).resolve() == script.resolve():
        return "camaudit"
    try:
        shown = str(script.relative_to(Path.cwd()))
    except ValueError:
        shown = str(script)
    return shlex.quote(shown)
