"""Table columns sized to their content: what cannot break sets a column's least width, Chinese text wraps at a
few characters or more, the rest of the width goes where the text is longest, and the type gets smaller before
anything breaks mid-word."""
from __future__ import annotations

import pytest

from audit.exports.common import Col
from audit.exports.layout import (
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
    assert need == pytest.approx(4.0) and want == pytest.approx(text_em("张三（交警大队秩序中队）"))
    need, _ = column_needs("决定人", ["auditor"])
    assert need == pytest.approx(text_em("auditor"))


def test_spare_width_goes_towards_the_longest_text_then_by_weight():
    widths = fit_widths([10, 10], [30, 10], [1, 1], 50)
    assert widths[0] == pytest.approx(35) and widths[1] == pytest.approx(15)
    assert fit_widths([30, 30], [30, 30], [1, 1], 50) is None


def test_columns_of_the_suspension_list_fit_codes_names_and_people():
    columns = [Col("序号", 6, kind="int"), Col("单位", 16), Col("设备编号", 14, kind="center"), Col("设备名称", 18),
               Col("决定人", 10, kind="center"), Col("责任人", 10, kind="center"), Col("停用原因", 30)]
    rows = [["1", "将乐县公安局交通管理大队", "JL-JJ-0010", "S217K79+325固定测速点", "auditor", "张三（交警大队秩序中队）",
             "审查发现应立即停用的问题，依法停用（演示）"]] * 3
    widths, size = docx_widths(columns, rows, 225, 10.5)
    em = size * MM_PER_PT
    assert sum(widths) == pytest.approx(225)
    assert widths[2] >= text_em("JL-JJ-0010") * em + 4 and widths[4] >= text_em("auditor") * em + 4
    assert widths[5] >= 4 * em + 4  # the responsible person wraps in lines of four characters or more


def test_the_type_gets_smaller_before_a_code_breaks():
    columns = [Col(f"编号{i}", 10, kind="center") for i in range(12)]
    rows = [["JL-JJ-0010-A"] * 12]
    _, size = docx_widths(columns, rows, 225, 10.5)
    assert size < 10.5


def test_an_excel_column_holds_its_longest_code():
    assert xlsx_width(8, ["JL-JJ-0010", "短"]) == 12
    assert xlsx_width(20, ["JL-JJ-0010"]) == 20
