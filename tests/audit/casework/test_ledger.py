"""The rectification ledger: status moves, 销号 with evidence, reopening on the record, overdue items, re-audit."""
from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
from sqlalchemy import select

from audit.casework import decisions as D
from audit.casework import ledger as L
from audit.casework import problems as P
from audit.registry.models import LedgerEvent
from audit.casework.decisions import DecisionError
from audit.exports import export
from tests.audit.exports import world

ON = dt.date(2024, 7, 1)


@pytest.fixture
def env(session):
    devices = world.build(session)
    run = world.run(session)
    f = world.finding(session, run.id, "JL-002", "SGN01")
    _, item = D.rectify(session, devices["JL-002"].id, measure="设置明显标识", requirement="设置标识牌",
                        deadline=dt.date(2024, 8, 31), responsible="李四", user="张三", finding_ids=[f.id], on=ON)
    session.commit()
    return session, devices, item


def results(session, upto=None):
    """Each ledger item's 复查 result (casework.ledger.rechecks), as the ledger page and its export show it."""
    return {i: r.result for i, r in L.rechecks(session, L.items(session), upto=upto).items()}


def events(session, item):
    return [(e.from_status, e.to_status, e.user, e.note) for e in
            session.scalars(select(LedgerEvent).where(LedgerEvent.item_id == item.id).order_by(LedgerEvent.id))]


def test_items_move_forward_and_back_with_a_reason(env):
    session, _, item = env
    L.advance(session, item.id, "整改中", user="李四", note="标识牌已采购")
    L.advance(session, item.id, "已整改待核查", user="李四", note="已安装")
    with pytest.raises(DecisionError, match="须说明理由"):
        L.advance(session, item.id, "整改中", user="赵六")
    L.advance(session, item.id, "整改中", user="赵六", note="标识被树木遮挡，不明显")
    assert item.status == "整改中"
    assert [e[:2] for e in events(session, item)] == [
        (None, "待整改"), ("待整改", "整改中"), ("整改中", "已整改待核查"), ("已整改待核查", "整改中")]


@pytest.mark.parametrize("to_status, message", [
    ("已销号", "请使用销号操作"),
    ("待整改", "不能改为“待整改”"),
    ("完成", "未知的整改状态"),
])
def test_refused_moves(env, to_status, message):
    session, _, item = env
    with pytest.raises(DecisionError, match=message):
        L.advance(session, item.id, to_status, user="李四")
    assert item.status == "待整改"


def test_closing_needs_a_checked_item_evidence_and_a_checker(env):
    session, _, item = env
    with pytest.raises(DecisionError, match="须先报告已整改"):
        L.close_item(session, item.id, evidence="现场照片", user="赵六")
    with pytest.raises(DecisionError, match="报告已整改时须说明整改情况"):
        L.advance(session, item.id, "已整改待核查", user="李四", note="  ")
    L.advance(session, item.id, "已整改待核查", user="李四", note="标识牌已安装")
    with pytest.raises(DecisionError, match="须写明核查情况和证据"):
        L.close_item(session, item.id, evidence="  ", user="赵六")
    with pytest.raises(DecisionError, match="操作人"):
        L.close_item(session, item.id, evidence="现场照片", user="")
    with pytest.raises(DecisionError, match="早于整改决定日期"):
        L.close_item(session, item.id, evidence="现场照片", user="赵六", on=dt.date(2024, 6, 1))
    L.close_item(session, item.id, evidence="现场照片 3 张，标识清晰可见", user="赵六", on=dt.date(2024, 8, 20))
    session.commit()
    assert (item.status, item.closed_on, item.closed_by, item.close_evidence) == \
        ("已销号", dt.date(2024, 8, 20), "赵六", "现场照片 3 张，标识清晰可见")
    assert events(session, item)[-1] == ("已整改待核查", "已销号", "赵六", "现场照片 3 张，标识清晰可见")
    with pytest.raises(DecisionError, match="已于 2024-08-20 销号"):
        L.close_item(session, item.id, evidence="再次", user="赵六")
    with pytest.raises(DecisionError, match="办理重新打开"):
        L.advance(session, item.id, "整改中", user="赵六")


