"""The two layouts every document shares.

xlsx, the government form: 附件 label, title row, 填报单位/填报日期 row, two-level merged header (frozen and
repeated on every printed page), A4 landscape fitted to the page width. Every text cell goes through set_cell.

docx, after GB/T 9704-2012 (党政机关公文格式): A4, margins 37/35/28/26 mm (top/bottom/left/right: a 156 × 225 mm
text block), 22 lines of 28.95 pt; title in 方正小标宋简体 二号 (22 pt), body 仿宋_GB2312 三号 (16 pt) with a
two-character first-line indent, level-1 headings 黑体, level-2 楷体_GB2312, page numbers "— 1 —" in 宋体 四号,
right on odd pages and left on even ones. Chinese font names are set as the East Asian font (w:eastAsia), which
is the one Word and LibreOffice use for Chinese text.
"""
from __future__ import annotations

import datetime as dt
import re
from copy import copy
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable, Sequence
from xml.sax.saxutils import escape

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Mm, Pt
from docx.text.paragraph import Paragraph
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, NamedStyle, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from ..intake.hygiene import document_text
from ..intake.xlsxsafe import set_cell
from .layout import docx_widths, xlsx_width

DATE_FORMAT = "yyyy-mm-dd"
MONEY_FORMAT = "#,##0.00"

# ---- fonts and sizes (号 → pt) ----
TITLE_FONT = "方正小标宋简体"
BODY_FONT = "仿宋_GB2312"
HEADING1_FONT = "黑体"
HEADING2_FONT = "楷体_GB2312"
PAGE_NUMBER_FONT = "宋体"
SIZE_2 = 22.0    # 二号
SIZE_3 = 16.0    # 三号
SIZE_4 = 14.0    # 四号
SIZE_S4 = 12.0   # 小四
SIZE_5 = 10.5    # 五号
LINE_PITCH_PT = 28.95  # 225 mm / 22 lines


@dataclass(frozen=True)
class Col:
    """One column of a table: header, optional upper header (merged over its neighbours), width, kind.

    kind: text (wrapped, left), center (short codes and statuses), date, int, money.
    """

    header: str
    width: float = 12
    group: str | None = None
    kind: str = "text"


@dataclass
class Table:
    """A table as filed: what the xlsx sheet and the docx attachment both show."""

    title: str
    columns: Sequence[Col]
    rows: list[list[Any]]
    unit: str = ""
    date: dt.date | None = None
    attachment: str | None = "附件"
    sheet_name: str = "Sheet1"
    notes: list[str] = field(default_factory=list)


