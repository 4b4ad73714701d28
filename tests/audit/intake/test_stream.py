"""A CSV validated a chunk at a time reports exactly what the whole-file path reports and gives the same rows."""
from __future__ import annotations

import random

import pandas as pd
import pytest

from audit.intake.limits import ReadLimits
from audit.intake.upload import parse_upload, parse_whole

HEADER = ("设备编号,设备名称,设备类型,道路名称,设置地点,经度,纬度,坐标系,启用日期,状态,法制审核日期,标识设置,"
          "限速值,最近检定日期,检定有效期至,检定结果")


def both(path, kind, chunk_rows, **kw):
    whole = parse_whole(path, kind, limits=ReadLimits(), **kw)
    streamed = parse_upload(path, kind, chunk_rows=chunk_rows, spool_dir=path.parent, **kw)
    return whole, streamed


def same(whole, streamed):
    assert [p.to_dict() for p in streamed.report.sorted_problems()] == \
        [p.to_dict() for p in whole.report.sorted_problems()]
    assert {k: v for k, v in streamed.report.to_dict().items()} == whole.report.to_dict()
    if whole.frame is not None:
        rows = pd.concat(list(streamed.frames()), ignore_index=True)
        pd.testing.assert_frame_equal(rows, whole.frame.reset_index(drop=True))


def violations_file(path, seed, encoding="utf-8"):
    """Title rows, blank and total rows, duplicates across the file, months beside days, bad cells, stray columns."""
    rng = random.Random(seed)
    lines = ["某某县违法数量统计", "设备编号,日期,违法数量,罚款金额,,备注"]
    codes = [f"JL-{i:03d}" for i in range(40)] + ["", "合计"]
    days = [f"2025-01-{d:02d}" for d in range(1, 29)] + ["2025-02", "2025-03", "2025/1/5", "坏日期", "2025-02-30", ""]
    for _ in range(900):
        lines.append(",".join([rng.choice(codes), rng.choice(days), rng.choice(["1", "2", "-1", "x", "", "3.5", "10"]),
                               rng.choice(["", "100", "-5", "1,200", "20.005"]), rng.choice(["", "", "", "zz"]), ""]))
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


def clean_violations_file(path, devices=120, days=9):
    lines = ["设备编号,日期,违法数量,罚款金额"]
    for i in range(devices):
        lines += [f"JL-{i:04d},2025-03-{d:02d},{(i * d) % 17},{'' if d % 3 else (i * d) % 17 * 200}"
                  for d in range(1, days + 1)]
        if i % 25 == 0:
            lines.append(f"JL-{i:04d},2025-02,{i},")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def devices_file(path, n=150, faulty=True):
    rng = random.Random(n)
    lines = [HEADER]
    for i in range(n):
        code = f"JL-{i:04d}" if i % 37 or not faulty else "JL-0001"  # a duplicate code now and then
        code = f"jl-{i - 1:04d}" if faulty and i % 41 == 40 else code  # one differing only by case from the last
        crs = "" if i % 11 == 0 else rng.choice(["WGS84", "GCJ02"])
        lon = "abc" if i == 77 and faulty else f"{117.4 + rng.random() / 10:.6f}"
        lines.append(f"{code},设备{i},{rng.choice(['固定测速', '闯红灯', '违法停车'])},路{i % 9},地点{i},{lon},"
                     f"{26.7 + rng.random() / 10:.6f},{crs},2023-07-01,在用,2023-06-01,是,{rng.choice([40, 60, 900])},"
                     "2024-05-20,2025-05-19,合格")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("chunk_rows", [7, 64, 10_000])
def test_a_faulty_violations_file_gets_the_same_report_by_chunks(tmp_path, chunk_rows):
    whole, streamed = both(violations_file(tmp_path / "v.csv", 3), "violations", chunk_rows)
    assert not whole.report.ok and streamed.spool is not None  # the rows, for the registry's checks
    codes = {p.code for p in whole.report.problems}
    assert {"DUPLICATE_KEY", "PERIOD_MIXED", "BAD_DATE", "NEGATIVE_COUNT", "TOTAL_ROW_SKIPPED", "COLUMN_NO_HEADER",
            "COLUMN_UNKNOWN"} <= codes
    same(whole, streamed)


