"""The casework path through the command line, as an auditor and a clerk type it:

audit → the suspension list shows 拟停用 → bulk suspend → the department re-uploads its old sheet (conflict shown,
suspension holds) → dismiss one problem → re-audit with the same data (verdict kept) → fix the data → re-audit
(problem 已消除; the ledger's 复查 says so) → close (销号) → restore.
"""
from __future__ import annotations

import json
import re

import openpyxl
import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from audit.cli import main
from audit.registry.models import Device, Problem

DEPT = "将乐县公安局交通管理大队"
HEADER = "设备编号,设备名称,设备类型,道路名称,经度,纬度,坐标系,启用日期,状态,法制审核日期,技术审核日期,标识设置,社会公布日期,设置依据\n"
OLD = ("JL-001,水南大道闯红灯,闯红灯,水南大道,117.4731,26.7285,WGS84,2023-07-01,在用,,2023-06-10,是,2023-06-20,事故多发\n"
       "JL-002,府前路闯红灯,闯红灯,府前路,117.4902,26.7401,WGS84,2023-07-01,在用,2023-06-01,2023-06-10,否,2023-06-20,事故多发\n")
FIXED = OLD.replace("在用,,2023-06-10", "在用,2023-06-01,2023-06-10")


@pytest.fixture
def cli(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'path.sqlite3'}"
    monkeypatch.setenv("CAMAUDIT_DATABASE_URL", url)
    runner = CliRunner()

    def run(*args, code=0):
        out = runner.invoke(main, [str(a) for a in args], catch_exceptions=False)
        assert out.exit_code == code, out.output
        return out.output

    run.url = url
    return run


def sheet(tmp_path, name, rows):
    path = tmp_path / name
    path.write_text(HEADER + rows, encoding="utf-8")
    return path


def problem(url, code, rule):
    with Session(create_engine(url)) as s:
        return s.scalar(select(Problem).where(Problem.device_code == code, Problem.rule == rule))


def status(url, code):
    with Session(create_engine(url)) as s:
        return s.scalar(select(Device.status).where(Device.device_code == code))


def test_the_casework_path(cli, tmp_path):
    cli("import", "devices", sheet(tmp_path, "old.csv", OLD), "--department", DEPT)
    cli("audit", "--as-of", "2024-06-30")

    # The suspension list serves right after the audit: JL-001 (no legal review) is proposed, nothing decided yet.
    assert "JL-001" in cli("problems", "--proposed") and "拟停用设备共 1 台" in cli("problems", "--proposed")
    cli("export", "suspension-list", "-o", tmp_path / "停用.xlsx", "--as-of", "2024-07-01")
    book = openpyxl.load_workbook(tmp_path / "停用.xlsx")
    assert book.sheetnames == ["已决定停用", "拟停用（待决定）"]
    proposed = [str(c) for row in book["拟停用（待决定）"].iter_rows(values_only=True) for c in row if c]
    assert "JL-001" in proposed and any("行政处罚法" in c for c in proposed)

    out = cli("decide", "suspend", "--recommended", "--reason", "未经法制审核，立即停用", "--on", "2024-07-01",
              "--user", "张三")
    assert "已停用 1 台设备：JL-001" in out and status(cli.url, "JL-001") == "停用"
    assert "拟停用设备共 0 台" in cli("problems", "--proposed")

    # The brigade uploads its old sheet again: the suspension holds, the conflict is shown on the row.
    out = cli("import", "devices", sheet(tmp_path, "old-again.csv", OLD), "--department", DEPT)
    assert "DECISION_HOLDS" in out and "第2行" in out and "张三" in out and "按审查机关的决定保持原状态：JL-001" in out
    assert status(cli.url, "JL-001") == "停用"

    # Dismiss JL-002's sign problem; re-audit the same data (a day the suspension stands): the verdict holds,
    # JL-001's REV01 is decided.
    sgn = problem(cli.url, "JL-002", "SGN01")
    cli("decide", "review", sgn.id, "--dismiss", "--reason", "现场已设标识，登记有误", "--user", "张三")
    cli("audit", "--as-of", "2024-07-10")
    assert problem(cli.url, "JL-002", "SGN01").verdict == "dismissed"
    dismissed = cli("problems", "--state", "dismissed")
    assert "JL-002" in dismissed and "SGN01" in dismissed
    rev = problem(cli.url, "JL-001", "REV01")
    assert rev.decision_id is not None and rev.resolved_run_id is None

    # Rectify; the department fixes its data; the re-audit resolves the problem and the ledger's recheck says so.
    out = cli("decide", "rectify", "JL-001", "--problem", rev.id, "--measure", "补办法制审核",
              "--requirement", "取得法制审核意见书", "--deadline", "2099-07-31", "--responsible", "王五",
              "--on", "2024-07-01", "--user", "张三")
    item = int(re.search(r"第 (\d+) 项", out).group(1))
    cli("import", "devices", sheet(tmp_path, "fixed.csv", FIXED), "--department", DEPT)
    assert status(cli.url, "JL-001") == "停用"  # fixing the data does not lift the suspension
    out = cli("audit", "--as-of", "2024-07-10")
    rev = problem(cli.url, "JL-001", "REV01")
    # The suspended device is re-checked as if back in use: the review is now recorded, the problem is 已消除.
    assert rev.resolved_run_id is not None and rev.resolved_reason.startswith("停用设备按恢复使用的条件复查")
    assert "复查已消除 1 个" in out and "已消除" in cli("problems", "--state", "resolved")
    cli("export", "ledger", "-o", tmp_path / "台账.xlsx", "--as-of", "2024-08-01")
    ledger = [str(c) for row in openpyxl.load_workbook(tmp_path / "台账.xlsx").active.iter_rows(values_only=True)
              for c in row if c]
    assert "复查已整改" in ledger
    cli("decide", "advance", item, "已整改待核查", "--note", "已取得法制审核意见书 将公法审〔2024〕9号",
        "--user", "王五")
    cli("decide", "close", item, "--evidence", "审核意见书 将公法审〔2024〕9号", "--on", "2024-07-20", "--user", "赵六")
    cli("decide", "restore", "JL-001", "--reason", "已完成法制审核", "--item", item, "--on", "2024-07-21",
        "--user", "张三")
    assert status(cli.url, "JL-001") == "在用"
    findings = json.loads(cli("audit", "--as-of", "2024-07-31", "--format", "json"))
    assert not [f for f in findings if f["device_code"] == "JL-001" and f["rule"] == "REV01"]
