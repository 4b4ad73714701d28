"""quarterly: a department's 季度报告 on the special supervision — the quarter containing the as-of date, up to
that date: devices put into service, problems found and resolved, decisions, the ledger's progress, what is still
overdue, and the plan's tasks of the next quarter. Every text is editable before filing."""
from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..casework.plan import current_plan, responsible
from ..registry.models import CLOSED, DECISION_ZH, Decision, Department, Device, Problem
from . import figures
from .common import Col, zh_date
from .data import Options, one_department
from .reports import Grid, Heading, Report, Text
from .self_report import addressee, plan_name

KIND = "quarterly"
QUARTERS = "一二三四"


def quarter_of(day: dt.date) -> tuple[int, dt.date, dt.date]:
    """(quarter 1–4, its first day, its last day)."""
    q = (day.month - 1) // 3
    start = dt.date(day.year, 3 * q + 1, 1)
    end = (dt.date(day.year + (q == 3), (3 * q + 3) % 12 + 1, 1)) - dt.timedelta(days=1)
    return q + 1, start, end


def quarter_name(day: dt.date) -> str:
    q, _, _ = quarter_of(day)
    return f"{day.year}年第{QUARTERS[q - 1]}季度"


def period(opts: Options) -> str:
    q, _, _ = quarter_of(opts.day)
    return f"{opts.day.year}Q{q}"


def build(session: Session, opts: Options) -> Report:
    department = one_department(session, opts, "季度报告", "报告")
    day = opts.day
    _, start, end = quarter_of(day)
    until = min(day, end)
    name = quarter_name(day)
    span = f"{zh_date(start)}至{zh_date(until)}"

    counts = figures.device_counts(session, department)
    new = session.scalar(select(func.count()).select_from(Device).join(Department).where(
        Department.name == department, Device.in_service_on >= start, Device.in_service_on <= until)) or 0
    found = session.scalar(select(func.count()).select_from(Problem).where(
        Problem.department == department, Problem.first_seen_on >= start, Problem.first_seen_on <= until)) or 0
    resolved = session.scalar(select(func.count()).select_from(Problem).where(
        Problem.department == department, Problem.resolved_on >= start, Problem.resolved_on <= until)) or 0
    decided = Counter(session.scalars(select(Decision.kind).join(Device).join(Department).where(
        Department.name == department, Decision.decided_on >= start, Decision.decided_on <= until)))
    items = figures.ledger_of(session, department)
    opened = [i for i in items if start <= i.decision.decided_on <= until]
    closed = [i for i in items if i.status == CLOSED and i.closed_on and start <= i.closed_on <= until]
    rectified = [i for i in closed if i.rectified]
    overdue = sorted((i for i in items if i.status in ("待整改", "整改中") and i.deadline < day), key=lambda i: i.deadline)

    work = (f"本季度（{span}），我单位按照{plan_name(session)}的要求推进专项监督工作。截至{zh_date(until)}，登记非现场执法设备 "
            f"{sum(counts.values())} 台（{figures.status_text(counts)}），本季度新投入使用 {new} 台。本季度审查新发现问题 {found} 项，"
            f"经整改复查消除 {resolved} 项；作出"
            + ("、".join(f"{DECISION_ZH[k]}决定 {n} 项" for k, n in sorted(decided.items())) or "处理决定 0 项") + "。")
    progress = (f"本季度新列入整改台账 {len(opened)} 项，核查销号 {len(rectified)} 项{figures.removed_text(closed)}。"
                f"截至{zh_date(until)}，"
                f"{figures.progress_text(items, day)}。")
    if overdue:
        problems_text = "\n".join(
            [f"截至{zh_date(until)}，仍有 {len(overdue)} 项整改事项超过时限未完成："]
            + [f"{n}. 设备 {i.device.device_code}：{i.measure}（时限{zh_date(i.deadline)}，责任人 {i.responsible}，"
               f"当前{i.status}）。" for n, i in enumerate(overdue[:20], start=1)]
            + ([f"（另有 {len(overdue) - 20} 项，详见整改台账。）"] if len(overdue) > 20 else []))
    else:
        problems_text = "本季度没有超过时限未完成的整改事项。"
    blocks = [
        Heading("一、本季度工作情况"), Text("work", "一、本季度工作情况", work),
        Heading("二、整改推进情况"), Text("progress", "二、整改推进情况", progress),
        Grid(figures.PLAN_COLUMNS, figures.rectification_rows([i for i in items if i.is_open])),
        Heading("三、存在的问题"), Text("problems", "三、存在的问题", problems_text),
        Heading("四、下一季度工作安排"), Text("next", "四、下一季度工作安排", _next_quarter(session, department, end)),
    ]
    if overdue:
        blocks.insert(-2, Grid([Col("设备编号", 12, kind="center"), Col("整改措施", 30), Col("整改时限", 12, kind="date"),
                                Col("责任人", 12, kind="center"), Col("状态", 10, kind="center")],
                               [[i.device.device_code, i.measure, i.deadline, i.responsible, i.status]
                                for i in overdue]))
    return Report(kind=KIND, title=f"{department}{name}罚款实施专项监督工作情况报告", blocks=blocks,
                  issuer=department, day=day, addressee=addressee(session))


def _next_quarter(session: Session, department: str, end: dt.date) -> str:
    """The plan's tasks for the department due in the next quarter, as the next quarter's work."""
    _, start, last = quarter_of(end + dt.timedelta(days=1))
    plan = current_plan(session)
    tasks = [t for t in (plan.tasks if plan else []) if start <= t.deadline <= last
             and department in {d.name for d in responsible(session, t)}]
    lines = [f"按照工作方案，下一季度须于{zh_date(t.deadline)}前完成：{t.title}（报送{t.deliverable}）。" for t in tasks]
    lines.append("继续按整改台账逐项整改、逐项销号，巩固整改成果，防止问题反弹。")
    return "\n".join(lines)


__all__ = ["KIND", "build", "period", "quarter_of", "quarter_name"]
