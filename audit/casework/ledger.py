"""The rectification ledger (整改台账): 待整改 → 整改中 → 已整改待核查 → 已销号, each change a recorded event."""
from __future__ import annotations

import datetime as dt
from typing import Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from ..registry.models import (
    CLOSED,
    DEVICE_REMOVED,
    LEDGER_STATUSES,
    OBSERVED,
    AuditRun,
    ChangeLog,
    Finding,
    LedgerEvent,
    LedgerItem,
    Problem,
)
from .decisions import DecisionError

# Moves advance() allows; 已销号 is reached only through close_item() and left only through reopen().
TRANSITIONS = {
    "待整改": ("整改中", "已整改待核查"),
    "整改中": ("已整改待核查",),
    "已整改待核查": ("整改中",),  # the check found the rectification incomplete (核查未通过)
}
COMPARISON_ZH = {"fixed": "复查已整改", "still_failing": "复查仍存在", "not_assessed": "复查未能判断",
                 "removed": DEVICE_REMOVED}


def get_item(session: Session, item_id: int) -> LedgerItem:
    item = session.get(LedgerItem, item_id)
    if item is None:
        raise DecisionError(f"整改台账中没有第 {item_id} 项。")
    return item


def _record(session: Session, item: LedgerItem, to_status: str, user: str, note: str | None) -> LedgerEvent:
    ev = LedgerEvent(item_id=item.id, user=user, from_status=item.status, to_status=to_status, note=note)
    session.add(ev)
    session.add(ChangeLog(user=user, entity="ledger_item", entity_id=item.id, device_code=item.device.device_code,
                          action="ledger", field="status", before=item.status,
                          after=to_status + (f"：{note}" if note else "")))
    item.status = to_status
    session.flush()
    return ev


def _user(user: str | None) -> str:
    text = (user or "").strip()
    if not text:
        raise DecisionError("请填写操作人。")
    return text


def advance(session: Session, item_id: int, to_status: str, *, user: str, note: str | None = None) -> LedgerEvent:
    """Move an item along the ledger. Reporting it rectified (已整改待核查) needs a note of what was done; going back
    from there to 整改中 needs a note saying why."""
    item = get_item(session, item_id)
    user = _user(user)
    note = (note or "").strip() or None
    if to_status not in LEDGER_STATUSES:
        raise DecisionError(f"未知的整改状态“{to_status}”，应为：{'、'.join(LEDGER_STATUSES)}。")
    if to_status == CLOSED:
        raise DecisionError("销号须经核查：请使用销号操作，并填写核查证据和核查人。")
    if item.status == CLOSED:
        raise DecisionError(f"第 {item.id} 项已销号；如需重新整改，请办理重新打开并说明理由。")
    if to_status not in TRANSITIONS[item.status]:
        raise DecisionError(f"第 {item.id} 项当前为“{item.status}”，不能改为“{to_status}”。")
    if item.status == "已整改待核查" and note is None:
        raise DecisionError("核查未通过、退回整改时须说明理由。")
    if to_status == "已整改待核查" and note is None:
        raise DecisionError("报告已整改时须说明整改情况：做了什么、有何证明（如审核意见书文号、现场照片）。")
    return _record(session, item, to_status, user, note)


def still_observed(session: Session, item: LedgerItem) -> list[Problem]:
    """The item's problems that an audit run after the item was opened still found (the latest run covering
    them observed them again)."""
    ids = item.problem_ids
    if not ids:
        return []
    return list(session.scalars(
        select(Problem).join(AuditRun, AuditRun.id == Problem.last_run_id)
        .where(Problem.id.in_(ids), Problem.resolved_run_id.is_(None), Problem.last_check == OBSERVED,
               AuditRun.created_at > item.created_at).order_by(Problem.id)))


def close_item(session: Session, item_id: int, *, evidence: str, user: str, on: dt.date | None = None,
               despite_observed: bool = False) -> LedgerItem:
    """Close (销号) an item reported rectified, recording the checker, the date and the evidence seen.

    When the latest audit still finds one of its problems, closing needs the checker's explicit confirmation
    (despite_observed), which the closing event records.
    """
    item = get_item(session, item_id)
    user = _user(user)
    evidence = (evidence or "").strip()
    if not evidence:
        raise DecisionError("销号须写明核查情况和证据（如现场照片、检定证书编号、公告链接）。")
    if item.status == CLOSED:
        raise DecisionError(f"第 {item.id} 项已于 {item.closed_on} 销号。")
    if item.status != "已整改待核查":
        raise DecisionError(f"第 {item.id} 项当前为“{item.status}”；须先报告已整改（已整改待核查），经核查后才能销号。")
    on = on or dt.date.today()
    if on < item.decision.decided_on:
        raise DecisionError(f"销号日期 {on.isoformat()} 早于整改决定日期 {item.decision.decided_on.isoformat()}。")
    observed = still_observed(session, item)
    if observed and not despite_observed:
        runs = "、".join(sorted({f"第 {p.last_run_id} 次审查（{p.last_seen_on.isoformat()}）" for p in observed}))
        raise DecisionError(f"第 {item.id} 项的问题 {'、'.join(str(p.id) for p in observed)} 在{runs}中仍存在："
                            "如核查确认已整改（如审查所用数据尚未更新），请确认“复查仍发现仍销号”后再销号，"
                            "否则请退回整改或重新审查。")
    note = evidence + (f"（复查仍发现问题 {'、'.join(str(p.id) for p in observed)}，经核查人确认销号）" if observed else "")
    _record(session, item, CLOSED, user, note)
    item.closed_on, item.closed_by, item.close_evidence = on, user, evidence
    session.execute(update(Problem).where(Problem.open_item_id == item.id).values(open_item_id=None)
                    .execution_options(synchronize_session=False))
    session.flush()
    return item


