"""Decisions on devices and their problems: suspend, rectify, restore, remove, keep (reviews: casework.problems).

Every decision is a new row citing the problems it answers (and the findings that observed them), written to the
change log together with the device status it changes; decisions, reviews and ledger events are never edited in
place. Checks that guard a state change are made in the same UPDATE that changes it (compare and set), so two
processes deciding at once cannot both pass them.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..registry.models import (
    CLOSED,
    DECISION_KINDS,
    LEDGER_STATUSES,
    OPEN_STATUSES,
    ChangeLog,
    Decision,
    Device,
    Finding,
    LedgerEvent,
    LedgerItem,
    Problem,
)
from ..registry.removal import settle_removed

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
RETIRED = ("停用", "拆除")


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
    device = session.scalar(select(Device).where(Device.device_code == (device_code or "").strip()))
    if device is None:
        raise DecisionError(f"设备编号“{device_code}”未在设备登记表中登记。")
    return device


def cited_problems(session: Session, device: Device, problem_ids: Iterable[int] = (),
                   finding_ids: Iterable[int] = ()) -> list[Problem]:
    """The problems a decision answers: given by id, or through findings that observed them; all of the device,
    none dismissed."""
    ids = {int(i) for i in problem_ids}
    fids = sorted({int(i) for i in finding_ids})
    if fids:
        found = dict(session.execute(select(Finding.id, Finding.problem_id).where(Finding.id.in_(fids))).all())
        missing = [i for i in fids if i not in found]
        if missing:
            raise DecisionError(f"引用的审查发现不存在：{'、'.join(map(str, missing))}。")
        loose = [i for i in fids if found[i] is None]
        if loose:
            raise DecisionError(f"第 {'、'.join(map(str, loose))} 条是“无法评估”（缺少资料），不是问题，不能作为决定的依据。")
        ids |= {found[i] for i in fids}
    if not ids:
        return []
    problems = {p.id: p for p in session.scalars(select(Problem).where(Problem.id.in_(sorted(ids))))}
    missing = sorted(ids - set(problems))
    if missing:
        raise DecisionError(f"引用的问题不存在：{'、'.join(map(str, missing))}。")
    others = [p for p in problems.values() if p.device_id != device.id]
    if others:
        raise DecisionError(f"问题 {'、'.join(f'{p.id}（{p.device_code}）' for p in others)} 不属于设备"
                            f"“{device.device_code}”，不能引用。")
    dismissed = [p for p in problems.values() if p.verdict == "dismissed"]
    if dismissed:
        raise DecisionError(f"问题 {'、'.join(str(p.id) for p in dismissed)} 已被核查排除，不能作为决定的依据。")
    return [problems[i] for i in sorted(problems)]


def _log(session: Session, user: str, device: Device, entity: str, entity_id: int | None, action: str,
         field: str | None = None, before: str | None = None, after: str | None = None) -> None:
    session.add(ChangeLog(user=user, entity=entity, entity_id=entity_id, device_code=device.device_code,
                          action=action, field=field, before=before, after=after))


def _set_status(session: Session, device: Device, new_status: str, *, kind: str, user: str,
                refuse_from: tuple[str | None, ...] = (), only_from: tuple[str | None, ...] | None = None) -> None:
    """Change the device's status in one UPDATE that also checks the status it changes from, so a concurrent
    decision cannot change it too; refused with the status found."""
    before = device.status
    condition = [Device.id == device.id]
    if only_from is not None:
        condition.append(Device.status.in_([s for s in only_from if s is not None]))
    elif refuse_from:
        condition.append(Device.status.is_(None) | Device.status.not_in([s for s in refuse_from if s is not None]))
    changed = session.execute(update(Device).where(*condition).values(status=new_status)
                              .execution_options(synchronize_session=False)).rowcount
    session.refresh(device, ["status"])
    if changed != 1:
        raise DecisionError(f"设备“{device.device_code}”当前状态为“{device.status or '未登记'}”，"
                            f"不能{kind}（可能刚由他人作出决定，请刷新后查看）。")
    _log(session, user, device, "device", device.id, kind, "status", before, new_status)


def _decide(session: Session, device: Device, kind: str, *, reason: str, user: str, on: dt.date | None,
            problems: list[Problem]) -> Decision:
    finding_ids = [f for p in problems for f in _latest_findings(session, p.id)]
    decision = Decision(device_id=device.id, kind=kind, decided_on=_today(on), reason=reason, decided_by=user,
                        finding_ids=finding_ids, problem_ids=[p.id for p in problems])
    session.add(decision)
    session.flush()
    summary = {"decided_on": decision.decided_on.isoformat(), "reason": reason,
               "problems": [f"{p.id}:{p.rule}" for p in problems]}
    _log(session, user, device, "decision", decision.id, kind, after=json.dumps(summary, ensure_ascii=False))
    if problems:
        session.execute(update(Problem).where(Problem.id.in_([p.id for p in problems]))
                        .values(decision_id=decision.id).execution_options(synchronize_session=False))
        for p in problems:
            session.expire(p)
    return decision


def _latest_findings(session: Session, problem_id: int) -> list[int]:
    latest = session.scalar(select(Finding.id).where(Finding.problem_id == problem_id).order_by(Finding.id.desc())
                            .limit(1))
    return [] if latest is None else [latest]


def device_decisions(session: Session, device_id: int) -> list[Decision]:
    return list(session.scalars(select(Decision).where(Decision.device_id == device_id).order_by(Decision.id)))


def standing_decision(session: Session, device_id: int) -> Decision | None:
    """The suspension or removal the device's status rests on, if its latest status decision is one."""
    latest = session.scalar(select(Decision).where(Decision.device_id == device_id,
                                                   Decision.kind.in_(["suspend", "remove", "restore"]))
                            .order_by(Decision.id.desc()).limit(1))
    return latest if latest is not None and latest.kind in ("suspend", "remove") else None


