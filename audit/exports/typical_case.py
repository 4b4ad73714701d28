"""Which problems may serve as the summary's typical case (典型案例): the confirmed problems of one department
(or of all) in the audit run the documents are made from. The documents page offers these and nothing else."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from .data import ExportError, problems, resolve_run, rule_title

SEVERITY_ORDER = ("严重", "较重", "一般")


@dataclass(frozen=True)
class CaseChoice:
    finding_id: int
    device_code: str
    device_name: str
    department: str
    rule: str
    title: str
    severity: str


def case_choices(session: Session, department: str | None = None, run_id: int | None = None) -> list[CaseChoice]:
    """Confirmed (经核查确认), assessable problems of a device, most severe first; none without an audit run."""
    try:
        run = resolve_run(session, run_id, department)
    except ExportError:
        return []
    chosen = [p for p in problems(session, run, department)
              if p.review == "confirmed" and not p.cannot_assess and p.device is not None]
    chosen.sort(key=lambda p: (SEVERITY_ORDER.index(p.finding.severity) if p.finding.severity in SEVERITY_ORDER
                               else len(SEVERITY_ORDER), p.finding.rule, p.device.device_code))
    return [CaseChoice(p.finding.id, p.device.device_code, p.device.name or "", p.finding.department or "",
                       p.finding.rule, rule_title(p.finding.rule), p.finding.severity) for p in chosen]


__all__ = ["CaseChoice", "case_choices"]
