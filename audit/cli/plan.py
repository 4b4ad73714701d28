"""Plan commands: camaudit plan … — the supervision plan (load, show), where each department stands (status,
todo), and what departments file (file, return, filings)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from sqlalchemy import select

from ..casework.decisions import DecisionError
from ..exports.data import ExportError
from .common import DATE, ID, committed, open_session
from .text import grid


@click.group("plan")
def plan_cmd() -> None:
    """The supervision plan and what departments file (专项监督工作方案与报送)."""


def _department_id(session, name: str) -> int:  # type: ignore[no-untyped-def]
    from ..registry.store import get_department

    dept = get_department(session, name)
    if dept is None:
        raise DecisionError(f"没有名为“{name}”的单位（已有单位见命令 camaudit departments）。")
    return dept.id


def _plan(session):  # type: ignore[no-untyped-def]
    from ..casework.plan import current_plan

    plan = current_plan(session)
    if plan is None:
        raise click.UsageError("还没有工作方案：请用 camaudit plan load 方案.toml 导入（格式见 camaudit plan load --help）。")
    return plan


@plan_cmd.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--user", default="cli", show_default=True)
def load_cmd(path: Path, user: str) -> None:
    """Enter a plan from a TOML file; it becomes the current plan. Every problem of the file is reported and
    nothing is written then.

    \b
    title = "将乐县罚款实施专项监督工作方案"   issuer = "将乐县司法局"
    doc_no = "将司〔2025〕12号"               doc_prefix = "将司监督"   (numbers the bureau's documents)
    [[phases]]  name = "自查"  start = 2025-05-01  end = 2025-07-25
    [[tasks]]   title = "完成自查，报送自查报告"  deliverable = "自查报告"  deadline = 2025-07-25
                phase = "自查"  departments = ["将乐县交通运输局"]  (omitted: 各执法单位)  requirement = "…"
    """
    from ..casework.plan import load_plan, read_plan_file

    with open_session() as session:
        with committed(session):
            plan = load_plan(session, read_plan_file(path), user=user)
        click.echo(f"已导入工作方案“{plan.title}”：{len(plan.phases)} 个阶段，{len(plan.tasks)} 项任务。")


@plan_cmd.command("show")
def show_cmd() -> None:
    """The current plan: its phases and tasks."""
    from ..casework.plan import responsible_text

    with open_session() as session:
        plan = _plan(session)
        click.echo(f"{plan.title}（{plan.issuer}{'，' + plan.doc_no if plan.doc_no else ''}）")
        if plan.doc_prefix:
            click.echo(f"发文机关代字：{plan.doc_prefix}")
        if plan.phases:
            click.echo("阶段：")
            click.echo("\n".join(grid([[p.name, p.start.isoformat(), p.end.isoformat()] for p in plan.phases],
                                      indent="  ")))
        click.echo("任务：")
        rows = [["编号", "完成时限", "报送材料", "责任单位", "任务"]] + [
            [str(t.id), t.deadline.isoformat(), t.deliverable, responsible_text(session, t), t.title] for t in plan.tasks]
        click.echo("\n".join(grid(rows, indent="  ")))


@plan_cmd.command("status")
@click.option("--as-of", type=DATE, help="The day to count from (default today).")
@click.option("--department", help="Only this department.")
def status_cmd(as_of: dt.date | None, department: str | None) -> None:
    """Where each department stands on each task: filed, filed late, late (days), due (days left)."""
    from ..casework.filings import by_department, plan_status

    day = as_of or dt.date.today()
    with open_session() as session:
        plan = _plan(session)
        try:
            dept_id = _department_id(session, department) if department else None
        except DecisionError as exc:
            raise click.UsageError(str(exc)) from exc
        standing = by_department(plan_status(session, plan, day, dept_id))
        click.echo(f"{plan.title}：截至 {day.isoformat()}")
        for d in standing:
            click.echo(f"{d.department.name}：按时报送 {d.count('filed')} 项，逾期报送 {d.count('filed_late')} 项，"
                       f"逾期未报送 {d.count('late')} 项，未到期 {d.count('due')} 项")
            click.echo("\n".join(grid([[s.task.deadline.isoformat(), s.task.deliverable, s.text] for s in d.statuses],
                                      indent="  ")))


@plan_cmd.command("todo")
@click.option("--department", required=True)
@click.option("--as-of", type=DATE, help="The day to count from (default today).")
@click.option("--within", type=int, default=7, show_default=True, help="Days ahead counted as due soon.")
def todo_cmd(department: str, as_of: dt.date | None, within: int) -> None:
    """A department's tasks overdue and due soon (待办)."""
    from ..casework.filings import todo

    day = as_of or dt.date.today()
    with open_session() as session:
        plan = _plan(session)
        try:
            items = todo(session, plan, _department_id(session, department), day, within)
        except DecisionError as exc:
            raise click.UsageError(str(exc)) from exc
        if not items:
            click.echo(f"{department}：截至 {day.isoformat()} 没有逾期或 {within} 天内到期的任务。")
            return
        click.echo("\n".join(grid([[str(s.task.id), s.task.deadline.isoformat(), s.task.deliverable, s.text,
                                    s.task.title] for s in items])))


@plan_cmd.command("file")
@click.argument("task_id", type=ID)
@click.option("--department", required=True)
@click.option("--upload", "upload", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="File this document (docx, pdf, xlsx …) instead of the one camaudit generates.")
@click.option("--as-of", type=DATE, help="The date of the data in a generated document (default today).")
@click.option("--case", "case_finding_id", type=ID, help="Finding id of the typical case (工作总结, 典型案例).")
@click.option("--on", type=DATE, help="Date of filing (default today).")
@click.option("--note", help="A note to the bureau.")
@click.option("--user", default="cli", show_default=True)
def file_cmd(task_id: int, department: str, upload: Path | None, as_of: dt.date | None, case_finding_id: int | None,
             on: dt.date | None, note: str | None, user: str) -> None:
    """File a task for a department (报送): the generated document as its texts were edited, or an upload."""
    from ..casework.filings import file_task
    from ..casework.plan import get_task
    from ..exports.data import Options
    from ..exports.drafting import generate_for_filing

    with open_session() as session:
        with committed(session, (DecisionError, ExportError)):
            task = get_task(session, task_id)
            dept_id = _department_id(session, department)
            if upload is not None:
                name, content, method = upload.name, upload.read_bytes(), "upload"
            else:
                opts = Options(department=department, as_of=as_of or on, case_finding_id=case_finding_id)
                (name, content), method = generate_for_filing(session, task.deliverable, opts), "generated"
            filing = file_task(session, task.id, dept_id, content=content, filename=name, method=method, user=user,
                               on=on, note=note)
        click.echo(f"{department}已报送“{task.deliverable}”（任务 {task.id}）：{filing.filename}，"
                   f"{filing.filed_on.isoformat()}，{filing.method_zh}")


@plan_cmd.command("return")
@click.argument("filing_id", type=ID)
@click.option("--reason", required=True)
@click.option("--user", default="cli", show_default=True)
def return_cmd(filing_id: int, reason: str, user: str) -> None:
    """Return a filing to its department (退回) with the reason: the task is due again."""
    from ..casework.filings import return_filing

    with open_session() as session:
        with committed(session):
            filing = return_filing(session, filing_id, reason=reason, user=user)
        click.echo(f"已退回{filing.department.name}的报送（{filing.filename}）：{reason}")


@plan_cmd.command("filings")
@click.option("--department", help="Only this department.")
def filings_cmd(department: str | None) -> None:
    """Every filing of the current plan: task, department, date, how, by whom, returned or not."""
    from ..registry.models import Filing, PlanTask

    with open_session() as session:
        plan = _plan(session)
        query = select(Filing).join(PlanTask).where(PlanTask.plan_id == plan.id).order_by(Filing.id)
        if department:
            try:
                query = query.where(Filing.department_id == _department_id(session, department))
            except DecisionError as exc:
                raise click.UsageError(str(exc)) from exc
        rows = [["编号", "任务", "单位", "报送日期", "方式", "报送人", "文件", "退回"]] + [
            [str(f.id), f"{f.task_id} {f.task.deliverable}", f.department.name, f.filed_on.isoformat(), f.method_zh,
             f.filed_by, f.filename, f"{f.returned_on.isoformat()} {f.return_reason}" if f.returned_on else ""]
            for f in session.scalars(query)]
        click.echo("\n".join(grid(rows)))


COMMANDS = {"plan": plan_cmd}
