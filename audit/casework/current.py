"""Which findings are current and open: per department, those of its latest audit run, open unless their problem
was dismissed on review (a dismissal given on evidence that has since changed no longer holds).

A run covers all departments (department None) or one; for each department the latest run that covers it is its
current run. Cannot-assess findings (requests for data) are never open problems: they are counted apart.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, or_, select
from sqlalchemy.orm import Session

from ..registry.models import Finding, Problem
from ..rules.findings import current_runs


def dismissed_ids() -> Select[Any]:
    """Problems whose dismissal holds (not sent back to review by changed evidence)."""
    return select(Problem.id).where(Problem.verdict == "dismissed", Problem.stale.is_(False))


def current_condition(db: Session, run_id: int | None = None) -> ColumnElement[bool]:
    """Findings of one run, or of each department's current run."""
    if run_id is not None:
        return Finding.run_id == run_id
    runs = current_runs(db)
    own = [and_(Finding.run_id == rid, Finding.department == name) for name, rid in runs.own.items()]
    if runs.full is not None:
        superseded = list(runs.own)
        own.append(and_(Finding.run_id == runs.full, or_(Finding.department.is_(None),
                                                          Finding.department.not_in(superseded)))
                   if superseded else Finding.run_id == runs.full)
    return or_(*own) if own else false()


def open_condition() -> ColumnElement[bool]:
    """Findings that observe a problem not dismissed (never cannot-assess findings, which have no problem)."""
    return and_(Finding.problem_id.isnot(None), Finding.problem_id.not_in(dismissed_ids()))


def cannot_assess_condition() -> ColumnElement[bool]:
    """Cannot-assess findings: a device finding with no problem, or a department-level one."""
    return Finding.problem_id.is_(None)