def text_of(value: Any) -> str:
    """A value as it is printed in a document: dates 2024-06-21, money with two decimals, empty for None."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (float, Decimal)) and not isinstance(value, bool):
        return f"{value:,.2f}"
    return str(value)


def zh_date(day: dt.date) -> str:
    """The 成文日期 form of GB/T 9704-2012: 2024年6月21日."""
    return f"{day.year}年{day.month}月{day.day}日"


_ISO_DATE = re.compile(r"(?<![\d-])(\d{4})-(\d{2})-(\d{2})(?![\d-])")


def chinese_dates(text: str) -> str:
    """The text with its ISO dates (2024-06-21, as findings and records say them) written 2024年6月21日."""
    return _ISO_DATE.sub(lambda m: f"{int(m[1])}年{int(m[2])}月{int(m[3])}日", text)


# ---- xlsx ------------------------------------------------------------------------------------------------

_THIN = Side(style="thin", color="000000")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_STYLES = {
    "text": NamedStyle("gov_text", font=Font(name=BODY_FONT, size=11), border=_BORDER,
                       alignment=Alignment(horizontal="left", vertical="center", wrap_text=True)),
    "center": NamedStyle("gov_center", font=Font(name=BODY_FONT, size=11), border=_BORDER,
                         alignment=Alignment(horizontal="center", vertical="center", wrap_text=True)),
    "date": NamedStyle("gov_date", font=Font(name=BODY_FONT, size=11), border=_BORDER, number_format=DATE_FORMAT,
                       alignment=Alignment(horizontal="center", vertical="center")),
    "int": NamedStyle("gov_int", font=Font(name=BODY_FONT, size=11), border=_BORDER,
                      alignment=Alignment(horizontal="center", vertical="center")),
    "money": NamedStyle("gov_money", font=Font(name=BODY_FONT, size=11), border=_BORDER,
                        number_format=MONEY_FORMAT, alignment=Alignment(horizontal="right", vertical="center")),
    "header": NamedStyle("gov_header", font=Font(name=HEADING1_FONT, size=11, bold=True), border=_BORDER,
                         alignment=Alignment(horizontal="center", vertical="center", wrap_text=True)),
}


def header_rows(columns: Sequence[Col]) -> int:
    return 2 if any(c.group for c in columns) else 1


def first_data_row(columns: Sequence[Col]) -> int:
    """Row 1 附件, row 2 title, row 3 填报单位, then the header rows."""
    return 4 + header_rows(columns)


ROW_HEIGHT = 14.5  # points per line of 11 pt text
CELL_MARGIN_TWIPS = 57  # 1 mm left and right in a docx table cell (audit.exports.layout.CELL_PADDING_MM)


def _lines(text: str, width: int) -> int:
    """Lines a wrapped cell needs: a Chinese character takes two width units (its GBK byte count), others one."""
    units = len(text.encode("gbk", "replace"))
    return -(-units // max(1, width - 1)) + text.count("\n")


def write_xlsx(path: Path, tables: Iterable[Table]) -> Path:
    wb = Workbook()
    wb.remove(wb.active)
    for style in _STYLES.values():
        wb.add_named_style(style)
    for table in tables:
        _write_sheet(wb.create_sheet(table.sheet_name[:31]), table)
    wb.save(path)
    return path


def _write_sheet(ws: Worksheet, table: Table) -> None:
    cols = list(table.columns)
    n = len(cols)
    last = get_column_letter(n)
    if table.attachment:
        set_cell(ws.cell(1, 1), table.attachment)
        ws.cell(1, 1).font = Font(name=HEADING1_FONT, size=14)
    ws.merge_cells(f"A2:{last}2")
    set_cell(ws.cell(2, 1), table.title)
    ws.cell(2, 1).font = Font(name=TITLE_FONT, size=18)
    ws.cell(2, 1).alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    ws.row_dimensions[2].height = 36
    split = max(1, n // 2)
    ws.merge_cells(start_row=3, start_column=1, end_row=3, end_column=split)
    set_cell(ws.cell(3, 1), f"填报单位（盖章）：{table.unit}")
    if split < n:
        ws.merge_cells(start_row=3, start_column=split + 1, end_row=3, end_column=n)
    date_cell = ws.cell(3, split + 1 if split < n else 1)
    if split < n:
        set_cell(date_cell, f"填报日期：{table.date.isoformat() if table.date else ''}")
        date_cell.alignment = Alignment(horizontal="right")
    for c in (ws.cell(3, 1), date_cell):
        c.font = Font(name=BODY_FONT, size=12)

    levels = header_rows(cols)
    top = 4
    i = 0
    while i < n:
        col = cols[i]
        if col.group is None:
            set_cell(ws.cell(top, i + 1), col.header)
            if levels == 2:
                ws.merge_cells(start_row=top, start_column=i + 1, end_row=top + 1, end_column=i + 1)
            i += 1
            continue
        j = i
        while j + 1 < n and cols[j + 1].group == col.group:
            j += 1
        set_cell(ws.cell(top, i + 1), col.group)
        if j > i:
            ws.merge_cells(start_row=top, start_column=i + 1, end_row=top, end_column=j + 1)
        for k in range(i, j + 1):
            set_cell(ws.cell(top + 1, k + 1), cols[k].header)
        i = j + 1
    for r in range(top, top + levels):
        for c in range(1, n + 1):
            ws.cell(r, c).style = "gov_header"
        ws.row_dimensions[r].height = 30

    start = first_data_row(cols)
    # One styled cell per column kind; data cells copy its style array (much faster than naming the style).
    probe = ws.cell(start, 1)
    styles = []
    for col in cols:
        probe.style = _STYLES[col.kind].name
        styles.append(copy(probe._style))
    sized = [xlsx_width(col.width, (text_of(r[c]) for r in table.rows)) for c, col in enumerate(cols)]
    widths = [int(w) if c.kind in ("text", "center") else 0 for w, c in zip(sized, cols)]
    for r, values in enumerate(table.rows, start=start):
        lines = 1
        for c, (value, style, width) in enumerate(zip(values, styles, widths), start=1):
            cell = ws.cell(r, c)
            set_cell(cell, float(value) if isinstance(value, Decimal) else value)
            cell._style = copy(style)
            if width and isinstance(value, str):
                lines = max(lines, _lines(value, width))
        ws.row_dimensions[r].height = ROW_HEIGHT * lines + 4
    end = start + len(table.rows)
    for k, note in enumerate(table.notes):
        set_cell(ws.cell(end + 1 + k, 1), note)
        ws.cell(end + 1 + k, 1).font = Font(name=BODY_FONT, size=11)

    for c, width in enumerate(sized, start=1):
        ws.column_dimensions[get_column_letter(c)].width = width
    ws.freeze_panes = f"A{start}"
    ws.print_title_rows = f"{top}:{top + levels - 1}"
    ws.print_area = f"A1:{last}{end + len(table.notes) if table.notes else max(end - 1, start)}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"


# ---- docx ------------------------------------------------------------------------------------------------

_CODE_HYPHEN = re.compile(r"(?<=[0-9A-Za-z])-(?=[0-9A-Za-z])")
_LIST_SIGN = re.compile(r"([、，；])(?=[0-9A-Za-z])")


def breakable(text: str) -> str:
    """The text with a space after a list sign (、，；) that a code follows: LibreOffice never ends a line between
    a Chinese sign and Latin text, so a list of device codes (JL-JJ-0010、JL-JJ-0011 …) would be one unbreakable
    run, broken mid-code where it does not fit; Word breaks there either way."""
    return _LIST_SIGN.sub(r"\1 ", text)


def add_text(paragraph: Paragraph, text: str) -> Any:
    """A run of the text in which the hyphens of codes and dates (JL-JJ-0010) are non-breaking (w:noBreakHyphen):
    a line of running text never ends inside a device code."""
    run = paragraph.add_run()
    for i, part in enumerate(_CODE_HYPHEN.split(text)):
        if i:
            run._r.append(OxmlElement("w:noBreakHyphen"))
        if part:
            t = OxmlElement("w:t")
            t.set(qn("xml:space"), "preserve")
            t.text = part
            run._r.append(t)
    return run


def set_run_font(run: Any, name: str, size: float, bold: bool = False) -> None:
    """Font of a run, for Latin and East Asian text alike (w:rFonts ascii/hAnsi/eastAsia)."""
    run.font.name = name
    run.font.size = Pt(size)
    run.font.bold = bold
    rpr = run._element.get_or_add_rPr()
    rpr.get_or_add_rFonts().set(qn("w:eastAsia"), name)


def _line(paragraph: Paragraph, pitch: float = LINE_PITCH_PT) -> None:
    fmt = paragraph.paragraph_format
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = Pt(pitch)
    fmt.space_before = fmt.space_after = Pt(0)


def _portrait(section: Any) -> None:
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    section.header_distance = Mm(15)
    section.footer_distance = Mm(23)  # the page number sits about 7 mm below the text block


def _landscape(section: Any) -> None:
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Mm(297), Mm(210)
    section.top_margin, section.bottom_margin = Mm(28), Mm(26)
    section.left_margin, section.right_margin = Mm(37), Mm(35)
    section.header_distance = Mm(12)
    section.footer_distance = Mm(14)


def new_document(*, landscape: bool = False) -> DocxDocument:
    """An empty GB/T 9704 document; landscape for documents that are one wide table."""
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name = BODY_FONT
    normal.font.size = Pt(SIZE_3)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), BODY_FONT)
    fmt = normal.paragraph_format
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = Pt(LINE_PITCH_PT)
    fmt.space_before = fmt.space_after = Pt(0)
    doc.settings.odd_and_even_pages_header_footer = True
    section = doc.sections[0]
    (_landscape if landscape else _portrait)(section)
    _page_numbers(section)
    return doc


def _page_number_paragraph(paragraph: Paragraph, odd: bool) -> None:
    """"— 1 —": 宋体 四号, one em of space from the text block's right (odd) or left (even) edge."""
    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT if odd else WD_ALIGN_PARAGRAPH.LEFT
    if odd:
        paragraph.paragraph_format.right_indent = Pt(SIZE_4)
    else:
        paragraph.paragraph_format.left_indent = Pt(SIZE_4)
    set_run_font(paragraph.add_run("— "), PAGE_NUMBER_FONT, SIZE_4)
    run = paragraph.add_run()
    set_run_font(run, PAGE_NUMBER_FONT, SIZE_4)
    for tag, attr in (("w:fldChar", "begin"), ("w:instrText", None), ("w:fldChar", "separate")):
        el = OxmlElement(tag)
        if attr:
            el.set(qn("w:fldCharType"), attr)
        else:
            el.set(qn("xml:space"), "preserve")
            el.text = " PAGE "
        run._element.append(el)
    number = paragraph.add_run("1")
    set_run_font(number, PAGE_NUMBER_FONT, SIZE_4)
    end = paragraph.add_run()
    fld_end = OxmlElement("w:fldChar")
    fld_end.set(qn("w:fldCharType"), "end")
    end._element.append(fld_end)
    set_run_font(paragraph.add_run(" —"), PAGE_NUMBER_FONT, SIZE_4)


