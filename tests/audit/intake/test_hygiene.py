"""Text at the edges: control characters cleaned or refused cell by cell, lengths held to the columns they are stored
in, and documents that never fail on stored text."""
from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
from docx import Document
from sqlalchemy import Float, Integer, Numeric, String

from audit.exports.common import Col, Table, add_attachment, new_document, write_xlsx
from audit.intake.columns import TABLES, TEXT_MAX_LENGTH
from audit.intake.hygiene import document_text
from audit.intake.upload import parse_upload
from audit.registry import models

DEVICE_HEADER = "设备编号,设备类型,经度,纬度,设备名称,设置地点,方向\n"
STORED_IN = {
    "devices": models.Device.__table__,
    "verifications": models.VerificationRecord.__table__,
    "violations": models.Device.__table__,
}


def parse(tmp_path, text: str, kind: str = "devices"):
    path = tmp_path / "upload.csv"
    path.write_text(text, encoding="utf-8")
    return parse_upload(path, kind)


def by_code(report, code):
    return [p for p in report.problems if p.code == code]


@pytest.mark.parametrize("kind", sorted(TABLES))
def test_every_text_column_is_as_long_as_the_column_it_is_stored_in(kind):
    table = STORED_IN[kind]
    for col in TABLES[kind].columns:
        if col.kind not in ("text", "code"):
            continue
        stored = models.Department.__table__.c.name if col.key == "department" else \
            table.c.get(col.key) if col.key in table.c else models.Device.__table__.c.device_code
        size = stored.type.length if isinstance(stored.type, String) else None
        assert col.max_length == (size or TEXT_MAX_LENGTH), (kind, col.key, col.max_length, size)


NUMBERS_STORED_IN = {"devices": models.Device.__table__, "violations": models.ViolationStat.__table__}


@pytest.mark.parametrize("kind", sorted(NUMBERS_STORED_IN))
def test_every_number_column_holds_no_more_than_the_column_it_is_stored_in(kind):
    numbers = [col for col in TABLES[kind].columns if col.kind in ("int", "float", "money")]
    assert numbers
    for col in numbers:
        stored = NUMBERS_STORED_IN[kind].c[col.key].type
        if isinstance(stored, Numeric) and not isinstance(stored, Float):
            holds = 10 ** (stored.precision - stored.scale) - 10 ** -stored.scale
        else:
            holds = 2**31 - 1 if isinstance(stored, Integer) else None  # Float holds any finite number
        assert col.max_value == holds, (kind, col.key, col.max_value, stored)


def test_control_characters_in_text_are_removed_with_a_warning_naming_the_cell(tmp_path):
    parsed = parse(tmp_path, DEVICE_HEADER + "JL-001,固定测速,117.47,26.72,水南\x01大\x07道,\"府前路\n东段\",由东\t向西\n")
    assert parsed.report.ok, parsed.report.format_text()
    row = parsed.frame.iloc[0]
    # The name loses its controls; the address keeps its line break (multiline); the direction's tab is a space.
    assert (row["name"], row["address"], row["direction"]) == ("水南大道", "府前路\n东段", "由东 向西")
    warnings = by_code(parsed.report, "CONTROL_CHARACTER")
    assert [(w.row, w.column, w.value) for w in warnings] == [(2, "设备名称", "水南\\x01大\\x07道"),
                                                              (2, "方向", "由东\\t向西")]
    assert "U+0001" in warnings[0].message and "第3个字符" in warnings[0].message


def test_a_control_character_in_a_code_is_an_error(tmp_path):
    parsed = parse(tmp_path, DEVICE_HEADER + "JL\x1b001,固定测速,117.47,26.72,,,\nJL-002,固定测速,117.47,26.72,,,\n")
    errors = by_code(parsed.report, "CONTROL_CHARACTER")
    assert [(e.level, e.row, e.column, e.value) for e in errors] == [("error", 2, "设备编号", "JL\\x1b001")]


def test_control_characters_in_a_choice_are_cleaned_before_it_is_read(tmp_path):
    parsed = parse(tmp_path, DEVICE_HEADER.replace("方向", "状态") + "JL-001,固定\x02测速,117.47,26.72,,,在用\x7f\n")
    assert parsed.report.ok, parsed.report.format_text()
    assert (parsed.frame.iloc[0]["device_type"], parsed.frame.iloc[0]["status"]) == ("固定测速", "在用")


def test_a_header_with_a_control_character_still_names_its_column(tmp_path):
    parsed = parse(tmp_path, "设备\x03编号,设备类型,经度,纬度\nJL-001,固定测速,117.47,26.72\n")
    assert parsed.report.ok and parsed.frame["device_code"].tolist() == ["JL-001"]


def test_values_longer_than_their_column_are_errors_with_row_column_and_limit(tmp_path):
    text = DEVICE_HEADER + f"{'J' * 101},固定测速,117.47,26.72,,,{'东' * 101}\nJL-002,固定测速,117.47,26.72,,,{'东' * 100}\n"
    parsed = parse(tmp_path, text)
    errors = by_code(parsed.report, "TOO_LONG")
    assert [(e.row, e.column) for e in errors] == [(2, "设备编号"), (2, "方向")]
    assert "101 个字符" in errors[0].message and "上限 100 个" in errors[0].message
    assert errors[0].value.endswith("…") and len(errors[0].value) == 61


def test_a_code_of_exactly_the_column_size_is_accepted(tmp_path):
    parsed = parse(tmp_path, DEVICE_HEADER + f"{'J' * 100},固定测速,117.47,26.72,,,\n")
    assert parsed.report.ok, parsed.report.format_text()


NASTY = "甲\x01乙\x07丙\x0b丁\ufffe戊"


def test_documents_drop_what_xml_cannot_hold(tmp_path):
    assert document_text(NASTY) == "甲乙丙丁戊" and document_text(7) == 7
    table = Table(columns=[Col("名称", 30)], rows=[[NASTY]], title=f"标题{NASTY}", unit=NASTY, date=dt.date(2025, 6, 30),
                  notes=[NASTY])
    write_xlsx(tmp_path / "t.xlsx", [table])
    doc = new_document()
    add_attachment(doc, table)
    doc.save(tmp_path / "t.docx")
    cells = [c.value for row in openpyxl.load_workbook(tmp_path / "t.xlsx").active.iter_rows() for c in row]
    assert "甲乙丙丁戊" in cells
    text = "\n".join(p.text for p in Document(tmp_path / "t.docx").paragraphs)
    assert "标题甲乙丙丁戊" in text and "\x01" not in text
