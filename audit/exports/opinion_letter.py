"""opinion-letter: 行政执法监督意见书 to one department: its open serious (严重) findings and their deadlines."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy.orm import Session

from .common import add_heading, add_paragraph, add_signature, add_title, new_document
from .data import Entry, ExportError, Options, check_department, problems, resolve_run, rule_title, run_label

TITLE = "行政执法监督意见书"
REPLY_DAYS = 30
DEFAULT_ISSUER = "（行政执法监督机构）"
BASIS = ("《中华人民共和国行政处罚法》、国务院《关于进一步规范和监督罚款设定与实施的指导意见》"
         "（国发〔2024〕5号）")


def open_serious(session: Session, opts: Options) -> tuple[list[Entry], str]:
    """The department's serious problems still open: the run's, and earlier ones decided on but not closed."""
    if not opts.department:
        raise ExportError("监督意见书须指明一个单位：请选择要出具意见书的单位。")
    check_department(session, opts.department)
    run = resolve_run(session, opts.run_id, opts.department)
    chosen = [p for p in problems(session, run, opts.department, carry_over=True)
              if p.finding.severity == "严重" and p.is_open]
    return chosen, run_label(run)


def _requirement(p: Entry, reply_by: dt.date) -> str:
    item, suspended = p.handling.item, p.handling.suspend
    parts = []
    if suspended is not None and p.device is not None and p.device.status == "停用":
        parts.append(f"该设备已于 {suspended.decided_on.isoformat()} 停用，停用期间不得用于采集违法事实")
    elif p.finding.action == "停用":
        parts.append("立即停用该设备，停用期间不得用于采集违法事实")
    if item is not None:
        parts.append(f"按整改台账第 {item.id} 项于 {item.deadline.isoformat()} 前完成整改"
                     f"（措施：{item.measure}；责任人：{item.responsible}；当前状态：{item.status}）")
    else:
        parts.append(f"于 {reply_by.isoformat()} 前核查评估并完成整改")
    return "；".join(parts) + "。"


def write_docx_file(session: Session, path: Path, opts: Options) -> Path:
    found, label = open_serious(session, opts)
    if not found:
        raise ExportError(f"“{opts.department}”没有尚未整改的严重问题，无需出具监督意见书。")
    day = opts.day
    reply_by = day + dt.timedelta(days=REPLY_DAYS)
    doc = new_document()
    add_title(doc, TITLE)
    add_paragraph(doc, f"{opts.department}：", indent=False, align="left")
    add_paragraph(doc, f"根据{BASIS}等规定，本机关对你单位非现场执法设备开展了罚款实施专项监督。经{label}，"
                       f"你单位有以下 {len(found)} 项严重问题尚未整改到位：")
    add_heading(doc, "一、存在的问题", 1)
    for n, p in enumerate(found, start=1):
        f, dev = p.finding, p.device
        where = "、".join(x for x in (dev.name, dev.road, dev.address) if x) if dev is not None else ""
        add_heading(doc, f"（{_cn(n)}）设备 {f.device_code or ''}{f'（{where}）' if where else ''}", 2)
        add_paragraph(doc, f"{rule_title(f.rule)}：{f.message}")
        add_paragraph(doc, f"依据：{f.basis}。")
    add_heading(doc, "二、监督意见", 1)
    for n, p in enumerate(found, start=1):
        add_paragraph(doc, f"{n}. 设备 {p.finding.device_code or ''}：{_requirement(p, reply_by)}")
    add_paragraph(doc, f"请你单位于 {reply_by.isoformat()} 前将整改落实情况书面报送本机关；对停用设备应在核查评估、"
                       "整改到位并经本机关核查销号后方可恢复使用。")
    add_signature(doc, opts.issuer or DEFAULT_ISSUER, day)
    doc.save(path)
    return path


_DIGITS = "零一二三四五六七八九"


def _cn(n: int) -> str:
    """Chinese numerals for 1–99: （一）…（九十九）."""
    tens, ones = divmod(n, 10)
    if n < 10:
        return _DIGITS[n]
    return (("" if tens == 1 else _DIGITS[tens]) + "十" + ("" if ones == 0 else _DIGITS[ones])) if n < 100 else str(n)
