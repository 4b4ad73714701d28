"""The annotated workbook: the upload as read, problem cells filled and commented, a 问题清单 sheet, nothing live."""
from __future__ import annotations

import zipfile

import openpyxl

from audit.intake.report_xlsx import LIST_HEADERS, LIST_SHEET, write_annotated
from audit.intake.upload import parse_upload
from tests.audit.conftest import DEVICE_HEADER, Text, good_device

RED, YELLOW = "00FFC7CE", "00FFEB9C"


def _fill(cell):
    return cell.fill.fgColor.rgb if cell.fill.fill_type == "solid" else None


def test_annotated_copy_marks_the_right_cells(form, tmp_path):
    rows = [good_device("A", 设备类型="无人机"), good_device("B", 经度=26.72851, 纬度=117.47312),
            good_device("C", 标识设置=Text("=cmd|' /C calc'!A0"))]
    path = form([*DEVICE_HEADER, "备注"], rows, blank_rows=1)
    parsed = parse_upload(path, "devices")
    out = tmp_path / "report.xlsx"
    write_annotated(path, parsed.report, out)

    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["设备登记表", LIST_SHEET]
    ws = wb["设备登记表"]
    # The sheet as read, at the same rows: title in A1, header in row 4, data from row 5.
    assert ws["A1"].value == "非现场执法设备登记表" and ws["A4"].value == "设备编号*" and ws["A5"].value == "A"
    assert ws["B5"].value == "无人机" and _fill(ws["B5"]) == RED
    assert "BAD_CHOICE" in ws["B5"].comment.text and "固定测速" in ws["B5"].comment.text
    assert _fill(ws["C6"]) == YELLOW and "COORD_SWAPPED" in ws["C6"].comment.text
    assert _fill(ws["L4"]) == YELLOW and "COLUMN_UNKNOWN" in ws["L4"].comment.text
    assert ws["H7"].value == "=cmd|' /C calc'!A0" and ws["H7"].data_type == "s" and _fill(ws["H7"]) == RED
    assert ws["A5"].comment is None and _fill(ws["A5"]) is None and ws["D5"].comment is None

    listed = list(wb[LIST_SHEET].iter_rows(values_only=True))
    assert listed[0] == LIST_HEADERS
    assert ("错误", 5, "设备类型*", "无人机", "BAD_CHOICE") in [r[:5] for r in listed[1:]]
    assert len(listed) == 1 + len(parsed.report.problems)
    with zipfile.ZipFile(out) as zf:
        sheets = [zf.read(n) for n in zf.namelist() if n.startswith("xl/worksheets/sheet")]
    assert sheets and not any(b"<f>" in xml or b"<f " in xml for xml in sheets)


def test_file_level_problem_gives_only_the_problem_list(tmp_path):
    path = tmp_path / "a.xlsx"
    path.write_text("not a workbook", encoding="utf-8")
    parsed = parse_upload(path, "devices")
    out = tmp_path / "report.xlsx"
    write_annotated(path, parsed.report, out)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == [LIST_SHEET]
    rows = list(wb[LIST_SHEET].iter_rows(values_only=True))
    assert rows[1][:5] == ("错误", None, None, None, "NOT_SPREADSHEET")


def test_csv_upload_is_annotated_and_formula_text_stays_inert(csv_file, tmp_path):
    path = csv_file(["设备编号", "设备名称", "设备类型", "经度", "纬度"],
                    [["=1+1", "@SUM(A1)", "闯红灯", "117.4", "26.7"], ["B", "x", "闯红灯", "abc", "26.7"]],
                    title_rows=["登记表"])
    parsed = parse_upload(path, "devices")
    out = tmp_path / "report.xlsx"
    write_annotated(path, parsed.report, out)
    ws = openpyxl.load_workbook(out)["数据"]
    assert ws["A3"].value == "=1+1" and ws["A3"].data_type == "s" and _fill(ws["A3"]) == YELLOW
    assert ws["B3"].value == "@SUM(A1)" and _fill(ws["B3"]) == YELLOW
    assert ws["D4"].value == "abc" and _fill(ws["D4"]) == RED and "COORD_NOT_NUMERIC" in ws["D4"].comment.text
    with zipfile.ZipFile(out) as zf:
        assert b"<f>" not in zf.read("xl/worksheets/sheet1.xml")
