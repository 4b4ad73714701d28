"""Exports: the documents auditors and departments file, made from the findings, the decisions and the ledger.

`export(session, kind, path, ...)` picks the writer from the kind and the file's suffix. May import casework,
rules, registry, intake and geo; never cli or web.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Callable

from sqlalchemy.orm import Session

from . import (
    data_requests,
    drafting,
    findings,
    ledger,
    letters,
    new_devices,
    public_notice,
    self_inspection,
    site_review,
    suspension_list,
    task_list,
)
from .common import Table, add_attachment, new_document, write_xlsx
from .data import ExportError, Options

Writer = Callable[[Session, Path, Options], Path]


def _one_table(build: Callable[[Session, Options], Table], *, docx: bool = True) -> dict[str, Writer]:
    """The writers of a document that is one table: its sheet, and an attachment on a landscape Word page."""
    def xlsx(session: Session, path: Path, opts: Options) -> Path:
        return write_xlsx(path, [build(session, opts)])

    def word(session: Session, path: Path, opts: Options) -> Path:
        doc = new_document(landscape=True)
        add_attachment(doc, build(session, opts), new_section=False)
        doc.save(path)
        return path

    return {".xlsx": xlsx, ".docx": word} if docx else {".xlsx": xlsx}


# kind → (Chinese name, {suffix: writer}); the suffix decides the format.
KINDS: dict[str, tuple[str, dict[str, Writer]]] = {
    "suspension-list": ("停用设备清单", {".xlsx": suspension_list.write_xlsx_file,
                                   ".docx": suspension_list.write_docx_file}),
    "self-inspection": ("突出问题清单", _one_table(self_inspection.build)),
    "ledger": ("整改台账", _one_table(ledger.build, docx=False)),
    "self-report": ("自查报告", {".docx": drafting.writer("self-report")}),
    "quarterly": ("季度报告", {".docx": drafting.writer("quarterly")}),
    "summary": ("专项监督工作总结", {".docx": drafting.writer("summary")}),
    "typical-case": ("典型案例", {".docx": drafting.writer("typical-case")}),
    "accountability-note": ("追责问责和容错免责专题说明", {".docx": drafting.writer("accountability-note")}),
    "public-notice": ("设置地点公告", {".docx": public_notice.write_docx_file,
                                  ".xlsx": public_notice.write_xlsx_file}),
    "opinion-letter": ("行政执法监督意见书（未编号）", {".docx": letters.write_opinion_preview}),
    "work-report": ("专项监督工作报告（未编号）", {".docx": drafting.writer("work-report")}),
    "bulletin": ("专项监督工作通报（未编号）", {".docx": drafting.writer("bulletin")}),
    "new-devices": ("年度新增设备情况报告", {".docx": drafting.writer("new-devices"),
                                    ".xlsx": new_devices.write_xlsx_file}),
    "site-review": ("年度评估表", _one_table(site_review.build)),
    "task-list": ("任务分解清单", _one_table(task_list.build)),
    "findings": ("审查结果", {".geojson": findings.write_geojson_file, ".csv": findings.write_csv_file}),
    "data-requests": ("补报资料清单", _one_table(data_requests.build)),
}
# Documents the supervising bureau (司法局) issues itself (numbered when issued: audit.exports.letters); a
# department files the others, of its own department (its 工作总结 too; the summary of all departments is the
# bureau's).
BUREAU_KINDS = frozenset({"opinion-letter", "work-report", "bulletin"})


def export(session: Session, kind: str, path: str | Path, *, department: str | None = None,
           as_of: dt.date | None = None, run_id: int | None = None, case_finding_id: int | None = None,
           issuer: str | None = None) -> Path:
    """Write one document; the format follows the suffix of `path`.

    department: one department's document (required for opinion-letter); as_of: the date printed and used for
    overdue items (default today); run_id: the audit run (default the latest covering the department);
    case_finding_id: the typical case of the summary; issuer: the signing body of docx letters.
    Raises ExportError (a Chinese message) for an unknown kind, an unsupported suffix or missing data.
    """
    path = Path(path)
    if kind not in KINDS:
        raise ExportError(f"未知的导出类型“{kind}”，可选：{'、'.join(KINDS)}。")
    name, writers = KINDS[kind]
    suffix = path.suffix.lower()
    if suffix not in writers:
        raise ExportError(f"{name}（{kind}）只能导出为 {'、'.join(writers)} 文件，不支持“{suffix or '无扩展名'}”。")
    opts = Options(department=department or None, as_of=as_of, run_id=run_id, case_finding_id=case_finding_id,
                   issuer=issuer)
    return writers[suffix](session, path, opts)


__all__ = ["BUREAU_KINDS", "KINDS", "ExportError", "export"]