# ---- the decisions ---------------------------------------------------------------------------------------

def suspend(session: Session, device_id: int, *, reason: str, user: str, problem_ids: Iterable[int] = (),
            finding_ids: Iterable[int] = (), on: dt.date | None = None) -> Decision:
    """Suspend a device at once (立即停用): status 停用, with date, reason and the problems it answers."""
    device = get_device(session, device_id)
    reason, user = _required(reason, "停用原因"), _required(user, "决定人")
    if device.status in RETIRED:
        raise DecisionError(f"设备“{device.device_code}”已是“{device.status}”状态，无需停用。")
    problems = cited_problems(session, device, problem_ids, finding_ids)
    _set_status(session, device, "停用", kind="suspend", user=user, refuse_from=RETIRED)
    return _decide(session, device, "suspend", reason=reason, user=user, on=on, problems=problems)


def rectify(session: Session, device_id: int, *, measure: str, requirement: str, deadline: dt.date,
            responsible: str, user: str, problem_ids: Iterable[int] = (), finding_ids: Iterable[int] = (),
            problem: str | None = None, on: dt.date | None = None) -> tuple[Decision, "LedgerItem"]:
    """Order a rectification: a decision and a new ledger item (待整改) with measure, deadline and responsible.

    The problem text defaults to the cited problems' messages; the category comes from their rule group. A problem
    has at most one open ledger item.
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
    problems = cited_problems(session, device, problem_ids, finding_ids)
    if not problems and not (problem or "").strip():
        raise DecisionError("整改须引用至少一个问题，或写明问题描述。")
    _refuse_duplicate_items(problems)
    problem_text = (problem or "").strip() or "；".join(p.message for p in problems)
    rules = sorted({p.rule for p in problems})
    categories = sorted({category_of(r) for r in rules}) or [OTHER_CATEGORY]
    decision = _decide(session, device, "rectify", reason=problem_text, user=user, on=decided_on,
                       problems=problems)
    item = LedgerItem(device_id=device.id, decision_id=decision.id, department=device.department.name,
                      problem=problem_text, category="、".join(categories), rules=rules, measure=measure,
                      requirement=requirement, deadline=deadline, responsible=responsible,
                      status=LEDGER_STATUSES[0])
    session.add(item)
    session.flush()
    if problems:
        ids = [p.id for p in problems]
        claimed = session.execute(update(Problem).where(Problem.id.in_(ids), Problem.open_item_id.is_(None))
                                  .values(open_item_id=item.id).execution_options(synchronize_session=False)).rowcount
        if claimed != len(ids):
            taken = session.execute(select(Problem.id, Problem.open_item_id).where(
                Problem.id.in_(ids), Problem.open_item_id != item.id)).all()
            raise DecisionError("问题 " + "、".join(f"{pid}（整改台账第 {iid} 项）" for pid, iid in taken)
                                + " 已在整改中，不能重复立项。")
        for p in problems:
            session.expire(p)
    session.add(LedgerEvent(item_id=item.id, user=user, from_status=None, to_status=item.status,
                            note=f"整改时限 {deadline.isoformat()}，责任人 {responsible}"))
    _log(session, user, device, "ledger_item", item.id, "create", "status", None, item.status)
    return decision, item


def _refuse_duplicate_items(problems: list[Problem]) -> None:
    taken = [p for p in problems if p.open_item_id is not None]
    if taken:
        raise DecisionError("问题 " + "、".join(f"{p.id}（整改台账第 {p.open_item_id} 项）" for p in taken)
                            + " 已在整改中，不能重复立项。")


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
        if not chosen[0].rectified:
            raise DecisionError(f"整改台账第 {ledger_item_id} 项因{chosen[0].closed_reason}销号，未经整改核查，"
                                "不能作为恢复使用的依据。")
    open_items = [i for i in items if i.status != CLOSED]
    if open_items:
        raise DecisionError("该设备还有未销号的整改事项：" + "、".join(f"第 {i.id} 项（{i.status}）" for i in open_items)
                            + "；须全部核查销号后才能恢复使用。")
    # An item closed because the device was removed was not rectified: no basis for putting it back in use.
    closed = [i for i in items if i.rectified]
    if not closed:
        raise DecisionError(f"设备“{device.device_code}”没有已销号的整改事项；停用设备须经整改、核查销号后才能恢复使用。")
    suspension = standing_decision(session, device.id)
    if suspension is not None:
        # Only a rectification closed after this suspension ends it, not one of an earlier suspension: a close
        # recorded after the suspension, or dated after its day (either may be entered late, with its own date).
        day, at = suspension.decided_on, suspension.created_at
        recorded = _closed_at(session, [i.id for i in closed])
        closed = [i for i in closed if recorded.get(i.id, at) >= at or (i.closed_on is not None and i.closed_on > day)]
        basis_of = f"本次停用（决定第 {suspension.id} 号，{day.isoformat()}）"
        if ledger_item_id is not None and ledger_item_id not in {i.id for i in closed}:
            raise DecisionError(f"整改台账第 {ledger_item_id} 项销号在{basis_of}之前，不能作为恢复使用的依据；"
                                "须对本次停用的问题整改并核查销号后才能恢复使用。")
        if not closed:
            raise DecisionError(f"设备“{device.device_code}”自{basis_of}以来没有已销号的整改事项；"
                                "须对本次停用的问题整改并核查销号后才能恢复使用。")
        left = _unrectified(session, suspension, closed)
        if left:
            raise DecisionError(f"{basis_of}所依据的问题 " + "、".join(f"{p.id}（{p.rule}）" for p in left)
                                + " 既未整改销号，也未经审查确认已消除或排除；须对其整改并核查销号后才能恢复使用。")
    basis = ledger_item_id or closed[-1].id
    _set_status(session, device, "在用", kind="restore", user=user, only_from=("停用",))
    return _decide(session, device, "restore", reason=f"{reason}（整改台账第 {basis} 项已销号）", user=user, on=on,
                   problems=[])


def _unrectified(session: Session, suspension: Decision, closed: list[LedgerItem]) -> list[Problem]:
    """The problems the suspension cites that neither a closed item's rectification cites, nor an audit found
    gone (已消除), nor a review dismissed (已排除)."""
    covered = {pid for item in closed for pid in (item.decision.problem_ids or [])}
    wanted = [pid for pid in suspension.problem_ids or [] if pid not in covered]
    if not wanted:
        return []
    return list(session.scalars(select(Problem).where(
        Problem.id.in_(wanted), Problem.resolved_on.is_(None),
        (Problem.verdict.is_(None)) | (Problem.verdict != "dismissed")).order_by(Problem.id)))


def _closed_at(session: Session, item_ids: list[int]) -> dict[int, dt.datetime]:
    """Ledger item id -> when its latest close (销号) was recorded."""
    rows = session.execute(select(LedgerEvent.item_id, LedgerEvent.at).where(
        LedgerEvent.item_id.in_(item_ids), LedgerEvent.to_status == CLOSED).order_by(LedgerEvent.id))
    return dict(rows.all())


def remove(session: Session, device_id: int, *, user: str, reason: str, problem_ids: Iterable[int] = (),
           finding_ids: Iterable[int] = (), on: dt.date | None = None) -> Decision:
    """Remove a device (拆除); its record and history stay in the registry. Its open ledger items are closed for
    that reason (设备已拆除), not as rectified, and its open problems resolved for it (audit.registry.removal)."""
    device = get_device(session, device_id)
    reason, user = _required(reason, "拆除原因"), _required(user, "决定人")
    if device.status == "拆除":
        raise DecisionError(f"设备“{device.device_code}”已拆除。")
    problems = cited_problems(session, device, problem_ids, finding_ids)
    _set_status(session, device, "拆除", kind="remove", user=user, refuse_from=("拆除",))
    decision = _decide(session, device, "remove", reason=reason, user=user, on=on, problems=problems)
    settle_removed(session, [device.id], user=user, on=decision.decided_on,
                   basis=f"拆除决定第 {decision.id} 号：{reason}")
    return decision


def keep(session: Session, device_id: int, *, user: str, reason: str, problem_ids: Iterable[int] = (),
         finding_ids: Iterable[int] = (), on: dt.date | None = None) -> Decision:
    """Keep a device as it is despite its problems, with the reason on record (保留)."""
    device = get_device(session, device_id)
    reason, user = _required(reason, "保留的理由"), _required(user, "决定人")
    if device.status == "拆除":
        raise DecisionError(f"设备“{device.device_code}”已拆除，不能作出保留决定。")
    problems = cited_problems(session, device, problem_ids, finding_ids)
    return _decide(session, device, "keep", reason=reason, user=user, on=on, problems=problems)


def suspend_recommended(session: Session, proposals: Iterable, *, reason: str, user: str,
                        on: dt.date | None = None) -> list[Decision]:
    """Suspend every proposed device (casework.problems.suspension_proposals), each decision citing its problems."""
    reason, user = _required(reason, "停用原因"), _required(user, "决定人")
    decisions = [suspend(session, p.device.id, reason=reason, user=user, problem_ids=[x.id for x in p.problems], on=on)
                 for p in proposals]
    if not decisions:
        raise DecisionError("没有拟停用的设备：审查建议停用的问题均已决定、已排除或已消除。")
    return decisions


__all__ = ["DecisionError", "DECISION_KINDS", "LEDGER_STATUSES", "OPEN_STATUSES", "CATEGORIES", "category_of",
           "suspend", "rectify", "restore", "remove", "keep", "suspend_recommended", "device_decisions",
           "standing_decision", "device_by_code", "get_device", "cited_problems"]