def reopen(session: Session, item_id: int, *, reason: str, user: str) -> LedgerEvent:
    """Reopen a closed item (back to 整改中) as a new recorded event; the earlier closing stays in its events."""
    item = get_item(session, item_id)
    user = _user(user)
    reason = (reason or "").strip()
    if not reason:
        raise DecisionError("重新打开已销号的事项须说明理由。")
    if item.status != CLOSED:
        raise DecisionError(f"第 {item.id} 项尚未销号（当前：{item.status}），无需重新打开。")
    if item.device.status == "拆除":
        raise DecisionError(f"设备“{item.device.device_code}”已拆除，第 {item.id} 项无需重新整改。")
    closed = f"因{item.closed_reason}" if item.closed_reason else f"由 {item.closed_by} "
    note = f"{reason}（原于 {item.closed_on} {closed}销号）"
    ids = item.problem_ids
    if ids:
        taken = session.execute(select(Problem.id, Problem.open_item_id).where(
            Problem.id.in_(ids), Problem.open_item_id.isnot(None), Problem.open_item_id != item.id)).all()
        if taken:
            raise DecisionError("问题 " + "、".join(f"{pid}（整改台账第 {iid} 项）" for pid, iid in taken)
                                + " 已在另一项中整改，不能重新打开本项。")
        session.execute(update(Problem).where(Problem.id.in_(ids), Problem.open_item_id.is_(None))
                        .values(open_item_id=item.id).execution_options(synchronize_session=False))
    ev = _record(session, item, "整改中", user, note)
    item.closed_on = item.closed_by = item.close_evidence = item.closed_reason = None
    session.flush()
    return ev


def items(session: Session, *, department: str | None = None, status: Iterable[str] | None = None) -> list[LedgerItem]:
    query = (select(LedgerItem).options(selectinload(LedgerItem.device), selectinload(LedgerItem.attachments))
             .order_by(LedgerItem.department, LedgerItem.id))
    if department:
        query = query.where(LedgerItem.department == department)
    if status is not None:
        query = query.where(LedgerItem.status.in_(list(status)))
    return list(session.scalars(query))


def is_overdue(item: LedgerItem, as_of: dt.date) -> bool:
    """Past its deadline and not yet reported rectified (已整改待核查 waits for the checker, not the department)."""
    return item.status in ("待整改", "整改中") and item.deadline < as_of


def overdue_items(session: Session, as_of: dt.date, department: str | None = None) -> list[LedgerItem]:
    query = (select(LedgerItem).where(LedgerItem.status.in_(["待整改", "整改中"]), LedgerItem.deadline < as_of)
             .order_by(LedgerItem.deadline, LedgerItem.id))
    if department:
        query = query.where(LedgerItem.department == department)
    return list(session.scalars(query))


def compare_with_run(session: Session, run_id: int) -> dict[int, str]:
    """What an audit run says about each ledger item: 'fixed', 'still_failing', 'removed' or 'not_assessed'.

    An item is assessed by a run made after it was opened, covering its department, for an item that cites
    problems. Still failing: the run observed one of its problems. Fixed: the run (or an earlier one made after
    the item was opened) resolved every one of them; removed, when one was resolved because the device was removed
    (not rectified). Otherwise the run could not tell (missing data, a device the rules did not examine, such as a
    suspended device for rules about devices in use).
    """
    run = session.get(AuditRun, run_id)
    if run is None:
        raise DecisionError(f"没有编号为 {run_id} 的审查记录。")
    observed = set(session.scalars(select(Finding.problem_id).where(Finding.run_id == run_id,
                                                                    Finding.problem_id.isnot(None))))
    items_ = list(session.scalars(select(LedgerItem).options(selectinload(LedgerItem.decision))
                                  .order_by(LedgerItem.id)))
    wanted = sorted({i for item in items_ for i in item.problem_ids})
    resolved: dict[int, int | None] = {}
    removed: set[int] = set()
    for start in range(0, len(wanted), 5000):
        for pid, resolved_run, reason in session.execute(
                select(Problem.id, Problem.resolved_run_id, Problem.resolved_reason)
                .where(Problem.id.in_(wanted[start:start + 5000]))):
            resolved[pid] = resolved_run
            if reason == DEVICE_REMOVED:
                removed.add(pid)
    result: dict[int, str] = {}
    for item in items_:
        ids = item.problem_ids
        if not ids or run.created_at < item.created_at or (run.department and run.department != item.department):
            result[item.id] = "not_assessed"
        elif any(i in observed for i in ids):
            result[item.id] = "still_failing"
        elif all(resolved.get(i) is not None and resolved[i] <= run.id for i in ids):
            result[item.id] = "removed" if removed & set(ids) else "fixed"
        else:
            result[item.id] = "not_assessed"
    return result


__all__ = ["TRANSITIONS", "COMPARISON_ZH", "still_observed", "get_item", "advance", "close_item", "reopen", "items",
           "is_overdue", "overdue_items", "compare_with_run"]
