"""The rectification ledger (整改台账): 待整改 → 整改中 → 已整改待核查 → 已销号, each change a recorded event."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from ..registry.models import (
    CLOSED,
    DEVICE_REMOVED,
    LEDGER_STATUSES,
    OBSERVED,
    RESOLVED,
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
        .where(Problem.id.in_(ids), Problem.resolved_on.is_(None), Problem.last_check == OBSERVED,
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
    query = (select(LedgerItem).options(selectinload(LedgerItem.device), selectinload(LedgerItem.attachments),
                                        selectinload(LedgerItem.decision))
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


@dataclass(frozen=True)
class Recheck:
    """What the audits say of a ledger item (its 复查): result, one of COMPARISON_ZH, and the run it rests on (None:
    no run made since the item was opened examined its problems; for removed, also none when the device's removal
    resolved them, before any run)."""

    result: str
    run: AuditRun | None = None


def rechecks(session: Session, chosen: list[LedgerItem], *, upto: AuditRun | None = None) -> dict[int, Recheck]:
    """The 复查 of each item (the ledger page and its export), from the problems it cites: of each, the check of
    the latest run that examined it (Problem.checked_run_id, last_check), counted when that run was made after the
    item was opened. A run that did not examine a problem (a run of another department, a run of one department
    for a rule across departments, a run of an earlier day than the problem's latest observation) says nothing of
    it.

    still_failing: one of its problems observed (the latest run that did); fixed: every one resolved (the latest
    resolving run), removed when one was resolved because its device was removed (not rectified); otherwise
    not_assessed (missing data, a device the rules did not examine, such as a suspended device for rules about
    devices in use; an item citing no problem), with the latest run that could not tell, if any.

    A problem its device's removal resolved (no run) is taken as resolved for that reason, after any run; as of a
    run (upto), when that run's day is on or after the removal's.

    upto: as of that run instead: a problem examined again since is taken as observed if that run observed it,
    else as not known.
    """
    wanted = sorted({pid for item in chosen for pid in item.problem_ids})
    # problem id -> (run, check, resolved reason); run None: resolved by its device's removal.
    checks: dict[int, tuple[int | None, str, str | None]] = {}
    removals: dict[int, dt.date] = {}
    seen_upto: set[int] = set()
    for start in range(0, len(wanted), 5000):
        part = wanted[start:start + 5000]
        for pid, run_id, check, resolved_run, resolved_on, reason in session.execute(
                select(Problem.id, Problem.checked_run_id, Problem.last_check, Problem.resolved_run_id,
                       Problem.resolved_on, Problem.resolved_reason).where(Problem.id.in_(part))):
            checks[pid] = (run_id, check, reason)
            if resolved_on is not None and resolved_run is None:
                removals[pid] = resolved_on
        if upto is not None:
            seen_upto.update(session.scalars(select(Finding.problem_id).where(Finding.run_id == upto.id,
                                                                              Finding.problem_id.in_(part))))
    if upto is not None:
        checks = {pid: (c if c[0] <= upto.id else (upto.id, OBSERVED, None)) for pid, c in checks.items()
                  if c[0] <= upto.id or pid in seen_upto}
        removals = {pid: on for pid, on in removals.items() if on <= upto.as_of}
    checks.update((pid, (None, RESOLVED, DEVICE_REMOVED)) for pid in removals)
    ids = sorted({c[0] for c in checks.values() if c[0] is not None})
    runs = {r.id: r for start in range(0, len(ids), 5000)
            for r in session.scalars(select(AuditRun).where(AuditRun.id.in_(ids[start:start + 5000])))}

    def latest(run_ids: Iterable[int | None]) -> AuditRun | None:
        made = [r for r in run_ids if r is not None]
        return runs[max(made)] if made else None

    out: dict[int, Recheck] = {}
    for item in chosen:
        pids = item.problem_ids
        known = [checks[p] for p in pids if p in checks
                 and (checks[p][0] is None or runs[checks[p][0]].created_at >= item.created_at)]
        observed = [run_id for run_id, check, _ in known if check == OBSERVED]
        if observed:
            out[item.id] = Recheck("still_failing", latest(observed))
        elif pids and len(known) == len(pids) and all(check == RESOLVED for _, check, _ in known):
            removed = any(reason == DEVICE_REMOVED for _, _, reason in known)
            out[item.id] = Recheck("removed" if removed else "fixed", latest(r for r, _, _ in known))
        else:
            out[item.id] = Recheck("not_assessed", latest(r for r, _, _ in known))
    return out


__all__ = ["TRANSITIONS", "COMPARISON_ZH", "Recheck", "still_observed", "get_item", "advance", "close_item", "reopen",
           "items", "is_overdue", "overdue_items", "rechecks"]
