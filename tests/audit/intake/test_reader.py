"""Reading an upload as it really is: format sniffing, encodings, Excel row numbers, formulas kept as text."""
from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import pytest

from audit.intake.limits import ReadLimits
from audit.intake.reader import CFB_MAGIC, read_sheet
from audit.intake.report import ValidationReport
from tests.audit.conftest import patch_sheet_xml, set_cell_xml, write_csv, write_form


def _read(path: Path, **options):
    report = ValidationReport(path.name, "devices")
    return read_sheet(path, report, **options), report


def _only_error(report: ValidationReport) -> str:
    assert len(report.errors) == 1, report.format_text()
    assert report.errors[0].row is None
    return report.errors[0].code


def test_zero_byte_file_is_empty(tmp_path):
    path = tmp_path / "a.xlsx"
    path.write_bytes(b"")
    raw, report = _read(path)
    assert raw is None and _only_error(report) == "FILE_EMPTY"


def test_workbook_without_any_value_is_empty(tmp_path):
    path = write_form(tmp_path / "a.xlsx", [], [], title=None, unit=None)
    raw, report = _read(path)
    assert raw is None and _only_error(report) == "FILE_EMPTY"


def test_csv_of_blank_lines_and_commas_is_empty(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(",,,\n\n , ,\n", encoding="utf-8")
    raw, report = _read(path)
    assert raw is None and _only_error(report) == "FILE_EMPTY"


def test_text_file_named_xlsx_is_not_a_spreadsheet(tmp_path):
    path = tmp_path / "a.xlsx"
    path.write_text("设备编号,设备类型\nA,固定测速\n", encoding="utf-8")
    raw, report = _read(path)
    assert raw is None and _only_error(report) == "NOT_SPREADSHEET"
    assert "另存为 .xlsx" in report.errors[0].message


def test_html_exported_as_xls_is_explained(tmp_path):
    path = tmp_path / "导出.xls"
    path.write_text("<html><body><table><tr><td>设备编号</td></tr></table></body></html>", encoding="utf-8")
    raw, report = _read(path)
    assert raw is None and _only_error(report) == "NOT_SPREADSHEET"
    assert "网页" in report.errors[0].message


def test_corrupt_zip_is_reported(tmp_path):
    path = tmp_path / "a.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\x00garbage" * 100)
    raw, report = _read(path)
    assert raw is None and _only_error(report) == "FILE_CORRUPT"


def test_truncated_xlsx_is_corrupt(tmp_path):
    path = write_form(tmp_path / "a.xlsx", ["设备编号"], [["A"]])
    path.write_bytes(path.read_bytes()[:400])
    raw, report = _read(path)
    assert raw is None and _only_error(report) == "FILE_CORRUPT"


def test_encrypted_xlsx_asks_to_remove_the_password(tmp_path):
    path = tmp_path / "a.xlsx"
    path.write_bytes(CFB_MAGIC + bytes(range(256)) * 40)
    raw, report = _read(path)
    assert raw is None and _only_error(report) == "FILE_ENCRYPTED"
    assert "密码" in report.errors[0].message and "保护工作簿" in report.errors[0].message


def test_over_the_size_limit_says_limit_and_size(tmp_path):
    path = write_csv(tmp_path / "a.csv", ["设备编号"], [["A" * 100]] * 30)
    raw, report = _read(path, limits=ReadLimits(max_bytes=1024))
    assert raw is None and _only_error(report) == "FILE_TOO_LARGE"
    message = report.errors[0].message
    assert f"{path.stat().st_size / 1024:.1f} KB" in message and "上限 0.000976562 MB" in message


@pytest.mark.parametrize("name", ["a.txt", "a.pdf", "a.et", "noext"])
def test_unsupported_suffix_lists_the_accepted_ones(tmp_path, name):
    path = tmp_path / name
    path.write_text("设备编号\nA\n", encoding="utf-8")
    raw, report = _read(path)
    assert raw is None and _only_error(report) == "FILE_TYPE"
    assert all(s in report.errors[0].message for s in (".xlsx", ".xls", ".csv"))


