"""Document commands: camaudit export (the files auditors and departments file)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from ..casework.decisions import DecisionError
from ..exports import KINDS, ExportError
from .common import DATE, ID, open_session, registered_department


@click.command("export")
@click.argument("kind", type=click.Choice(list(KINDS)))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The file to write; its suffix (.xlsx .docx .geojson .csv) sets the format.")
@click.option("--department", help="Only this department (required for a department's reports and opinion-letter).")
@click.option("--as-of", type=DATE, help="Date printed on the document and used for overdue items (default today); "
              "its quarter for quarterly, its year for new-devices.")
@click.option("--run", "run_id", type=ID, help="Audit run id (default: the latest covering the department).")
@click.option("--case", "case_finding_id", type=ID, help="Finding id of the typical case (summary, typical-case).")
@click.option("--issuer", help="Signing body printed on letters and the summary.")
def export_cmd(kind: str, output: Path, department: str | None, as_of: dt.date | None, run_id: int | None,
               case_finding_id: int | None, issuer: str | None) -> None:
    """Write a document (导出文书). A department's reports (self-report, quarterly, summary, typical-case,
    accountability-note, new-devices) carry the texts as edited in the web app; the bureau's letters are
    numbered only when issued (camaudit letter issue)."""
    from ..exports import export

    with open_session() as session:
        department = registered_department(session, department)
        try:
            export(session, kind, output, department=department, as_of=as_of, run_id=run_id,
                   case_finding_id=case_finding_id, issuer=issuer)
        except (ExportError, DecisionError) as exc:
            raise click.UsageError(str(exc)) from exc
    click.echo(f"已导出{KINDS[kind][0]}：{output}")


COMMANDS = {"export": export_cmd}
