"""The command line for people: columns line up with Chinese text, coordinates are not printed to 13 decimals, and
the commands `camaudit demo` prints run as printed in a shell that has no camaudit on PATH."""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from audit.cli import main
from audit.cli.text import display_width, grid, summary_text

ROOT = Path(__file__).resolve().parents[3]
DEPT = "将乐县公安局交通管理大队"
DEVICES = ("设备编号,设备名称,设备类型,道路名称,经度,纬度,坐标系,启用日期,状态\n"
           "JL-001,水南大道测速,固定测速,水南大道,117.22357724123891,26.7285,WGS84,2023-07-01,在用\n"
           "JL-002,路口,闯红灯,G205,117.4702,26.730100000000004,GCJ02,2023-07-01,在用\n")


def column_starts(line: str, values: list[str]) -> list[int]:
    """The display column at which each value starts in the line."""
    return [display_width(line[:line.index(v)]) for v in values]


def token_ends(line: str) -> list[int]:
    """The display column at which each space-separated token ends."""
    return [display_width(line[:m.end()]) for m in re.finditer(r"\S+", line)]


def test_display_width_counts_chinese_characters_as_two_columns():
    assert display_width("JL-001") == 6 and display_width("将乐县") == 6 and display_width("G205测速") == 8
    lines = grid([["编号", "名称", "数"], ["JL-001", "水南大道测速", "12"], ["A", "路口", "7"]], right=[False, False, True])
    assert [column_starts(line, [a, b]) for line, (a, b) in zip(lines, [("编号", "名称"), ("JL-001", "水南"),
                                                                          ("A", "路口")])] == [[0, 8]] * 3
    assert {display_width(line) for line in lines} == {24}  # the numbers end in one column


def test_the_device_table_is_aligned_and_rounds_coordinates(tmp_path, monkeypatch):
    monkeypatch.setenv("CAMAUDIT_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    path = tmp_path / "d.csv"
    path.write_text(DEVICES, encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(main, ["import", "devices", str(path), "--department", DEPT]).exit_code == 0
    lines = runner.invoke(main, ["devices"]).output.splitlines()
    header, first, second = lines[:3]
    assert column_starts(header, ["所属单位", "设备类型", "状态", "道路名称", "经度"]) == \
        column_starts(first, [DEPT, "固定测速", "在用", "水南大道", "117.2235772"]) == \
        column_starts(second, [DEPT, "闯红灯", "在用", "G205", "117.46"])
    assert "117.2235772 " in first and "117.22357724" not in first and " 26.7285 " in first
    records = json.loads(runner.invoke(main, ["devices", "--format", "json"]).output)
    assert records[0]["lon"] == 117.2235772 and records[0]["raw_lon"] == 117.2235772
    assert all(len(str(r[k]).partition(".")[2]) <= 7 for r in records for k in ("lon", "lat", "raw_lon", "raw_lat"))


def test_the_audit_summary_lines_up_rule_titles_of_any_length():
    findings = pd.DataFrame({
        "rule": ["REV01", "VIO02", "VIO02", "PLC02"],
        "title_zh": ["在用设备未经法制审核", "违法采集量突增（与自身历史比较）", "违法采集量突增（与自身历史比较）",
                     "区域内同类设备数量过多"],
        "department": ["将乐县交通运输局", "将乐县交通运输局", "Chicago Department of Transportation (CDOT)", None],
        "message": ["m"] * 4, "action": ["停用", "核查", "核查", "整改"], "evidence": [{}] * 4})
    text = summary_text(findings).splitlines()
    assert text[1] == "单位：1 Chicago Department of Transportation (CDOT)；2 将乐县交通运输局；3 （未注明单位）"
    rows = [line for line in text if line.startswith("  ")]
    assert [r.split()[0] for r in rows] == ["规则", "PLC02", "REV01", "VIO02"]
    assert len({tuple(token_ends(r)[-4:]) for r in rows[1:]} | {tuple(token_ends(rows[0])[-4:])}) == 1  # counts
    assert len({column_starts(r, [r.split()[1]])[0] for r in rows}) == 1  # titles start in one column
    assert rows[3].split()[2:] == ["1", "1", "0", "2"]


def test_the_commands_the_demo_prints_run_as_printed(tmp_path, monkeypatch):
    monkeypatch.setenv("CAMAUDIT_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("CAMAUDIT_DATABASE_URL", raising=False)
    monkeypatch.chdir(ROOT)  # where `make demo` runs
    out = CliRunner().invoke(main, ["demo"], catch_exceptions=False).output
    printed = {line.partition("：")[0]: line.partition("：")[2] for line in out.splitlines()
               if "CAMAUDIT_DATABASE_URL=" in line}
    assert set(printed) == {"再次审查", "查看设备台账", "查看一台设备的变更记录", "查看各单位的报送情况"}
    env = {k: v for k, v in os.environ.items() if k != "CAMAUDIT_DATABASE_URL"}
    env["PATH"] = "/usr/bin:/bin"  # a fresh shell after `make demo`: the virtual environment is not on PATH
    for label, command in printed.items():
        run = subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, (label, command, run.stderr)
        assert "command not found" not in run.stderr
        if label == "查看设备台账":
            assert "共 207 台设备" in run.stdout and "JL-JJ-0001" in run.stdout
        if label == "查看一台设备的变更记录":
            assert "新增设备" in run.stdout and "create" not in run.stdout
        if label == "再次审查":
            assert re.search(r"审查批次 \d+：基准日 2025-06-30，审查配置 全国通用", run.stdout)
        if label == "查看各单位的报送情况":
            assert "将乐县交通运输局：按时报送 0 项" in run.stdout and "逾期 10 天未报送" in run.stdout
    assert "auditor（审查人员）" in out and "jiaojing（部门填报人员，将乐县公安局交通管理大队）" in out
