"""parse_upload: every problem of an upload at once, at the row and column the clerk sees, and a typed frame."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from shapely.geometry import box

from audit.intake.columns import DEVICE_COLUMNS, DEVICE_TYPES
from audit.intake.upload import parse_upload
from geo.crs import wgs84_to_gcj02
from tests.audit.conftest import DEVICE_HEADER, Text, good_device, patch_sheet_xml, set_cell_xml, write_csv

REAL = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "real"


def _problems(parsed, code):
    return [p for p in parsed.report.problems if p.code == code]


def _one(parsed, code):
    found = _problems(parsed, code)
    assert len(found) == 1, parsed.report.format_text()
    return found[0]


def test_good_devices_file_gives_typed_frame(form):
    path = form(DEVICE_HEADER, [good_device("JL-1"), good_device("JL-2", 标识设置="否", 限速值=None)])
    parsed = parse_upload(path, "devices")
    assert parsed.report.ok and not parsed.report.warnings, parsed.report.format_text()
    assert parsed.report.header_row == 3 and parsed.report.data_rows == 2 and parsed.report.sheet == "设备登记表"
    frame = parsed.frame
    assert frame["row"].tolist() == [4, 5]
    assert frame["device_code"].tolist() == ["JL-1", "JL-2"] and frame["device_code"].dtype == object
    assert frame["installed_on"].dtype == "datetime64[ns]"
    assert frame["installed_on"].iloc[0] == pd.Timestamp("2023-05-10")
    assert str(frame["signage"].dtype) == "boolean" and frame["signage"].tolist() == [True, False]
    assert str(frame["speed_limit_kmh"].dtype) == "Int64" and frame["speed_limit_kmh"].isna().tolist() == [False, True]
    assert frame[["lon", "lat", "raw_lon", "raw_lat"]].iloc[0].tolist() == [117.47312, 26.72851, 117.47312, 26.72851]
    assert frame["crs"].tolist() == ["WGS84", "WGS84"]
    assert parsed.columns["device_code"] == "设备编号*"


def test_missing_required_columns_are_all_reported_and_rows_not_checked(form):
    path = form(["设备编号*", "名称", "纬度"], [["JL-1", "x", "bad"]])
    parsed = parse_upload(path, "devices")
    assert parsed.frame is None
    missing = _problems(parsed, "MISSING_COLUMN")
    assert {p.column for p in missing} == {"设备类型", "经度"}
    assert all("“设备编号*”、“名称”、“纬度”" in p.message for p in missing)
    assert not _problems(parsed, "COORD_NOT_NUMERIC")


def test_file_without_any_known_header_reports_missing_columns(form):
    parsed = parse_upload(form(["甲", "乙"], [["1", "2"]]), "violations")
    assert parsed.frame is None
    assert {p.column for p in _problems(parsed, "MISSING_COLUMN")} == {"设备编号", "日期", "违法数量"}


def test_duplicate_device_code_names_the_first_row(form):
    path = form(DEVICE_HEADER, [good_device("JL-1"), good_device("JL-2"), good_device("ＪＬ-1 ")])
    problem = _one(parse_upload(path, "devices"), "DUPLICATE_CODE")
    assert (problem.row, problem.column) == (6, "设备编号*")
    assert "第4行" in problem.message


def test_device_codes_differing_only_by_case_within_a_file(form):
    rows = [good_device("JL-JT-0001"), good_device("JL-JT-0002"), good_device("jl-jt-0001"), good_device("Jl-Jt-0001")]
    parsed = parse_upload(form(DEVICE_HEADER, rows), "devices")
    assert [(p.code, p.row, p.column, p.value) for p in parsed.report.errors] == [
        ("CODE_CASE_VARIANT", 6, "设备编号*", "jl-jt-0001"), ("CODE_CASE_VARIANT", 7, "设备编号*", "Jl-Jt-0001")]
    assert all(p.message == "与第4行的设备编号“JL-JT-0001”仅大小写不同；编号不区分大小写，同一设备只能填一行，"
                            "不同设备请使用不同的编号。" for p in parsed.report.errors)


def test_swapped_coordinates_are_swapped_with_a_warning(form):
    parsed = parse_upload(form(DEVICE_HEADER, [good_device(经度=26.72851, 纬度=117.47312)]), "devices")
    assert parsed.report.ok
    problem = _one(parsed, "COORD_SWAPPED")
    assert problem.level == "warning" and problem.row == 4
    row = parsed.frame.iloc[0]
    assert (row["lon"], row["lat"]) == (117.47312, 26.72851)
    assert (row["raw_lon"], row["raw_lat"]) == (26.72851, 117.47312)


def test_non_numeric_coordinates_are_errors_that_say_what_to_write(form):
    parsed = parse_upload(form(DEVICE_HEADER, [good_device(经度="东经一百一十七度")]), "devices")
    problem = _one(parsed, "COORD_NOT_NUMERIC")
    assert (problem.row, problem.column, problem.value) == (4, "经度*", "东经一百一十七度")
    assert "十进制度" in problem.message and "117.47312" in problem.message
    assert np.isnan(parsed.frame["lon"].iloc[0])


def test_out_of_range_and_zero_coordinates_are_errors(form):
    parsed = parse_upload(form(DEVICE_HEADER, [good_device("A", 经度=1174.7312), good_device("B", 纬度=0)]), "devices")
    out_of_range = _one(parsed, "COORD_OUT_OF_RANGE")
    assert out_of_range.row == 4
    assert out_of_range.value == "1174.7312, 26.72851"  # what the clerk typed, not the value after checking
    assert _one(parsed, "COORD_ZERO").row == 5


def test_point_outside_china_is_a_warning_only(form):
    parsed = parse_upload(form(DEVICE_HEADER, [good_device(经度=-87.7097, 纬度=41.7644)]), "devices")
    assert parsed.report.ok and parsed.frame is not None
    assert _one(parsed, "COORD_OUTSIDE_CHINA").level == "warning"
    assert parsed.frame["lon"].iloc[0] == -87.7097


def test_point_outside_the_boundary_is_a_warning(form):
    path = form(DEVICE_HEADER, [good_device("IN"), good_device("OUT", 经度=118.5)])
    parsed = parse_upload(path, "devices", boundary=box(117.0, 26.0, 118.0, 27.0))
    assert _one(parsed, "COORD_OUTSIDE_BOUNDARY").row == 5 and parsed.report.ok


def test_gcj02_coordinates_are_converted_and_raw_kept(form):
    lon, lat = wgs84_to_gcj02(117.47312, 26.72851)
    parsed = parse_upload(form(DEVICE_HEADER, [good_device(经度=float(lon[()]), 纬度=float(lat[()]), 坐标系="高德")]),
                          "devices")
    row = parsed.frame.iloc[0]
    assert row["crs"] == "GCJ02"
    assert row["lon"] == pytest.approx(117.47312, abs=1e-6) and row["lat"] == pytest.approx(26.72851, abs=1e-6)
    assert row["raw_lon"] == pytest.approx(float(lon[()]))


def test_default_crs_applies_to_empty_cells_and_missing_crs_is_flagged(form):
    path = form(DEVICE_HEADER, [good_device("A", 坐标系=None), good_device("B", 坐标系="WGS84")])
    assert parse_upload(path, "devices", default_crs="GCJ02").frame["crs"].tolist() == ["GCJ02", "WGS84"]
    parsed = parse_upload(path, "devices")
    assert parsed.frame["crs"].tolist() == ["WGS84", "WGS84"]
    assert "1 行未填写坐标系" in _one(parsed, "CRS_ASSUMED").message


def test_unknown_crs_is_an_error(form):
    problem = _one(parse_upload(form(DEVICE_HEADER, [good_device(坐标系="北京54")]), "devices"), "BAD_CRS")
    assert problem.row == 4 and "北京54" in problem.message


def test_valid_until_before_verified_in_devices_and_verifications(form):
    parsed = parse_upload(form(DEVICE_HEADER, [good_device(检定有效期至="2024-05-19")]), "devices")
    assert _one(parsed, "VALID_UNTIL_BEFORE_VERIFIED").column == "检定有效期至"
    path = form(["设备编号", "检定日期", "有效期至", "检定结果"],
                [["JL-1", "2024-05-20", "2024-01-01", "合格"], ["JL-1", "2025-05-20", "2026-05-19", "合格"]],
                name="v.xlsx")
    parsed = parse_upload(path, "verifications")
    assert _one(parsed, "VALID_UNTIL_BEFORE_VERIFIED").row == 4


def test_unknown_device_type_lists_the_allowed_values(form):
    problem = _one(parse_upload(form(DEVICE_HEADER, [good_device(设备类型="无人机")]), "devices"), "BAD_CHOICE")
    assert problem.value == "无人机" and all(t in problem.message for t in DEVICE_TYPES)


def test_english_device_type_and_status_synonym_are_accepted(form):
    path = form(["设备编号", "设备类型", "经度", "纬度", "状态"], [["A", "Red Light", 117.4, 26.7, "使用中"]])
    frame = parse_upload(path, "devices").frame
    assert frame[["device_type", "status"]].iloc[0].tolist() == ["闯红灯", "在用"]


def test_formula_and_formula_like_text_are_kept_as_text_with_a_warning(form):
    path = form(["设备编号", "设备名称", "设备类型", "经度", "纬度", "限速值", "设置地点"],
                [["A", Text("=cmd|' /C calc'!A0"), "闯红灯", 117.4, 26.7, 60, Text("+86 路口")],
                 ["B", "@SUM(1)", "闯红灯", 117.4, 26.7, 60, Text("-东侧")],
                 ["C", "名称", "闯红灯", 117.4, 26.7, 60, "x"]])
    patch_sheet_xml(path, lambda xml: set_cell_xml(set_cell_xml(xml, "B6", '<f>"甲"&amp;"乙"</f><v>甲乙</v>', "str"),
                                                   "F6", "<f>30*2</f><v>60</v>"))
    parsed = parse_upload(path, "devices")
    frame = parsed.frame
    assert frame["name"].tolist() == ["=cmd|' /C calc'!A0", "@SUM(1)", '="甲"&"乙"']
    assert frame["address"].tolist() == ["+86 路口", "-东侧", "x"]
    warned = {(p.row, p.column) for p in _problems(parsed, "CELL_FORMULA")}
    assert warned == {(4, "设备名称"), (4, "设置地点"), (5, "设备名称"), (5, "设置地点"), (6, "设备名称")}
    assert all(p.level == "warning" for p in _problems(parsed, "CELL_FORMULA"))
    formula_note = next(p for p in _problems(parsed, "CELL_FORMULA") if p.row == 6)
    assert "公式" in formula_note.message and '="甲"&"乙"' in formula_note.message
    # A formula in a number column is never evaluated: its cached value 60 is not taken.
    bad = _one(parsed, "BAD_NUMBER")
    assert (bad.row, bad.value) == (6, "=30*2") and "公式" in bad.message
    assert frame["speed_limit_kmh"].isna().tolist() == [False, False, True]


def test_excel_error_value_is_reported(form):
    path = form(["设备编号", "设备类型", "经度", "纬度", "限速值"], [["A", "闯红灯", 117.4, 26.7, 60]])
    patch_sheet_xml(path, lambda xml: set_cell_xml(xml, "E4", "<v>#DIV/0!</v>", "e"))
    problem = _one(parse_upload(path, "devices"), "CELL_ERROR")
    assert (problem.row, problem.column) == (4, "限速值") and "#DIV/0!" in problem.message


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig"])
def test_chinese_csv_under_title_rows_with_full_width_headers(csv_file, encoding):
    header = ["设备编号＊", "设备类型（必填）", " 经 度 ", "纬度＊", "标识距离（米）", "安装日期"]
    rows = [["JL-1", "闯红灯", "117.47312", "26.72851", "３００", "2023年5月10日"],
            ["JL-2", "违法停车", "117.5", "26.7", "", "20230510"]]
    path = csv_file(header, rows, encoding=encoding,
                    title_rows=["非现场执法设备登记表,,,,,", "填报单位：将乐县公安局,,,,,"])
    parsed = parse_upload(path, "devices")
    assert parsed.report.ok, parsed.report.format_text()
    assert parsed.report.header_row == 3 and parsed.report.sheet is None
    frame = parsed.frame
    assert frame["row"].tolist() == [4, 5]
    assert frame["sign_distance_m"].iloc[0] == 300.0
    assert frame["installed_on"].tolist() == [pd.Timestamp("2023-05-10")] * 2
    assert parsed.columns["sign_distance_m"] == "标识距离（米）"


def test_english_alias_headers(csv_file):
    path = csv_file(["Device Code", "device_type", "Longitude", "LATITUDE"], [["A", "固定测速", "117.4", "26.7"]])
    parsed = parse_upload(path, "devices")
    assert parsed.report.ok and parsed.frame["lon"].iloc[0] == 117.4
    path = csv_file(["device_code", "violation_date", "violations", "罚款金额(元)"], [["A", "2024-03", "3", "600"]],
                    name="v.csv")
    frame = parse_upload(path, "violations").frame
    assert frame[["period", "count", "fine_yuan"]].iloc[0].tolist() == ["month", 3, 600.0]


def test_all_date_and_yes_no_forms_in_one_file(form):
    dates = ["2024-03-05", "2024/3/5", "2024.3.5", "2024年3月5日", "20240305", 45356, dt.date(2024, 3, 5),
             dt.datetime(2024, 3, 5, 9, 30)]
    flags = ["是", "Y", "y", "√", "true", "1", "yes", "有"]
    rows = [good_device(f"D{i}", 安装日期=d, 标识设置=f) for i, (d, f) in enumerate(zip(dates, flags))]
    rows.append(good_device("N", 标识设置="×"))
    parsed = parse_upload(form(DEVICE_HEADER, rows), "devices")
    assert parsed.report.ok, parsed.report.format_text()
    assert parsed.frame["installed_on"].iloc[:8].tolist() == [pd.Timestamp("2024-03-05")] * 8
    assert parsed.frame["signage"].tolist() == [True] * 8 + [False]


def test_bad_cells_are_reported_at_the_excel_row_under_merged_title_and_unit_row(form):
    rows = [good_device("A"), good_device("B", 安装日期="2024-02-30", 启用日期="2024-13-01"), [None] * 11,
            good_device("C", 标识设置="也许")]
    parsed = parse_upload(form(DEVICE_HEADER, rows, blank_rows=1), "devices")
    # Row 1 merged title, row 2 填报单位, row 3 blank, row 4 header, rows 5.. data; row 7 empty and skipped.
    assert parsed.report.header_row == 4
    bad_date, bad_month = sorted(_problems(parsed, "BAD_DATE"), key=lambda p: p.column != "安装日期")
    assert (bad_date.row, bad_date.column, bad_date.value) == (6, "安装日期", "2024-02-30")
    assert "2月没有30日" in bad_date.message
    assert (bad_month.row, bad_month.column) == (6, "启用日期") and "月份 13 不合理" in bad_month.message
    assert _one(parsed, "BAD_BOOL").row == 8
    assert parsed.frame["row"].tolist() == [5, 6, 8] and parsed.report.data_rows == 3


def test_required_empty_cells(form):
    parsed = parse_upload(form(DEVICE_HEADER, [good_device(设备类型=None), good_device("", 经度="")]), "devices")
    empty = {(p.row, p.column) for p in _problems(parsed, "REQUIRED_EMPTY")}
    assert empty == {(4, "设备类型*"), (5, "设备编号*"), (5, "经度*")}


def test_instruction_sheet_is_skipped_for_the_data_sheet(form):
    notes = [["列名", "说明"], ["设备编号*", "本单位设备的唯一编号"], ["设备类型*", "从下拉列表中选择"]]
    path = form(DEVICE_HEADER, [good_device()], before={"填表说明": notes})
    parsed = parse_upload(path, "devices")
    assert parsed.report.sheet == "设备登记表" and parsed.report.ok


def _workbook(path: Path, sheets: dict[str, list[list]]) -> Path:
    """An .xlsx of the given sheets in order, built by openpyxl (an empty list: a sheet with no cell)."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


