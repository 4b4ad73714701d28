"""The docx documents after GB/T 9704: page, margins, East Asian fonts, page numbers, and what they say."""
from __future__ import annotations

import docx
import pytest
from docx.oxml.ns import qn
from docx.shared import Mm

from audit.exports.common import chinese_dates
from tests.audit.exports import world

DOCX_KINDS = ["suspension-list", "self-inspection", "summary", "public-notice", "opinion-letter"]
LANDSCAPE = {"suspension-list", "self-inspection"}


def open_doc(filed, kind, tmp_path, **kwargs):
    if kind == "opinion-letter":
        kwargs.setdefault("department", world.POLICE)
    return docx.Document(filed.export(kind, tmp_path / f"{kind}.docx", **kwargs))


def east_asian(run):
    fonts = run._element.rPr.rFonts
    return fonts.get(qn("w:eastAsia"))


def text_of(doc):
    parts = [p.text for p in doc.paragraphs]
    parts += [c.text for t in doc.tables for row in t.rows for c in row.cells]
    return "\n".join(parts)


def mm(length):
    return round(length / Mm(1))


@pytest.mark.parametrize("kind", DOCX_KINDS)
def test_page_and_margins(filed, tmp_path, kind):
    doc = open_doc(filed, kind, tmp_path)
    first = doc.sections[0]
    if kind in LANDSCAPE:
        assert (mm(first.page_width), mm(first.page_height)) == (297, 210)
        # the same 156 × 225 mm text block, turned
        assert (mm(first.page_width - first.left_margin - first.right_margin),
                mm(first.page_height - first.top_margin - first.bottom_margin)) == (225, 156)
    else:
        assert (mm(first.page_width), mm(first.page_height)) == (210, 297)
        assert [mm(x) for x in (first.top_margin, first.bottom_margin, first.left_margin, first.right_margin)] \
            == [37, 35, 28, 26]


@pytest.mark.parametrize("kind", DOCX_KINDS)
def test_fonts_are_set_for_east_asian_text(filed, tmp_path, kind):
    doc = open_doc(filed, kind, tmp_path)
    normal = doc.styles["Normal"]
    assert normal.element.rPr.rFonts.get(qn("w:eastAsia")) == "仿宋_GB2312" and normal.font.size.pt == 16
    titles = [r for p in doc.paragraphs for r in p.runs if east_asian(r) == "方正小标宋简体"]
    assert titles and all(r.font.size.pt == 22 for r in titles)
    body = [r for p in doc.paragraphs for r in p.runs if east_asian(r) == "仿宋_GB2312"]
    assert body and all(r.font.size.pt == 16 for r in body)
    for table in doc.tables:
        assert 'w:eastAsia="黑体"' in table._tbl.xml and 'w:eastAsia="仿宋_GB2312"' in table._tbl.xml


@pytest.mark.parametrize("kind", ["summary", "opinion-letter"])
def test_headings_in_heiti_and_kaiti(filed, tmp_path, kind):
    doc = open_doc(filed, kind, tmp_path)
    fonts = {p.text: east_asian(p.runs[0]) for p in doc.paragraphs if p.runs}
    assert fonts["一、基本情况" if kind == "summary" else "一、存在的问题"] == "黑体"
    level2 = [t for t, f in fonts.items() if t.startswith("（一）")]
    assert level2 and all(fonts[t] == "楷体_GB2312" for t in level2)


@pytest.mark.parametrize("kind", DOCX_KINDS)
def test_page_numbers_in_the_footer(filed, tmp_path, kind):
    doc = open_doc(filed, kind, tmp_path)
    assert doc.settings.odd_and_even_pages_header_footer
    section = doc.sections[0]
    for footer, align in ((section.footer, "right"), (section.even_page_footer, "left")):
        [p] = footer.paragraphs
        assert p.text == "— 1 —" and p.alignment.name.lower() == align
        assert "PAGE" in p._p.xml and 'w:fldCharType="begin"' in p._p.xml
        assert {east_asian(r) for r in p.runs if r.text} == {"宋体"}


