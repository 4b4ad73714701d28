"""Reports made of sections: generated from the data, their text editable before filing, written as docx.

A report is a title, an addressee, blocks (headings, text, tables), the attachments' names and tables, and the
signature. A Text block has a key: its generated text can be replaced by what the author wrote (a report draft,
audit.casework.drafts), one paragraph per line; headings and tables are the data's and are not edited. A text that
still holds a placeholder (PLACEHOLDER …) has not been written: such a report cannot be filed.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence, Union

from docx.document import Document as DocxDocument

from .common import (
    Col,
    Table,
    add_attachment,
    add_heading,
    add_paragraph,
    add_signature,
    add_table,
    add_title,
    new_document,
    text_width_mm,
)
from .data import ExportError

PLACEHOLDER = "（请填写"
MAX_SECTION_CHARS = 20_000


@dataclass
class Heading:
    text: str
    level: int = 1


@dataclass
class Text:
    """Paragraphs (one per line) the author may rewrite; label names the part in the editor."""

    key: str
    label: str
    text: str


@dataclass
class Grid:
    """A table in the body (statistics): generated from the data, not edited."""

    columns: Sequence[Col]
    rows: list[list[Any]]


Block = Union[Heading, Text, Grid]


@dataclass
class Report:
    kind: str
    title: str
    blocks: list[Block]
    issuer: str
    day: dt.date
    addressee: str | None = None
    doc_no: str | None = None
    attachments: list[Table] = field(default_factory=list)
    # Settings the editor offers besides the texts (e.g. the typical case), by name: the chosen value.
    choices: dict[str, Any] = field(default_factory=dict)

    def texts(self) -> list[Text]:
        return [b for b in self.blocks if isinstance(b, Text)]

    def keys(self) -> set[str]:
        return {t.key for t in self.texts()}


ADDRESSEE = "addressee"  # the edit that replaces the addressee (主送机关), where the report has one


def apply_edits(report: Report, edits: Mapping[str, Any] | None) -> Report:
    """The report with its texts (and addressee) replaced by the author's; unknown keys and non-text values are
    ignored."""
    if not edits:
        return report
    if report.addressee is not None and isinstance(edits.get(ADDRESSEE), str) and edits[ADDRESSEE].strip():
        report.addressee = edits[ADDRESSEE].strip()
    for block in report.texts():
        value = edits.get(block.key)
        if isinstance(value, str):
            block.text = value
    return report


def check_edits(report: Report, edits: Mapping[str, str]) -> dict[str, str]:
    """The edits the report accepts, normalised (line endings, trailing spaces); ExportError for a text too long."""
    clean: dict[str, str] = {}
    labels = {t.key: t.label for t in report.texts()}
    if report.addressee is not None and ADDRESSEE in edits:
        addressee = " ".join(str(edits[ADDRESSEE]).split())
        if len(addressee) > 100:
            raise ExportError(f"主送机关“{addressee[:20]}…”超过 100 个字。")
        clean[ADDRESSEE] = addressee
    for key, value in edits.items():
        if key not in labels:
            continue
        text = "\n".join(line.rstrip() for line in str(value).replace("\r\n", "\n").replace("\r", "\n").split("\n"))
        if len(text) > MAX_SECTION_CHARS:
            raise ExportError(f"“{labels[key]}”有 {len(text)} 个字，超过 {MAX_SECTION_CHARS} 字的上限；请精简后再保存。")
        clean[key] = text.strip("\n")
    return clean


def unfilled(report: Report) -> list[str]:
    """The labels of the texts (and the addressee) still holding a placeholder or left empty: the report is not
    ready to file."""
    missing = ["主送机关"] if report.addressee is not None and (PLACEHOLDER in report.addressee
                                                           or not report.addressee.strip()) else []
    return missing + [t.label for t in report.texts() if PLACEHOLDER in t.text or not t.text.strip()]


def require_filled(report: Report) -> None:
    missing = unfilled(report)
    if missing:
        raise ExportError(f"以下部分尚未填写：{'、'.join(missing)}。请在报送前填写（可在网页上编辑，或下载 Word 修改后上传）。")


def render(report: Report) -> DocxDocument:
    """The report as a GB/T 9704 docx: portrait body, then each attachment on landscape pages."""
    doc = new_document()
    add_title(doc, report.title)
    if report.doc_no:
        add_paragraph(doc, report.doc_no, indent=False, align="center")
        add_paragraph(doc)
    if report.addressee:
        add_paragraph(doc, f"{report.addressee}：", indent=False, align="left")
    for block in report.blocks:
        if isinstance(block, Heading):
            add_heading(doc, block.text, block.level)
        elif isinstance(block, Text):
            for line in block.text.split("\n"):
                if line.strip():
                    add_paragraph(doc, line.strip())
        else:
            add_table(doc, block.columns, block.rows, text_width_mm(doc))
    if report.attachments:
        add_paragraph(doc)
        names = [a.title for a in report.attachments]
        if len(names) == 1:
            add_paragraph(doc, f"附件：{names[0]}")
        else:
            add_paragraph(doc, f"附件：1. {names[0]}")
            for n, name in enumerate(names[1:], start=2):
                p = add_paragraph(doc, f"{n}. {name}")
                p.paragraph_format.first_line_indent = None
                p.paragraph_format.left_indent = doc.styles["Normal"].font.size * 5
    add_signature(doc, report.issuer, report.day)
    for n, table in enumerate(report.attachments, start=1):
        table.attachment = "附件" if len(report.attachments) == 1 else f"附件{n}"
        add_attachment(doc, table, landscape=True)
    return doc


__all__ = ["Report", "Heading", "Text", "Grid", "PLACEHOLDER", "ADDRESSEE", "apply_edits", "check_edits", "unfilled",
           "require_filled", "render"]
