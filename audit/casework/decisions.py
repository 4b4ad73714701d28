"""Decisions on devices and findings: review, suspend, rectify, restore, remove, keep.

Every decision is a new row citing the findings it answers, and is written to the change log together with the
device status it changes; decisions, reviews and ledger events are never edited in place.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..registry.models import (
    CLOSED,
    DECISION_KINDS,
    LEDGER_STATUSES,
    OPEN_STATUSES,
    REVIEW_ZH,
    ChangeLog,
    Decision,
    Device,
    Finding,
    FindingReview,
    LedgerEvent,
    LedgerItem,
)

# 问题类别: the six problems of the special supervision and the two focus items (regulations.md), by rule code.
CATEGORIES = {
    "REV": "未经法制和技术审核",
    "PUB": "投入使用前未向社会公布",
    "SGN": "设置地点无明显可见标识",
    "CAL": "未经依法检定、逾期未检定或检定不合格",
    "PLC": "设置地点、间距和数量不合理",
    "PLC04": "脱离实际监管需要随意设置",
    "VIO": "违法事实采集量、罚款数额畸高",
}
OTHER_CATEGORY = "其他问题"


def category_of(rule: str | None) -> str:
    """The 问题类别 of a rule code: its own entry, else its group's (the three-letter prefix)."""
    if not rule:
        return OTHER_CATEGORY
    return CATEGORIES.get(rule) or CATEGORIES.get(rule[:3], OTHER_CATEGORY)


class DecisionError(ValueError):
    """A decision the system refuses, with a message for the user."""



# ---- helpers ---------------------------------------------------------------------------------------------

def _required(value: str | None, what: str) -> str:
    text = (value or "").strip()
    if not text:
        raise DecisionError(f"请填写{what}。")
    return text


def _today(on: dt.date | None) -> dt.date:
    return on or dt.date.today()


def get_device(session: Session, device_id: int) -> Device:
    device = session.get(Device, device_id)
    if device is None:
        raise DecisionError(f"没有编号为 {device_id} 的设备记录。")
    return device


def device_by_code(session: Session, device_code: str) -> Device:
    device = session.scalar(select(Device).where(Device.device_code == device_code))
    if device is None:
        raise DecisionError(f"设备编号“{device_code}”未在设备登记表中登记。")
    return device


def latest_reviews(session: Session, finding_ids: Iterable[int] | None = None) -> dict[int, FindingReview]:
    """The current review of each finding (the latest one), for the given findings or all."""
    query = select(FindingReview).order_by(FindingReview.id)
    if finding_ids is not None:
        query = query.where(FindingReview.finding_id.in_(list(finding_ids)))
    return {r.finding_id: r for r in session.scalars(query)}


def _cited_findings(session: Session, device: Device, finding_ids: Iterable[int]) -> list[Finding]:
    ids = sorted({int(i) for i in finding_ids})
    if not ids:
        return []
    found = {f.id: f for f in session.scalars(select(Finding).where(Finding.id.in_(ids)))}
    missing = [i for i in ids if i not in found]
    if missing:
        raise DecisionError(f"引用的问题不存在：{'、'.join(map(str, missing))}。")
    others = [f for f in found.values() if f.device_id != device.id]
    if others:
        raise DecisionError(f"问题 {'、'.join(str(f.id) for f in others)} 不属于设备“{device.device_code}”，不能引用。")
    dismissed = [i for i, r in latest_reviews(session, ids).items() if r.status == "dismissed"]
    if dismissed:
        raise DecisionError(f"问题 {'、'.join(map(str, sorted(dismissed)))} 已被核查排除，不能作为决定的依据。")
    return [found[i] for i in ids]


def _log(session: Session, user: str, device: Device, entity: str, entity_id: int | None, action: str,
         field: str | None = None, before: str | None = None, after: str | None = None) -> None:
    session.add(ChangeLog(user=user, entity=entity, entity_id=entity_id, device_code=device.device_code,
                          action=action, field=field, before=before, after=after))


