"""suspension-list: 停用设备清单, every device now suspended (停用) with the decision that suspended it.

A device the department itself registered as 停用, with no suspension decision in camaudit, is listed too, its
reason saying so.
"""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..registry.models import CLOSED, Decision, Finding, LedgerItem
from .common import Col, Table, add_attachment, new_document, write_xlsx
from .data import Options, check_department, devices_of, rule_title

TITLE = "非现场执法设备停用清单"
COLUMNS = (
    Col("序号", 6, kind="int"),
    Col("单位", 16),
    Col("设备编号", 14, kind="center"),
    Col("设备名称", 18),
    Col("设备类型", 10, kind="center"),
    Col("道路名称", 14, "设置地点"),
    Col("具体位置", 22, "设置地点"),
    Col("方向", 10, "设置地点", kind="center"),
    Col("停用日期", 12, "停用决定", kind="date"),
    Col("停用原因", 30, "停用决定"),
    Col("涉及问题", 24, "停用决定"),
    Col("决定人", 10, "停用决定", kind="center"),
    Col("整改状态", 14, kind="center"),
)


def build(session: Session, opts: Options) -> Table:
    check_department(session, opts.department)
    devices = devices_of(session, opts.department, status="停用")
    ids = [d.id for d in devices]
    latest: dict[int, Decision] = {}
    items: dict[int, list[LedgerItem]] = {}
    if ids:
        for d in session.scalars(select(Decision).where(Decision.device_id.in_(ids), Decision.kind == "suspend")
                                 .order_by(Decision.id)):
            latest[d.device_id] = d
        for item in session.scalars(select(LedgerItem).where(LedgerItem.device_id.in_(ids)).order_by(LedgerItem.id)):
            items.setdefault(item.device_id, []).append(item)
    cited = sorted({i for d in latest.values() for i in d.finding_ids or []})
    rules = dict(session.execute(select(Finding.id, Finding.rule).where(Finding.id.in_(cited))).all()) if cited else {}
    rows = []
    for n, dev in enumerate(devices, start=1):
        decision = latest.get(dev.id)
        codes = sorted({rules[i] for i in (decision.finding_ids if decision else []) if i in rules})
        rows.append([n, dev.department.name, dev.device_code, dev.name, dev.device_type, dev.road, dev.address,
                     dev.direction, decision.decided_on if decision else None,
                     decision.reason if decision else "单位登记为停用（未在本系统作出停用决定）",
                     "；".join(f"{c} {rule_title(c)}" for c in codes), decision.decided_by if decision else "",
                     _ledger_status(items.get(dev.id, []))])
    return Table(title=TITLE, columns=COLUMNS, rows=rows, unit=opts.department or "", date=opts.day,
                 attachment="附件", sheet_name="停用设备清单",
                 notes=[f"说明：截至 {opts.day.isoformat()}，共 {len(rows)} 台设备处于停用状态。"])


def _ledger_status(items: list[LedgerItem]) -> str:
    if not items:
        return "未列入整改台账"
    open_items = [i for i in items if i.status != CLOSED]
    if open_items:
        return "、".join(sorted({i.status for i in open_items}))
    return f"已销号（{max(i.closed_on for i in items if i.closed_on).isoformat()}），待恢复使用"


def write_xlsx_file(session: Session, path: Path, opts: Options) -> Path:
    return write_xlsx(path, [build(session, opts)])


def write_docx_file(session: Session, path: Path, opts: Options) -> Path:
    doc = new_document(landscape=True)
    add_attachment(doc, build(session, opts), new_section=False)
    doc.save(path)
    return path
