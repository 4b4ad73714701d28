"""Letter commands: camaudit letter … — the bureau's documents (督办函, 建议书, 意见书, 决定书, 移送函, the work
report and 通报): preview, issue under the next number of the register, list the register, get an issued file."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from ..casework.decisions import DecisionError
from ..exports.data import ExportError
from ..exports.letters import KINDS
from .common import DATE, ID, committed, open_session, registered_department
from .text import grid

KIND = click.argument("kind", type=click.Choice(list(KINDS)))


def _options(command):  # type: ignore[no-untyped-def]
    for option in reversed([
        click.option("--department", help="The department it is about (not for work-report, bulletin)."),
        click.option("--problem", "problem_ids", type=ID, multiple=True,
                     help="A problem it cites (repeat; default: the kind's own choice, see camaudit letter --help)."),
        click.option("--deadline", type=DATE, help="The date to act or reply by."),
        click.option("--on", type=DATE, help="Date of issue (default today)."),
        click.option("--addressee", help="主送机关 (default: the department; required for transfer)."),
        click.option("--issuer", help="Signing body (default: the plan's issuer)."),
    ]):
        command = option(command)
    return command


@click.group("letter")
def letter_cmd() -> None:
    """The bureau's documents and their register (监督文书与发文登记).

    \b
    supervise 督办函 (default problems: those whose ledger item is overdue; also the late plan tasks)
    advice 建议书 (rectify/review problems not decided on)   opinion 意见书 (serious problems)
    decision 决定书 (problems whose action is 停用)            transfer 移送函 (confirmed serious problems)
    work-report 专项监督工作报告, bulletin 通报 (across departments)
    """


def _request(session, kind, department, problem_ids, deadline, on, addressee, issuer):  # type: ignore[no-untyped-def]
    from ..exports.letters import request

    return request(session, kind, department=registered_department(session, department), problem_ids=list(problem_ids) or None, deadline=deadline,
                   on=on, addressee=addressee, issuer=issuer)


@letter_cmd.command("preview")
@KIND
@_options
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
def preview_cmd(kind: str, department: str | None, problem_ids: tuple[int, ...], deadline: dt.date | None,
                on: dt.date | None, addressee: str | None, issuer: str | None, output: Path) -> None:
    """Write the document without a number (〔　〕号), to read before issuing."""
    from ..exports.letters import preview

    with open_session() as session:
        try:
            req = _request(session, kind, department, problem_ids, deadline, on, addressee, issuer)
            preview(session, req, output)
        except ExportError as exc:
            raise click.UsageError(str(exc)) from exc
    click.echo(f"已写出{KINDS[kind].name}（未编号）：{output}；引用问题 {len(req.problems)} 个")


@letter_cmd.command("issue")
@KIND
@_options
@click.option("--prefix", help="发文机关代字, e.g. 将司监督 (default: the plan's).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Also write the issued file.")
@click.option("--user", default="cli", show_default=True)
def issue_cmd(kind: str, department: str | None, problem_ids: tuple[int, ...], deadline: dt.date | None,
              on: dt.date | None, addressee: str | None, issuer: str | None, prefix: str | None,
              output: Path | None, user: str) -> None:
    """Issue the document: the next number of the register, the file kept, the problems it cites recorded."""
    from ..exports.letters import issue

    with open_session() as session:
        with committed(session, (ExportError, DecisionError)):
            req = _request(session, kind, department, problem_ids, deadline, on, addressee, issuer)
            document = issue(session, req, prefix=prefix, user=user)
        if output is not None:
            output.write_bytes(document.content)
        click.echo(f"已发文：{document.doc_no} {document.title}（主送 {document.addressee}），引用问题 "
                   f"{len(req.problems)} 个" + (f"；文件 {output}" if output else ""))


@letter_cmd.command("list")
@click.option("--department", help="Only documents about this department.")
def list_cmd(department: str | None) -> None:
    """The register: number, kind, title, addressee, dates, problems cited."""
    from ..casework.register import documents

    with open_session() as session:
        department = registered_department(session, department)
        rows = [["编号", "文号", "文书", "主送", "发文日期", "期限", "引用问题"]] + [
            [str(d.id), d.doc_no, KINDS[d.kind].name if d.kind in KINDS else d.kind, d.addressee,
             d.issued_on.isoformat(), d.deadline.isoformat() if d.deadline else "",
             "、".join(map(str, d.problem_ids)) or "—"] for d in documents(session, department=department)]
        click.echo("\n".join(grid(rows)) if len(rows) > 1 else "发文登记中还没有文书。")


@letter_cmd.command("get")
@click.argument("document_id", type=ID)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
def get_cmd(document_id: int, output: Path) -> None:
    """Write an issued document's file as it was issued."""
    from ..casework.register import get_document

    with open_session() as session:
        try:
            document = get_document(session, document_id)
        except DecisionError as exc:
            raise click.UsageError(str(exc)) from exc
        output.write_bytes(document.content)
    click.echo(f"{document.doc_no}：{output}")


COMMANDS = {"letter": letter_cmd}