def _page_numbers(section: Any) -> None:
    section.footer.is_linked_to_previous = False
    section.even_page_footer.is_linked_to_previous = False
    for footer, odd in ((section.footer, True), (section.even_page_footer, False)):
        paragraph = footer.paragraphs[0]
        for run in list(paragraph.runs):
            run._element.getparent().remove(run._element)
        _page_number_paragraph(paragraph, odd)


def add_title(doc: DocxDocument, text: str) -> Paragraph:
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _line(p, 36)
    set_run_font(p.add_run(document_text(text)), TITLE_FONT, SIZE_2)
    doc.add_paragraph()  # one blank line below the title
    return p


def add_heading(doc: DocxDocument, text: str, level: int = 1) -> Paragraph:
    """一、 headings in 黑体, （一） headings in 楷体_GB2312; both three-号 and indented like the body."""
    p = doc.add_paragraph()
    _line(p)
    p.paragraph_format.first_line_indent = Pt(2 * SIZE_3)
    p.paragraph_format.keep_with_next = True
    font = HEADING1_FONT if level == 1 else HEADING2_FONT
    set_run_font(add_text(p, breakable(chinese_dates(document_text(text)))), font, SIZE_3)
    return p


def add_paragraph(doc: DocxDocument, text: str = "", *, indent: bool = True, align: str = "justify",
                  bold_lead: str | None = None) -> Paragraph:
    """A body paragraph; dates in it are written in Chinese (chinese_dates), as a document's text says them."""
    p = doc.add_paragraph()
    _line(p)
    p.alignment = {"justify": WD_ALIGN_PARAGRAPH.JUSTIFY, "right": WD_ALIGN_PARAGRAPH.RIGHT,
                   "center": WD_ALIGN_PARAGRAPH.CENTER, "left": WD_ALIGN_PARAGRAPH.LEFT}[align]
    if indent:
        p.paragraph_format.first_line_indent = Pt(2 * SIZE_3)
    if bold_lead:
        set_run_font(p.add_run(document_text(bold_lead)), HEADING2_FONT, SIZE_3)
    if text:
        set_run_font(add_text(p, breakable(chinese_dates(document_text(text)))), BODY_FONT, SIZE_3)
    return p