def test_reopening_a_closed_item_is_a_recorded_event(env):
    session, _, item = env
    with pytest.raises(DecisionError, match="尚未销号"):
        L.reopen(session, item.id, reason="x", user="赵六")
    L.advance(session, item.id, "已整改待核查", user="李四", note="标识牌已安装")
    L.close_item(session, item.id, evidence="现场照片", user="赵六", on=dt.date(2024, 8, 20))
    with pytest.raises(DecisionError, match="须说明理由"):
        L.reopen(session, item.id, reason="", user="钱七")
    L.reopen(session, item.id, reason="群众反映标识被拆除", user="钱七")
    session.commit()
    assert (item.status, item.closed_on, item.closed_by) == ("整改中", None, None)
    # The earlier closing and the reopening both stay on the record.
    assert events(session, item)[-2:] == [
        ("已整改待核查", "已销号", "赵六", "现场照片"),
        ("已销号", "整改中", "钱七", "群众反映标识被拆除（原于 2024-08-20 由 赵六 销号）")]


def test_removing_a_device_closes_its_open_items_for_that_reason_not_as_rectified(env):
    """拆除 by decision: the overdue item is closed as of the decision with the reason on its record, after its
    earlier steps; it is no longer overdue, its problem no longer held by it, and it is not reopened while the
    device is removed. Its problem is resolved at the removal itself (no run: the removal's day and reason), so the
    ledger's recheck says 设备已拆除 at once and the problem lists no longer hold it; the next audit keeps it so."""
    session, devices, item = env
    L.advance(session, item.id, "整改中", user="李四", note="标识牌已采购")
    assert L.overdue_items(session, dt.date(2024, 9, 20)) == [item]
    decision = D.remove(session, devices["JL-002"].id, user="张三", reason="道路改造，设备撤除", on=dt.date(2024, 9, 10))
    session.commit()
    session.refresh(item)
    basis = f"拆除决定第 {decision.id} 号：道路改造，设备撤除"
    assert (item.status, item.closed_reason, item.closed_on, item.closed_by, item.close_evidence) == \
        ("已销号", "设备已拆除", dt.date(2024, 9, 10), "张三", basis)
    assert not item.rectified and item.status_text == "已销号（设备已拆除）"
    assert events(session, item) == [
        (None, "待整改", "张三", "整改时限 2024-08-31，责任人 李四"), ("待整改", "整改中", "李四", "标识牌已采购"),
        ("整改中", "已销号", "张三", f"设备已拆除（{basis}）")]
    assert L.overdue_items(session, dt.date(2024, 9, 20)) == []
    sgn = world.problem(session, "JL-002", "SGN01")
    assert sgn.open_item_id is None
    with pytest.raises(DecisionError, match="已拆除，第 .* 项无需重新整改"):
        L.reopen(session, item.id, reason="重新整改", user="钱七")
    assert (sgn.is_resolved, sgn.resolved_run_id, sgn.resolved_on, sgn.resolved_reason) == \
        (True, None, dt.date(2024, 9, 10), "设备已拆除")
    assert L.rechecks(session, [item])[item.id] == L.Recheck("removed", None)
    assert sgn not in P.open_problems(session) and P.counts(session)["resolved"] == 1
    world.run(session, as_of=dt.date(2024, 9, 30))
    session.refresh(sgn)
    assert (sgn.resolved_run_id, sgn.resolved_on, sgn.resolved_reason) == (None, dt.date(2024, 9, 10), "设备已拆除")
    assert L.rechecks(session, [item])[item.id] == L.Recheck("removed", None)
    assert L.COMPARISON_ZH["removed"] == "设备已拆除"