@pytest.mark.parametrize("chunk_rows", [5, 50, 333])
def test_a_clean_violations_file_gives_the_same_rows_by_chunks(tmp_path, chunk_rows):
    whole, streamed = both(clean_violations_file(tmp_path / "v.csv"), "violations", chunk_rows)
    assert whole.report.ok and streamed.spool is not None and streamed.spool.exists()
    assert {p.code for p in whole.report.problems} == {"PERIOD_MIXED"}
    same(whole, streamed)
    spool = streamed.spool
    streamed.discard()
    assert not spool.exists() and list(streamed.frames()) == []


@pytest.mark.parametrize("chunk_rows", [3, 40])
def test_a_devices_file_by_chunks(tmp_path, chunk_rows):
    path = devices_file(tmp_path / "d.csv")
    whole, streamed = both(path, "devices", chunk_rows, default_crs=None)
    assert {"DUPLICATE_CODE", "CODE_CASE_VARIANT", "CRS_ASSUMED", "COORD_NOT_NUMERIC", "SPEED_LIMIT_RANGE"} <= \
        {p.code for p in whole.report.problems}
    same(whole, streamed)
    whole, streamed = both(devices_file(tmp_path / "ok.csv", faulty=False), "devices", chunk_rows)
    assert whole.report.ok and streamed.spool is not None
    same(whole, streamed)


def test_gb18030_and_a_missing_column_by_chunks(tmp_path):
    same(*both(violations_file(tmp_path / "gbk.csv", 5, encoding="gb18030"), "violations", 100))
    (tmp_path / "m.csv").write_text("设备编号,违法数量\n" + "JL-1,3\n" * 100 + ",,,9\n", encoding="utf-8")
    whole, streamed = both(tmp_path / "m.csv", "violations", 10)
    assert {p.code for p in whole.report.errors} == {"MISSING_COLUMN", "TOO_MANY_FIELDS"}  # ",,,9": 4 values
    same(whole, streamed)


def test_a_quoted_line_break_is_read_whole(tmp_path):
    """A record spanning lines is wider than any line: the file falls back to the whole-file reader."""
    rows = [f'JL-{i},名称{i},固定测速,"路\n{i},,,,,,",,117.4,26.7' for i in range(60)]
    path = tmp_path / "q.csv"
    path.write_text("设备编号,设备名称,设备类型,道路名称,设置地点,经度,纬度\n" + "\n".join(rows) + "\n", encoding="utf-8")
    whole, streamed = both(path, "devices", 5)
    same(whole, streamed)


