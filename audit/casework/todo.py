"""What a department must do next (待办): problems awaiting its answer, its answers awaiting the auditor, and its
open ledger items by deadline, the overdue first. (The data it must supply are the cannot-assess requests:
audit.exports.data_requests.)

A problem awaits the department's answer while it is open, not dismissed, not being rectified (no open ledger item:
the rectification is the answer) and has no answer waiting for the auditor; an answer the auditor did not accept
puts it back, with the reason.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..registry.models import LedgerItem, Problem, ProblemResponse
from .ledger import is_overdue
from .responses import can_respond

SEVERITY_ORDER = {"严重": 0, "较重": 1, "一般": 2}


@dataclass
class DueItem:
    item: LedgerItem
    overdue: bool
    days: int  # days past the deadline (overdue) or left until it


@dataclass
class Todo:
    to_answer: list[tuple[Problem, ProblemResponse | None]] = field(default_factory=list)  # with the last rejection
    answered: list[tuple[Problem, ProblemResponse]] = field(default_factory=list)  # waiting for the auditor
    items: list[DueItem] = field(default_factory=list)  # open ledger items, overdue first, then by deadline
    waiting_check: list[DueItem] = field(default_factory=list)  # reported rectified, waiting for the checker

    @property
    def overdue(self) -> int:
        return sum(1 for d in self.items if d.overdue)


def department_todo(session: Session, department: str, today: dt.date) -> Todo:
    todo = Todo()
    problems = list(session.scalars(
        select(Problem).options(selectinload(Problem.device))
        .where(Problem.department == department, Problem.resolved_run_id.is_(None))))
    latest: dict[int, ProblemResponse] = {}
    if problems:
        for r in session.scalars(select(ProblemResponse).where(ProblemResponse.department == department)
                                 .order_by(ProblemResponse.id)):
            latest[r.problem_id] = r
    for p in sorted(problems, key=lambda p: (SEVERITY_ORDER.get(p.severity, 9), p.device_code, p.rule, p.key)):
        last = latest.get(p.id)
        if last is not None and last.status == "pending":
            todo.answered.append((p, last))
        elif can_respond(p) and p.open_item_id is None:
            todo.to_answer.append((p, last if last is not None and last.status == "rejected" else None))
    open_items = session.scalars(select(LedgerItem).options(selectinload(LedgerItem.device))
                                 .where(LedgerItem.department == department, LedgerItem.status != "已销号"))
    for item in open_items:
        due = DueItem(item, is_overdue(item, today), abs((today - item.deadline).days))
        (todo.waiting_check if item.status == "已整改待核查" else todo.items).append(due)
    todo.items.sort(key=lambda d: (not d.overdue, d.item.deadline, d.item.id))
    todo.waiting_check.sort(key=lambda d: (d.item.deadline, d.item.id))
    return todo


__all__ = ["Todo", "DueItem", "department_todo"]
