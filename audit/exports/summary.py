"""summary: 罚款实施专项监督工作总结, docx — a department's (the figures of that department only), or the bureau's
across departments.

Statistics by department (across departments), problem kind and rule; what was suspended and rectified; one
typical case (a finding chosen by the author); the note on accountability (追责问责、容错免责), which the author
writes; the detailed rectification ledger as attachment. Every text is editable before filing.
"""
from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..casework.decisions import category_of
from ..casework.ledger import overdue_items
from ..registry.models import CLOSED, LEDGER_STATUSES, Decision, Department, Device, Finding, LedgerItem
from ..registry.users import signatures
from . import figures
from . import ledger as ledger_export
from .common import Col, zh_date
from .data import (
    NO_DEPARTMENT,
    ExportError,
    Options,
    check_department,
    examined_devices,
    layers_text,
    problems,
    resolve_run,
    rule_title,
    run_label,
)
from .reports import PLACEHOLDER, Grid, Heading, Report, Text

KIND = "summary"
TITLE = "罚款实施专项监督工作总结"
ACTIONS = ("停用", "整改", "核查")
DEFAULT_ISSUER = "（行政执法监督机构）"
ACCOUNTABILITY = (f"{PLACEHOLDER}追责问责和容错免责情况：对违规设置、使用非现场执法设备的责任单位和人员的处理情况；"
                  "对符合容错免责情形、予以免责的认定情况及理由。）")
NO_CASE = f"{PLACEHOLDER}或选定典型案例：一起经核查确认的问题，从发现、处理到整改的经过。）"


def build(session: Session, opts: Options) -> Report:
    department = opts.department
    check_department(session, department)
    run = resolve_run(session, opts.run_id, department)
    found = problems(session, run, department)
    real = figures.real_problems(found)
    unassessed = sum(p.cannot_assess for p in found)
    dismissed = sum(p.review == "dismissed" and not p.cannot_assess for p in found)
    devices = figures.device_counts(session, department)
    scope = department or "各执法单位"

    blocks: list = [Heading("一、基本情况"), Text("basic", "一、基本情况", (
        f"截至{zh_date(opts.day)}，{scope}登记非现场执法设备 {sum(devices.values())} 台（{figures.status_text(devices)}）。"
        f"{run_label(run)}共审查{'本单位' if department else ''}设备 {examined_devices(session, run, department)} 台，"
        f"发现问题 {len(real)} 项，其中{figures.severity_text(real)}，涉及设备 {figures.device_total(real)} 台；"
        f"另有 {unassessed} 项因登记数据缺失无法审查，{dismissed} 项经核查排除。{layers_text(run)}"))]

    blocks.append(Heading("二、发现的问题"))
    if department:
        blocks += [Heading("（一）按问题类别统计", 2), Grid(figures.CATEGORY_COLUMNS, figures.category_rows(real))]
    else:
        blocks += [Heading("（一）按单位统计", 2), Grid(_DEPARTMENT_COLUMNS, _department_rows(real))]
    by_rule = Counter(p.finding.rule for p in real)
    blocks += [Heading("（二）按问题类别和规则统计", 2),
               Grid([Col("问题类别", 24), Col("规则", 10, kind="center"), Col("问题", 30), Col("数量", 8, kind="int")],
                    [[category_of(r), r, rule_title(r), n] for r, n in sorted(by_rule.items())]
                    or [["（无）", "", "", 0]])]
    by_action = Counter(p.finding.action for p in real)
    blocks += [Heading("（三）按处理建议统计", 2),
               Text("actions", "（三）按处理建议统计", "，".join(f"建议{a} {by_action[a]} 项" for a in ACTIONS) + "。")]

    blocks.append(Heading("三、整改落实情况"))
    blocks += _decisions(session, opts)
    blocks.append(Heading("四、典型案例"))
    blocks += _case(session, opts)
    blocks += [Heading("五、追责问责和容错免责情况"), Text("accountability", "五、追责问责和容错免责情况", ACCOUNTABILITY)]
    issuer = opts.issuer or department or DEFAULT_ISSUER
    return Report(kind=KIND, title=f"{department or ''}{TITLE}", blocks=blocks, issuer=issuer, day=opts.day,
                  attachments=[ledger_export.build(session, opts, attachment="附件")],
                  choices={"case_finding_id": opts.case_finding_id})


_DEPARTMENT_COLUMNS = (Col("单位", 30), Col("问题数", 10, kind="int"), Col("严重", 8, "其中", "int"),
                       Col("较重", 8, "其中", "int"), Col("一般", 8, "其中", "int"), Col("涉及设备", 10, kind="int"))