def test_a_broken_encoding_half_way_is_reported_as_by_the_whole_file(tmp_path):
    path = clean_violations_file(tmp_path / "v.csv")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] + b"\xff\xfe\xfa" + data[len(data) // 2:])
    whole, streamed = both(path, "violations", 20)
    assert [p.code for p in whole.report.errors] == ["FILE_ENCODING"]
    same(whole, streamed)


def test_limits_are_checked_before_reading(tmp_path):
    path = clean_violations_file(tmp_path / "v.csv")
    limits = ReadLimits(max_rows=100)
    streamed = parse_upload(path, "violations", chunk_rows=10, limits=limits)
    assert [p.code for p in streamed.report.errors] == ["SHEET_TOO_LARGE"]
    assert streamed.report.to_dict() == parse_whole(path, "violations", limits=limits).report.to_dict()


def test_a_large_csv_comes_back_from_the_worker_process_as_a_spool(tmp_path):
    """Past STREAM_MIN_BYTES the web's child process hands the rows over in a file, not through the pipe."""
    from audit.intake.isolated import parse_isolated
    from audit.intake.stream import STREAM_MIN_BYTES

    days = [f"2025-{m:02d}-{d:02d}" for m in range(1, 13) for d in range(1, 29)]
    line = "".join(f"JL-{i:05d},{day},{i % 7},{i % 7 * 200}\n" for i in range(40) for day in days)
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8") as fh:
        fh.write("设备编号,日期,违法数量,罚款金额\n")
        block = 0
        while fh.tell() < STREAM_MIN_BYTES + 1024:
            fh.write(line.replace("JL-", f"B{block}-"))
            block += 1
    spool_dir = tmp_path / "upload"
    spool_dir.mkdir()
    parsed = parse_isolated(path, "violations", spool_dir=spool_dir, timeout=300)
    assert parsed.report.ok and parsed.frame is None and parsed.spool.parent == spool_dir
    assert sum(len(f) for f in parsed.frames()) == parsed.report.data_rows == block * len(days) * 40
    parsed.discard()
    assert list(spool_dir.iterdir()) == []


@pytest.mark.parametrize("ending", ["\r", "\r\n"])
def test_a_csv_of_mac_line_ends_gives_every_row(tmp_path, ending):
    """Excel for Mac's "CSV (Macintosh)" ends lines with a carriage return alone: every row is read, as from the
    same file with line feeds (it was once one line, cut at the column limit: 249 rows of 2,000 imported)."""
    plain = clean_violations_file(tmp_path / "lf.csv", devices=250, days=8)
    mac = tmp_path / "mac.csv"
    mac.write_bytes(plain.read_bytes().replace(b"\n", ending.encode()))
    expected = parse_whole(plain, "violations", limits=ReadLimits())
    assert expected.report.ok and len(expected.frame) == 2010
    for parsed in both(mac, "violations", 100):
        assert parsed.report.ok, parsed.report.format_text(5)
        rows = pd.concat(list(parsed.frames()), ignore_index=True) if parsed.spool else parsed.frame
        pd.testing.assert_frame_equal(rows.reset_index(drop=True), expected.frame.reset_index(drop=True))


TOO_MANY = ("这一行有 6 个值，比表头的 4 列多 2 个（多出的是“234”、“500”）；数字不要带千分位分隔符（1,234,500 请写成 "
            "1234500），含逗号的文字请加英文双引号。")


@pytest.mark.parametrize("chunk_rows", [2, 1000])
def test_a_row_with_more_values_than_the_header_is_refused_by_both_readers(tmp_path, chunk_rows):
    """An unquoted 1,234,500 splits into three values: once the extra ones were dropped (the fine read as 1) or
    shifted the columns, with at most a warning. A quoted comma and an empty last field are fine."""
    path = tmp_path / "v.csv"
    path.write_text("违法数量统计\n设备编号,日期,违法数量,罚款金额\nJL-001,2025-01-01,5,\"1,200\"\nJL-002,2025-01-01,3,\n"
                    "JL-003,2025-01-02,2,1,234,500\nJL-004,2025-01-03,1,200,\n\"JL-005\",2025-01-04,7,\"3,500.5\"\n",
                    encoding="utf-8")
    whole, streamed = both(path, "violations", chunk_rows)
    same(whole, streamed)
    assert [(p.code, p.row, p.column, p.message) for p in whole.report.problems] == [
        ("TOO_MANY_FIELDS", 5, None, TOO_MANY)]
    assert "第5行：" + TOO_MANY in whole.report.format_text()
    assert whole.frame["fine_yuan"].tolist()[::2] == [1200.0, 1.0, 3500.5]


def test_values_beyond_a_header_line_with_empty_fields(tmp_path):
    """Excel pads every line of its CSV to the widest row: a value under the header's empty fields is in a column
    without a header (not read, a warning), a value past them in a row with too many values."""
    path = tmp_path / "v.csv"
    path.write_text("设备编号,日期,违法数量,,\nJL-001,2025-01-01,5,,\nJL-002,2025-01-01,3,备注,\n"
                    "JL-003,2025-01-01,3,,,1\n", encoding="utf-8")
    whole, streamed = both(path, "violations", 1)
    same(whole, streamed)
    assert [(p.code, p.row) for p in whole.report.errors] == [("TOO_MANY_FIELDS", 4)]
    assert whole.report.errors[0].message.startswith("这一行有 6 个值，比表头的 5 列多 1 个（多出的是“1”）")
    assert [(p.code, p.row) for p in whole.report.warnings] == [("COLUMNS_NOT_READ", 3)]
