"""The figures the reports share, each counting one department (or all): devices, problems by kind, suspensions,
the rectification plan."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..casework.decisions import category_of
from ..casework.ledger import items as ledger_items
from ..registry.models import CLOSED, Decision, Department, Device, LedgerItem
from .common import Col
from .data import Entry

SEVERITIES = ("严重", "较重", "一般")
STATUS_ORDER = ("在用", "停用", "拆除", "拟建")
NO_STATUS = "未登记状态"
# The eight things every device is checked for (the six problems of 国发〔2024〕5号 and the two focus items).
CHECKED = "法制和技术审核、设置地点公布、明显可见标识、计量检定、设置地点间距和数量、设置依据和实际监管需要、违法采集量和罚款数额"


def device_counts(session: Session, department: str | None) -> Counter:
    query = select(Device.status, func.count()).join(Department).group_by(Device.status)
    if department:
        query = query.where(Department.name == department)
    return Counter({status or NO_STATUS: n for status, n in session.execute(query)})


def status_text(counts: Counter) -> str:
    parts = [f"{s} {counts[s]} 台" for s in (*STATUS_ORDER, NO_STATUS) if counts[s]]
    return "、".join(parts) or "无"


def type_text(session: Session, department: str | None) -> str:
    query = select(Device.device_type, func.count()).join(Department).group_by(Device.device_type)
    if department:
        query = query.where(Department.name == department)
    return "、".join(f"{t} {n} 台" for t, n in sorted(session.execute(query).all(), key=lambda r: (-r[1], r[0])))


def real_problems(found: list[Entry]) -> list[Entry]:
    """The problems a report counts: not cannot-assess, not dismissed."""
    return [p for p in found if not p.cannot_assess and p.review != "dismissed"]


def severity_text(found: list[Entry]) -> str:
    sev = Counter(p.finding.severity for p in found)
    return "、".join(f"{s} {sev[s]} 项" for s in SEVERITIES)


def device_total(found: list[Entry]) -> int:
    return len({p.finding.device_code for p in found if p.finding.device_code})


CATEGORY_COLUMNS = (Col("问题类别", 30), Col("问题数", 8, kind="int"), Col("严重", 7, "其中", "int"),
                    Col("较重", 7, "其中", "int"), Col("一般", 7, "其中", "int"), Col("涉及设备", 9, kind="int"))


def category_rows(found: list[Entry]) -> list[list]:
    """One row per 问题类别: problems, by severity, devices; a total row; (无) when there is none."""
    groups: dict[str, list[Entry]] = {}
    for p in found:
        groups.setdefault(category_of(p.finding.rule), []).append(p)
    rows = []
    for category in sorted(groups):
        entries = groups[category]
        sev = Counter(p.finding.severity for p in entries)
        rows.append([category, len(entries), sev["严重"], sev["较重"], sev["一般"], device_total(entries)])
    if not rows:
        return [["（无）", 0, 0, 0, 0, 0]]
    sev = Counter(p.finding.severity for p in found)
    rows.append(["合计", len(found), sev["严重"], sev["较重"], sev["一般"], device_total(found)])
    return rows


@dataclass
class Suspension:
    device: Device
    decision: Decision | None


def suspended(session: Session, department: str | None) -> list[Suspension]:
    """Devices now 停用, each with the suspension decision it rests on (None: registered so by the department)."""
    query = (select(Device).join(Department).where(Device.status == "停用")
             .order_by(Department.name, Device.device_code))
    if department:
        query = query.where(Department.name == department)
    devices = list(session.scalars(query))
    latest: dict[int, Decision] = {}
    if devices:
        for d in session.scalars(select(Decision).where(Decision.device_id.in_([x.id for x in devices]),
                                                        Decision.kind == "suspend").order_by(Decision.id)):
            latest[d.device_id] = d
    return [Suspension(d, latest.get(d.id)) for d in devices]


SUSPENDED_COLUMNS = (Col("设备编号", 12, kind="center"), Col("设备名称", 20), Col("设置地点", 22),
                     Col("停用日期", 12, kind="date"), Col("停用原因", 30))


def suspended_rows(found: list[Suspension]) -> list[list]:
    return [[s.device.device_code, s.device.name, "、".join(x for x in (s.device.road, s.device.address) if x),
             s.decision.decided_on if s.decision else None,
             s.decision.reason if s.decision else "单位登记为停用"] for s in found]


PLAN_COLUMNS = (Col("问题类别", 24), Col("事项", 7, kind="int"), Col("整改时限", 18, kind="center"),
                Col("责任人", 14, kind="center"), Col("已销号", 7, kind="int"), Col("未完成", 7, kind="int"))


def rectification_rows(items: list[LedgerItem]) -> list[list]:
    """The rectification plan by 问题类别: items, the deadlines (earliest–latest), the responsible, progress."""
    groups: dict[str, list[LedgerItem]] = {}
    for item in items:
        groups.setdefault(item.category, []).append(item)
    rows = []
    for category in sorted(groups):
        chosen = groups[category]
        first, last = min(i.deadline for i in chosen), max(i.deadline for i in chosen)
        when = first.isoformat() if first == last else f"{first.isoformat()} 至 {last.isoformat()}"
        people = "、".join(dict.fromkeys(i.responsible for i in chosen))
        closed = sum(i.status == CLOSED for i in chosen)
        rows.append([category, len(chosen), when, people, closed, len(chosen) - closed])
    return rows or [["（无）", 0, "", "", 0, 0]]


def ledger_of(session: Session, department: str | None) -> list[LedgerItem]:
    return ledger_items(session, department=department)


def removed_text(items: list[LedgerItem], sep: str = "，") -> str:
    """The items closed because their device was removed, as a figure of their own (empty when none): they were
    not rectified, so no count of rectified items (已销号) holds them."""
    removed = sum(i.status == CLOSED and not i.rectified for i in items)
    return f"{sep}因设备拆除销号 {removed} 项" if removed else ""


def progress_text(items: list[LedgerItem], day: dt.date) -> str:
    status = Counter(i.status for i in items)
    overdue = sum(i.status in ("待整改", "整改中") and i.deadline < day for i in items)
    return (f"列入整改台账 {len(items)} 项，已销号 {sum(i.rectified for i in items)} 项{removed_text(items)}，"
            f"已整改待核查 {status['已整改待核查']} 项，整改中 {status['整改中']} 项，待整改 {status['待整改']} 项；"
            f"逾期未整改 {overdue} 项")


__all__ = ["CHECKED", "device_counts", "status_text", "type_text", "real_problems", "severity_text", "device_total",
           "CATEGORY_COLUMNS", "category_rows", "Suspension", "suspended", "SUSPENDED_COLUMNS", "suspended_rows",
           "PLAN_COLUMNS", "rectification_rows", "ledger_of", "removed_text", "progress_text"]