def add_signature(doc: DocxDocument, issuer: str, day: dt.date) -> None:
    """发文机关署名 and 成文日期, right-aligned four characters from the edge."""
    doc.add_paragraph()
    for text in (issuer, zh_date(day)):
        p = add_paragraph(doc, text, indent=False, align="right")
        p.paragraph_format.right_indent = Pt(4 * SIZE_3)


def text_width_mm(doc: DocxDocument) -> float:
    """Width of the text block of the document's last section, in millimetres."""
    section = doc.sections[-1]
    return (section.page_width - section.left_margin - section.right_margin) / Mm(1)


def landscape_section(doc: DocxDocument) -> Any:
    section = doc.add_section(WD_SECTION.NEW_PAGE)
    _landscape(section)
    return section


def portrait_section(doc: DocxDocument) -> Any:
    section = doc.add_section(WD_SECTION.NEW_PAGE)
    _portrait(section)
    return section


def add_attachment(doc: DocxDocument, table: Table, *, landscape: bool = True, new_section: bool = True) -> None:
    """An attachment: 附件 label in 黑体, its title, then the table (header rows repeated on every page)."""
    if new_section and landscape:
        landscape_section(doc)
    elif new_section:
        portrait_section(doc)
    if table.attachment:
        p = doc.add_paragraph()
        _line(p)
        set_run_font(p.add_run(document_text(table.attachment)), HEADING1_FONT, SIZE_3)
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _line(p, 36)
    set_run_font(p.add_run(document_text(table.title)), TITLE_FONT, SIZE_2)
    if table.unit or table.date:
        p = add_paragraph(doc, f"填报单位（盖章）：{table.unit}", indent=False, align="left")
        if table.date:
            set_run_font(p.add_run(f"        填报日期：{zh_date(table.date)}"), BODY_FONT, SIZE_3)
    add_table(doc, table.columns, table.rows, text_width_mm(doc))
    for note in table.notes:
        add_paragraph(doc, note, indent=False, align="left")


