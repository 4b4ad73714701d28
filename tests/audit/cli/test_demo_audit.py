"""`camaudit demo` end to end: the demo county loads, and its audit finds every planted defect with the rule made
for it, measuring spacing along the demo's road network, and reports no spacing problem where none was planted."""
from __future__ import annotations

import json
from pathlib import Path

import docx
import pandas as pd
import pytest
from sqlalchemy import select

from audit.cli.demo import load_demo
from audit.exports import export
from audit.registry.db import make_engine, session_factory
from audit.registry.models import AuditRun
from audit.rules.findings import is_cannot_assess
from geo.layerfile import describe_layer
from geo.roads import load_roads

ROOT = Path(__file__).resolve().parents[3]
DEFECTS = ROOT / "data" / "demo" / "defects.csv"
RULE_OF_DEFECT = {
    "no_legal_review": "REV01", "legal_review_after_service": "REV01", "no_tech_review": "REV02",
    "not_published": "PUB01", "published_after_service": "PUB01", "no_sign": "SGN01", "sign_too_close": "SGN02",
    "sign_too_far": "SGN02", "no_verification": "CAL01", "verification_expired": "CAL02",
    "verification_failed": "CAL03", "violations_without_valid_verification": "CAL04", "spacing_too_close": "PLC01",
    "parking_cluster": "PLC01", "outside_boundary": "PLC03", "no_justification": "PLC04",
    "near_zero_captures": "PLC04", "high_captures": "VIO01", "capture_spike": "VIO02",
    "high_fine_per_violation": "VIO03", "capture_rise": "VIO04", "capture_outage": "VIO05",
    "captures_out_of_service": "SRV01", "captures_before_service": "SRV01",
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.sqlite3'}"
    load = load_demo(url, echo=lambda _: None)
    return load, load.findings[~is_cannot_assess(load.findings)]


def test_the_demo_walks_the_casework_and_the_decisions_hold(demo):
    load, _ = demo
    proposed, suspended, reupload, dismissed, reaudit = load.casework
    assert proposed.startswith("审查建议停用、待决定（拟停用）：") and "将乐县交通运输局" in proposed
    assert "一并停用将乐县交通运输局的拟停用设备" in suspended
    n = int(suspended.split("设备 ")[1].split(" 台")[0])
    assert n > 0 and f"{n} 台设备按停用决定保持停用" in reupload
    assert "经核查排除问题" in dismissed and "PLC04" in dismissed
    assert "已作出的核查意见" in reaudit and "复查已消除 0 个" in reaudit
    # The same data audited again finds nothing new: the suspensions dated on the last day of the data do not
    # turn that day's captures into captures out of service (SRV01 counts from the day after a decision).
    assert "新发现 0 个" in reaudit
    # The devices suspended on the audit's day are rechecked as if back in use, each of them.
    assert f"已停用的 {n} 台设备按恢复使用的条件复查" in reaudit


def test_the_demo_loads_every_file_and_creates_the_logins(demo):
    load, _ = demo
    assert all(result.applied for _, result in load.results)
    assert [f for f, r in load.rejected if not r.report.ok] == ["demo/rejected_example.csv"]
    assert {name for name, _, _ in load.logins} == {"admin", "auditor", "jiaojing", "chengguan"}


def test_the_demo_suspensions_are_signed_by_the_auditors_name_and_post(demo, tmp_path):
    load, _ = demo
    engine = make_engine(load.url)
    with session_factory(engine)() as session:
        listed = docx.Document(export(session, "suspension-list", tmp_path / "停用设备清单.docx",
                                      department="将乐县交通运输局"))
    engine.dispose()
    rows = [[cell.text for cell in row.cells] for row in listed.tables[0].rows]
    column = next(row for row in rows if "决定人" in row).index("决定人")
    signers = {row[column] for row in rows if row[0].isdigit()}
    assert signers == {"林建华（县司法局行政执法协调监督股股长）"}


def test_the_audit_run_records_the_layers_it_used_and_the_summary_says_so(demo, tmp_path):
    load, _ = demo
    engine = make_engine(load.url)
    with session_factory(engine)() as session:
        layers = session.scalars(select(AuditRun.layers).order_by(AuditRun.id)).first()
    engine.dispose()
    assert layers["areas"]["source"] == "jiangle_350428_townships.geojson"
    assert (layers["roads"]["source"], layers["roads"]["features"]) == ("roads.geojson", 17)
    assert layers["roads"]["sha256"] == describe_layer(load_roads(ROOT / "data" / "demo" / "roads.geojson"))["sha256"]
    engine = make_engine(load.url)
    with session_factory(engine)() as session:
        report = docx.Document(export(session, "summary", tmp_path / "summary.docx"))
    engine.dispose()
    text = "\n".join(p.text for p in report.paragraphs)
    # The layers by their titles, never by file name (the township file's own name is an area code, not a title).
    assert ("本次审查设备间距沿路网“将乐县（虚构）路网”（17 条道路）计算，设备密度按乡镇（街道）边界（13 个乡镇、街道）计算"
            in text)
    assert ".geojson" not in text and "350428" not in text


def test_every_planted_defect_is_found_by_its_rule(demo):
    _, problems = demo
    defects = pd.read_csv(DEFECTS)
    assert set(defects["defect"]) == set(RULE_OF_DEFECT)
    found = set(zip(problems["rule"], problems["device_code"]))
    missed = [(d.defect, d.device_code) for d in defects.itertuples()
              if (RULE_OF_DEFECT[d.defect], d.device_code) not in found]
    assert missed == []


def test_spacing_is_measured_along_the_demo_roads_and_flags_only_the_planted_devices(demo):
    _, problems = demo
    defects = pd.read_csv(DEFECTS)
    planted = set(defects.loc[defects["defect"].isin(["spacing_too_close", "parking_cluster"]), "device_code"])
    spacing = problems[(problems["rule"] == "PLC01") & problems["device_code"].str.startswith("JL-")]
    assert set(spacing["device_code"]) == planted
    assert all(e["method"] == "along_road" and e["road"] for e in spacing["evidence"])


def test_the_printed_audit_command_repeats_the_demo_audit(demo, monkeypatch):
    from click.testing import CliRunner

    from audit.cli import main

    load, problems = demo
    monkeypatch.setenv("CAMAUDIT_DATABASE_URL", load.url)
    monkeypatch.chdir(ROOT)  # the paths are given from the project folder
    out = CliRunner().invoke(main, ["audit", *load.audit_args, "--format", "json"], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    again = pd.DataFrame(json.loads(out.output))
    again = again[~is_cannot_assess(again)]
    final = load.final_findings[~is_cannot_assess(load.final_findings)]
    assert sorted(zip(again["rule"], again["device_code"].fillna(""))) == sorted(
        zip(final["rule"], final["device_code"].fillna("")))


def test_the_demo_plan_has_one_department_late_and_urges_it(demo):
    load, _ = demo
    first, *standing, urged = load.plan
    assert first.startswith("将乐县罚款实施专项监督工作方案（演示）：3 个阶段，4 项任务")
    late = [line for line in standing if "逾期" in line]
    assert len(standing) == 4 and [line.split("：")[0] for line in late] == ["将乐县交通运输局"]
    assert "自查报告逾期 10 天未报送" in late[0]
    assert "行政执法监督督办函（将司监督〔" in urged and "将乐县交通运输局" in urged
