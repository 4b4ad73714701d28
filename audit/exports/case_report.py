"""typical-case: a department's 典型案例 — one confirmed problem (chosen by its finding) from discovery through
decision to rectification; editable before filing."""
from __future__ import annotations

from sqlalchemy.orm import Session

from ..registry.models import Finding
from .data import ExportError, Options, one_department
from .reports import Report, Text
from .self_report import addressee
from .summary import NO_CASE, case_blocks

KIND = "typical-case"
TITLE = "罚款实施专项监督典型案例"


def build(session: Session, opts: Options) -> Report:
    department = one_department(session, opts, "典型案例")
    if opts.case_finding_id is None:
        blocks: list = [Text("case", "典型案例", NO_CASE)]
    else:
        finding = session.get(Finding, opts.case_finding_id)
        if finding is None or finding.department != department:
            raise ExportError(f"“{department}”没有编号为 {opts.case_finding_id} 的问题，不能作为典型案例。")
        blocks = case_blocks(session, finding)
    return Report(kind=KIND, title=f"{department}{TITLE}", blocks=blocks, issuer=department, day=opts.day,
                  addressee=addressee(session), choices={"case_finding_id": opts.case_finding_id})


def period(opts: Options) -> str:
    return str(opts.day.year)


__all__ = ["KIND", "TITLE", "build", "period"]
