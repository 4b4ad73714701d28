"""task-list: 任务分解清单 — the plan's tasks (phase, task, what is filed, 责任单位, deadline) with where each
responsible department stands on the as-of date (filed, filed late, late, due); xlsx or docx (landscape)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..casework.filings import plan_status
from ..casework.plan import current_plan, responsible_text
from ..registry.models import Department
from .common import Col, Table, zh_date
from .data import ExportError, Options, check_department

COLUMNS = (
    Col("序号", 5, kind="int"),
    Col("阶段", 8, kind="center"),
    Col("工作任务", 30),
    Col("报送材料", 10, kind="center"),
    Col("责任单位", 20),
    Col("完成时限", 11, kind="date"),
    Col("完成情况", 34),
    Col("具体要求", 22),
)


def build(session: Session, opts: Options) -> Table:
    check_department(session, opts.department)
    plan = current_plan(session)
    if plan is None:
        raise ExportError("还没有录入专项监督工作方案：请在“工作方案”页面录入，或用命令 camaudit plan load 导入。")
    dept_id = (session.scalar(select(Department.id).where(Department.name == opts.department))
               if opts.department else None)
    statuses = plan_status(session, plan, opts.day, dept_id)
    by_task: dict[int, list] = {}
    for s in statuses:
        by_task.setdefault(s.task.id, []).append(s)
    rows = []
    for task in plan.tasks:
        if dept_id is not None and task.id not in by_task:
            continue
        done = by_task.get(task.id, [])
        state = "；".join(f"{s.department.name}：{s.text}" for s in done) if (dept_id is None and len(done) > 1) else (
            done[0].text if done else "")
        rows.append([len(rows) + 1, task.phase.name if task.phase else "", task.title, task.deliverable,
                     responsible_text(session, task), task.deadline, state, task.requirement or ""])
    late = sum(s.state == "late" for s in statuses)
    notes = [f"说明：完成情况按{zh_date(opts.day)}计；共 {len(statuses)} 项（单位×任务），已按时报送 "
             f"{sum(s.state == 'filed' for s in statuses)} 项，逾期报送 {sum(s.state == 'filed_late' for s in statuses)} 项，"
             f"逾期未报送 {late} 项，未到期 {sum(s.state == 'due' for s in statuses)} 项。"]
    return Table(title=f"{plan.title}任务分解清单", columns=COLUMNS, rows=rows, unit=opts.department or plan.issuer, date=opts.day,
                 attachment="附件", sheet_name="任务分解清单", notes=notes)
