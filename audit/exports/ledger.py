"""ledger: 整改台账, one row per item with its deadline, status, 销号 date, checker and the files given as proof
(整改佐证材料), xlsx.

A 复查结果 column says what the data now shows: the latest audit run that examined each item's problems
(casework.ledger.rechecks); with a run chosen, as of that run.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from ..casework.attachments import listing
from ..casework.ledger import COMPARISON_ZH, is_overdue, items, rechecks
from ..registry.users import signatures
from .common import Col, Table, zh_date
from .data import Options, check_department, resolve_run, run_label

TITLE = "罚款实施专项监督问题整改台账"
COLUMNS = (
    Col("序号", 6, kind="int"),
    Col("单位", 16),
    Col("设备编号", 14, kind="center"),
    Col("问题类别", 14, "问题情况"),
    Col("问题描述", 32, "问题情况"),
    Col("整改措施", 22, "整改要求"),
    Col("整改要求", 20, "整改要求"),
    Col("整改时限", 12, "整改要求", kind="date"),
    Col("责任人", 10, "整改要求", kind="center"),
    Col("整改状态", 12, "整改进展", kind="center"),
    Col("是否逾期", 8, "整改进展", kind="center"),
    Col("复查结果", 12, "整改进展", kind="center"),
    Col("销号日期", 12, "销号情况", kind="date"),
    Col("核查人", 10, "销号情况", kind="center"),
    Col("核查情况", 26, "销号情况"),
    Col("整改佐证材料", 30, "销号情况"),
)


def build(session: Session, opts: Options, *, attachment: str | None = "附件") -> Table:
    check_department(session, opts.department)
    upto = resolve_run(session, opts.run_id, opts.department) if opts.run_id is not None else None
    rows = []
    signed = signatures(session)
    chosen = items(session, department=opts.department)
    recheck = rechecks(session, chosen, upto=upto)
    for n, item in enumerate(chosen, start=1):
        # An item closed for a reason (the device removed) says so and names no checker: it was not checked.
        checker = "" if item.closed_reason else signed.get(item.closed_by, item.closed_by)
        rows.append([n, item.department, item.device.device_code, item.category, item.problem, item.measure,
                     item.requirement, item.deadline, item.responsible, item.status_text,
                     "逾期" if is_overdue(item, opts.day) else "否", COMPARISON_ZH[recheck[item.id].result],
                     item.closed_on, checker, item.close_evidence, listing(item.attachments)])
    runs = sorted({r.run.id: r.run for r in recheck.values() if r.run is not None}.values(), key=lambda r: r.id)
    until = f"（截至第 {upto.id} 次审查）" if upto is not None else ""
    basis = (f"复查结果为各事项所涉问题最近一次审查{until}的结果，依据{'、'.join(run_label(r) for r in runs)}。"
             if runs else "尚无立项后的审查记录，未作复查。")
    notes = [f"说明：是否逾期按{zh_date(opts.day)}计；{basis}"]
    return Table(title=TITLE, columns=COLUMNS, rows=rows, unit=opts.department or "", date=opts.day,
                 attachment=attachment, sheet_name="整改台账", notes=notes)
