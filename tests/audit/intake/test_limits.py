"""Bounded reading: what a sheet may make the reader build, checked before anything is laid out."""
from __future__ import annotations

import openpyxl
import pytest
import xlwt

from audit.intake.limits import ReadLimits
from audit.intake.reader import read_sheet
from audit.intake.report import ValidationReport
from audit.intake.upload import parse_upload
from tests.audit.conftest import patch_sheet_xml, set_cell_xml

HEADER = ["设备编号", "日期", "违法数量"]


def _read(path, **limits):
    report = ValidationReport(path.name, "violations")
    return read_sheet(path, report, ReadLimits(**limits)), report


def test_limits_come_from_settings_and_keep_their_defaults():
    limits = ReadLimits.from_settings({"READ_MAX_ROWS": "10", "READ_MAX_CELLS": 50, "OTHER": 1}, max_bytes=99)
    assert (limits.max_rows, limits.max_cells, limits.max_bytes) == (10, 50, 99)
    assert limits.max_columns == ReadLimits().max_columns
    assert all(f.metadata["help"] and f.metadata["unit"] for f in ReadLimits.settings())


def test_cells_right_of_the_header_are_not_read(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER)
    ws.append(["JL-001", "2024-06-01", 3])
    ws.cell(3, 400, "stray")
    ws.cell(3, 300, "=SUM(A1:A2)")  # a formula out there does not widen the sheet either
    wb.save(tmp_path / "a.xlsx")
    parsed = parse_upload(tmp_path / "a.xlsx", "violations")
    assert parsed.frame is not None and len(parsed.frame) == 1
    warning = [p for p in parsed.report.warnings if p.code == "COLUMNS_NOT_READ"]
    assert len(warning) == 1 and warning[0].row == 3 and "C列" in warning[0].message


def test_a_sheet_within_the_limits_reads_whole(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER)
    for i in range(99):
        ws.append([f"JL-{i:03d}", "2024-06-01", i])
    wb.save(tmp_path / "a.xlsx")
    raw, report = _read(tmp_path / "a.xlsx", max_rows=100, max_cells=300)
    assert raw is not None and raw.frame.shape == (100, 3), report.format_text()
    raw, report = _read(tmp_path / "a.xlsx", max_rows=99)
    assert raw is None and report.errors[0].code == "SHEET_TOO_LARGE" and "上限 99 行" in report.errors[0].message


