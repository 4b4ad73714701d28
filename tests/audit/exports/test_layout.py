"""Table columns sized to their content: what cannot break sets a column's least width, Chinese text wraps at a
few characters or more, the rest of the width goes where the text is longest, and the type gets smaller before
anything breaks mid-word."""
from __future__ import annotations

import pytest

from audit.exports.common import Col
from audit.exports.layout import (
    CELL_PADDING_MM,
    Cells,
    MM_PER_PT,
    column_needs,
    docx_widths,
    fit_widths,
    longest_unbreakable_em,
    text_em,
    xlsx_width,
)


@pytest.mark.parametrize("text, unbreakable", [
    ("JL-JJ-0010", "JL-JJ-0010"),
    ("auditor", "auditor"),
    ("2024-06-21", "2024-06-21"),
    ("将乐县公安局交通管理大队", ""),
    # Chinese punctuation glued to Latin text stays with it, and so does the character after an opening bracket.
    ("S217、S217K79+325（南口乡路段）", "S217、S217K79+325（南"),
    ("张三（交警大队秩序中队）", "（交"),
])
def test_what_a_line_cannot_break(text, unbreakable):
    assert longest_unbreakable_em(text) == pytest.approx(text_em(unbreakable))


def test_a_web_address_sets_no_width():
    assert longest_unbreakable_em("https://www.jiangle.gov.cn/xxgk/tzgg/202406/t20240621_1234567.htm") == 0


def test_needs_and_wants():
    need, want = column_needs("责任人", ["张三（交警大队秩序中队）", "李四"])
    assert need == pytest.approx(3.0) and want == pytest.approx(text_em("张三（交警大队秩序中队）"))
    need, _ = column_needs("决定人", ["auditor"])
    assert need == pytest.approx(text_em("auditor"))


def test_the_spare_width_goes_where_it_saves_lines():
    # A list of devices and an empty column: the list gets the room; without text, the design weights decide.
    rows = [["JL-JJ-0010、 JL-JJ-0011、 JL-JJ-0012、 JL-JJ-0013、 JL-JJ-0014", ""]] * 3
    cells = Cells(rows, 2)
    widths = fit_widths([20, 20], [100, 20], [1, 3], 100, cells, 10.5)
    assert widths[0] == pytest.approx(80) and widths[1] == pytest.approx(20)
    assert cells.total_lines(widths, 10.5) < cells.total_lines([50, 50], 10.5)
    empty = fit_widths([10, 10], [100, 100], [1, 3], 100, Cells([], 2), 10.5)
    assert empty[0] == pytest.approx(30) and empty[1] == pytest.approx(70)
    assert fit_widths([30, 30], [30, 30], [1, 1], 50, cells, 10.5) is None


def test_columns_of_the_suspension_list_fit_codes_names_and_people():
    columns = [Col("序号", 6, kind="int"), Col("单位", 16), Col("设备编号", 14, kind="center"), Col("设备名称", 18),
               Col("决定人", 10, kind="center"), Col("责任人", 10, kind="center"), Col("停用原因", 30)]
    rows = [["1", "将乐县公安局交通管理大队", "JL-JJ-0010", "S217K79+325固定测速点", "auditor", "张三（交警大队秩序中队）",
             "审查发现应立即停用的问题，依法停用（演示）"]] * 3
    widths, size = docx_widths(columns, rows, 225, 10.5)
    em = size * MM_PER_PT
    assert sum(widths) == pytest.approx(225)
    pad = CELL_PADDING_MM
    assert widths[2] >= text_em("JL-JJ-0010") * em + pad and widths[4] >= text_em("auditor") * em + pad
    assert widths[5] >= 3 * em + pad  # the responsible person wraps in lines of three characters or more


def test_the_type_gets_smaller_before_a_code_breaks():
    columns = [Col(f"编号{i}", 10, kind="center") for i in range(12)]
    rows = [["JL-JJ-0010-A"] * 12]
    _, size = docx_widths(columns, rows, 225, 10.5)
    assert size < 10.5


def test_smaller_type_where_whole_codes_would_make_rows_tall():
    columns = [Col("设备编号", 10, kind="center"), Col("设置地点", 10), Col("起点", 10), Col("依据", 30)]
    rows = [["JL-JJ-0010", "G205K2140+510（古镛镇路段）", "S306K27+873（万安镇路段）",
             "《中华人民共和国行政处罚法》第四十一条第一款" * 8]] * 5
    _, size = docx_widths(columns, rows, 156, 12.0)
    assert size < 12.0
    assert docx_widths(columns, [["JL-JJ-0010", "古镛镇", "万安镇", "第四十一条"]], 156, 12.0)[1] == 12.0


def test_an_excel_column_holds_its_longest_code():
    assert xlsx_width(8, ["JL-JJ-0010", "短"]) == 12
    assert xlsx_width(20, ["JL-JJ-0010"]) == 20
