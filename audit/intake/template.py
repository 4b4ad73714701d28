"""The blank upload forms (填报模板) a department clerk fills in, laid out like a government form.

Sheet 1 (named after the table): title row, 填报单位/填报日期 row, header row (frozen, repeated on every printed
page), then empty data rows with drop-down lists and validations. A hidden sheet 字典 holds the drop-down lists as
named ranges; a sheet 填表说明 explains every column. The importer reads the same layout back.
"""
from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from .columns import DATE_MAX, DATE_MIN, MONEY_MAX, TABLES, Column, TableSpec
from .xlsxsafe import set_cell

TITLE_ROW, UNIT_ROW, HEADER_ROW = 1, 2, 3
FIRST_DATA_ROW = HEADER_ROW + 1
DATA_ROWS = 500
# Columns (in Excel character units) printed per A4 landscape page: about 70 % scale, still readable.
PAGE_WIDTH_CHARS = 210
DATE_FORMAT = "yyyy-mm-dd"
DICT_SHEET = "字典"
NOTES_SHEET = "填表说明"
UNIT_LINE = "填报单位（盖章）：________________    填报日期：____年__月__日"
LANGS = ("zh", "en")

# Numeric bounds per column key: (low, high, whole number?).
NUMBER_BOUNDS: dict[str, tuple[float, float, bool]] = {
    "lon": (-180, 180, False),
    "lat": (-90, 90, False),
    "sign_distance_m": (0, 100_000, False),
    "speed_limit_kmh": (5, 200, True),
    "count": (0, 1_000_000_000, True),
    "fine_yuan": (0, MONEY_MAX, False),
}
# Coordinates may also be Gauss-Kruger metres (see the column help): out-of-range values only warn.
WARN_ONLY = {"lon", "lat"}

_THIN = Side(style="thin", color="000000")
BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
HEADER_FILL = PatternFill("solid", fgColor="D9D9D9")
WRAP_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)

SHEET_EN = {"devices": "Devices", "violations": "Violations", "verifications": "Verifications"}

GENERAL_NOTES_ZH = {
    "common": [
        "第1行为表名，第2行填写填报单位并盖章、填报日期，第3行为表头。请勿修改、删除或移动表头，请勿插入或删除列。",
        "表头带“*”的列为必填项，其余列有则填写，无则留空，不要填写“无”“/”等字符。",
        "日期一律填写为 2024-03-05 格式（年-月-日）。",
        "带下拉列表的列请从下拉列表中选择，不要自行输入其他写法；可选值见本说明“可选值”一列。",
        f"表格预留 {DATA_ROWS} 行，超过时可选中最后一行向下复制，以保留下拉列表和格式。",
        "可另存为 .xlsx 或 .csv（UTF-8 或 GBK 编码）上传；系统会逐行校验，并指出有问题的行、列和值。",
    ],
    "devices": [
        "一台设备填写一行；同一设备编号在文件中只能出现一次。",
        "坐标填写十进制度：WGS84 或 CGCS2000（GPS、天地图）坐标可直接填写；"
        "从高德、腾讯地图取得的为 GCJ02 坐标，从百度地图取得的为 BD09 坐标，须在“坐标系”列注明，系统自动换算。",
        "高斯-克吕格投影坐标：经度列填东坐标（米）、纬度列填北坐标（米），“坐标系”列写明，如 CGCS2000-3度带-39 或 EPSG:4527。",
    ],
    "violations": [
        "一台设备一天（或一个月）填写一行。",
        "“日期”可以按日填写（2024-03-05），也可以按月填写（2024-03）；同一文件内请统一。",
        "“罚款金额”单位为元，保留两位小数；只警告不罚款的填 0。",
    ],
    "verifications": [
        "每份检定证书填写一行；同一设备的历次检定分行填写。",
        "“有效期至”以检定证书为准，不得早于“检定日期”。",
    ],
}