VIOLATIONS = [["设备编号", "日期", "违法数量"], ["JL-1", "2025-01-01", 3]]


@pytest.mark.parametrize("first", [{"Sheet1": []}, {"说明": [["填表说明"], ["设备编号：按设备登记表填写"]]},
                                   {"Sheet1": [], "说明": [["本表由交警大队填报"]]}])
def test_the_table_behind_an_empty_or_cover_sheet_is_read(tmp_path, first):
    parsed = parse_upload(_workbook(tmp_path / "v.xlsx", {**first, "数据": VIOLATIONS}), "violations")
    assert parsed.report.ok, parsed.report.format_text()
    assert parsed.report.sheet == "数据" and parsed.frame["device_code"].tolist() == ["JL-1"]


def test_no_sheet_with_a_header_names_the_first_sheet_with_content(tmp_path):
    """An empty Sheet1 before a sheet of other content: the header error is about the sheet with content (it was
    FILE_EMPTY, "no content at all", about the empty first sheet)."""
    path = _workbook(tmp_path / "v.xlsx", {"Sheet1": [], "汇总": [["单位", "数量"], ["交警大队", 3]], "空": []})
    parsed = parse_upload(path, "violations")
    assert parsed.report.sheet == "汇总"
    missing = _problems(parsed, "MISSING_COLUMN")
    assert {p.code for p in parsed.report.errors} == {"MISSING_COLUMN"}
    assert {p.column for p in missing} == {"设备编号", "日期", "违法数量"}
    assert all(p.message.startswith("缺少必填列") and "工作表“汇总”的前30行中找不到本表" in p.message
               and "“单位”、“数量”" in p.message for p in missing)


