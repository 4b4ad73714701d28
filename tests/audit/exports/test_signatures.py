"""Decisions and documents are signed by the person's 姓名 and 职务, not by the login name."""
from __future__ import annotations

import datetime as dt

import docx
import openpyxl

from audit.casework import decisions as D
from audit.casework import ledger as L
from audit.exports import export
from audit.registry.users import add_user
from tests.audit.exports import world

ON = dt.date(2024, 7, 1)


def test_the_suspension_list_the_ledger_and_the_summary_carry_names_and_titles(session, tmp_path):
    devices = world.build(session)
    world.run(session)
    add_user(session, "zhangsan", "auditor", "审查人员的长密码-2024", full_name="张三", title="监督科科长")
    add_user(session, "lisi", "auditor", "另一位审查人员长密码", full_name="李四")
    rev01 = world.problem(session, "JL-001", "REV01")
    decision = D.suspend(session, devices["JL-001"].id, reason="未经法制审核", user="zhangsan", problem_ids=[rev01.id],
                         on=ON)
    _, item = D.rectify(session, devices["JL-002"].id, measure="设置标识", requirement="设置标识牌",
                        deadline=dt.date(2024, 8, 31), responsible="王五", user="zhangsan",
                        problem_ids=[world.problem(session, "JL-002", "SGN01").id], on=ON)
    L.advance(session, item.id, "已整改待核查", user="王五", note="已安装")
    L.close_item(session, item.id, evidence="现场照片", user="lisi", on=dt.date(2024, 8, 1))
    session.commit()
    assert decision.decided_by == "zhangsan"  # the record keeps the login; documents print the person

    listed = openpyxl.load_workbook(export(session, "suspension-list", tmp_path / "s.xlsx", as_of=ON))["已决定停用"]
    values = [c for row in listed.iter_rows(values_only=True) for c in row if c]
    assert "张三（监督科科长）" in values and "zhangsan" not in values
    ledger = openpyxl.load_workbook(export(session, "ledger", tmp_path / "l.xlsx", as_of=ON)).active
    values = [c for row in ledger.iter_rows(values_only=True) for c in row if c]
    assert "李四" in values and "lisi" not in values
    case = world.finding(session, world.run(session).id, "JL-002", "SGN01")
    summary = docx.Document(export(session, "summary", tmp_path / "t.docx", as_of=ON, case_finding_id=case.id))
    text = "\n".join(p.text for p in summary.paragraphs)
    assert "张三（监督科科长）作出整改决定" in text and "经 李四 核查销号" in text