GENERAL_NOTES_EN = {
    "common": [
        "Row 1 is the title, row 2 the reporting unit (with seal) and date, row 3 the header. "
        "Do not change, delete or move the header; do not insert or delete columns.",
        "Columns marked * are required; leave a cell empty when there is nothing to report.",
        "Write dates as 2024-03-05 (year-month-day).",
        "Pick coded values from the drop-down lists; the accepted values are listed in the 'Choices' column.",
        f"The form has {DATA_ROWS} rows; to add more, copy the last row down so it keeps the lists and formats.",
        "Save as .xlsx or .csv (UTF-8 or GBK); every row is checked and each problem is reported with row, column and value.",
    ],
    "devices": [
        "One device per row; a device code appears only once in a file.",
        "Coordinates in decimal degrees: WGS84 or CGCS2000 as is; GCJ02 (AMap, Tencent) or BD09 (Baidu) "
        "with the coordinate system stated in the crs column; they are converted on import.",
        "Gauss-Kruger coordinates: easting (m) in lon, northing (m) in lat, crs such as CGCS2000-3度带-39 or EPSG:4527.",
    ],
    "violations": [
        "One device per day (or month) per row.",
        "The date may be a day (2024-03-05) or a month (2024-03); use one of them throughout a file.",
        "Fines in yuan with two decimals; 0 for warnings without a fine.",
    ],
    "verifications": [
        "One certificate per row; list every verification of a device on its own row.",
        "valid_until as on the certificate, not before the verification date.",
    ],
}

TEXT_ZH = {
    "notes_header": ("列名", "是否必填", "填写说明", "示例", "可选值"),
    "required": ("必填", "选填"),
    "general": "通用说明",
    "notes_title": "《{title}》填表说明",
    "list_error_title": "请从下拉列表中选择",
    "list_error": "“{header}”只能填写：{choices}。请从下拉列表中选择。",
    "date_prompt": "请填写日期，格式为 2024-03-05。",
    "date_error": "“{header}”须为 1990-01-01 至 2099-12-31 之间的日期，格式为 2024-03-05。",
    "month_prompt": "按日填写 2024-03-05，或按月填写 2024-03。",
    "number_error": "“{header}”须为 {low} 至 {high} 之间的{what}。",
    "coord_error": "“{header}”通常为 {low} 至 {high} 之间的十进制度。如填写的是高斯-克吕格投影坐标（米），"
                   "请点“是”继续，并在“坐标系”列写明带号；否则请点“否”修改。",
    "whole": "整数",
    "decimal": "数字",
    "input_title": "填写提示",
    "error_title": "填写有误",
}

TEXT_EN = {
    "notes_header": ("Column", "Required", "How to fill in", "Example", "Choices"),
    "required": ("required", "optional"),
    "general": "General notes",
    "notes_title": "{title}: instructions",
    "list_error_title": "Pick a value from the list",
    "list_error": "{header} accepts only: {choices}.",
    "date_prompt": "A date such as 2024-03-05.",
    "date_error": "{header} must be a date between 1990-01-01 and 2099-12-31, written as 2024-03-05.",
    "month_prompt": "A day (2024-03-05) or a month (2024-03).",
    "number_error": "{header} must be a {what} between {low} and {high}.",
    "coord_error": "{header} is usually in decimal degrees between {low} and {high}. For Gauss-Kruger metres "
                   "click Yes and state the zone in the crs column; otherwise click No.",
    "whole": "whole number",
    "decimal": "number",
    "input_title": "Hint",
    "error_title": "Invalid value",
}


def sheet_name(spec: TableSpec, lang: str = "zh") -> str:
    """The data sheet's name: the table title without the prefix 非现场执法, e.g. 设备登记表."""
    if lang == "en":
        return SHEET_EN[spec.kind]
    return spec.title.removeprefix("非现场执法")


def header_label(col: Column, lang: str = "zh") -> str:
    """The header cell text: the Chinese header (or the English key) with '*' when required."""
    name = col.key if lang == "en" else col.header
    return name + ("*" if col.required else "")


def list_name(col: Column) -> str:
    """The workbook-level defined name of a column's drop-down list."""
    return f"list_{col.key}"


def write_template(kind: str, path: Path, lang: str = "zh") -> None:
    """Write the blank form for one upload table (devices | violations | verifications) to an .xlsx file.

    lang 'en' gives English titles, sheet names and notes, and the column keys (English aliases the importer
    accepts) as headers; coded values and the per-column help (audit.columns) stay Chinese.
    """
    if kind not in TABLES:
        raise ValueError(f"未知的表类型：{kind}（可选：{'、'.join(TABLES)}）")
    if lang not in LANGS:
        raise ValueError(f"未知的语言：{lang}（可选：{'、'.join(LANGS)}）")
    spec = TABLES[kind]
    text = TEXT_EN if lang == "en" else TEXT_ZH
    wb = Workbook()
    ws = wb.active
    ws.title = sheet_name(spec, lang)
    _write_form(ws, spec, lang)
    lists = _write_dictionary(wb, spec, lang)
    _add_validations(ws, spec, lists, text, lang)
    _write_notes(wb.create_sheet(NOTES_SHEET if lang == "zh" else "Instructions"), spec, text, lang)
    wb.active = 0
    wb.save(path)


