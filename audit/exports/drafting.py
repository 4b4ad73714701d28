"""The reports that are written from the data and edited before filing: which they are, their drafts, and the
document a plan task's deliverable is generated as.

A report's draft is kept per department (or the bureau), kind and period (the year; the quarter of a 季度报告), so
that the text a department edited is the text it downloads and files.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..casework import drafts
from ..registry.models import Department
from . import accountability, case_report, new_devices, quarterly, self_inspection, self_report, summary, work_report
from . import ledger as ledger_export
from .common import Table, write_xlsx
from .data import ExportError, Options
from .reports import Report, apply_edits, check_edits, render, require_filled


@dataclass(frozen=True)
class Editable:
    name: str  # what people call it
    build: Callable[[Session, Options], Report]
    period: Callable[[Options], str]
    bureau: bool = False  # the bureau's own (work report, 通报), else a department's


EDITABLE: dict[str, Editable] = {
    self_report.KIND: Editable("自查报告", self_report.build, self_report.period),
    quarterly.KIND: Editable("季度报告", quarterly.build, quarterly.period),
    summary.KIND: Editable("工作总结", summary.build, summary.period),
    case_report.KIND: Editable("典型案例", case_report.build, case_report.period),
    accountability.KIND: Editable("专题说明", accountability.build, accountability.period),
    new_devices.KIND: Editable("年度新增设备情况报告", new_devices.build, new_devices.period),
    work_report.REPORT: Editable("专项监督工作报告", work_report.build, work_report.period, bureau=True),
    work_report.BULLETIN: Editable("专项监督工作通报", work_report.build_bulletin, work_report.period, bureau=True),
}
CASE_CHOICE = "case_finding_id"  # a draft's saved choice of the typical case


def editable(kind: str) -> Editable:
    if kind not in EDITABLE:
        raise ExportError(f"“{kind}”不是可编辑的报告；可编辑的有：{'、'.join(e.name for e in EDITABLE.values())}。")
    return EDITABLE[kind]


def department_id(session: Session, department: str | None) -> int | None:
    if not department:
        return None
    return session.scalar(select(Department.id).where(Department.name == department))


def draft_of(session: Session, kind: str, opts: Options) -> dict:
    spec = editable(kind)
    owner = None if spec.bureau else department_id(session, opts.department)
    return drafts.sections(session, owner, kind, spec.period(opts))


def build(session: Session, kind: str, opts: Options) -> Report:
    """The report with its saved draft applied (and the draft's typical case, unless the caller chose one)."""
    spec = editable(kind)
    saved = draft_of(session, kind, opts)
    if opts.case_finding_id is None and isinstance(saved.get(CASE_CHOICE), int):
        opts = replace(opts, case_finding_id=saved[CASE_CHOICE])
    return apply_edits(spec.build(session, opts), saved)


def save(session: Session, kind: str, opts: Options, changes: dict, *, user: str, reset: tuple[str, ...] = (),
         case_finding_id: int | None = None) -> None:
    """Store the author's texts (checked against the report) and the chosen typical case."""
    spec = editable(kind)
    report = spec.build(session, opts if case_finding_id is None else replace(opts, case_finding_id=case_finding_id))
    clean: dict = dict(check_edits(report, changes))
    if case_finding_id is not None:
        clean[CASE_CHOICE] = case_finding_id
    owner = None if spec.bureau else department_id(session, opts.department)
    drafts.save_draft(session, owner, kind, spec.period(opts), clean, user=user, reset=reset)


def write_docx(session: Session, kind: str, opts: Options, path: Path) -> Path:
    render(build(session, kind, opts)).save(path)
    return path


def writer(kind: str) -> Callable[[Session, Path, Options], Path]:
    return lambda session, path, opts: write_docx(session, kind, opts, path)


# ---- what a plan task's deliverable is generated as ------------------------------------------------------

# 报送材料 → the document generated for it (kind, suffix); 其他材料 is uploaded.
DELIVERABLE_KINDS = {
    "自查报告": (self_report.KIND, ".docx"),
    "突出问题清单": ("self-inspection", ".xlsx"),
    "整改台账": ("ledger", ".xlsx"),
    "季度报告": (quarterly.KIND, ".docx"),
    "工作总结": (summary.KIND, ".docx"),
    "典型案例": (case_report.KIND, ".docx"),
    "专题说明": (accountability.KIND, ".docx"),
}


def generate_for_filing(session: Session, deliverable: str, opts: Options) -> tuple[str, bytes]:
    """(file name, content) of the document a department files for a deliverable, as edited; ExportError when it
    cannot be generated or a part is still to be written."""
    if deliverable not in DELIVERABLE_KINDS:
        raise ExportError(f"“{deliverable}”不能由系统生成，请上传文件报送。")
    kind, suffix = DELIVERABLE_KINDS[deliverable]
    buffer = io.BytesIO()
    if kind in EDITABLE:
        report = build(session, kind, opts)
        require_filled(report)
        render(report).save(buffer)
    elif kind == "self-inspection":
        buffer = _xlsx(self_inspection.build(session, opts))
    else:
        buffer = _xlsx(ledger_export.build(session, opts))
    return f"{deliverable}_{opts.department}_{opts.day.isoformat()}{suffix}", buffer.getvalue()


def _xlsx(table: Table) -> io.BytesIO:
    buffer = io.BytesIO()
    write_xlsx(buffer, [table])
    return buffer


__all__ = ["EDITABLE", "Editable", "editable", "build", "save", "draft_of", "write_docx", "writer",
           "DELIVERABLE_KINDS", "generate_for_filing", "CASE_CHOICE"]