def _department_rows(real: list) -> list[list]:
    by_dept: dict[str, list] = {}
    for p in real:
        by_dept.setdefault(p.finding.department or NO_DEPARTMENT, []).append(p)
    rows = []
    for name, entries in sorted(by_dept.items()):
        sev = Counter(p.finding.severity for p in entries)
        rows.append([name, len(entries), sev["严重"], sev["较重"], sev["一般"], figures.device_total(entries)])
    return rows or [["（无）", 0, 0, 0, 0, 0]]


def _decisions(session: Session, opts: Options) -> list:
    query = select(Decision.kind, Decision.device_id, Device.status).join(Device).join(Department)
    if opts.department:
        query = query.where(Department.name == opts.department)
    rows = session.execute(query).all()
    kinds = Counter(kind for kind, _, _ in rows)
    suspended_now = len({dev for kind, dev, status in rows if kind == "suspend" and status == "停用"})
    items = figures.ledger_of(session, opts.department)
    status = Counter(i.status for i in items)
    status[CLOSED] = sum(i.rectified for i in items)
    overdue = overdue_items(session, opts.day, opts.department)
    return [
        Heading("（一）停用情况", 2),
        Text("suspensions", "（一）停用情况",
             f"共作出停用决定 {kinds['suspend']} 项，目前仍停用 {suspended_now} 台；恢复使用 {kinds['restore']} 项，"
             f"拆除 {kinds['remove']} 项，经核查保留使用 {kinds['keep']} 项。"),
        Heading("（二）整改情况", 2),
        Text("rectification", "（二）整改情况",
             f"列入整改台账 {len(items)} 项，其中" + "、".join(f"{s} {status[s]} 项" for s in LEDGER_STATUSES)
             + figures.removed_text(items, "、") + f"；截至{zh_date(opts.day)}逾期未整改 {len(overdue)} 项。" + ("整改台账详见附件。" if items else "")),
    ]


def _case(session: Session, opts: Options) -> list:
    if opts.case_finding_id is None:
        return [Text("case", "四、典型案例", NO_CASE)]
    finding = session.get(Finding, opts.case_finding_id)
    if finding is None:
        raise ExportError(f"没有编号为 {opts.case_finding_id} 的问题，不能作为典型案例。")
    if opts.department and finding.department != opts.department:
        raise ExportError(f"问题 {finding.id} 属于“{finding.department}”，不是“{opts.department}”的问题。")
    return case_blocks(session, finding)


def case_blocks(session: Session, finding: Finding) -> list:
    """The typical case: the device, what was found and on what basis, the decisions and the ledger items."""
    dev = session.get(Device, finding.device_id) if finding.device_id is not None else None
    where = "、".join(x for x in ((dev.name, dev.road, dev.address) if dev else ()) if x)
    lines = [f"设备 {finding.device_code or ''}{f'（{where}）' if where else ''}：{finding.message}",
             f"依据：{finding.basis}。"]
    if dev is not None:
        signed = signatures(session)
        for d in session.scalars(select(Decision).where(Decision.device_id == dev.id).order_by(Decision.id)):
            who = signed.get(d.decided_by, d.decided_by)
            lines.append(f"{zh_date(d.decided_on)}，{who}作出{d.kind_zh}决定：{d.reason.rstrip('。')}。")
        for item in session.scalars(select(LedgerItem).where(LedgerItem.device_id == dev.id).order_by(LedgerItem.id)):
            text = (f"整改台账第 {item.id} 项：{item.measure}，时限{zh_date(item.deadline)}，责任人 "
                    f"{item.responsible}，状态 {item.status}")
            if item.closed_reason:
                text += f"，{zh_date(item.closed_on)}因{item.closed_reason}销号（{item.close_evidence}）"
            elif item.status == CLOSED:
                text += (f"，{zh_date(item.closed_on)}经 {signed.get(item.closed_by, item.closed_by)} 核查销号"
                         f"（{item.close_evidence}）")
            lines.append(text + "。")
    return [Heading(f"{finding.department}{dev.device_type if dev else ''}设备{rule_title(finding.rule)}", 2),
            Text("case", "四、典型案例", "\n".join(lines))]


def period(opts: Options) -> str:
    return str(opts.day.year)


__all__ = ["KIND", "TITLE", "build", "period", "case_blocks", "ACCOUNTABILITY", "NO_CASE"]