def _write_form(ws: Worksheet, spec: TableSpec, lang: str) -> None:
    ncols = len(spec.columns)
    last_col = get_column_letter(ncols)
    last_row = HEADER_ROW + DATA_ROWS
    unit_text = "Reporting unit (seal): ________________    Date: ____-__-__" if lang == "en" else UNIT_LINE

    widths = [_width(col, lang) for col in spec.columns]
    # a narrow form is widened so that the 填报单位 line fits on its merged row
    stretch = max(1.0, (_text_width(unit_text) + 4) / sum(widths))
    widths = [round(w * stretch, 1) for w in widths]
    # wide forms print on several pages across (readable type), each repeating the device code column; their
    # title and 填报单位 rows span the first page, so that the title is centred on it (and visible on screen)
    pages_wide = math.ceil(sum(widths) / PAGE_WIDTH_CHARS)
    span = ncols if pages_wide == 1 else max(1, sum(np.cumsum(widths) <= sum(widths) / pages_wide))
    span_col = get_column_letter(span)

    ws.merge_cells(f"A{TITLE_ROW}:{span_col}{TITLE_ROW}")
    title = ws.cell(TITLE_ROW, 1, spec.title_en if lang == "en" else spec.title)
    title.font = Font(bold=True, size=16)
    title.alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[TITLE_ROW].height = 32
    ws.merge_cells(f"A{UNIT_ROW}:{span_col}{UNIT_ROW}")
    unit = ws.cell(UNIT_ROW, 1, unit_text)
    unit.alignment = Alignment(horizontal="left", vertical="center")
    ws.row_dimensions[UNIT_ROW].height = 22

    for i, col in enumerate(spec.columns, start=1):
        cell = ws.cell(HEADER_ROW, i)
        set_cell(cell, header_label(col, lang))
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.border = BORDER
        cell.alignment = WRAP_CENTER
        ws.column_dimensions[get_column_letter(i)].width = widths[i - 1]
        fmt = DATE_FORMAT if col.kind == "date" else "@" if col.kind in ("text", "code", "month_or_date") else None
        for r in range(FIRST_DATA_ROW, last_row + 1):
            data = ws.cell(r, i)
            data.border = BORDER
            if fmt:
                data.number_format = fmt
    ws.row_dimensions[HEADER_ROW].height = 30

    ws.freeze_panes = f"A{FIRST_DATA_ROW}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = pages_wide
    ws.page_setup.fitToHeight = 0
    ws.page_setup.pageOrder = "overThenDown"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    if pages_wide > 1:
        ws.print_title_cols = "A:A"
    ws.print_area = f"A1:{last_col}{last_row}"


