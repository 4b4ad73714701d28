"""The rectification ledger (整改台账): 待整改 → 整改中 → 已整改待核查 → 已销号, each change a recorded event."""
from __future__ import annotations

import datetime as dt
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..registry.models import CLOSED, LEDGER_STATUSES, AuditRun, ChangeLog, Device, Finding, LedgerEvent, LedgerItem
from .decisions import DecisionError

# Moves advance() allows; 已销号 is reached only through close_item() and left only through reopen().
TRANSITIONS = {
    "待整改": ("整改中", "已整改待核查"),
    "整改中": ("已整改待核查",),
    "已整改待核查": ("整改中",),  # the check found the rectification incomplete (核查未通过)
}
# Rules that only examine devices in use: a device not in use when the audit ran cannot show them fixed.
IN_USE_RULES = frozenset({"REV01", "REV02", "PUB01", "CAL01", "CAL02", "CAL03"})
NOT_IN_USE = ("拟建", "停用", "拆除")
COMPARISON_ZH = {"fixed": "复查已整改", "still_failing": "复查仍存在", "not_assessed": "复查未能判断"}


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


def close_item(session: Session, item_id: int, *, evidence: str, user: str, on: dt.date | None = None) -> LedgerItem:
    """Close (销号) an item reported rectified, recording the checker, the date and the evidence seen."""
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
    _record(session, item, CLOSED, user, evidence)
    item.closed_on, item.closed_by, item.close_evidence = on, user, evidence
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
    note = f"{reason}（原于 {item.closed_on} 由 {item.closed_by} 销号）"
    ev = _record(session, item, "整改中", user, note)
    item.closed_on = item.closed_by = item.close_evidence = None
    session.flush()
    return ev


def items(session: Session, *, department: str | None = None, status: Iterable[str] | None = None) -> list[LedgerItem]:
    query = select(LedgerItem).options(selectinload(LedgerItem.device)).order_by(LedgerItem.department, LedgerItem.id)
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


def _statuses_at(session: Session, moment: dt.datetime) -> dict[int, str | None]:
    """Devices' status at a past moment, for those changed since: the 'before' of their first change after it."""
    out: dict[int, str | None] = {}
    for device_id, before in session.execute(
            select(ChangeLog.entity_id, ChangeLog.before).where(
                ChangeLog.entity == "device", ChangeLog.field == "status", ChangeLog.at > moment)
            .order_by(ChangeLog.id)):
        out.setdefault(device_id, before)
    return out


def compare_with_run(session: Session, run_id: int) -> dict[int, str]:
    """What an audit run says about each ledger item: 'fixed', 'still_failing' or 'not_assessed'.

    An item is assessed by a run made after it was opened, covering its department, for an item that cites
    rules. Fixed means none of its rules found the device; a rule that could not assess the device (missing
    data), or that only looks at devices in use while the device was not in use, cannot confirm a fix.
    """
    run = session.get(AuditRun, run_id)
    if run is None:
        raise DecisionError(f"没有编号为 {run_id} 的审查记录。")
    failing: dict[int, set[str]] = {}
    unassessed: dict[int, set[str]] = {}
    for device_id, rule, evidence in session.execute(
            select(Finding.device_id, Finding.rule, Finding.evidence).where(Finding.run_id == run_id)):
        if device_id is not None:
            into = unassessed if (evidence or {}).get("cannot_assess") else failing
            into.setdefault(device_id, set()).add(rule)
    changed = _statuses_at(session, run.created_at)
    result: dict[int, str] = {}
    for item_id, device_id, rule_list, department, created_at, status in session.execute(
            select(LedgerItem.id, LedgerItem.device_id, LedgerItem.rules, LedgerItem.department,
                   LedgerItem.created_at, Device.status).join(Device).order_by(LedgerItem.id)):
        rules = set(rule_list or [])
        if not rules or run.created_at < created_at or (run.department and run.department != department):
            result[item_id] = "not_assessed"
        elif rules & failing.get(device_id, set()):
            result[item_id] = "still_failing"
        elif rules & unassessed.get(device_id, set()):
            result[item_id] = "not_assessed"
        elif rules & IN_USE_RULES and changed.get(device_id, status) in NOT_IN_USE:
            result[item_id] = "not_assessed"
        else:
            result[item_id] = "fixed"
    return result


__all__ = ["TRANSITIONS", "IN_USE_RULES", "COMPARISON_ZH", "get_item", "advance", "close_item", "reopen", "items",
           "is_overdue", "overdue_items", "compare_with_run"]