def test_the_recheck_is_that_of_the_latest_run_that_examined_the_items_problem(env, tmp_path):
    """The latest audit, as of a day before the devices went into use, did not examine JL-002's sign: the
    ledger's 复查 stays that of the latest run that did (still no sign), and names that run."""
    session, _, item = env
    still = world.run(session, as_of=dt.date(2024, 9, 1))
    before = world.run(session, as_of=dt.date(2023, 6, 15))
    sgn = world.problem(session, "JL-002", "SGN01")
    assert (sgn.checked_run_id, sgn.last_check) == (still.id, "observed")
    path = export(session, "ledger", tmp_path / "台账.xlsx", as_of=dt.date(2024, 9, 2))
    rows = [r for r in openpyxl.load_workbook(path).active.iter_rows(values_only=True)]
    [row] = [r for r in rows if r[2] == "JL-002"]
    assert row[11] == "复查仍存在"
    notes = " ".join(str(c) for r in rows for c in r if isinstance(c, str) and c.startswith("说明"))
    assert f"第 {still.id} 次审查" in notes and f"第 {before.id} 次审查" not in notes


def test_overdue_items(env):
    session, devices, item = env
    assert L.overdue_items(session, dt.date(2024, 8, 31)) == []  # the deadline day itself is in time
    assert L.overdue_items(session, dt.date(2024, 9, 1)) == [item]
    assert L.overdue_items(session, dt.date(2024, 9, 1), department=world.CITY) == []
    L.advance(session, item.id, "已整改待核查", user="李四", note="标识牌已安装")  # reported done: waits for the checker, not overdue
    assert L.overdue_items(session, dt.date(2024, 9, 1)) == []


def test_a_re_audit_shows_which_items_the_data_confirms_fixed(env):
    session, devices, item = env
    first = world.run(session)
    other = world.finding(session, first.id, "JL-001", "REV01")
    D.suspend(session, devices["JL-001"].id, reason="未经法制审核", user="张三", finding_ids=[other.id], on=ON)
    _, suspended_item = D.rectify(session, devices["JL-001"].id, measure="补办法制审核", requirement="完成法制审核",
                                  deadline=dt.date(2024, 7, 31), responsible="王五", user="张三",
                                  finding_ids=[other.id], on=ON)
    _, manual = D.rectify(session, devices["JL-003"].id, measure="更换立杆", requirement="立杆加固",
                          deadline=dt.date(2024, 9, 30), responsible="王五", user="张三", problem="立杆倾斜", on=ON)
    session.commit()
    # A run made before an item was opened cannot judge it.
    assert results(session) == results(session, upto=first) == {
        item.id: "still_failing", suspended_item.id: "not_assessed", manual.id: "not_assessed"}

    still = world.run(session, as_of=dt.date(2024, 9, 1))
    assert results(session) == {
        item.id: "still_failing",             # the sign is still missing
        suspended_item.id: "still_failing",   # suspended, re-checked as if back in use: still no legal review
        manual.id: "not_assessed"}            # no rule to re-check
    assert L.rechecks(session, [item])[item.id] == L.Recheck("still_failing", still)
    assert L.rechecks(session, [manual])[manual.id] == L.Recheck("not_assessed", None)

    devices["JL-002"].signage = True
    session.commit()
    fixed = world.run(session, as_of=dt.date(2024, 9, 2))
    assert L.rechecks(session, [item])[item.id] == L.Recheck("fixed", fixed)
    # A later run of the other department did not examine the item's problem: the item keeps the result of the
    # run that did, as of that run too; as of the run before, the sign was still missing.
    only_city = world.run(session, as_of=dt.date(2024, 9, 2), department=world.CITY)
    assert results(session)[item.id] == results(session, upto=only_city)[item.id] == "fixed"
    assert L.rechecks(session, [item])[item.id].run == fixed
    assert results(session, upto=still)[item.id] == "still_failing"