def test_unknown_and_duplicate_columns(form):
    path = form([*DEVICE_HEADER, "备注", "设备类型"], [good_device() + ["说明", "闯红灯"]])
    parsed = parse_upload(path, "devices")
    assert _one(parsed, "COLUMN_UNKNOWN").column == "备注"
    assert _one(parsed, "DUPLICATE_COLUMN").level == "error"
    assert parsed.frame["device_type"].iloc[0] == "固定测速"


def test_total_and_signature_rows_are_skipped(form):
    rows = [["A", "2024-03-05", 3], ["合计", None, 3], ["填表人：张三", None, None]]
    parsed = parse_upload(form(["设备编号", "日期", "违法数量"], rows), "violations")
    assert parsed.report.ok and parsed.frame["device_code"].tolist() == ["A"]
    assert {p.code for p in parsed.report.warnings} == {"TOTAL_ROW_SKIPPED", "NOTE_ROW_SKIPPED"}


def test_two_row_header_with_group_titles(form):
    header_top = ["设备编号", "设备类型", "经度", "纬度", "检定情况", None]
    header_low = [None, None, None, None, "最近检定日期", "检定有效期至"]
    path = form(header_top, [header_low, ["A", "闯红灯", 117.4, 26.7, "2024-01-01", "2025-01-01"]])
    parsed = parse_upload(path, "devices")
    assert parsed.report.header_row == 4 and parsed.report.ok, parsed.report.format_text()
    assert parsed.frame["verification_valid_until"].iloc[0] == pd.Timestamp("2025-01-01")
    assert parsed.frame["row"].tolist() == [5]