def _decide(session: Session, device: Device, kind: str, *, reason: str, user: str, on: dt.date | None,
            findings: list[Finding], new_status: str | None = None) -> Decision:
    decision = Decision(device_id=device.id, kind=kind, decided_on=_today(on), reason=reason, decided_by=user,
                        finding_ids=[f.id for f in findings])
    session.add(decision)
    session.flush()
    summary = {"decided_on": decision.decided_on.isoformat(), "reason": reason,
               "findings": [f"{f.id}:{f.rule}" for f in findings]}
    _log(session, user, device, "decision", decision.id, kind, after=json.dumps(summary, ensure_ascii=False))
    if new_status is not None and new_status != device.status:
        _log(session, user, device, "device", device.id, kind, "status", device.status, new_status)
        device.status = new_status
    return decision


def device_decisions(session: Session, device_id: int) -> list[Decision]:
    return list(session.scalars(select(Decision).where(Decision.device_id == device_id).order_by(Decision.id)))


# ---- the decisions ---------------------------------------------------------------------------------------

def review_finding(session: Session, finding_id: int, *, confirm: bool, reason: str | None,
                   user: str) -> FindingReview:
    """Confirm a finding, or dismiss it with a reason (a dismissed finding cannot be cited by a decision)."""
    finding = session.get(Finding, finding_id)
    if finding is None:
        raise DecisionError(f"没有编号为 {finding_id} 的问题。")
    user = _required(user, "核查人")
    status = "confirmed" if confirm else "dismissed"
    text = (reason or "").strip() or None
    if not confirm and text is None:
        raise DecisionError("排除问题须说明理由。")
    previous = latest_reviews(session, [finding.id]).get(finding.id)
    review = FindingReview(finding_id=finding.id, status=status, reason=text, user=user)
    session.add(review)
    session.flush()
    session.add(ChangeLog(user=user, entity="finding", entity_id=finding.id, device_code=finding.device_code,
                          action="review", field="review", before=previous and REVIEW_ZH[previous.status],
                          after=REVIEW_ZH[status] + (f"：{text}" if text else "")))
    return review


def suspend(session: Session, device_id: int, *, reason: str, user: str, finding_ids: Iterable[int] = (),
            on: dt.date | None = None) -> Decision:
    """Suspend a device at once (立即停用): status 停用, with date, reason and the findings it answers."""
    device = get_device(session, device_id)
    reason, user = _required(reason, "停用原因"), _required(user, "决定人")
    if device.status in ("停用", "拆除"):
        raise DecisionError(f"设备“{device.device_code}”已是“{device.status}”状态，无需停用。")
    findings = _cited_findings(session, device, finding_ids)
    return _decide(session, device, "suspend", reason=reason, user=user, on=on, findings=findings,
                   new_status="停用")


def rectify(session: Session, device_id: int, *, measure: str, requirement: str, deadline: dt.date,
            responsible: str, user: str, finding_ids: Iterable[int] = (), problem: str | None = None,
            on: dt.date | None = None) -> tuple[Decision, "LedgerItem"]:
    """Order a rectification: a decision and a new ledger item (待整改) with measure, deadline and responsible.

    The problem text defaults to the cited findings' messages; the category comes from their rule group.
    """
    device = get_device(session, device_id)
    measure, requirement = _required(measure, "整改措施"), _required(requirement, "整改要求")
    responsible, user = _required(responsible, "整改责任人"), _required(user, "决定人")
    if device.status == "拆除":
        raise DecisionError(f"设备“{device.device_code}”已拆除，无需整改。")
    if not isinstance(deadline, dt.date):
        raise DecisionError("整改时限须为日期，如 2024-07-31。")
    decided_on = _today(on)
    if deadline < decided_on:
        raise DecisionError(f"整改时限 {deadline.isoformat()} 早于决定日期 {decided_on.isoformat()}。")
    findings = _cited_findings(session, device, finding_ids)
    if not findings and not (problem or "").strip():
        raise DecisionError("整改须引用至少一个问题，或写明问题描述。")
    _refuse_duplicate_items(session, device, findings)
    problem_text = (problem or "").strip() or "；".join(f.message for f in findings)
    rules = sorted({f.rule for f in findings})
    categories = sorted({category_of(r) for r in rules}) or [OTHER_CATEGORY]
    decision = _decide(session, device, "rectify", reason=problem_text, user=user, on=decided_on,
                       findings=findings)
    item = LedgerItem(device_id=device.id, decision_id=decision.id, department=device.department.name,
                      problem=problem_text, category="、".join(categories), rules=rules, measure=measure,
                      requirement=requirement, deadline=deadline, responsible=responsible,
                      status=LEDGER_STATUSES[0])
    session.add(item)
    session.flush()
    session.add(LedgerEvent(item_id=item.id, user=user, from_status=None, to_status=item.status,
                            note=f"整改时限 {deadline.isoformat()}，责任人 {responsible}"))
    _log(session, user, device, "ledger_item", item.id, "create", "status", None, item.status)
    return decision, item