def test_table_headers_repeat_on_every_page(filed, tmp_path):
    doc = open_doc(filed, "self-inspection", tmp_path)
    table = doc.tables[0]
    assert [row._tr.trPr.find(qn("w:tblHeader")) is not None for row in table.rows[:3]] == [True, True, False]
    assert [c.text for c in table.rows[1].cells][2:6] == ["问题类别", "问题描述", "涉及设备", "发现方式"]


def test_suspension_list_docx(filed, tmp_path):
    doc = open_doc(filed, "suspension-list", tmp_path)
    rows = [[c.text for c in r.cells] for r in doc.tables[0].rows[2:]]
    assert [r[2] for r in rows] == ["JL-001", "CG-001"]
    assert rows[0][8:10] == ["2024-07-01", "未经法制审核即投入使用"]


def test_opinion_letter_names_open_serious_problems_and_deadlines(filed, tmp_path):
    text = text_of(open_doc(filed, "opinion-letter", tmp_path, issuer="将乐县司法局"))
    assert f"{world.POLICE}：" in text and "设备 JL-001" in text
    assert "已于2024年7月1日停用" in text
    assert f"按整改台账第 {filed.open_item.id} 项于2024年7月31日前完成整改" in text
    assert "请你单位于2024年10月1日前将整改落实情况书面报送本机关" in text
    assert "JL-002" not in text  # 较重, and closed
    assert "将乐县司法局" in text and "2024年9月1日" in text


def test_opinion_letter_refuses_without_a_department_or_problems(filed, tmp_path):
    from audit.exports import ExportError

    with pytest.raises(ExportError, match="须指明一个单位"):
        filed.export("opinion-letter", tmp_path / "x.docx")
    with pytest.raises(ExportError, match="没有尚未整改的严重问题"):
        filed.export("opinion-letter", tmp_path / "x.docx", department=world.CITY)


def test_summary_has_statistics_case_and_the_ledger_attached(filed, tmp_path):
    doc = open_doc(filed, "summary", tmp_path, case_finding_id=filed.rev01.id)
    text = text_of(doc)
    for heading in ("一、基本情况", "二、发现的问题", "三、整改落实情况", "四、典型案例", "五、追责问责和容错免责情况"):
        assert heading in text
    assert "本次审查设备间距按直线距离计算（未加载路网），未加载乡镇（街道）边界" in text  # the world's run had neither
    assert "共作出停用决定 1 项，目前仍停用 1 台" in text
    assert "列入整改台账 3 项，其中待整改 2 项、整改中 0 项、已整改待核查 0 项、已销号 1 项" in text
    assert "逾期未整改 1 项" in text  # JL-001's item was due 2024-07-31
    # The finding's message with its dates in Chinese, as document text says them.
    assert chinese_dates(filed.rev01.message) in text and "截至2024年6月30日未记录法制审核" in text
    assert "2024年7月1日，张三作出停用决定：未经法制审核即投入使用。" in text
    dept_table = doc.tables[0]
    police = [[c.text for c in r.cells] for r in dept_table.rows if r.cells[0].text == world.POLICE]
    assert police and police[0][2] == "1"  # one serious problem (REV01)
    ledger = doc.tables[-1]
    assert doc.sections[-1].orientation.name == "LANDSCAPE"
    closed = [[c.text for c in r.cells] for r in ledger.rows if r.cells[2].text == "JL-002"]
    assert closed[0][12:14] == ["2024-08-20", "赵六"]


def test_summary_refuses_an_unknown_case(filed, tmp_path):
    from audit.exports import ExportError

    with pytest.raises(ExportError, match="没有编号为 999999 的问题"):
        filed.export("summary", tmp_path / "s.docx", case_finding_id=999999)
