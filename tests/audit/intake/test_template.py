"""The blank forms: government layout, drop-down lists from the hidden 字典 sheet, 填表说明, and the importer
accepts a filled form."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter, range_boundaries

from audit.intake.columns import TABLES
from audit.intake.template import (
    DATA_ROWS,
    DICT_SHEET,
    FIRST_DATA_ROW,
    HEADER_ROW,
    NOTES_SHEET,
    sheet_name,
    write_template,
)
from audit.intake.upload import parse_upload

KINDS = sorted(TABLES)


@pytest.fixture(scope="module")
def blank(tmp_path_factory):
    """kind -> (lang -> path of the blank form), written once for the module."""
    folder = tmp_path_factory.mktemp("forms")
    paths = {}
    for kind in KINDS:
        for lang in ("zh", "en"):
            write_template(kind, folder / f"{kind}_{lang}.xlsx", lang=lang)
        paths[kind] = {lang: folder / f"{kind}_{lang}.xlsx" for lang in ("zh", "en")}
    return paths


@pytest.fixture(params=KINDS)
def form(request, blank):
    kind = request.param
    return kind, blank[kind]["zh"], load_workbook(blank[kind]["zh"])


def _validation_for(ws, column: int):
    """The data validation covering the first and last data cell of a column, or None."""
    letter = get_column_letter(column)
    first, last = f"{letter}{FIRST_DATA_ROW}", f"{letter}{HEADER_ROW + DATA_ROWS}"
    found = [dv for dv in ws.data_validations.dataValidation if first in dv.sqref and last in dv.sqref]
    assert len(found) <= 1
    return found[0] if found else None


def _named_range_values(wb, name: str) -> tuple[str, list]:
    sheet, ref = next(wb.defined_names[name].destinations)
    min_col, min_row, max_col, max_row = range_boundaries(ref.replace("$", ""))
    ws = wb[sheet]
    return sheet, [ws.cell(r, c).value for r in range(min_row, max_row + 1) for c in range(min_col, max_col + 1)]


def test_layout_title_unit_row_and_header(form):
    kind, _, wb = form
    spec = TABLES[kind]
    ws = wb.worksheets[0]
    assert ws.title == sheet_name(spec) == spec.title.removeprefix("非现场执法")
    assert ws["A1"].value == spec.title
    assert ws["A1"].font.b and ws["A1"].font.sz == 16 and ws["A1"].alignment.horizontal == "center"
    assert ws["A2"].value.startswith("填报单位（盖章）：") and "填报日期：____年__月__日" in ws["A2"].value
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert any(r.startswith("A1:") for r in merged) and any(r.startswith("A2:") for r in merged)
    header = [ws.cell(HEADER_ROW, i).value for i in range(1, len(spec.columns) + 1)]
    assert header == [c.label for c in spec.columns]
    assert ws.cell(HEADER_ROW, len(spec.columns) + 1).value is None
    first = ws.cell(HEADER_ROW, 1)
    assert first.font.b and first.fill.fgColor.rgb.endswith("D9D9D9") and first.border.left.style == "thin"
    assert first.alignment.wrap_text


def test_required_columns_are_starred(form):
    kind, _, wb = form
    ws = wb.worksheets[0]
    for i, col in enumerate(TABLES[kind].columns, start=1):
        assert ws.cell(HEADER_ROW, i).value.endswith("*") == col.required


def test_frozen_header_and_print_setup(form):
    kind, _, wb = form
    ws = wb.worksheets[0]
    assert ws.freeze_panes == "A4"
    assert ws.page_setup.orientation == "landscape"
    assert int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4)  # 9 = A4
    assert ws.print_title_rows == "$3:$3"
    last = get_column_letter(len(TABLES[kind].columns))
    assert ws.print_area == f"'{ws.title}'!$A$1:${last}${HEADER_ROW + DATA_ROWS}"


def test_wide_form_prints_readably_and_repeats_the_code_column(blank):
    ws = load_workbook(blank["devices"]["zh"]).worksheets[0]
    assert ws.page_setup.fitToWidth >= 2  # 27 columns on one A4 page would be unreadable
    assert ws.print_title_cols == "$A:$A"
    assert load_workbook(blank["violations"]["zh"]).worksheets[0].page_setup.fitToWidth == 1


def test_every_coded_column_has_a_dropdown_from_the_hidden_dictionary(form):
    kind, _, wb = form
    ws = wb.worksheets[0]
    coded = [(i, c) for i, c in enumerate(TABLES[kind].columns, start=1) if c.kind in ("choice", "bool")]
    if not coded:  # the violations table has no coded column, and no dictionary
        assert DICT_SHEET not in wb.sheetnames
        return
    assert wb[DICT_SHEET].sheet_state == "hidden"
    for i, col in coded:
        dv = _validation_for(ws, i)
        assert dv is not None, col.header
        assert dv.type == "list" and dv.showErrorMessage and dv.formula1.startswith("=")
        sheet, values = _named_range_values(wb, dv.formula1[1:])
        assert sheet == DICT_SHEET
        assert values == list(col.choices)
        assert "只能填写" in dv.error and "、".join(col.choices) in dv.error


def test_date_columns_validate_dates_and_show_them_as_iso(form):
    kind, _, wb = form
    ws = wb.worksheets[0]
    for i, col in enumerate(TABLES[kind].columns, start=1):
        if col.kind != "date":
            continue
        dv = _validation_for(ws, i)
        assert dv.type == "date" and dv.showInputMessage and "2024-03-05" in dv.prompt
        assert dv.error and "日期" in dv.error
        assert ws.cell(FIRST_DATA_ROW, i).number_format == "yyyy-mm-dd"
        assert ws.cell(HEADER_ROW + DATA_ROWS, i).number_format == "yyyy-mm-dd"


def test_coordinates_accept_the_whole_world_and_only_warn(blank):
    ws = load_workbook(blank["devices"]["zh"]).worksheets[0]
    keys = [c.key for c in TABLES["devices"].columns]
    lon = _validation_for(ws, keys.index("lon") + 1)
    lat = _validation_for(ws, keys.index("lat") + 1)
    assert (lon.type, lon.formula1, lon.formula2) == ("decimal", "-180", "180")
    assert (lat.type, lat.formula1, lat.formula2) == ("decimal", "-90", "90")
    # Gauss-Kruger metres are allowed by the column help: out-of-range values must not be blocked
    assert lon.errorStyle == lat.errorStyle == "warning"
    limit = _validation_for(ws, keys.index("speed_limit_kmh") + 1)
    assert limit.type == "whole" and limit.errorStyle in (None, "stop")


def test_violation_dates_are_kept_as_text_so_months_stay_months(blank):
    ws = load_workbook(blank["violations"]["zh"]).worksheets[0]
    assert ws.cell(FIRST_DATA_ROW, 2).number_format == "@"
    assert "2024-03" in _validation_for(ws, 2).prompt


def test_instructions_sheet_explains_every_column(form):
    kind, _, wb = form
    spec = TABLES[kind]
    ws = wb[NOTES_SHEET]
    assert [c.value for c in ws[2]][:5] == ["列名", "是否必填", "填写说明", "示例", "可选值"]
    for r, col in enumerate(spec.columns, start=3):
        row = [ws.cell(r, c).value for c in range(1, 6)]
        assert row[0] == col.header
        assert row[1] == ("必填" if col.required else "选填")
        assert row[2] == col.help
        assert row[3] == col.example
        assert (row[4] or "") == "、".join(col.choices)
    notes = "\n".join(str(c.value) for c in ws["A"][len(spec.columns) + 3:] if c.value)
    assert "表头" in notes and "2024-03-05" in notes


def test_general_notes_per_table(blank):
    texts = {kind: "\n".join(str(c.value) for c in load_workbook(blank[kind]["zh"])[NOTES_SHEET]["A"] if c.value)
             for kind in KINDS}
    assert "一台设备填写一行" in texts["devices"]
    assert all(crs in texts["devices"] for crs in ("WGS84", "CGCS2000", "GCJ02", "BD09"))
    assert "2024-03" in texts["violations"] and "按月" in texts["violations"]
    assert "有效期至" in texts["verifications"]


def test_unknown_kind_or_language_is_refused(tmp_path):
    with pytest.raises(ValueError, match="未知的表类型"):
        write_template("cameras", tmp_path / "x.xlsx")
    with pytest.raises(ValueError, match="未知的语言"):
        write_template("devices", tmp_path / "x.xlsx", lang="fr")


# --- a filled form goes through the importer -------------------------------------------------------------------

FILLED = {
    "devices": [
        {"device_code": "JL-JJ-0001", "name": "水南大道固定测速点", "device_type": "固定测速", "road": "水南大道",
         "direction": "由东向西", "address": "水南大道与积善路交叉口东120米", "lon": 117.49312, "lat": 26.73105,
         "crs": "CGCS2000", "installed_on": dt.date(2023, 5, 10), "in_service_on": dt.date(2023, 7, 1),
         "status": "在用", "legal_review_on": dt.date(2023, 6, 1), "legal_review_no": "将公交法审〔2023〕12号",
         "tech_review_on": dt.date(2023, 6, 25), "signage": "是", "sign_distance_m": 300, "speed_limit_kmh": 50,
         "published_on": dt.date(2023, 6, 20), "publication_channel": "将乐县人民政府门户网站",
         "justification": "2022年该路段发生超速事故7起", "verified_on": dt.date(2024, 6, 20),
         "verification_valid_until": dt.date(2025, 6, 19), "verification_result": "合格",
         "certificate_no": "明计检字〔2024〕第0518号"},
        {"device_code": "JL-JJ-0002", "device_type": "违法停车", "lon": 117.46012, "lat": 26.73521, "crs": "GCJ02",
         "status": "拟建", "signage": "否"},
    ],
    "violations": [
        {"device_code": "JL-JJ-0001", "date": "2025-03-05", "count": 12, "fine_yuan": 2400},
        {"device_code": "JL-JJ-0001", "date": "2025-03-06", "count": 0, "fine_yuan": 0},
    ],
    "verifications": [
        {"device_code": "JL-JJ-0001", "verified_on": dt.date(2024, 6, 20), "valid_until": dt.date(2025, 6, 19),
         "result": "合格", "certificate_no": "明计检字〔2024〕第0518号", "agency": "三明市计量所"},
        {"device_code": "JL-JJ-0001", "verified_on": dt.date(2025, 6, 10), "valid_until": dt.date(2025, 6, 10),
         "result": "不合格", "agency": "三明市计量所"},
    ],
}


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("kind", KINDS)
def test_filled_form_imports_without_errors(kind, lang, blank, tmp_path):
    path = tmp_path / f"{kind}_{lang}.xlsx"
    wb = load_workbook(blank[kind][lang])
    ws = wb.worksheets[0]
    keys = [c.key for c in TABLES[kind].columns]
    for r, row in enumerate(FILLED[kind], start=FIRST_DATA_ROW):
        for key, value in row.items():
            ws.cell(r, keys.index(key) + 1).value = value
    wb.save(path)

    result = parse_upload(path, kind)
    assert result.report.errors == []
    assert result.report.header_row == HEADER_ROW
    assert result.report.data_rows == 2  # the 498 empty, formatted rows below are not data
    frame = result.frame
    assert frame["row"].tolist() == [FIRST_DATA_ROW, FIRST_DATA_ROW + 1]
    assert frame["device_code"].tolist() == [row["device_code"] for row in FILLED[kind]]
    if kind == "devices":
        assert frame["device_type"].tolist() == ["固定测速", "违法停车"]
        assert pd.Timestamp(frame.loc[0, "in_service_on"]) == pd.Timestamp("2023-07-01")
        assert frame.loc[0, "lon"] == pytest.approx(117.49312)
    elif kind == "violations":
        assert frame["count"].tolist() == [12, 0]
    else:
        assert frame["result"].tolist() == ["合格", "不合格"]
