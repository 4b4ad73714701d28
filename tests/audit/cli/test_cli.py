"""The `camaudit` command line as a clerk or an engineer uses it."""
from __future__ import annotations

import json
import zipfile

import openpyxl
import pytest
from click.testing import CliRunner

from audit.cli import main

DEPT = "将乐县公安局交通管理大队"
GOOD = ("设备编号,设备名称,设备类型,道路名称,经度,纬度,坐标系,启用日期,状态,法制审核日期\n"
        "JL-001,水南大道测速,固定测速,水南大道,117.4731,26.7285,WGS84,2023-07-01,在用,\n"
        "JL-002,=HYPERLINK(\"http://x\"),闯红灯,府前路,117.4702,26.7301,WGS84,2023-07-01,在用,\n")
BAD = ("设备编号,设备名称,设备类型,经度,纬度\n"
       "JL-010,甲,固定测速,117.47,26.72\n"
       "JL-010,乙,无人机,东经117度,26.73\n")


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("CAMAUDIT_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    runner = CliRunner()

    def run(*args, input=None):
        return runner.invoke(main, [str(a) for a in args], input=input, catch_exceptions=False)

    return run


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def test_import_with_errors_exits_2_prints_report_and_saves_it(cli, tmp_path):
    bad = write(tmp_path, "bad.csv", BAD)
    out = cli("import", "devices", bad, "--department", DEPT, "--report", tmp_path / "r.json")
    assert out.exit_code == 2
    assert "DUPLICATE_CODE" in out.output and "第3行" in out.output and "无人机" in out.output
    assert "数据库未作任何改动" in out.output
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert not report["ok"] and {e["code"] for e in report["errors"]} >= {"DUPLICATE_CODE", "BAD_CHOICE",
                                                                          "COORD_NOT_NUMERIC"}
    listing = cli("devices", "--format", "json")
    assert json.loads(listing.output) == []


def test_report_as_annotated_sheet(cli, tmp_path):
    bad = write(tmp_path, "bad.csv", BAD)
    assert cli("import", "devices", bad, "--department", DEPT, "--report", tmp_path / "r.xlsx").exit_code == 2
    book = openpyxl.load_workbook(tmp_path / "r.xlsx")
    sheet = book.worksheets[0]
    flagged = [c for row in sheet.iter_rows() for c in row if c.comment is not None]
    assert any(c.value == "无人机" for c in flagged)


def test_import_then_list_as_json_csv_and_table(cli, tmp_path):
    good = write(tmp_path, "good.csv", GOOD, encoding="gb18030")
    out = cli("import", "devices", good, "--department", DEPT)
    assert out.exit_code == 0, out.output
    assert "新增 2 台" in out.output and "CELL_FORMULA" in out.output
    records = json.loads(cli("devices", "--format", "json").output)
    assert [r["device_code"] for r in records] == ["JL-001", "JL-002"]
    first = records[0]
    assert first["department"] == DEPT and first["lon"] == pytest.approx(117.4731)
    assert first["raw_lat"] == pytest.approx(26.7285) and first["crs"] == "WGS84"
    assert records[1]["name"] == '=HYPERLINK("http://x")'
    csv_text = cli("devices", "--format", "csv").output
    assert "'=HYPERLINK" in csv_text
    table = cli("devices", "--department", DEPT).output
    assert "JL-002" in table and "共 2 台设备" in table
    unknown = cli("devices", "--department", "不存在的单位")
    assert unknown.exit_code != 0 and "不存在的单位" in unknown.output


def test_a_department_is_named_as_clerks_type_it_and_a_name_matching_none_is_refused(cli, tmp_path):
    assert cli("import", "devices", write(tmp_path, "good.csv", GOOD), "--department", DEPT).exit_code == 0
    typed = "将乐县　公安局 交通管理大队"  # a full-width and an ASCII space: the same department
    assert "共 2 台设备" in cli("devices", "--department", typed).output
    exported = cli("export", "public-notice", "--department", typed, "-o", tmp_path / "n.xlsx")
    assert exported.exit_code == 0, exported.output
    sheet = openpyxl.load_workbook(tmp_path / "n.xlsx").active
    assert {r[1] for r in sheet.iter_rows(min_row=6, values_only=True) if r[0]} == {DEPT}
    assert "JL-001" in cli("assessments", "--department", typed, "--as-of", "2025-06-30").output
    # A name that matches no department is refused, not answered with an empty list.
    for args in (["assessments"], ["decide", "ledger"], ["letter", "list"], ["export", "ledger", "-o", tmp_path / "l.xlsx"]):
        out = cli(*args, "--department", "将乐县交通运输局")
        assert out.exit_code == 2 and "没有名为“将乐县交通运输局”的单位" in out.output, args
    assert not (tmp_path / "l.xlsx").exists()


def test_a_date_that_does_not_exist_is_named_so_not_called_a_bad_format(cli, tmp_path):
    out = cli("audit", "--as-of", "2025-02-29")
    assert out.exit_code == 2 and "日期“2025-02-29”不存在：2025年2月没有29日" in out.output
    out = cli("export", "ledger", "--as-of", "2024-04-31", "-o", tmp_path / "l.xlsx")
    assert out.exit_code == 2 and "2024年4月没有31日" in out.output and "格式不对" not in out.output
    assert "2024年没有13月" in cli("assessments", "--as-of", "2024-13-01").output
    assert "格式不对，应为 2024-06-30" in cli("assessments", "--as-of", "2024/6/30").output
    assert cli("audit", "--as-of", "2024-02-29").exit_code == 0


def test_dry_run_then_history(cli, tmp_path):
    good = write(tmp_path, "good.csv", GOOD)
    dry = cli("import", "devices", good, "--department", DEPT, "--dry-run")
    assert dry.exit_code == 0 and "未写入数据库" in dry.output
    assert json.loads(cli("devices", "--format", "json").output) == []
    assert cli("import", "devices", good, "--department", DEPT, "--user", "张三").exit_code == 0
    changed = write(tmp_path, "changed.csv", GOOD.replace("水南大道测速", "水南大道区间"))
    out = cli("import", "devices", changed, "--department", DEPT, "--user", "李四")
    assert "变更 JL-001：设备名称" in out.output
    history = cli("history", "JL-001").output.splitlines()
    assert "张三" in history[0] and history[0].endswith("新增设备")
    assert history[1].split() == ["设备编号", "JL-001"] and history[2].split() == ["设备名称", "水南大道测速"]
    changed_at = next(i for i, line in enumerate(history) if "李四" in line)
    assert history[changed_at].endswith("修改登记信息")
    assert history[changed_at + 1].split() == ["设备名称", "水南大道测速", "→", "水南大道区间"]
    assert not any(word in out for out in history for word in ("create", "update", "name:", "{"))


def test_violations_for_unknown_device(cli, tmp_path):
    cli("import", "devices", write(tmp_path, "good.csv", GOOD), "--department", DEPT)
    v = write(tmp_path, "v.csv", "设备编号,日期,违法数量\nJL-001,2025-03-01,4\nJL-404,2025-03-01,2\n")
    out = cli("import", "violations", v)
    assert out.exit_code == 2 and "UNKNOWN_DEVICE" in out.output and "JL-404" in out.output


def test_template_written(cli, tmp_path):
    out = cli("template", "devices", "-o", tmp_path / "t.xlsx")
    assert out.exit_code == 0
    assert zipfile.is_zipfile(tmp_path / "t.xlsx")
    assert cli("template", "devices", "-o", tmp_path / "t.csv").exit_code != 0


def test_user_add_reads_password_from_stdin(cli, tmp_path):
    cli("import", "devices", write(tmp_path, "good.csv", GOOD), "--department", DEPT)
    ok = cli("user", "add", "clerk", "--role", "department", "--department", DEPT, "--password-stdin",
             input="s3cret-pass\n")
    assert ok.exit_code == 0, ok.output
    short = cli("user", "add", "x", "--role", "auditor", "--password-stdin", input="short\n")
    assert short.exit_code != 0 and "至少" in short.output
    nodept = cli("user", "add", "y", "--role", "department", "--password-stdin", input="long-enough\n")
    assert nodept.exit_code != 0 and "--department" in nodept.output


def test_audit_json_has_the_fixed_keys_and_is_stored(cli, tmp_path):
    cli("import", "devices", write(tmp_path, "good.csv", GOOD), "--department", DEPT)
    out = cli("audit", "--as-of", "2025-06-30", "--format", "json")
    assert out.exit_code == 0, out.output
    findings = json.loads(out.output)
    keys = {"rule", "device_code", "department", "severity", "action", "message", "evidence", "basis"}
    assert findings and all(keys <= set(f) for f in findings)
    # the file has the legal review column, left empty: REV01 asks to suspend both, citing the law; it has no
    # technical review column at all: REV02 cannot assess them (a request for data, not a problem)
    rev = [f for f in findings if f["rule"] == "REV01"]
    assert sorted(f["device_code"] for f in rev) == ["JL-001", "JL-002"]
    assert all(f["action"] == "停用" and "行政处罚法" in f["basis"] for f in rev)
    rev02 = [f for f in findings if f["rule"] == "REV02"]
    assert sorted(f["device_code"] for f in rev02) == ["JL-001", "JL-002"]
    assert all(f["evidence"].get("cannot_assess") and f["evidence"]["missing"] == ["tech_review_on"] for f in rev02)
    table = cli("audit", "--as-of", "2025-06-30").output
    assert "审查批次 2" in table and "REV01" in table
    assert cli("audit", "--as-of", "30/06/2025").exit_code != 0
    assert "没有名为" in cli("audit", "--department", "无此单位").output
    year_one = cli("audit", "--as-of", "0001-01-01")
    assert year_one.exit_code == 2 and "审查基准日 0001-01-01 不在 1990-01-01 至 2099-12-31 之间" in year_one.output
    assert "审查批次 3" in cli("audit", "--as-of", "2025-06-30").output  # the refused day stored no run


def test_audit_in_chunks_of_one_device_gives_the_same_findings_and_a_bad_chunk_is_refused(cli, tmp_path):
    cli("import", "devices", write(tmp_path, "good.csv", GOOD), "--department", DEPT)
    whole = cli("audit", "--as-of", "2025-06-30", "--format", "json")
    chunked = cli("audit", "--as-of", "2025-06-30", "--format", "json", "--chunk-devices", "1")
    assert whole.exit_code == chunked.exit_code == 0, chunked.output
    assert json.loads(chunked.output) == json.loads(whole.output) != []
    for bad in ("0", "-5", "十"):
        out = cli("audit", "--as-of", "2025-06-30", "--chunk-devices", bad)
        assert out.exit_code == 2 and f"“{bad}”不是正整数" in out.output
    assert "审查批次 3：" in cli("audit").output  # the refused runs stored nothing


def test_rules_lists_every_rule_with_settings(cli):
    out = cli("rules", "--profile", "guangdong").output
    for code in ("REV01", "PUB01", "CAL02", "PLC01", "VIO02"):
        assert code in out
    assert "粤府〔2025〕12号" in out and "设置 " in out
    assert "national" in cli("rules", "--profiles").output


U_ROAD = {"type": "FeatureCollection", "features": [{
    "type": "Feature", "properties": {"name": "环山路"},
    "geometry": {"type": "LineString",
                 "coordinates": [[117.0, 26.5], [117.0, 26.505], [117.0015, 26.505], [117.0015, 26.5]]}}]}
# Two speed cameras on the two legs of a U-shaped road: about 130 m apart straight across, 1.2 km along the road;
# a third at the bend, more than 500 m from both either way. Three on a 1.25 km road: 2.4 per km.
U_DEVICES = ("设备编号,设备名称,设备类型,道路名称,经度,纬度,坐标系,启用日期,状态\n"
             "JL-101,环山路西段测速,固定测速,环山路,117.0001,26.5002,WGS84,2023-07-01,在用\n"
             "JL-102,环山路东段测速,固定测速,环山路,117.0014,26.5002,WGS84,2023-07-01,在用\n"
             "JL-103,环山路北段测速,固定测速,环山路,117.00075,26.5051,WGS84,2023-07-01,在用\n")


def test_audit_with_a_road_network_measures_along_the_road(cli, tmp_path):
    cli("import", "devices", write(tmp_path, "u.csv", U_DEVICES), "--department", DEPT)
    roads = write(tmp_path, "roads.geojson", json.dumps(U_ROAD, ensure_ascii=False))

    def findings(*extra):
        out = cli("audit", "--as-of", "2025-06-30", "--format", "json", *extra)
        assert out.exit_code == 0, out.output
        return [f for f in json.loads(out.output) if f["rule"] in ("PLC01", "PLC02")]

    straight = findings()
    assert sorted(f["device_code"] for f in straight if f["rule"] == "PLC01") == ["JL-101", "JL-102"]
    assert all(f["evidence"]["method"] == "straight_line_geodesic" for f in straight if f["rule"] == "PLC01")
    along = findings("--roads", roads)
    assert not [f for f in along if f["rule"] == "PLC01"]
    per_road = [f for f in along if f["rule"] == "PLC02" and "road" in f["evidence"]]
    # one finding per device of the crowded road, each naming all three
    assert sorted(f["device_code"] for f in per_road) == ["JL-101", "JL-102", "JL-103"]
    assert {f["department"] for f in per_road} == {DEPT}
    ev = per_road[0]["evidence"]
    assert ev["road"] == "环山路" and ev["count"] == 3 and ev["device_codes"] == ["JL-101", "JL-102", "JL-103"]
    assert 1.2 < ev["length_km"] < 1.3 and ev["per_km"] > ev["max_per_km"] == 1.0


def test_audit_refuses_a_road_file_it_cannot_use(cli, tmp_path):
    cli("import", "devices", write(tmp_path, "u.csv", U_DEVICES), "--department", DEPT)
    broken = write(tmp_path, "roads.geojson", "这不是 GeoJSON")
    out = cli("audit", "--roads", broken)
    assert out.exit_code == 2 and "路网文件 roads.geojson 无法读取" in out.output
    polygons = write(tmp_path, "areas.geojson", json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": "古镛镇"},
        "geometry": {"type": "Polygon", "coordinates": [[[117, 26.5], [117.1, 26.5], [117.1, 26.6], [117, 26.5]]]}}]}))
    out = cli("audit", "--roads", polygons)
    assert out.exit_code == 2 and "没有线状要素" in out.output
    road = write(tmp_path, "r.geojson", json.dumps(U_ROAD))
    out = cli("audit", "--roads", road, "--roads-crs", "北京某坐标")
    assert out.exit_code == 2 and "北京某坐标" in out.output
    assert "--roads-crs 需与 --roads 一起使用" in cli("audit", "--roads-crs", "GCJ02").output
    assert "--areas-crs 需与 --areas 一起使用" in cli("audit", "--areas-crs", "GCJ02").output
    assert "审查批次 1：" in cli("audit").output  # the refused runs stored nothing


def test_departments_on_an_empty_database_say_how_departments_come_in(cli):
    out = cli("departments")
    assert out.exit_code == 0 and "还没有任何单位" in out.output and "camaudit import devices" in out.output