def test_excel_row_numbers_with_title_offset_column_and_gaps(tmp_path):
    path = write_form(tmp_path / "a.xlsx", ["设备编号", "设备类型"], [["A", "固定测速"], [None, None], ["B", "闯红灯"]],
                      blank_rows=1, first_col=3)
    raw, _ = _read(path)
    rows = dict(zip(raw.row_numbers.tolist(), raw.rows()))
    # Title row 1 (merged C1:D1), 填报单位 row 2, blank row 3, header row 4, data from row 5, column C = index 2.
    assert rows[1][2] == "非现场执法设备登记表"
    assert rows[4][2:4] == ["设备编号", "设备类型"]
    assert rows[5][2:4] == ["A", "固定测速"]
    assert rows[7][2:4] == ["B", "闯红灯"]


def test_formula_cells_hold_their_formula_text_not_the_cached_value(tmp_path):
    path = write_form(tmp_path / "a.xlsx", ["设备编号", "限速值"], [["A", 1], ["B", 2]], title=None, unit=None)
    patch_sheet_xml(path, lambda xml: set_cell_xml(xml, "B2", "<f>30+30</f><v>60</v>"))
    raw, report = _read(path)
    assert raw.rows()[1] == ["A", "=30+30"]
    assert raw.formulas == {(2, 1): "=30+30"}
    assert report.ok


def test_shared_formulas_are_shifted_to_each_cell(tmp_path):
    path = write_form(tmp_path / "a.xlsx", ["设备编号", "数", "限速值"], [["A", 1, 0], ["B", 2, 0], ["C", 3, 0]],
                      title=None, unit=None)

    def change(xml: str) -> str:
        xml = set_cell_xml(xml, "C2", '<f t="shared" ref="C2:C4" si="0">B2*$B$2+SUM(B2:B3)&amp;"A1"</f><v>1</v>')
        xml = set_cell_xml(xml, "C3", '<f t="shared" si="0"/><v>4</v>')
        return set_cell_xml(xml, "C4", '<f t="shared" si="0"/><v>9</v>')

    patch_sheet_xml(path, change)
    raw, _ = _read(path)
    assert [r[2] for r in raw.rows()[1:]] == ['=B2*$B$2+SUM(B2:B3)&"A1"', '=B3*$B$2+SUM(B3:B4)&"A1"',
                                              '=B4*$B$2+SUM(B4:B5)&"A1"']


def test_formulas_without_saved_values_below_the_last_value_are_placed(tmp_path):
    """openpyxl saves formulas without their values: rows of formulas alone lie past the values' frame (it was
    grown a row per cell, in time quadratic in the cells)."""
    import openpyxl

    path = tmp_path / "f.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["设备编号", "限速值"])
    for i in range(2, 3002):
        sheet.append([f"=\"D\"&{i}", f"={i}+1"])
    book.save(path)
    raw, _ = _read(path)
    rows = raw.rows()
    assert len(rows) == 3001 and rows[1] == ['="D"&2', "=2+1"] and rows[-1] == ['="D"&3001', "=3001+1"]
    assert len(raw.formulas) == 6000 and list(raw.row_numbers[-2:]) == [3000, 3001]


def test_the_table_on_the_last_of_many_sheets_is_found(tmp_path):
    path = write_form(tmp_path / "a.xlsx", ["设备编号"], [["A"]], sheet="数据", title=None, unit=None,
                      before={f"空{i}": [] for i in range(400)})
    raw, report = _read(path, pick=lambda rows: any("设备编号" in r for r in rows))
    assert raw.sheet == "数据" and report.ok and raw.rows()[1] == ["A"]


def test_error_cells_are_kept_as_their_error_text(tmp_path):
    path = write_form(tmp_path / "a.xlsx", ["设备编号", "限速值"], [["A", 1]], title=None, unit=None)
    patch_sheet_xml(path, lambda xml: set_cell_xml(xml, "B2", "<v>#N/A</v>", cell_type="e"))
    raw, _ = _read(path)
    assert raw.rows()[1] == ["A", "#N/A"]
    assert raw.errors == {(2, 1): "#N/A"}


