"""self-inspection: 罚款实施专项监督突出问题清单, the attachment of a department's self-inspection report.

One row per problem: findings of one rule and one department that are handled alike (same measure, deadline,
responsible person, status) share a row and list their devices. Problems decided on after an earlier run that
the chosen run no longer reports (rectified since, or suspended) keep their row with their status, and so do
ledger items entered by hand. Dismissed findings and findings that could not be assessed (missing data) are
not problems: the notes give their counts.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session, selectinload

from ..casework.decisions import category_of
from ..registry.models import LedgerItem
from .common import Col, Table
from .data import (
    NO_DEPARTMENT,
    Options,
    check_department,
    device_list,
    discovery,
    problems,
    resolve_run,
    rule_title,
    run_label,
)

TITLE = "罚款实施专项监督突出问题清单"
COLUMNS = (
    Col("序号", 6, kind="int"),
    Col("单位", 18),
    Col("问题类别", 16, "问题情况"),
    Col("问题描述", 36, "问题情况"),
    Col("涉及设备", 20, "问题情况"),
    Col("发现方式", 16, "问题情况"),
    Col("整改措施", 24, "整改情况"),
    Col("整改时限", 12, "整改情况", kind="date"),
    Col("责任人", 10, "整改情况", kind="center"),
    Col("整改状态", 14, "整改情况", kind="center"),
)
SUSPEND_MEASURE = "立即停用，限期核查评估整改"


def build(session: Session, opts: Options) -> Table:
    check_department(session, opts.department)
    run = resolve_run(session, opts.run_id, opts.department)
    groups: dict[tuple[Any, ...], dict[str, list[Any]]] = {}
    dismissed = unassessed = carried = 0
    for p in problems(session, run, opts.department, carry_over=True):
        f = p.finding
        if p.review == "dismissed":
            dismissed += 1
            continue
        if p.cannot_assess:
            unassessed += 1
            continue
        carried += p.carried
        item = p.handling.item
        measure = item.measure if item else (SUSPEND_MEASURE if f.action == "停用" else "")
        key = (f.department or NO_DEPARTMENT, category_of(f.rule), f.rule, discovery(p), measure,
               item.deadline if item else None, item.responsible if item else "", p.handling.status_text(p.device))
        group = groups.setdefault(key, {"devices": [], "messages": []})
        group["devices"].append(f.device_code)
        group["messages"].append(f.message)
    rows = []
    for key in sorted(groups, key=lambda k: (k[0], k[1], k[2], k[3])):
        dept, cat, rule, how, measure, deadline, responsible, status = key
        group = groups[key]
        title = rule_title(rule)
        text = f"{title}：{group['messages'][0]}" if len(group["devices"]) == 1 else title
        rows.append([dept, cat, text, device_list(group["devices"]), how, measure, deadline, responsible, status])
    manual = manual_items(session, opts.department)
    for item in manual:
        status = f"{item.status_text} {item.closed_on.isoformat()}" if item.closed_on else item.status
        rows.append([item.department, item.category, item.problem, item.device.device_code,
                     f"整改台账第 {item.id} 项", item.measure, item.deadline, item.responsible, status])
    notes = [f"说明：1. 本表依据{run_label(run)}的结果、处理决定和整改台账生成，同类问题合并为一行。"]
    extra = [f"其中 {carried} 项为此前审查发现、已作出处理决定、本次审查不再报告的问题（已整改或已停用）。" if carried else "",
             f"其中 {len(manual)} 行为人工列入整改台账的事项。" if manual else "",
             f"另有 {unassessed} 项因登记数据缺失无法审查，未列入本表，请补充数据后重新审查。" if unassessed else "",
             f"另有 {dismissed} 项经核查排除，未列入本表。" if dismissed else ""]
    notes += [f"{n}. {text}" for n, text in enumerate((t for t in extra if t), start=2)]
    return Table(title=TITLE, columns=COLUMNS, rows=[[i, *r] for i, r in enumerate(rows, start=1)],
                 unit=opts.department or "", date=opts.day, attachment="附件", sheet_name="突出问题清单", notes=notes)


def manual_items(session: Session, department: str | None) -> list[LedgerItem]:
    """Ledger items entered by hand (citing no rule)."""
    query = (select(LedgerItem).options(selectinload(LedgerItem.device))
             .where(cast(LedgerItem.rules, String) == "[]").order_by(LedgerItem.department, LedgerItem.id))
    if department:
        query = query.where(LedgerItem.department == department)
    return [i for i in session.scalars(query) if not i.rules]