def _text_width(text: str) -> int:
    """Display width in Excel character units: CJK characters count double."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _width(col: Column, lang: str) -> float:
    """Column width from the header and example, in Excel character units."""
    longest = max(_text_width(t) for t in (header_label(col, lang), col.example))
    if col.key in ("address", "justification", "name"):
        longest = max(longest, 30)
    return float(min(max(longest + 2, 9), 40))


def _write_dictionary(wb: Workbook, spec: TableSpec, lang: str) -> dict[str, str]:
    """The hidden sheet 字典 (if any column is coded), one column per drop-down list; returns key -> defined name."""
    names: dict[str, str] = {}
    coded = [c for c in spec.columns if c.kind in ("choice", "bool")]
    if not coded:
        return names
    ws = wb.create_sheet(DICT_SHEET)
    ws.sheet_state = "hidden"
    for i, col in enumerate(coded, start=1):
        letter = get_column_letter(i)
        ws.cell(1, i, header_label(col, lang).rstrip("*")).font = Font(bold=True)
        for r, value in enumerate(col.choices, start=2):
            set_cell(ws.cell(r, i), value)
        ws.column_dimensions[letter].width = 14
        name = list_name(col)
        ref = f"{quote_sheetname(DICT_SHEET)}!${letter}$2:${letter}${len(col.choices) + 1}"
        wb.defined_names[name] = DefinedName(name, attr_text=ref)
        names[col.key] = name
    return names


def _add_validations(ws: Worksheet, spec: TableSpec, lists: dict[str, str], text: dict, lang: str) -> None:
    last_row = HEADER_ROW + DATA_ROWS
    for i, col in enumerate(spec.columns, start=1):
        letter = get_column_letter(i)
        header = header_label(col, lang).rstrip("*")
        dv = None
        if col.key in lists:
            dv = DataValidation(type="list", formula1=f"={lists[col.key]}", allow_blank=True,
                                errorTitle=text["list_error_title"],
                                error=text["list_error"].format(header=header, choices="、".join(col.choices)))
        elif col.kind == "date":
            dv = DataValidation(type="date", operator="between", formula1=_serial(DATE_MIN),
                                formula2=_serial(DATE_MAX), allow_blank=True,
                                promptTitle=text["input_title"], prompt=text["date_prompt"],
                                errorTitle=text["error_title"], error=text["date_error"].format(header=header))
        elif col.kind == "month_or_date":
            dv = DataValidation(type="textLength", operator="between", formula1="7", formula2="10",
                                allow_blank=True, promptTitle=text["input_title"], prompt=text["month_prompt"],
                                errorTitle=text["error_title"], error=text["month_prompt"])
        elif col.key in NUMBER_BOUNDS:
            low, high, whole = NUMBER_BOUNDS[col.key]
            what = text["whole"] if whole else text["decimal"]
            fmt = text["coord_error"] if col.key in WARN_ONLY else text["number_error"]
            dv = DataValidation(type="whole" if whole else "decimal", operator="between",
                                formula1=str(low), formula2=str(high), allow_blank=True,
                                errorStyle="warning" if col.key in WARN_ONLY else "stop",
                                errorTitle=text["error_title"],
                                error=fmt.format(header=header, low=low, high=high, what=what))
            if col.help:
                dv.promptTitle, dv.prompt = text["input_title"], _clip(col.help)
        if dv is None:
            continue
        dv.showErrorMessage = True
        dv.showInputMessage = bool(dv.prompt)
        dv.add(f"{letter}{FIRST_DATA_ROW}:{letter}{last_row}")
        ws.add_data_validation(dv)


def _serial(day: dt.date) -> str:
    """An Excel date serial number (1900 date system)."""
    return str((day - dt.date(1899, 12, 30)).days)


def _clip(message: str, limit: int = 255) -> str:
    """Excel rejects input messages longer than 255 characters."""
    return message if len(message) <= limit else message[: limit - 1] + "…"


NOTES_WIDTHS = (16, 10, 60, 24, 40)
LINE_HEIGHT = 15  # points per line of 11-point text


def _lines(text: str, width: float) -> int:
    """Lines a wrapped cell needs (openpyxl cannot auto-fit row heights)."""
    return max(1, math.ceil(_text_width(text) / max(width - 1, 1)))


def _write_notes(ws: Worksheet, spec: TableSpec, text: dict, lang: str) -> None:
    headers = text["notes_header"]
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    title = ws.cell(1, 1, text["notes_title"].format(title=spec.title_en if lang == "en" else spec.title))
    title.font = Font(bold=True, size=14)
    title.alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[1].height = 26
    for i, h in enumerate(headers, start=1):
        cell = ws.cell(2, i, h)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.border = BORDER
        cell.alignment = WRAP_CENTER
    required, optional = text["required"]
    row = 3
    for col in spec.columns:
        values = [header_label(col, lang).rstrip("*"), required if col.required else optional, col.help,
                  col.example, "、".join(col.choices)]
        for i, value in enumerate(values, start=1):
            cell = ws.cell(row, i)
            set_cell(cell, value)
            cell.border = BORDER
            cell.alignment = Alignment(vertical="top", wrap_text=True)
        ws.row_dimensions[row].height = LINE_HEIGHT * max(_lines(v, w) for v, w in zip(values, NOTES_WIDTHS))
        row += 1
    row += 1
    ws.cell(row, 1, text["general"]).font = Font(bold=True)
    notes = GENERAL_NOTES_EN if lang == "en" else GENERAL_NOTES_ZH
    for n, note in enumerate(notes["common"] + notes[spec.kind], start=1):
        row += 1
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=len(headers))
        cell = ws.cell(row, 1, f"{n}. {note}")
        cell.alignment = Alignment(vertical="top", wrap_text=True)
        ws.row_dimensions[row].height = LINE_HEIGHT * _lines(cell.value, sum(NOTES_WIDTHS)) + 3
    for i, width in enumerate(NOTES_WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A3"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.print_title_rows = "2:2"