def test_violations_days_months_and_their_checks(form):
    rows = [["A", "2024-03-05", 12, "2,400.00"], ["A", "2024-03", 300, 60000], ["A", "2024/3/5", 1, 0],
            ["B", "202403", -1, -5], ["B", "2099-01", 0, 200], ["C", "3月", 1, 1]]
    parsed = parse_upload(form(["设备编号*", "日期*", "违法数量*", "罚款金额（元）"], rows), "violations")
    frame = parsed.frame
    assert frame["period"].tolist() == ["day", "month", "day", "month", "month", None]
    starts = ("2024-03-05", "2024-03-01", "2024-03-05", "2024-03-01", "2099-01-01")
    assert frame["period_start"].iloc[:5].tolist() == [pd.Timestamp(d) for d in starts]
    assert str(frame["count"].dtype) == "Int64" and frame["fine_yuan"].iloc[0] == 2400.0
    assert "date" not in frame.columns
    assert _one(parsed, "DUPLICATE_KEY").row == 6 and "第4行" in _one(parsed, "DUPLICATE_KEY").message
    assert _one(parsed, "NEGATIVE_COUNT").row == 7 and _one(parsed, "NEGATIVE_FINE").row == 7
    assert _one(parsed, "FUTURE_DATE").level == "warning"
    assert _one(parsed, "FINE_WITHOUT_COUNT").row == 8
    assert _one(parsed, "PERIOD_MIXED").row == 5
    assert _one(parsed, "BAD_DATE").row == 9


