"""A department's answer to a problem (说明/申辩) and the auditor's answer to it, shown as one thread.

The department explains or contests an open problem of its own devices, with papers attached; one answer waits at a
time. The auditor accepts it — the problem is dismissed through `problems.review_problem`, the reason recorded —
or rejects it with a reason, after which the department may answer again. The answer is set once: a compare-and-set
UPDATE from 'pending', so two auditors cannot both answer.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..registry.models import (RESPONSE_KINDS, REVIEW_ZH, Attachment, ChangeLog, Problem, ProblemResponse,
                               ProblemReview, utcnow)
from .decisions import DecisionError
from .problems import get_problem, review_problem

MIN_TEXT = 5


def get_response(session: Session, response_id: int) -> ProblemResponse:
    response = session.get(ProblemResponse, response_id)
    if response is None:
        raise DecisionError(f"没有编号为 {response_id} 的单位答复。")
    return response


def pending_response(session: Session, problem_id: int) -> ProblemResponse | None:
    return session.scalar(select(ProblemResponse).where(ProblemResponse.problem_id == problem_id,
                                                        ProblemResponse.status == "pending"))


def can_respond(problem: Problem) -> bool:
    """Open and not dismissed (a dismissal sent back to review by changed evidence no longer holds)."""
    return not problem.is_resolved and problem.review_state != "dismissed"


def respond(session: Session, problem_id: int, *, kind: str, text: str, user: str, department: str | None
            ) -> ProblemResponse:
    """Record a department's 说明 or 申辩 on one of its problems (caller commits; attachments follow)."""
    problem = get_problem(session, problem_id)
    user = (user or "").strip()
    if not user:
        raise DecisionError("请填写答复人。")
    if not department or department != problem.department:
        raise DecisionError(f"只有“{problem.department}”可以答复该问题。")
    if kind not in RESPONSE_KINDS:
        raise DecisionError(f"答复类型应为：{'、'.join(RESPONSE_KINDS)}。")
    text = (text or "").strip()
    if len(text) < MIN_TEXT:
        raise DecisionError(f"请写明{kind}的内容（至少 {MIN_TEXT} 个字）：事实、理由和所附材料。")
    if problem.is_resolved:
        raise DecisionError(f"问题 {problem.device_code} {problem.rule} 已于 {problem.resolved_on} 消除，无需答复。")
    if problem.review_state == "dismissed":
        raise DecisionError(f"问题 {problem.device_code} {problem.rule} 已被排除，无需答复。")
    if pending_response(session, problem.id) is not None:
        raise DecisionError(f"问题 {problem.device_code} {problem.rule} 已有一份答复等待审查人员处理；"
                            "处理后才能再次答复，如需补充材料请在设备档案中上传。")
    response = ProblemResponse(problem_id=problem.id, department=problem.department, kind=kind, text=text, user=user)
    session.add(response)
    session.flush()
    session.add(ChangeLog(user=user, entity="problem_response", entity_id=response.id,
                          device_code=problem.device_code, action="respond", field="response",
                          after=f"{problem.rule} {kind}：{text}"))
    return response


def _answer(session: Session, response: ProblemResponse, status: str, answer: str, user: str) -> None:
    claimed = session.execute(
        update(ProblemResponse).where(ProblemResponse.id == response.id, ProblemResponse.status == "pending")
        .values(status=status, answer=answer, answered_by=user, answered_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        session.refresh(response)
        raise DecisionError(f"该答复已由 {response.answered_by} 处理（{'采纳' if response.status == 'accepted' else '未采纳'}）；"
                            "请刷新页面查看。")
    session.refresh(response)


def accept(session: Session, response_id: int, *, reason: str | None, user: str) -> ProblemReview:
    """Accept the answer: the problem is dismissed, with the auditor's reason (or the answer itself) recorded."""
    response = get_response(session, response_id)
    user = (user or "").strip()
    if not user:
        raise DecisionError("请填写审查人。")
    if response.status != "pending":
        raise DecisionError("该答复已处理，不能再次采纳。")
    text = (reason or "").strip()
    recorded = f"采纳单位{response.kind}：{text or response.text}"
    _answer(session, response, "accepted", text or "采纳", user)
    review = review_problem(session, response.problem_id, confirm=False, reason=recorded, user=user)
    session.execute(update(ProblemResponse).where(ProblemResponse.id == response.id).values(review_id=review.id)
                    .execution_options(synchronize_session=False))
    session.add(ChangeLog(user=user, entity="problem_response", entity_id=response.id,
                          device_code=response.problem.device_code, action="accept", field="response",
                          after=recorded))
    session.refresh(response)
    return review


def reject(session: Session, response_id: int, *, reason: str, user: str) -> ProblemResponse:
    """Reject the answer with a reason; the problem stays as it was, and the department may answer again."""
    response = get_response(session, response_id)
    user = (user or "").strip()
    if not user:
        raise DecisionError("请填写审查人。")
    text = (reason or "").strip()
    if not text:
        raise DecisionError("不予采纳须说明理由。")
    if response.status != "pending":
        raise DecisionError("该答复已处理，不能再次处理。")
    _answer(session, response, "rejected", text, user)
    session.add(ChangeLog(user=user, entity="problem_response", entity_id=response.id,
                          device_code=response.problem.device_code, action="reject", field="response",
                          after=f"不予采纳：{text}"))
    return response


def responses_of(session: Session, problem_ids: list[int]) -> dict[int, list[ProblemResponse]]:
    out: dict[int, list[ProblemResponse]] = {}
    if not problem_ids:
        return out
    for r in session.scalars(select(ProblemResponse).where(ProblemResponse.problem_id.in_(sorted(set(problem_ids))))
                             .order_by(ProblemResponse.id)):
        out.setdefault(r.problem_id, []).append(r)
    return out


@dataclass
class Entry:
    """One message of a problem's thread: who said what, when (with the files given)."""

    at: dt.datetime
    who: str
    side: str  # department | auditor
    what: str  # 说明, 申辩, 采纳, 不予采纳, 已确认, 已排除
    text: str
    attachments: list[Attachment] = field(default_factory=list)


def thread(session: Session, problem_id: int, reviews: list[ProblemReview] | None = None,
           responses: list[ProblemResponse] | None = None) -> list[Entry]:
    """The department's answers, the auditor's answers to them and the verdicts, in time order. A verdict given
    by accepting an answer is that answer's reply, not a second entry."""
    if reviews is None:
        reviews = list(session.scalars(select(ProblemReview).where(ProblemReview.problem_id == problem_id)
                                       .order_by(ProblemReview.id)))
    if responses is None:
        responses = responses_of(session, [problem_id]).get(problem_id, [])
    entries = []
    answered_reviews = {r.review_id for r in responses if r.review_id is not None}
    for r in responses:
        entries.append(Entry(r.at, r.user, "department", r.kind, r.text, list(r.attachments)))
        if r.status != "pending" and r.answered_at is not None:
            entries.append(Entry(r.answered_at, r.answered_by or "", "auditor",
                                 "采纳" if r.status == "accepted" else "不予采纳", r.answer or ""))
    for v in reviews:
        if v.id not in answered_reviews:
            entries.append(Entry(v.at, v.user, "auditor", REVIEW_ZH[v.status], v.reason or ""))
    return sorted(entries, key=lambda e: e.at)


__all__ = ["respond", "accept", "reject", "pending_response", "can_respond", "responses_of", "thread", "Entry",
           "get_response"]