def test_cells_without_references_count_one_each(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(HEADER)
    wb.save(tmp_path / "a.xlsx")
    cells = "".join("<c><v>1</v></c>" for _ in range(500))
    patch_sheet_xml(tmp_path / "a.xlsx", lambda xml: xml.replace("</sheetData>", f"<row>{cells}</row></sheetData>")
                    .replace('<dimension ref="A1:C1"/>', ""))
    raw, report = _read(tmp_path / "a.xlsx", max_cells=400)
    assert raw is None and report.errors[0].code == "SHEET_TOO_LARGE", report.format_text()


@pytest.mark.parametrize("item", ["<si/>", "<si><t></t></si>", "<x:si/>"])
def test_more_shared_texts_than_cells_are_refused_before_they_are_loaded(tmp_path, item):
    """A few hundred KB zipped can hold 100 million empty shared texts, which the reader loads (2.7 GB) before
    any sheet is measured: more of them than the cells a sheet may have is refused first."""
    import zipfile

    wb = openpyxl.Workbook()
    wb.active.append(HEADER)
    wb.active.append(["JL-001", "2024-06-01", 3])
    wb.save(tmp_path / "a.xlsx")
    with zipfile.ZipFile(tmp_path / "a.xlsx") as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    prefix = ' xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"' if item.startswith("<x:") else ""
    parts["xl/sharedStrings.xml"] = (f'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"{prefix}>'
                                     + item * 600 + "</sst>").encode()
    with zipfile.ZipFile(tmp_path / "a.xlsx", "w") as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    raw, report = _read(tmp_path / "a.xlsx", max_cells=500)
    assert raw is None and report.errors[0].code == "SHEET_TOO_LARGE" and "文本单元格" in report.errors[0].message
    raw, report = _read(tmp_path / "a.xlsx", max_cells=600)
    assert raw is not None, report.format_text()


def test_an_xls_too_large_is_refused_before_its_rows_are_read(tmp_path):
    book = xlwt.Workbook()
    sheet = book.add_sheet("数据")
    for j, text in enumerate(HEADER):
        sheet.write(0, j, text)
    sheet.write(60000, 200, "far")
    book.save(str(tmp_path / "a.xls"))
    raw, report = _read(tmp_path / "a.xls", max_cells=1_000_000)
    assert raw is None and report.errors[0].code == "SHEET_TOO_LARGE"
    assert "第 60,001 行、GS 列" in report.errors[0].message


def test_a_sheet_too_large_is_skipped_while_another_sheet_holds_the_table(tmp_path):
    wb = openpyxl.Workbook()
    junk = wb.active
    junk.title = "草稿"
    junk.cell(500, 500, "x")
    data = wb.create_sheet("数据")
    data.append(HEADER)
    data.append(["JL-001", "2024-06-01", 3])
    wb.save(tmp_path / "a.xlsx")
    parsed = parse_upload(tmp_path / "a.xlsx", "violations", limits=ReadLimits(max_cells=10_000))
    assert parsed.report.sheet == "数据" and parsed.frame is not None and len(parsed.frame) == 1


@pytest.mark.parametrize("lines", [1, 3])
def test_a_csv_line_count_and_width_are_read_from_its_bytes(tmp_path, lines):
    path = tmp_path / "a.csv"
    body = "".join(f"JL-{i},2024-06-01,{i}\n" for i in range(lines))
    path.write_text(",".join(HEADER) + "\n" + body, encoding="gb18030")
    raw, report = _read(path, max_rows=lines + 1)
    assert raw is not None and raw.frame.shape == (lines + 1, 3)
    raw, report = _read(path, max_rows=lines)
    assert raw is None and f"{lines + 1:,} 行" in report.errors[0].message


def test_a_formula_cell_far_below_is_measured(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(HEADER)
    wb.active.append(["JL-001", "2024-06-01", 3])
    wb.save(tmp_path / "a.xlsx")
    patch_sheet_xml(tmp_path / "a.xlsx", lambda xml: set_cell_xml(xml, "C2", "<f>1+1</f>")
                    .replace("</sheetData>", '<row r="900000"><c r="A900000"><f>1+1</f></c></row></sheetData>'))
    raw, report = _read(tmp_path / "a.xlsx", max_rows=1000)
    assert raw is None and "900,000 行" in report.errors[0].message


@pytest.mark.parametrize("cell", ["<c r='T20000'", '<c\nr="T20000"', '<c r = "T20000"', '<c r="t20000"',
                                  '<c r="A99999999"', '<c r="AAAA1"', '<x:c r="T20000"'])
def test_a_far_cell_is_found_however_its_reference_is_written(tmp_path, cell):
    """Every spelling calamine accepts for a cell reference (single quotes, line breaks, spaces, lower case, more
    letters or digits than Excel has) is measured before calamine lays the cells out."""
    wb = openpyxl.Workbook()
    wb.active.append(HEADER)
    wb.active.append(["JL-001", "2024-06-01", 3])
    wb.save(tmp_path / "a.xlsx")
    patch_sheet_xml(tmp_path / "a.xlsx", lambda xml: xml.replace('<dimension ref="A1:C2"/>', "")
                    .replace("</sheetData>", f'<row r="3">{cell} t="inlineStr"><is><t>x</t></is></c></row></sheetData>'))
    raw, report = _read(tmp_path / "a.xlsx", max_cells=10_000)
    assert raw is None and report.errors[0].code == "SHEET_TOO_LARGE", report.format_text()
