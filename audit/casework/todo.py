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
        .where(Problem.department == department, Problem.resolved_on.is_(None))))
    latest: dict[int, ProblemResponse] = {}
    if problems:
        for r in session.scalars(select(ProblemResponse).where(ProblemResponse.department == department)
                                 .order_by(ProblemResponse.id)):
            latest[r.problem_id] = r
    for p in sorted(problems, key=lambda p: (SEVERITY_ORDER.get(p.severity, 9), p.device_code, p.rule, p.key)):
        last = latest.get(p.id)
        waits = _waits_for(last.status if last is not None else None, can_respond(p), p.open_item_id)
        if waits == "answered":
            todo.answered.append((p, last))  # type: ignore[arg-type]
        elif waits == "to_answer":
            todo.to_answer.append((p, last if last is not None and last.status == "rejected" else None))
    open_items = session.scalars(select(LedgerItem).options(selectinload(LedgerItem.device))
                                 .where(LedgerItem.department == department, LedgerItem.status != "已销号"))
    for item in open_items:
        due = DueItem(item, is_overdue(item, today), abs((today - item.deadline).days))
        (todo.waiting_check if item.status == "已整改待核查" else todo.items).append(due)
    todo.items.sort(key=lambda d: (not d.overdue, d.item.deadline, d.item.id))
    todo.waiting_check.sort(key=lambda d: (d.item.deadline, d.item.id))
    return todo


def _waits_for(last_status: str | None, respondable: bool, open_item_id: int | None) -> str | None:
    """Whom an unresolved problem waits for: "answered" (the department's answer, for the auditor), "to_answer"
    (the department's answer), None (neither: dismissed, or being rectified)."""
    if last_status == "pending":
        return "answered"
    if respondable and open_item_id is None:
        return "to_answer"
    return None


@dataclass
class TodoCounts:
    """The sizes of a department's to-do lists (Todo's), for the overview of every department."""

    to_answer: int = 0
    answered: int = 0
    items: int = 0
    overdue: int = 0
    waiting_check: int = 0


def todo_counts(session: Session, today: dt.date) -> dict[str, TodoCounts]:
    """Every department's TodoCounts (by name; a department with nothing to do is absent), from a few columns of
    the unresolved problems, the responses and the open ledger items, not from one Todo of objects each."""
    counts: dict[str, TodoCounts] = {}
    latest = {(problem_id, department): status for problem_id, department, status in session.execute(
        select(ProblemResponse.problem_id, ProblemResponse.department, ProblemResponse.status)
        .order_by(ProblemResponse.id))}
    problems = session.execute(select(Problem.id, Problem.department, Problem.verdict, Problem.stale,
                                      Problem.open_item_id).where(Problem.resolved_on.is_(None)))
    for problem_id, department, verdict, stale, open_item_id in problems:
        dismissed = verdict == "dismissed" and not stale  # Problem.review_state == "dismissed"
        waits = _waits_for(latest.get((problem_id, department)), not dismissed, open_item_id)
        if waits is not None:
            c = counts.setdefault(department, TodoCounts())
            setattr(c, waits, getattr(c, waits) + 1)
    items = session.execute(select(LedgerItem.department, LedgerItem.status, LedgerItem.deadline)
                            .where(LedgerItem.status != "已销号"))
    for item in items:
        c = counts.setdefault(item.department, TodoCounts())
        if item.status == "已整改待核查":
            c.waiting_check += 1
        else:
            c.items += 1
            c.overdue += is_overdue(item, today)  # type: ignore[arg-type]
    return counts


__all__ = ["Todo", "DueItem", "TodoCounts", "department_todo", "todo_counts"]