def test_months_typed_as_excel_dates_are_taken_as_months(form):
    rows = [["A", dt.datetime(2024, 1, 1), 30], ["A", dt.datetime(2024, 2, 1), 28]]
    parsed = parse_upload(form(["设备编号", "日期", "违法数量"], rows), "violations")
    assert parsed.frame["period"].tolist() == ["month", "month"]
    assert _one(parsed, "PERIOD_MONTH_ASSUMED").level == "warning"


def test_excel_serial_dates_in_text_cells(csv_file):
    parsed = parse_upload(csv_file(["设备编号", "检定日期", "有效期至", "检定结果"], [["A", "45356", "45720", "合格"]]),
                          "verifications")
    assert parsed.frame[["verified_on", "valid_until"]].iloc[0].tolist() == [pd.Timestamp("2024-03-05"),
                                                                               pd.Timestamp("2025-03-04")]


def test_device_date_checks(form):
    row = good_device(安装日期="2023-07-01", 启用日期="2023-05-10", 限速值=300)
    parsed = parse_upload(form(DEVICE_HEADER, [row]), "devices")
    assert parsed.report.ok
    assert {p.code for p in parsed.report.warnings} == {"IN_SERVICE_BEFORE_INSTALLED", "SPEED_LIMIT_RANGE"}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_filled_template_round_trips_and_empty_template_is_refused(tmp_path, lang):
    from audit.intake.template import write_template

    path = tmp_path / f"template_{lang}.xlsx"
    write_template("devices", path, lang=lang)
    empty = parse_upload(path, "devices")
    assert [p.code for p in empty.report.errors] == ["NO_DATA"] and empty.report.header_row == 3
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    values = {h.rstrip("*"): v for h, v in zip(DEVICE_HEADER, good_device("JL-1"))}
    names = {(c.key if lang == "en" else c.header): c.header for c in DEVICE_COLUMNS}
    for cell in ws[3]:
        header = names[str(cell.value).rstrip("*")]
        if header in values:
            ws.cell(4, cell.column, values[header])
    wb.save(path)
    parsed = parse_upload(path, "devices")
    assert parsed.report.ok and not parsed.report.warnings, parsed.report.format_text()
    assert parsed.frame["row"].tolist() == [4] and parsed.frame["device_code"].tolist() == ["JL-1"]


