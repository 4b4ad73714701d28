"""suspension-list: 停用设备清单, in two parts.

1. 已决定停用: every device now suspended (停用) with the decision that suspended it; a device the department itself
   registered as 停用, with no suspension decision in camaudit, is listed too, its reason saying so.
2. 拟停用（审查建议，待决定）: the devices the audit proposes to suspend — open problems whose action is 停用,
   neither decided on nor dismissed (audit.casework.problems.suspension_proposals) — each with its problems and
   their legal basis, so the list serves right after the audit.
"""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..casework.problems import suspension_proposals
from ..registry.models import CLOSED, REVIEW_ZH, Decision, Finding, LedgerItem, Problem
from ..registry.users import signatures
from .common import Col, Table, add_attachment, new_document, write_xlsx, zh_date
from .data import Options, check_department, devices_of, rule_title

TITLE = "非现场执法设备停用清单"
PROPOSED_TITLE = "非现场执法设备拟停用清单（审查建议，待决定）"
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
PROPOSED_COLUMNS = (
    Col("序号", 6, kind="int"),
    Col("单位", 16),
    Col("设备编号", 14, kind="center"),
    Col("设备名称", 18),
    Col("设备类型", 10, kind="center"),
    Col("具体位置", 22, "设置地点"),
    Col("问题", 40, "审查发现"),
    Col("依据", 30, "审查发现"),
    Col("核查情况", 10, "审查发现", kind="center"),
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
    cited = sorted({i for d in latest.values() for i in d.problem_ids or []})
    rules = dict(session.execute(select(Problem.id, Problem.rule).where(Problem.id.in_(cited))).all()) if cited else {}
    rows = []
    signed = signatures(session)
    for n, dev in enumerate(devices, start=1):
        decision = latest.get(dev.id)
        codes = sorted({rules[i] for i in (decision.problem_ids if decision else []) if i in rules})
        rows.append([n, dev.department.name, dev.device_code, dev.name, dev.device_type, dev.road, dev.address,
                     dev.direction, decision.decided_on if decision else None,
                     decision.reason if decision else "单位登记为停用（未在本系统作出停用决定）",
                     "；".join(f"{c} {rule_title(c)}" for c in codes), signed.get(decision.decided_by, decision.decided_by) if decision else "",
                     _ledger_status(items.get(dev.id, []))])
    return Table(title=TITLE, columns=COLUMNS, rows=rows, unit=opts.department or "", date=opts.day,
                 attachment="附件1", sheet_name="已决定停用",
                 notes=[f"说明：截至{zh_date(opts.day)}，共 {len(rows)} 台设备处于停用状态。"])


def build_proposed(session: Session, opts: Options) -> Table:
    check_department(session, opts.department)
    rows = []
    proposals = suspension_proposals(session, opts.department)
    count = len(proposals)
    for n, proposal in enumerate(proposals, start=1):
        dev = proposal.device
        found = "；".join(f"问题 {p.id} {p.rule} {rule_title(p.rule)}：{p.message}" for p in proposal.problems)
        basis = "；".join(dict.fromkeys(b for p in proposal.problems for b in _bases(session, p)))
        checked = "、".join(sorted({REVIEW_ZH.get(p.verdict or "", "待核查") for p in proposal.problems}))
        rows.append([n, dev.department.name, dev.device_code, dev.name, dev.device_type, dev.address, found, basis,
                     checked])
    if not rows:
        rows = [[None, "（无）", "", "", "", "", "", "", ""]]
    return Table(title=PROPOSED_TITLE, columns=PROPOSED_COLUMNS, rows=rows, unit=opts.department or "",
                 date=opts.day, attachment="附件2", sheet_name="拟停用（待决定）",
                 notes=[f"说明：截至{zh_date(opts.day)}，审查建议停用、尚未作出决定的设备共 {count} 台"
                        "（建议停用的问题未经核查排除，也未作出停用、整改或保留决定）。"])


def _bases(session: Session, problem: Problem) -> list[str]:
    """The legal basis the latest finding of the problem cites."""
    basis = session.scalar(select(Finding.basis).where(Finding.problem_id == problem.id)
                           .order_by(Finding.id.desc()).limit(1))
    return [b for b in (basis or "").split("；") if b]


def _ledger_status(items: list[LedgerItem]) -> str:
    if not items:
        return "未列入整改台账"
    open_items = [i for i in items if i.status != CLOSED]
    if open_items:
        return "、".join(sorted({i.status for i in open_items}))
    rectified = [i for i in items if i.rectified]
    if not rectified:  # closed because the device was removed: no basis for a restore (decisions.restore)
        return f"{CLOSED}（{items[-1].closed_reason}，{max(i.closed_on for i in items).isoformat()}），未经整改核查"
    return f"已销号（{max(i.closed_on for i in rectified).isoformat()}），待恢复使用"


def write_xlsx_file(session: Session, path: Path, opts: Options) -> Path:
    return write_xlsx(path, [build(session, opts), build_proposed(session, opts)])


def write_docx_file(session: Session, path: Path, opts: Options) -> Path:
    doc = new_document(landscape=True)
    add_attachment(doc, build(session, opts), new_section=False)
    add_attachment(doc, build_proposed(session, opts))
    doc.save(path)
    return path
