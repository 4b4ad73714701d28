"""Cell value parsers: every form a clerk types is read the same way; anything else is refused with a hint."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from audit.intake.parse import (
    choice_parser,
    clean_code,
    clean_text,
    fast_codes,
    fast_numbers,
    fast_texts,
    header_variants,
    parse_bool,
    parse_coordinate,
    parse_date,
    parse_int,
    parse_month_or_date,
    parse_number,
    parse_unique,
)

D = dt.date(2024, 3, 5)


@pytest.mark.parametrize("value", [
    "2024-03-05", "2024-3-5", "2024/3/5", "2024/03/05", "2024.3.5", "2024年3月5日", "2024年3月5号", "2024 年 3 月 5 日",
    "20240305", "２０２４－０３－０５", " 2024-03-05 ", "2024-03-05 00:00:00", "2024/3/5 14:30",
    45356, 45356.0, "45356", 20240305, dt.date(2024, 3, 5), dt.datetime(2024, 3, 5, 10, 30), pd.Timestamp("2024-03-05"),
])
def test_every_date_form_gives_the_same_day(value):
    assert parse_date(value) == D


@pytest.mark.parametrize("value", ["2024-02-30", "2024-13-01", "05/03/2024", "3月5日", "明天", "2024", True,
                                   "=TODAY()", 0, 2024, dt.time(10, 0), "1850-01-01"])
def test_impossible_or_ambiguous_dates_are_refused(value):
    with pytest.raises(ValueError):
        parse_date(value)


def test_date_refusals_say_why():
    with pytest.raises(ValueError, match="没有30日"):
        parse_date("2024-02-30")
    with pytest.raises(ValueError, match="缺少日"):
        parse_date("2024年3月")
    with pytest.raises(ValueError, match="公式"):
        parse_date("=DATE(2024,3,5)")


@pytest.mark.parametrize("value", [None, "", "  ", "\u3000", float("nan"), "-", "—", "/"])
def test_empty_and_placeholder_cells_are_empty(value):
    assert parse_date(value) is None
    assert parse_number(value) is None
    assert clean_text(value) is None


@pytest.mark.parametrize("value,expected", [
    ("2024-03", ("month", dt.date(2024, 3, 1))), ("2024/3", ("month", dt.date(2024, 3, 1))),
    ("2024年3月", ("month", dt.date(2024, 3, 1))), ("2024年03月份", ("month", dt.date(2024, 3, 1))),
    ("202403", ("month", dt.date(2024, 3, 1))), (202403, ("month", dt.date(2024, 3, 1))),
    ("2024-03-05", ("day", D)), ("20240305", ("day", D)), (45356, ("day", D)), (dt.datetime(2024, 3, 5), ("day", D)),
])
def test_month_or_date(value, expected):
    assert parse_month_or_date(value) == expected


def test_month_thirteen_is_refused():
    with pytest.raises(ValueError, match="月份 13"):
        parse_month_or_date("2024-13")


@pytest.mark.parametrize("value", ["是", "有", "Y", "y", "yes", "YES", "true", "TRUE", "1", 1, 1.0, True, "√", "✓", "Ｙ"])
def test_yes_forms(value):
    assert parse_bool(value) is True


@pytest.mark.parametrize("value", ["否", "无", "N", "n", "no", "false", "0", 0, False, "×", "x"])
def test_no_forms(value):
    assert parse_bool(value) is False


@pytest.mark.parametrize("value", ["也许", "2", 2, "是否"])
def test_other_yes_no_values_are_refused(value):
    with pytest.raises(ValueError):
        parse_bool(value)


@pytest.mark.parametrize("value,expected", [
    ("１２３", 123.0), ("1,234.5", 1234.5), (" 12 ", 12.0), ("1 234", 1234.0), ("¥2,400.00", 2400.0),
    ("2400元", 2400.0), ("300米", 300.0), ("60km/h", 60.0), ("－5", -5.0), (7, 7.0), (2.5, 2.5), ("1e3", 1000.0),
])
def test_numbers(value, expected):
    assert parse_number(value) == expected


@pytest.mark.parametrize("value", ["十二", "12,34", "inf", "1.2.3", True, dt.date(2024, 1, 1)])
def test_non_numbers_are_refused(value):
    with pytest.raises(ValueError):
        parse_number(value)


def test_number_formula_is_refused_with_its_text():
    with pytest.raises(ValueError, match="公式“=SUM\\(B2:B5\\)”"):
        parse_number("=SUM(B2:B5)")


def test_int_refuses_fractions():
    assert parse_int("12") == 12
    with pytest.raises(ValueError, match="整数"):
        parse_int("12.5")


@pytest.mark.parametrize("value,expected", [
    ("117.47312", 117.47312), ("E117.5", 117.5), ("东经117.5", 117.5), ("117.5E", 117.5), ("W87.7", -87.7),
    ("117°28′12″", 117.47), ("117度28分12秒", 117.47), ("26°43'", 26 + 43 / 60), ("南纬33.5", -33.5),
])
def test_coordinates(value, expected):
    assert parse_coordinate(value) == pytest.approx(expected)


@pytest.mark.parametrize("value", ["东经117度", "117°", "117°75′", "abc"])
def test_coarse_or_malformed_coordinates_are_refused(value):
    with pytest.raises(ValueError):
        parse_coordinate(value)


def test_two_numbers_in_one_coordinate_cell_are_explained():
    with pytest.raises(ValueError, match="两个数"):
        parse_coordinate("117.47312,26.72851")


def test_text_keeps_chinese_but_codes_are_half_width():
    assert clean_text("  水南大道（东段）\u200b ") == "水南大道（东段）"
    assert clean_code(" ＪＬ－ＳＣ－０００１ ") == "JL-SC-0001"
    assert clean_code(1001.0) == "1001"
    assert clean_text(dt.datetime(2024, 3, 5)) == "2024-03-05"


@pytest.mark.parametrize("mark", ["\u200e", "\u200f", "\u202e", "\u2066", "\u2069", "\u00ad", "\u061c"])
def test_invisible_direction_marks_and_soft_hyphens_leave_codes(mark):
    """Copied from a web page or another program, a code carries marks that show nothing: without them removed,
    "JL-JJ-0001" with one was registered as a second device that reads the same."""
    assert clean_code(f"{mark}JL-JJ{mark}-0001{mark}") == "JL-JJ-0001"
    assert clean_text(f"水南{mark}大道") == "水南大道"


def test_choices_ignore_width_case_and_spaces_and_take_synonyms():
    parse = choice_parser(("固定测速", "闯红灯"), {"red light": "闯红灯"})
    assert parse(" 固定 测速 ") == "固定测速"
    assert parse("Red Light") == "闯红灯"
    assert parse("") is None
    with pytest.raises(ValueError):
        parse("飞机")


@pytest.mark.parametrize("cell,target", [
    ("设备编号*", "设备编号"), ("＊设备编号", "设备编号"), ("设 备 编 号", "设备编号"), ("Device Code", "devicecode"),
    ("device_code*", "devicecode"), ("罚款金额（元）", "罚款金额"), ("罚款金额(元)", "罚款金额"), ("标识距离(米)", "标识距离米"),
    ("经度\n（必填）", "经度"),
])
def test_header_variants(cell, target):
    assert target in header_variants(cell)


def test_parse_unique_parses_each_distinct_value_once_and_maps_back():
    calls = []

    def parser(value):
        calls.append(value)
        return parse_date(value)

    values = pd.Series(["2024-03-05", "2024/3/5", None, "2024-03-05", "bad", "2024/3/5"] * 1000, dtype=object)
    parsed = parse_unique(values, parser)
    assert sorted(calls) == sorted(["2024-03-05", "2024/3/5", "bad"])
    assert parsed.take().tolist()[:6] == [D, D, None, D, None, D]
    assert parsed.bad.tolist()[:6] == [False, False, False, False, True, False]
    assert parsed.empty.tolist()[:6] == [False, False, True, False, False, False]
    assert parsed.raw(4) == "bad"


def test_parse_unique_key_codes_group_equal_parsed_values():
    parsed = parse_unique(pd.Series(["A1", " A1", "Ａ1", "B2", None, "B2"], dtype=object), clean_code)
    codes = parsed.key_codes()
    assert codes[0] == codes[1] == codes[2] != codes[3] == codes[5]
    assert codes[4] == -1


def test_fast_numbers_leaves_odd_text_to_the_scalar_parser():
    values, done = fast_numbers(np.array(["12", 3.5, "1,234", "abc", True], dtype=object))
    assert done.tolist() == [True, True, False, False, False]
    assert values[:2].tolist() == [12.0, 3.5]


CLEAN = ["设备编号1", "GX-001", "水南大道 东口", "a\nb", "é", "测试路1第12号"]
UNCLEAN = [" 前导空格", "末尾空格 ", "全角空格\u3000", "不\xa0换行", "零宽\u200b字符", "\ufeffBOM", "方向\u202e标记", "-", "N/A", "",
           "ＡＢＣ全角", "e\u0301", "末尾换行\n", "\t制表", "中\x00 间", 12.0, True, dt.date(2024, 3, 5)]


@pytest.mark.parametrize("odd", [None, *UNCLEAN])
def test_bulk_text_cleaning_gives_what_the_scalar_parsers_give(odd):
    """A column of clean texts is taken as it is; one odd cell (space, invisible mark, placeholder, full width,
    a number) and the column gets the scalar parsers' results, the same ones either way."""
    values = pd.Series(CLEAN * 3 + ([] if odd is None else [odd]), dtype=object)
    for parser, fast in ((clean_text, fast_texts), (clean_code, fast_codes)):
        bulk, scalar = parse_unique(values, parser, fast), parse_unique(values, parser)
        assert bulk.results == scalar.results and bulk.bad.tolist() == scalar.bad.tolist()
        assert bulk.take(bulk.results).tolist() == [parser(v) for v in values]
    assert fast_texts(np.array(CLEAN, dtype=object))[1].all()
    if isinstance(odd, str):  # the column's texts left to the scalar parser
        assert not fast_codes(np.array(CLEAN + [odd], dtype=object))[1].any()
