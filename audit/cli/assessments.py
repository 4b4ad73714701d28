"""Annual site review commands: camaudit assess (record an assessment) and camaudit assessments (the schedule)."""
from __future__ import annotations

import datetime as dt

import click

from ..registry.models import ASSESSMENT_OUTCOMES
from .common import DATE, committed, open_session, registered_department
from .text import grid


@click.command("assess")
@click.argument("device_code")
@click.option("--outcome", required=True, type=click.Choice(list(ASSESSMENT_OUTCOMES)),
              help="keep 保留, relocate 迁移, remove 拆除.")
@click.option("--reason", required=True, help="The justification (captures, accidents, problems, the site's purpose).")
@click.option("--on", type=DATE, help="Date of the assessment (default today).")
@click.option("--user", default="cli", show_default=True)
def assess_cmd(device_code: str, outcome: str, reason: str, on: dt.date | None, user: str) -> None:
    """Record the annual assessment of a device in use (年度评估), with the year's evidence."""
    from ..casework.assessments import assess
    from ..casework.decisions import device_by_code

    with open_session() as session:
        with committed(session):
            done = assess(session, device_by_code(session, device_code).id, outcome=outcome, reason=reason,
                          user=user, on=on)
        seen = done.evidence["captures"]
        click.echo(f"已记录 {device_code} 的年度评估：{done.outcome_zh}（{done.assessed_on.isoformat()}）；近一年抓拍 "
                   f"{seen['total']} 起，未解决的问题 {len(done.evidence['open_problems'])} 个")


@click.command("assessments")
@click.option("--department", help="Only this department.")
@click.option("--as-of", type=DATE, help="The day to count from (default today).")
@click.option("--due", is_flag=True, help="Only devices overdue or due within 30 days.")
@click.option("--profile", default="national", show_default=True, help="The profile whose review cycle applies.")
def assessments_cmd(department: str | None, as_of: dt.date | None, due: bool, profile: str) -> None:
    """Devices in use with their latest assessment and the next due date (年度评估安排)."""
    from ..casework.assessments import STATE_ZH, schedule
    from ..rules.profiles import ProfileError

    day = as_of or dt.date.today()
    with open_session() as session:
        department = registered_department(session, department)
        try:
            rows = schedule(session, day, department=department, profile=profile)
        except ProfileError as exc:
            raise click.UsageError(str(exc)) from exc
        if due:
            rows = [r for r in rows if r.state in ("overdue", "due_soon", "unknown")]
        lines = [["设备编号", "单位", "上次评估", "结论", "下次期限", "状态"]] + [
            [r.device.device_code, r.device.department.name, r.last.assessed_on.isoformat() if r.last else "—",
             r.last.outcome_zh if r.last else "", r.due.isoformat() if r.due else "—",
             STATE_ZH[r.state] + (f" {r.days} 天" if r.state == "overdue" else "")] for r in rows]
        click.echo("\n".join(grid(lines)) if rows else f"截至 {day.isoformat()} 没有需要评估的设备。")


COMMANDS = {"assess": assess_cmd, "assessments": assessments_cmd}
