"""Casework commands: decide … (reviews, decisions and the rectification ledger) and the spot checks."""
from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import click
from sqlalchemy.exc import IntegrityError, OperationalError

from ..casework.decisions import DecisionError
from ..exports.data import ExportError
from ..intake.hygiene import CONTROL, first_control, visible
from .common import DATE, ID, committed, open_session, registered_department


def read_roster(path: Path) -> list[str]:
    """Inspector names: one per line, or the first column of a CSV (a header 姓名/name is skipped)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        text = path.read_text(encoding="gb18030")
    names = []
    for number, row in enumerate(csv.reader(text.splitlines()), 1):
        name = row[0].strip() if row else ""
        if CONTROL.search(name):
            position, char = first_control(name, multiline=False)
            raise click.UsageError(f"检查人员名录 {path.name} 第 {number} 行“{visible(name)}”中有不可见的控制字符"
                                   f"（{char}，第{position}个字符）；请删除后重试。")
        if name and name not in ("姓名", "name", "Name"):
            names.append(name)
    return names


@click.command("spot-check")
@click.option("--devices", "n_devices", type=int, required=True, help="How many devices to draw.")
@click.option("--inspectors", "n_inspectors", type=int, required=True,
              help="How many inspectors to draw from the roster (at least 2).")
@click.option("--roster", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="检查人员名录: a text file with one name per line, or a CSV whose first column is the name.")
@click.option("--seed", type=int, help="Random seed (default: a fresh one, printed and recorded).")
@click.option("--department", help="Draw only among this department's devices.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the list as .xlsx.")
@click.option("--user", default="cli", show_default=True)
def spot_check_cmd(n_devices: int, n_inspectors: int, roster: Path | None, seed: int | None,
                   department: str | None, output: Path | None, user: str) -> None:
    """Draw devices and inspectors at random (双随机抽查), record the seed, optionally export the list."""
    from ..casework.spotcheck import draw
    from ..exports.spot_check import export_spot_check

    if roster is None:
        raise click.UsageError("须用 --roster 指定检查人员名录文件（每行一个姓名，或 CSV 第一列为姓名）。")
    if output is not None and output.suffix.lower() != ".xlsx":
        raise click.UsageError("抽查名单只能导出为 .xlsx 文件。")
    names = read_roster(roster)
    with open_session() as session:
        department = registered_department(session, department)
        with committed(session, (DecisionError, ExportError)):
            check = draw(session, devices=n_devices, inspectors=names, seed=seed, department=department, user=user,
                         team_size=n_inspectors)
            if output is not None:
                export_spot_check(session, check.id, output)
        click.echo(f"第 {check.id} 次抽查：随机种子 {check.seed}，从 {check.candidate_count} 台在用设备中抽取 "
                   f"{len(check.items)} 台；检查人员 {'、'.join(check.inspectors)}")
        for item in check.items:
            click.echo(f"  {item.device_code}\t{'、'.join(item.inspectors)}")
    if output is not None:
        click.echo(f"抽查名单已导出：{output}")


@click.command("spot-check-result")
@click.argument("spot_check_id", type=ID)
@click.argument("device_code")
@click.option("--result", type=click.Choice(["合格", "不合格", "未能检查"]), required=True)
@click.option("--note", help="What was found (required unless 合格).")
@click.option("--user", default="cli", show_default=True)
def spot_check_result_cmd(spot_check_id: int, device_code: str, result: str, note: str | None, user: str) -> None:
    """Record the result of one drawn device (记录抽查结果)."""
    from ..casework.decisions import device_by_code
    from ..casework.spotcheck import record_result

    with open_session() as session:
        try:
            record_result(session, spot_check_id, device_by_code(session, device_code).id, result=result, note=note,
                          user=user)
        except DecisionError as exc:
            raise click.UsageError(str(exc)) from exc
        session.commit()
    click.echo(f"已记录：第 {spot_check_id} 次抽查 {device_code} {result}")


# ---- decisions and the ledger --------------------------------------------------------------------------

@click.group("decide")
def decide_cmd() -> None:
    """Decisions on devices and the rectification ledger (处理决定与整改台账)."""


def _apply(action, message) -> None:  # type: ignore[no-untyped-def]
    """Run action(session) in one transaction; echo message, or message(result) when it is callable.

    A refusal, or losing a race with another process deciding at the same moment, ends with the message and
    exit code 2, nothing written."""
    with open_session() as session:
        try:
            with committed(session):
                result = action(session)
        except (IntegrityError, OperationalError) as exc:
            session.rollback()
            raise click.UsageError("另一操作正在同时修改同一记录，本次未作任何改动；请稍后重新执行。") from exc
        click.echo(message(result) if callable(message) else message)


USER = click.option("--user", default="cli", show_default=True, help="Recorded as the decision maker.")
PROBLEMS = click.option("--problem", "problem_ids", type=ID, multiple=True,
                        help="A problem id it answers (repeat; see camaudit problems).")
FINDINGS = click.option("--finding", "finding_ids", type=ID, multiple=True,
                        help="A finding id it answers: the problem that finding observed (repeat).")
ON = click.option("--on", type=DATE, help="Date of the decision (default today).")


@decide_cmd.command("review")
@click.argument("problem_ids", type=ID, nargs=-1)
@click.option("--finding", "finding_ids", type=ID, multiple=True, help="Review the problem this finding observed.")
@click.option("--confirm/--dismiss", required=True, help="Confirm the problems, or dismiss them (needs --reason).")
@click.option("--reason")
@USER
def review_cmd(problem_ids: tuple[int, ...], finding_ids: tuple[int, ...], confirm: bool, reason: str | None,
               user: str) -> None:
    """Confirm or dismiss problems (核查问题): one or several ids, one reason for a dismissal."""
    from ..casework.problems import problem_of_finding, review_problems

    def act(session):  # type: ignore[no-untyped-def]
        ids = list(problem_ids) + [problem_of_finding(session, f).id for f in finding_ids]
        return review_problems(session, ids, confirm=confirm, reason=reason, user=user)

    _apply(act, lambda reviews: f"问题 {'、'.join(str(r.problem_id) for r in reviews)} 已{'确认' if confirm else '排除'}")


@decide_cmd.command("suspend")
@click.argument("device_code", required=False)
@click.option("--recommended", is_flag=True, help="Suspend every device the audit proposes to suspend (拟停用).")
@click.option("--department", help="With --recommended: only this department's devices.")
@click.option("--reason", required=True)
@ON
@PROBLEMS
@FINDINGS
@USER
def suspend_cmd(device_code: str | None, recommended: bool, department: str | None, reason: str, on: dt.date | None,
                problem_ids: tuple[int, ...], finding_ids: tuple[int, ...], user: str) -> None:
    """Suspend a device at once (停用), or with --recommended every device proposed for suspension."""
    from ..casework.decisions import device_by_code, suspend, suspend_recommended
    from ..casework.problems import suspension_proposals
    from ..registry.store import get_department

    if recommended == bool(device_code):
        raise click.UsageError("请给出设备编号，或用 --recommended 停用全部拟停用设备（二者选一）。")
    if recommended:
        def act(session):  # type: ignore[no-untyped-def]
            name = None
            if department:
                dept = get_department(session, department)
                if dept is None:
                    raise DecisionError(f"没有名为“{department}”的单位。")
                name = dept.name
            return suspend_recommended(session, suspension_proposals(session, name), reason=reason, user=user, on=on)

        _apply(act, lambda ds: f"已停用 {len(ds)} 台设备：" + "、".join(f"{d.device.device_code}（决定 {d.id}）" for d in ds))
        return
    _apply(lambda s: suspend(s, device_by_code(s, device_code).id, reason=reason, user=user, problem_ids=problem_ids,
                             finding_ids=finding_ids, on=on),
           lambda d: f"已停用设备 {device_code}（决定 {d.id}，{d.decided_on}）")


@decide_cmd.command("rectify")
@click.argument("device_code")
@click.option("--measure", required=True, help="整改措施")
@click.option("--requirement", required=True, help="整改要求")
@click.option("--deadline", type=DATE, required=True, help="整改时限")
@click.option("--responsible", required=True, help="责任人")
@click.option("--problem-text", "problem", help="问题描述 (default: the problems' messages)")
@ON
@PROBLEMS
@FINDINGS
@USER
def rectify_cmd(device_code: str, measure: str, requirement: str, deadline: dt.date, responsible: str,
                problem: str | None, on: dt.date | None, problem_ids: tuple[int, ...], finding_ids: tuple[int, ...],
                user: str) -> None:
    """Order a rectification: a new ledger item (整改)."""
    from ..casework.decisions import device_by_code, rectify

    _apply(lambda s: rectify(s, device_by_code(s, device_code).id, measure=measure, requirement=requirement,
                             deadline=deadline, responsible=responsible, user=user, problem_ids=problem_ids,
                             finding_ids=finding_ids, problem=problem, on=on),
           lambda r: f"已列入整改台账第 {r[1].id} 项，时限 {deadline.isoformat()}")


@decide_cmd.command("restore")
@click.argument("device_code")
@click.option("--reason", required=True)
@click.option("--item", "item_id", type=ID, help="The closed ledger item it rests on.")
@ON
@USER
def restore_cmd(device_code: str, reason: str, item_id: int | None, on: dt.date | None, user: str) -> None:
    """Put a suspended device back into use once its ledger items are closed (恢复使用)."""
    from ..casework.decisions import device_by_code, restore

    _apply(lambda s: restore(s, device_by_code(s, device_code).id, user=user, reason=reason, ledger_item_id=item_id,
                             on=on),
           f"设备 {device_code} 已恢复使用")


@decide_cmd.command("remove")
@click.argument("device_code")
@click.option("--reason", required=True)
@ON
@PROBLEMS
@FINDINGS
@USER
def remove_cmd(device_code: str, reason: str, on: dt.date | None, problem_ids: tuple[int, ...],
               finding_ids: tuple[int, ...], user: str) -> None:
    """Remove a device (拆除); its record and history stay."""
    from ..casework.decisions import device_by_code, remove

    _apply(lambda s: remove(s, device_by_code(s, device_code).id, user=user, reason=reason, problem_ids=problem_ids,
                            finding_ids=finding_ids, on=on),
           f"设备 {device_code} 已登记拆除")


@decide_cmd.command("keep")
@click.argument("device_code")
@click.option("--reason", required=True)
@ON
@PROBLEMS
@FINDINGS
@USER
def keep_cmd(device_code: str, reason: str, on: dt.date | None, problem_ids: tuple[int, ...],
             finding_ids: tuple[int, ...], user: str) -> None:
    """Keep a device despite its problems, with the reason on record (保留)."""
    from ..casework.decisions import device_by_code, keep

    _apply(lambda s: keep(s, device_by_code(s, device_code).id, user=user, reason=reason, problem_ids=problem_ids,
                          finding_ids=finding_ids, on=on),
           f"设备 {device_code} 保留使用，理由已记录")


@decide_cmd.command("advance")
@click.argument("item_id", type=ID)
@click.argument("status", type=click.Choice(["整改中", "已整改待核查"]))
@click.option("--note")
@USER
def advance_cmd(item_id: int, status: str, note: str | None, user: str) -> None:
    """Move a ledger item to 整改中 or 已整改待核查."""
    from ..casework.ledger import advance

    _apply(lambda s: advance(s, item_id, status, user=user, note=note), f"第 {item_id} 项：{status}")


@decide_cmd.command("close")
@click.argument("item_id", type=ID)
@click.option("--evidence", required=True, help="核查情况和证据")
@click.option("--on", type=DATE, help="销号日期 (default today).")
@click.option("--despite-observed", is_flag=True,
              help="Close although the latest audit still finds the problem (recorded on the item).")
@USER
def close_cmd(item_id: int, evidence: str, on: dt.date | None, despite_observed: bool, user: str) -> None:
    """Close a checked ledger item (销号)."""
    from ..casework.ledger import close_item

    _apply(lambda s: close_item(s, item_id, evidence=evidence, user=user, on=on, despite_observed=despite_observed),
           lambda item: f"第 {item_id} 项已于 {item.closed_on} 销号")


@decide_cmd.command("reopen")
@click.argument("item_id", type=ID)
@click.option("--reason", required=True)
@USER
def reopen_cmd(item_id: int, reason: str, user: str) -> None:
    """Reopen a closed ledger item (recorded with the reason)."""
    from ..casework.ledger import reopen

    _apply(lambda s: reopen(s, item_id, reason=reason, user=user), f"第 {item_id} 项已重新打开：整改中")


@decide_cmd.command("ledger")
@click.option("--department")
@click.option("--overdue", "overdue_on", type=DATE, help="Only items overdue on this date.")
def ledger_cmd(department: str | None, overdue_on: dt.date | None) -> None:
    """List the rectification ledger (整改台账)."""
    from ..casework.ledger import items, overdue_items

    with open_session() as session:
        department = registered_department(session, department)
        chosen = overdue_items(session, overdue_on, department) if overdue_on else items(session, department=department)
        for i in chosen:
            closed = f"  销号 {i.closed_on} {i.closed_by}" if i.closed_on else ""
            click.echo(f"{i.id}\t{i.department}\t{i.device.device_code}\t{i.status_text}\t时限 {i.deadline}\t"
                       f"{i.responsible}\t{i.problem[:40]}{closed}")
        click.echo(f"共 {len(chosen)} 项")


STATES = {"pending": "待核查", "confirmed": "已确认", "dismissed": "已排除", "decided": "已决定", "resolved": "已消除"}


def problem_state(problem) -> str:  # type: ignore[no-untyped-def]
    """pending | confirmed | dismissed | decided | resolved."""
    if problem.is_resolved:
        return "resolved"
    if problem.decision_id is not None:
        return "decided"
    return "pending" if problem.review_state in ("unreviewed", "stale") else problem.review_state


@click.command("problems")
@click.option("--department", help="Only this department's problems.")
@click.option("--state", type=click.Choice(["open", *STATES, "all"]), default="open", show_default=True,
              help="open: every problem not resolved; pending: awaiting review (new, or evidence changed).")
@click.option("--proposed", is_flag=True, help="The devices proposed for suspension (拟停用), with their problems.")
def problems_cmd(department: str | None, state: str, proposed: bool) -> None:
    """List the problems (问题) with their ids, verdicts and decisions, or the devices proposed for suspension."""
    from sqlalchemy import select

    from ..casework.problems import suspension_proposals
    from ..registry.models import Problem
    from ..registry.store import get_department
    from .text import table

    with open_session() as session:
        name = None
        if department:
            dept = get_department(session, department)
            if dept is None:
                raise click.UsageError(f"没有名为“{department}”的单位；用 camaudit departments 查看已有单位。")
            name = dept.name
        if proposed:
            found = suspension_proposals(session, name)
            for p in found:
                click.echo(f"{p.device.device_code}\t{p.device.department.name}\t"
                           + "；".join(f"问题 {x.id} {x.rule} {x.message}" for x in p.problems))
            click.echo(f"拟停用设备共 {len(found)} 台（camaudit decide suspend --recommended --reason … 一并停用）")
            return
        query = select(Problem).order_by(Problem.department, Problem.device_code, Problem.rule, Problem.key)
        if name:
            query = query.where(Problem.department == name)
        rows = []
        for problem in session.scalars(query):
            current = problem_state(problem)
            if state == "all" or current == state or (state == "open" and current != "resolved"):
                stale = "（证据已变化，待重新核查）" if problem.review_state == "stale" else ""
                rows.append({"id": problem.id, "device": problem.device_code, "rule": problem.rule,
                             "severity": problem.severity, "action": problem.action,
                             "state": STATES[current] + stale, "message": problem.message[:60]})
    headers = {"id": "问题编号", "device": "设备编号", "rule": "规则", "severity": "严重程度", "action": "建议",
               "state": "状态", "message": "问题"}
    click.echo(table(rows, list(headers), headers) + f"\n共 {len(rows)} 个问题")


COMMANDS = {"decide": decide_cmd, "spot-check": spot_check_cmd, "spot-check-result": spot_check_result_cmd,
            "problems": problems_cmd}