def test_xls_devices_file(tmp_path):
    xlwt = pytest.importorskip("xlwt")
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("设备登记表")
    ws.write_merge(0, 0, 0, 3, "非现场执法设备登记表")
    ws.write(1, 0, "填报单位：将乐县公安局")
    for j, text in enumerate(["设备编号*", "设备类型*", "经度*", "纬度*", "安装日期"]):
        ws.write(2, j, text)
    for j, value in enumerate(["JL-1", "固定测速", 117.47312, 26.72851]):
        ws.write(3, j, value)
    ws.write(3, 4, dt.date(2023, 5, 10), xlwt.easyxf(num_format_str="YYYY-MM-DD"))
    ws.write(4, 0, "JL-2")
    ws.write(4, 1, "飞机")
    path = tmp_path / "devices.xls"
    wb.save(str(path))
    parsed = parse_upload(path, "devices")
    assert parsed.report.header_row == 3
    assert parsed.frame["installed_on"].iloc[0] == pd.Timestamp("2023-05-10")
    assert {(p.code, p.row) for p in parsed.report.errors} == {("BAD_CHOICE", 5), ("REQUIRED_EMPTY", 5)}


def test_real_chicago_speed_cameras_import_with_outside_china_warnings(tmp_path):
    source = REAL / "chicago" / "Speed_Camera_Locations_snapshot2023-12.csv"
    if not source.exists():
        pytest.skip(f"real data not available: {source}")
    cams = pd.read_csv(source)
    rows = [[r["LOCATION ID"], "固定测速", r["ADDRESS"], r["LONGITUDE"], r["LATITUDE"], "WGS84",
             pd.Timestamp(r["GO-LIVE DATE"]).date().isoformat()] for _, r in cams.iterrows()]
    path = write_csv(tmp_path / "chicago.csv", ["device_code", "device_type", "address", "longitude", "latitude", "crs",
                                                "in_service_on"], rows)
    parsed = parse_upload(path, "devices")
    assert parsed.report.ok, parsed.report.format_text(10)
    assert len(parsed.frame) == len(cams)
    assert len(_problems(parsed, "COORD_OUTSIDE_CHINA")) == len(cams)
    assert parsed.frame["lat"].between(41.6, 42.1).all()