def _cell_xml(text: str, width: int, *, bold: bool = False, center: bool = False, font: str = BODY_FONT,
              size: float = SIZE_S4, merge: str | None = None, span: int = 1) -> str:
    half = int(size * 2)
    props = f'<w:tcW w:w="{width}" w:type="dxa"/>'
    if span > 1:
        props += f'<w:gridSpan w:val="{span}"/>'
    if merge:
        props += f'<w:vMerge w:val="{merge}"/>' if merge == "restart" else "<w:vMerge/>"
    props += '<w:vAlign w:val="center"/>'
    run = ""
    if text:
        lines = "<w:br/>".join("<w:noBreakHyphen/>".join(f'<w:t xml:space="preserve">{escape(part)}</w:t>'
                                                         for part in _CODE_HYPHEN.split(line))
                               for line in document_text(text).split("\n"))
        run = (f'<w:r><w:rPr><w:rFonts w:ascii="{font}" w:hAnsi="{font}" w:eastAsia="{font}"/>'
               + ("<w:b/>" if bold else "") + f'<w:sz w:val="{half}"/><w:szCs w:val="{half}"/></w:rPr>'
               f'{lines}</w:r>')
    jc = '<w:jc w:val="center"/>' if center else ""
    return (f'<w:tc><w:tcPr>{props}</w:tcPr><w:p><w:pPr><w:spacing w:before="0" w:after="0" w:line="300" '
            f'w:lineRule="auto"/><w:ind w:firstLine="0"/>{jc}</w:pPr>{run}</w:p></w:tc>')


def table_font_size(n_columns: int) -> float:
    """小四 for narrow tables, 五号 from 9 columns, 小五 (9 pt) from 13."""
    return SIZE_S4 if n_columns <= 8 else SIZE_5 if n_columns <= 12 else 9.0


def add_table(doc: DocxDocument, columns: Sequence[Col], rows: list[list[Any]], width_mm: float) -> Any:
    """A bordered table filling the text width, its columns sized to their content (audit.exports.layout); header
    rows repeat on each page, rows do not split."""
    cols = list(columns)
    texts = [[breakable(text_of(v)) for v in values] for values in rows]
    widths_mm, size = docx_widths(cols, texts, width_mm, table_font_size(len(cols)))
    widths = [int(Mm(w).twips) for w in widths_mm]
    levels = header_rows(cols)
    table = doc.add_table(rows=0, cols=len(cols))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    tbl = table._tbl
    tbl.tblPr.append(parse_xml(f'<w:tblCellMar {nsdecls("w")}><w:left w:w="{CELL_MARGIN_TWIPS}" w:type="dxa"/>'
                               f'<w:right w:w="{CELL_MARGIN_TWIPS}" w:type="dxa"/></w:tblCellMar>'))
    grid = tbl.tblGrid
    for gc, w in zip(grid.findall(qn("w:gridCol")), widths):
        gc.set(qn("w:w"), str(w))
    table.autofit = False
    header_props = '<w:trPr><w:tblHeader/><w:cantSplit/></w:trPr>'
    head_cell = dict(bold=False, center=True, font=HEADING1_FONT, size=size)
    upper, lower = [], []
    i = 0
    while i < len(cols):
        col = cols[i]
        if col.group is None:
            merge = "restart" if levels == 2 else None
            upper.append(_cell_xml(col.header, widths[i], merge=merge, **head_cell))
            lower.append(_cell_xml("", widths[i], merge="continue", **head_cell))
            i += 1
            continue
        j = i
        while j + 1 < len(cols) and cols[j + 1].group == col.group:
            j += 1
        upper.append(_cell_xml(col.group, sum(widths[i:j + 1]), span=j - i + 1, **head_cell))
        lower.extend(_cell_xml(cols[k].header, widths[k], **head_cell) for k in range(i, j + 1))
        i = j + 1
    header_xml = [upper] if levels == 1 else [upper, lower]
    for cells in header_xml:
        tbl.append(parse_xml(f'<w:tr {nsdecls("w")}>{header_props}{"".join(cells)}</w:tr>'))
    centered = [c.kind != "text" for c in cols]
    body = []
    for values in texts:
        cells = "".join(_cell_xml(v, w, center=ctr, size=size) for v, w, ctr in zip(values, widths, centered))
        body.append(f'<w:tr><w:trPr><w:cantSplit/></w:trPr>{cells}</w:tr>')
    if body:
        # One parse for all body rows: fast for thousands of rows.
        wrapper = parse_xml(f'<w:tbl {nsdecls("w")}>{"".join(body)}</w:tbl>')
        for tr in list(wrapper):
            tbl.append(tr)
    return table
