"""summary: 罚款实施专项监督工作总结, docx.

Statistics by department, rule and action; what was suspended and rectified; one typical case chosen by the
auditor (a finding id); the rectification ledger as attachment.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..casework.decisions import category_of
from ..casework.ledger import items as ledger_items
from ..casework.ledger import overdue_items
from ..registry.models import CLOSED, LEDGER_STATUSES, Decision, Department, Device, Finding, LedgerItem
from ..registry.users import signatures
from . import ledger as ledger_export
from .common import (
    Col,
    add_attachment,
    add_heading,
    add_paragraph,
    add_signature,
    add_table,
    add_title,
    new_document,
    text_width_mm,
)
from .data import (
    NO_DEPARTMENT,
    ExportError,
    Options,
    check_department,
    layers_text,
    problems,
    resolve_run,
    rule_title,
    run_label,
)

TITLE = "罚款实施专项监督工作总结"
SEVERITIES = ("严重", "较重", "一般")
ACTIONS = ("停用", "整改", "核查")
DEFAULT_ISSUER = "（行政执法监督机构）"


def _device_counts(session: Session, department: str | None) -> Counter:
    query = select(Device.status, func.count()).join(Department).group_by(Device.status)
    if department:
        query = query.where(Department.name == department)
    return Counter({status or "未登记状态": n for status, n in session.execute(query)})


def write_docx_file(session: Session, path: Path, opts: Options) -> Path:
    check_department(session, opts.department)
    run = resolve_run(session, opts.run_id, opts.department)
    found = problems(session, run, opts.department)
    real = [p for p in found if not p.cannot_assess and p.review != "dismissed"]
    unassessed = sum(p.cannot_assess for p in found)
    dismissed = sum(p.review == "dismissed" and not p.cannot_assess for p in found)
    devices = _device_counts(session, opts.department)
    scope = opts.department or "各执法单位"

    doc = new_document()
    add_title(doc, f"{opts.department or ''}{TITLE}")
    add_heading(doc, "一、基本情况", 1)
    status_text = "、".join(f"{s} {devices[s]} 台" for s in ("在用", "停用", "拆除", "拟建", "未登记状态") if devices[s])
    sev = Counter(p.finding.severity for p in real)
    add_paragraph(doc, f"截至 {opts.day.isoformat()}，{scope}登记非现场执法设备 {sum(devices.values())} 台"
                       f"（{status_text or '无'}）。{run_label(run)}共审查设备 {run.device_count} 台，发现问题 "
                       f"{len(real)} 项，其中严重 {sev['严重']} 项、较重 {sev['较重']} 项、一般 {sev['一般']} 项，"
                       f"涉及设备 {len({p.finding.device_code for p in real if p.finding.device_code})} 台；"
                       f"另有 {unassessed} 项因登记数据缺失无法审查，{dismissed} 项经核查排除。{layers_text(run)}")

    add_heading(doc, "二、发现的问题", 1)
    add_heading(doc, "（一）按单位统计", 2)
    by_dept: dict[str, Counter] = {}
    for p in real:
        c = by_dept.setdefault(p.finding.department or NO_DEPARTMENT, Counter())
        c[p.finding.severity] += 1
    dept_devices = {d: len({p.finding.device_code for p in real
                            if (p.finding.department or NO_DEPARTMENT) == d and p.finding.device_code})
                    for d in by_dept}
    add_table(doc, [Col("单位", 30), Col("问题数", 10, kind="int"), Col("严重", 8, "其中", "int"),
                    Col("较重", 8, "其中", "int"), Col("一般", 8, "其中", "int"), Col("涉及设备", 10, kind="int")],
              [[d, sum(c[s] for s in SEVERITIES), c["严重"], c["较重"], c["一般"], dept_devices[d]]
               for d, c in sorted(by_dept.items())] or [["（无）", 0, 0, 0, 0, 0]], text_width_mm(doc))
    add_heading(doc, "（二）按问题类别和规则统计", 2)
    by_rule = Counter(p.finding.rule for p in real)
    add_table(doc, [Col("问题类别", 24), Col("规则", 10, kind="center"), Col("问题", 30), Col("数量", 8, kind="int")],
              [[category_of(r), r, rule_title(r), n] for r, n in sorted(by_rule.items())] or [["（无）", "", "", 0]],
              text_width_mm(doc))
    by_action = Counter(p.finding.action for p in real)
    add_heading(doc, "（三）按处理建议统计", 2)
    add_paragraph(doc, "，".join(f"建议{a} {by_action[a]} 项" for a in ACTIONS) + "。")

    add_heading(doc, "三、整改落实情况", 1)
    _decisions(session, doc, opts)

    add_heading(doc, "四、典型案例", 1)
    _case(session, doc, opts)

    add_heading(doc, "五、追责问责和容错免责情况", 1)
    add_paragraph(doc, "（由审查机构根据核查情况填写。）")

    add_paragraph(doc)
    add_paragraph(doc, "附件：罚款实施专项监督问题整改台账")
    add_signature(doc, opts.issuer or DEFAULT_ISSUER, opts.day)
    add_attachment(doc, ledger_export.build(session, opts, attachment="附件"), landscape=True)
    doc.save(path)
    return path


def _decisions(session: Session, doc, opts: Options) -> None:
    query = select(Decision.kind, Decision.device_id, Device.status).join(Device).join(Department)
    if opts.department:
        query = query.where(Department.name == opts.department)
    rows = session.execute(query).all()
    kinds = Counter(kind for kind, _, _ in rows)
    suspended_now = len({dev for kind, dev, status in rows if kind == "suspend" and status == "停用"})
    add_heading(doc, "（一）停用情况", 2)
    add_paragraph(doc, f"共作出停用决定 {kinds['suspend']} 项，目前仍停用 {suspended_now} 台；恢复使用 "
                       f"{kinds['restore']} 项，拆除 {kinds['remove']} 项，经核查保留使用 {kinds['keep']} 项。")
    items = ledger_items(session, department=opts.department)
    status = Counter(i.status for i in items)
    overdue = overdue_items(session, opts.day, opts.department)
    add_heading(doc, "（二）整改情况", 2)
    add_paragraph(doc, f"列入整改台账 {len(items)} 项，其中"
                       + "、".join(f"{s} {status[s]} 项" for s in LEDGER_STATUSES)
                       + f"；截至 {opts.day.isoformat()} 逾期未整改 {len(overdue)} 项。"
                       + ("整改台账详见附件。" if items else ""))


def _case(session: Session, doc, opts: Options) -> None:
    if opts.case_finding_id is None:
        add_paragraph(doc, "（未选定典型案例。）")
        return
    finding = session.get(Finding, opts.case_finding_id)
    if finding is None:
        raise ExportError(f"没有编号为 {opts.case_finding_id} 的问题，不能作为典型案例。")
    if opts.department and finding.department != opts.department:
        raise ExportError(f"问题 {finding.id} 属于“{finding.department}”，不是“{opts.department}”的问题。")
    dev = session.get(Device, finding.device_id) if finding.device_id is not None else None
    where = "、".join(x for x in ((dev.name, dev.road, dev.address) if dev else ()) if x)
    add_heading(doc, f"{finding.department}{dev.device_type if dev else ''}设备{rule_title(finding.rule)}", 2)
    add_paragraph(doc, f"设备 {finding.device_code or ''}{f'（{where}）' if where else ''}：{finding.message}")
    add_paragraph(doc, f"依据：{finding.basis}。")
    if dev is not None:
        signed = signatures(session)
        for d in session.scalars(select(Decision).where(Decision.device_id == dev.id).order_by(Decision.id)):
            who = signed.get(d.decided_by, d.decided_by)
            add_paragraph(doc, f"{d.decided_on.isoformat()}，{who}作出{d.kind_zh}决定：{d.reason.rstrip('。')}。")
        for item in session.scalars(select(LedgerItem).where(LedgerItem.device_id == dev.id).order_by(LedgerItem.id)):
            text = (f"整改台账第 {item.id} 项：{item.measure}，时限 {item.deadline.isoformat()}，责任人 "
                    f"{item.responsible}，状态 {item.status}")
            if item.status == CLOSED:
                text += (f"，{item.closed_on.isoformat()} 经 {signed.get(item.closed_by, item.closed_by)} 核查销号"
                         f"（{item.close_evidence}）")
            add_paragraph(doc, text + "。")