def test_sheet_choice_follows_pick_and_defaults_to_first_with_values(tmp_path):
    path = write_form(tmp_path / "a.xlsx", ["设备编号"], [["A"]], sheet="数据",
                      before={"填表说明": [["说明"]], "空": []})
    raw, _ = _read(path)
    assert raw.sheet == "填表说明"
    raw, report = _read(path, pick=lambda rows: any("设备编号" in r for r in rows))
    assert raw.sheet == "数据" and report.sheet == "数据"
    raw, _ = _read(path, sheet="数据")
    assert raw.sheet == "数据"


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8", "utf-8-sig", "utf-16"])
def test_csv_encodings(tmp_path, encoding):
    path = write_csv(tmp_path / "a.csv", ["设备编号", "道路名称"], [["JL-1", "水南大道（东段）"]],
                     encoding=encoding, title_rows=["非现场执法设备登记表"])
    raw, report = _read(path)
    assert report.ok
    assert raw.rows() == [["非现场执法设备登记表", None], ["设备编号", "道路名称"], ["JL-1", "水南大道（东段）"]]


@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
def test_csv_delimiters_are_sniffed(tmp_path, delimiter):
    path = write_csv(tmp_path / "a.csv", ["设备编号", "设备类型", "经度"], [["A", "闯红灯", "117.1"]] * 3,
                     delimiter=delimiter, title_rows=["登记表"])
    raw, _ = _read(path)
    assert raw.rows()[2] == ["A", "闯红灯", "117.1"]


def test_csv_rows_keep_their_numbers_across_blank_lines_and_ragged_rows(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("标题\n设备编号,设备类型\nA,闯红灯\n\nB,闯红灯,多出的一格\n", encoding="utf-8")
    raw, _ = _read(path)
    rows = dict(zip(raw.row_numbers.tolist(), raw.rows()))
    assert rows[3][:2] == ["A", "闯红灯"] and rows[5] == ["B", "闯红灯", "多出的一格"]


def test_undecodable_csv_is_reported(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes("设备编号\n".encode() + b"\x81\x20\xff\xfe\x80\n")
    raw, report = _read(path)
    assert raw is None and _only_error(report) == "FILE_ENCODING"


def test_xls_file_is_read_with_dates_and_row_numbers(tmp_path):
    xlwt = pytest.importorskip("xlwt")
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("设备登记表")
    ws.write(2, 1, "设备编号")  # nothing above row 3 nor left of column B
    ws.write(2, 2, "安装日期")
    ws.write(3, 1, "JL-1")
    ws.write(3, 2, dt.date(2024, 3, 5), xlwt.easyxf(num_format_str="YYYY-MM-DD"))
    path = tmp_path / "a.xls"
    wb.save(str(path))
    raw, report = _read(path)
    rows = dict(zip(raw.row_numbers.tolist(), raw.rows()))
    assert rows[3] == [None, "设备编号", "安装日期"]
    assert rows[4] == [None, "JL-1", dt.date(2024, 3, 5)]
    assert [p.code for p in report.warnings] == ["XLS_FORMULAS"]


def test_xls_saved_under_xlsx_name_is_read_as_xls(tmp_path):
    xlwt = pytest.importorskip("xlwt")
    wb = xlwt.Workbook(encoding="utf-8")
    wb.add_sheet("表").write(0, 0, "设备编号")
    path = tmp_path / "a.xlsx"
    wb.save(str(path))
    raw, report = _read(path)
    assert raw.rows()[0] == ["设备编号"]
    assert "FILE_SUFFIX" in [p.code for p in report.warnings]


def test_workbook_zip_without_workbook_part_is_not_a_spreadsheet(tmp_path):
    path = tmp_path / "a.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("word/document.xml", "<w:document/>")
    raw, report = _read(path)
    assert raw is None and _only_error(report) == "NOT_SPREADSHEET"
    assert "Word" in report.errors[0].message


@pytest.mark.parametrize("sheets", [b"<sheets/>", b""])
def test_workbook_listing_no_sheet_is_refused_with_what_to_do(tmp_path, sheets):
    """A crafted or broken .xlsx whose workbook part lists no sheet (once an IndexError, a 500 on the web)."""
    import re

    path = write_form(tmp_path / "a.xlsx", ["设备编号"], [["A"]])
    with zipfile.ZipFile(path) as zf:
        parts = {name: zf.read(name) for name in zf.namelist()}
    parts["xl/workbook.xml"] = re.sub(rb"<sheets>.*</sheets>", sheets, parts["xl/workbook.xml"], flags=re.S)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    raw, report = _read(path)
    assert raw is None and _only_error(report) == "FILE_CORRUPT"
    assert report.errors[0].message.startswith("文件中没有任何工作表") and "另存为" in report.errors[0].message
