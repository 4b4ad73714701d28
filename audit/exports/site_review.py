"""site-review: 年度评估表 — every device in use with the evidence of its year (captures, open problems, the
registered justification) and the auditor's assessment (保留 / 迁移 / 拆除, the reason, who, when), or how long it
is overdue; xlsx or docx (landscape)."""
from __future__ import annotations

from sqlalchemy.orm import Session

from ..casework.assessments import STATE_ZH, captures, schedule
from ..casework.problems import open_problems
from ..registry.users import signatures
from .common import Col, Table, zh_date
from .data import Options, check_department, latest_run

TITLE = "非现场执法设备年度评估表"
COLUMNS = (
    Col("序号", 5, kind="int"),
    Col("单位", 14),
    Col("设备编号", 12, kind="center"),
    Col("设备名称和设置地点", 24),
    Col("启用日期", 11, kind="date"),
    Col("近一年抓拍（起）", 9, "评估依据", "int"),
    Col("未解决的问题", 14, "评估依据"),
    Col("设置依据", 18, "评估依据"),
    Col("评估结论", 8, "年度评估", "center"),
    Col("评估理由", 24, "年度评估"),
    Col("评估人和日期", 12, "年度评估", "center"),
    Col("下次评估期限", 11, kind="date"),
)


def build(session: Session, opts: Options) -> Table:
    check_department(session, opts.department)
    run = latest_run(session, opts.department)
    rows_ = schedule(session, opts.day, department=opts.department, profile=run.profile if run else "national")
    issues: dict[int, list[str]] = {}
    for p in open_problems(session, opts.department, device_ids=[r.device.id for r in rows_]):
        if not (p.verdict == "dismissed" and not p.stale):
            issues.setdefault(p.device_id, []).append(p.rule)
    signed = signatures(session)
    rows = []
    for n, r in enumerate(rows_, start=1):
        d, last = r.device, r.last
        seen = captures(session, d.id, opts.day)
        site = "、".join(x for x in (d.road, d.address) if x)
        who = f"{signed.get(last.assessed_by, last.assessed_by)}\n{last.assessed_on.isoformat()}" if last else ""
        rows.append([n, d.department.name, d.device_code, "\n".join(x for x in (d.name, site) if x), d.in_service_on,
                     seen["total"] if seen["source"] else "无数据", "、".join(issues.get(d.id, [])) or "无",
                     d.justification or "未填",
                     last.outcome_zh if last else STATE_ZH[r.state] if r.state != "ok" else "未评估",
                     last.reason if last else (f"逾期 {r.days} 天" if r.state == "overdue" else ""),
                     who, r.due])
    overdue = sum(r.state == "overdue" for r in rows_)
    notes = [f"说明：截至{zh_date(opts.day)}，在用设备 {len(rows_)} 台，已评估 {sum(r.last is not None for r in rows_)} 台，"
             f"逾期未评估 {overdue} 台；近一年抓拍为截至该日的 365 天，“未解决的问题”列出规则编号。"]
    return Table(title=TITLE, columns=COLUMNS, rows=rows, unit=opts.department or "", date=opts.day,
                 attachment="附件", sheet_name="年度评估", notes=notes)
