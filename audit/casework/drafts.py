"""Report drafts: the text sections of a generated report as its author edited them, kept until the report is filed.

One draft per department (or the bureau), report kind and period. Saving replaces the sections given and keeps
the others; resetting a section drops it, so the generated text shows again.
"""
from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..registry.models import ReportDraft, utcnow
from .decisions import DecisionError

BUREAU = "bureau"


def scope(department_id: int | None, kind: str, period: str = "") -> str:
    return f"{department_id if department_id is not None else BUREAU}|{kind}|{period}"


def get_draft(session: Session, department_id: int | None, kind: str, period: str = "") -> ReportDraft | None:
    return session.scalar(select(ReportDraft).where(ReportDraft.scope == scope(department_id, kind, period)))


def sections(session: Session, department_id: int | None, kind: str, period: str = "") -> dict[str, Any]:
    draft = get_draft(session, department_id, kind, period)
    return dict(draft.sections) if draft is not None else {}


def save_draft(session: Session, department_id: int | None, kind: str, period: str, changes: Mapping[str, Any], *,
               user: str, reset: tuple[str, ...] = ()) -> ReportDraft:
    """Store the changed sections (and drop the reset ones, back to the generated text)."""
    user = (user or "").strip()
    if not user:
        raise DecisionError("请填写操作人。")
    key = scope(department_id, kind, period)
    for _attempt in range(2):
        draft = session.scalar(select(ReportDraft).where(ReportDraft.scope == key))
        if draft is None:
            draft = ReportDraft(scope=key, department_id=department_id, kind=kind, period=period, sections={},
                                updated_by=user)
            try:
                with session.begin_nested():
                    session.add(draft)
            except IntegrityError:  # saved by someone else at the same moment: update theirs
                continue
        merged = {k: v for k, v in dict(draft.sections or {}).items() if k not in reset} | dict(changes)
        draft.sections = merged
        draft.updated_by = user
        draft.updated_at = utcnow()
        session.flush()
        return draft
    raise DecisionError("另一操作正在同时保存同一草稿，请刷新页面后重试。")


__all__ = ["scope", "get_draft", "sections", "save_draft"]