def _refuse_duplicate_items(session: Session, device: Device, findings: list[Finding]) -> None:
    if not findings:
        return
    cited = {f.id for f in findings}
    for item in session.scalars(select(LedgerItem).where(LedgerItem.device_id == device.id,
                                                         LedgerItem.status != CLOSED)):
        both = cited & set(item.finding_ids)
        if both:
            raise DecisionError(f"问题 {'、'.join(map(str, sorted(both)))} 已在整改台账第 {item.id} 项中整改，"
                                "不能重复立项。")


def restore(session: Session, device_id: int, *, user: str, reason: str, ledger_item_id: int | None = None,
            on: dt.date | None = None) -> Decision:
    """Put a suspended device back into use, only once its rectification has been checked and closed (已销号)."""
    device = get_device(session, device_id)
    reason, user = _required(reason, "恢复使用的理由"), _required(user, "决定人")
    if device.status != "停用":
        raise DecisionError(f"设备“{device.device_code}”当前状态为“{device.status or '未登记'}”，只有停用的设备才能恢复使用。")
    items = list(session.scalars(select(LedgerItem).where(LedgerItem.device_id == device.id)
                                 .order_by(LedgerItem.id)))
    if ledger_item_id is not None:
        chosen = [i for i in items if i.id == ledger_item_id]
        if not chosen:
            raise DecisionError(f"整改台账第 {ledger_item_id} 项不属于设备“{device.device_code}”。")
        if chosen[0].status != CLOSED:
            raise DecisionError(f"整改台账第 {ledger_item_id} 项尚未销号（当前：{chosen[0].status}），"
                                "须经核查销号后才能恢复使用。")
    open_items = [i for i in items if i.status != CLOSED]
    if open_items:
        raise DecisionError("该设备还有未销号的整改事项：" + "、".join(f"第 {i.id} 项（{i.status}）" for i in open_items)
                            + "；须全部核查销号后才能恢复使用。")
    closed = [i for i in items if i.status == CLOSED]
    if not closed:
        raise DecisionError(f"设备“{device.device_code}”没有已销号的整改事项；停用设备须经整改、核查销号后才能恢复使用。")
    basis = ledger_item_id or closed[-1].id
    return _decide(session, device, "restore", reason=f"{reason}（整改台账第 {basis} 项已销号）", user=user, on=on,
                   findings=[], new_status="在用")


def remove(session: Session, device_id: int, *, user: str, reason: str, finding_ids: Iterable[int] = (),
           on: dt.date | None = None) -> Decision:
    """Remove a device (拆除); its record and history stay in the registry."""
    device = get_device(session, device_id)
    reason, user = _required(reason, "拆除原因"), _required(user, "决定人")
    if device.status == "拆除":
        raise DecisionError(f"设备“{device.device_code}”已拆除。")
    findings = _cited_findings(session, device, finding_ids)
    return _decide(session, device, "remove", reason=reason, user=user, on=on, findings=findings,
                   new_status="拆除")


def keep(session: Session, device_id: int, *, user: str, reason: str, finding_ids: Iterable[int] = (),
         on: dt.date | None = None) -> Decision:
    """Keep a device as it is despite findings, with the reason on record (保留)."""
    device = get_device(session, device_id)
    reason, user = _required(reason, "保留的理由"), _required(user, "决定人")
    if device.status == "拆除":
        raise DecisionError(f"设备“{device.device_code}”已拆除，不能作出保留决定。")
    findings = _cited_findings(session, device, finding_ids)
    return _decide(session, device, "keep", reason=reason, user=user, on=on, findings=findings)


__all__ = ["DecisionError", "FindingReview", "Decision", "LedgerItem", "LedgerEvent", "DECISION_KINDS",
           "LEDGER_STATUSES", "OPEN_STATUSES", "CATEGORIES", "category_of", "review_finding", "suspend", "rectify",
           "restore", "remove", "keep", "latest_reviews", "device_decisions", "device_by_code", "get_device"]
