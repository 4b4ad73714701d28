"""The plan, the filings, the register and the annual review from the command line, as a bureau's clerk uses them."""
from __future__ import annotations

import io

import docx
import pytest
from click.testing import CliRunner

from audit.cli import main

DEPT = "将乐县公安局交通管理大队"
OTHER = "将乐县交通运输局"
DEVICES = ("设备编号,设备名称,设备类型,道路名称,经度,纬度,坐标系,启用日期,状态,法制审核日期,技术审核日期,标识设置,"
           "社会公布日期,设置依据\n"
           "JL-JJ-0010,水南大道测速,闯红灯,水南大道,117.4731,26.7285,WGS84,2024-07-01,在用,,2024-06-01,是,2024-06-20,"
           "事故多发\n")
PLAN = f"""title = "将乐县罚款实施专项监督工作方案"
issuer = "将乐县司法局"
doc_prefix = "将司监督"

[[phases]]
name = "自查"
start = 2025-05-01
end = 2025-07-25

[[tasks]]
title = "完成自查，报送自查报告"
deliverable = "自查报告"
deadline = 2025-07-25
phase = "自查"
departments = ["{DEPT}", "{OTHER}"]
"""


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("CAMAUDIT_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    runner = CliRunner()

    def run(*args):
        return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)

    other = DEVICES.replace("JL-JJ-0010,水南大道测速", "JL-JT-0001,G205超限检测").replace("117.4731", "117.5731")
    for dept, rows in ((DEPT, DEVICES), (OTHER, other)):
        path = tmp_path / f"{dept}.csv"
        path.write_text(rows, encoding="utf-8")
        assert run("import", "devices", path, "--department", dept).exit_code == 0
    assert run("audit", "--as-of", "2025-06-30").exit_code == 0
    return run


def test_a_plan_file_is_loaded_shown_and_filed_for(cli, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(PLAN.replace("自查报告\"", "报告\"").replace(OTHER, "将乐县不存在局"), encoding="utf-8")
    refused = cli("plan", "load", bad)
    assert refused.exit_code == 2 and "报送材料“报告”不在可选范围内" in refused.output
    assert "责任单位“将乐县不存在局”未登记" in refused.output
    assert "还没有工作方案" in cli("plan", "show").output
    good = tmp_path / "plan.toml"
    good.write_text(PLAN, encoding="utf-8")
    assert "已导入工作方案“将乐县罚款实施专项监督工作方案”：1 个阶段，1 项任务" in cli("plan", "load", good).output
    shown = cli("plan", "show").output
    assert "自查  2025-05-01  2025-07-25" in shown and "发文机关代字：将司监督" in shown
    filed = cli("plan", "file", "1", "--department", DEPT, "--on", "2025-07-20", "--user", "jiaojing")
    assert filed.exit_code == 0 and f"{DEPT}已报送“自查报告”" in filed.output and "系统生成并确认" in filed.output
    upload = tmp_path / "自查报告.docx"
    upload.write_bytes(b"not a docx")
    wrong = cli("plan", "file", "1", "--department", OTHER, "--upload", upload)
    assert wrong.exit_code == 2 and "内容不是 .docx 文件" in wrong.output
    status = cli("plan", "status", "--as-of", "2025-07-30").output
    assert f"{DEPT}：按时报送 1 项" in status and "逾期 5 天未报送" in status
    todo = cli("plan", "todo", "--department", OTHER, "--as-of", "2025-07-30").output
    assert "自查报告  逾期 5 天未报送" in todo
    assert "没有逾期或 7 天内到期的任务" in cli("plan", "todo", "--department", DEPT, "--as-of", "2025-07-30").output
    returned = cli("plan", "return", "1", "--reason", "缺少附件", "--user", "auditor")
    assert returned.exit_code == 0 and "已退回" in returned.output
    assert "缺少附件" in cli("plan", "filings").output
    assert "逾期 5 天未报送" in cli("plan", "status", "--as-of", "2025-07-30", "--department", DEPT).output


def test_a_letter_is_previewed_issued_listed_and_fetched(cli, tmp_path):
    good = tmp_path / "plan.toml"
    good.write_text(PLAN, encoding="utf-8")
    cli("plan", "load", good)
    preview = cli("letter", "preview", "opinion", "--department", DEPT, "--deadline", "2025-08-31", "--on",
                  "2025-07-31", "-o", tmp_path / "p.docx")
    assert preview.exit_code == 0 and "引用问题 1 个" in preview.output
    assert "〔　　〕号" in "\n".join(p.text for p in docx.Document(tmp_path / "p.docx").paragraphs)
    issued = cli("letter", "issue", "opinion", "--department", DEPT, "--deadline", "2025-08-31", "--on", "2025-07-31",
                 "-o", tmp_path / "i.docx", "--user", "auditor")
    assert "已发文：将司监督〔2025〕1号 行政执法监督意见书（主送 将乐县公安局交通管理大队）" in issued.output
    urge = cli("letter", "issue", "supervise", "--department", OTHER, "--deadline", "2025-08-10", "--on",
               "2025-08-01")
    assert "将司监督〔2025〕2号 行政执法监督督办函" in urge.output
    listing = cli("letter", "list").output
    assert "将司监督〔2025〕1号" in listing and "意见书" in listing and "督办函" in listing
    cli("letter", "get", "1", "-o", tmp_path / "g.docx")
    assert (tmp_path / "g.docx").read_bytes() == (tmp_path / "i.docx").read_bytes()
    refused = cli("letter", "issue", "transfer", "--department", DEPT)
    assert refused.exit_code == 2 and "移送函须写明主送机关" in refused.output
    text = "\n".join(p.text for p in docx.Document(io.BytesIO((tmp_path / "i.docx").read_bytes())).paragraphs)
    assert "将司监督〔2025〕1号" in text and "请你单位于2025年8月31日前" in text


def test_the_annual_review_from_the_command_line(cli):
    done = cli("assess", "JL-JJ-0010", "--outcome", "keep", "--reason", "事故多发路口", "--on", "2025-06-30")
    assert done.exit_code == 0 and "已记录 JL-JJ-0010 的年度评估：保留（2025-06-30）" in done.output
    listing = cli("assessments", "--as-of", "2026-06-20").output
    assert "JL-JJ-0010" in listing and "2026-06-30" in listing and "即将到期" in listing
    assert "逾期未评估 1 天" in cli("assessments", "--as-of", "2026-07-01", "--due").output
    refused = cli("assess", "JL-JJ-0010", "--outcome", "keep", "--reason", " ")
    assert refused.exit_code == 2 and "请写明评估理由" in refused.output
