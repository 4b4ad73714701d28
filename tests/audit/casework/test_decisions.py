"""Decisions on devices: status changes with a trace, problems cited, refusals with a reason."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from audit.casework import decisions as D
from audit.casework.decisions import DecisionError
from audit.casework.problems import problem_of_finding, review_problem
from audit.registry.models import Decision, LedgerEvent, LedgerItem, ProblemReview
from audit.casework.ledger import advance, close_item
from audit.registry.models import AppendOnlyError, ChangeLog
from tests.audit.exports import world

ON = dt.date(2024, 7, 1)


@pytest.fixture
def env(session):
    devices = world.build(session)
    run = world.run(session)
    return session, devices, run


def status_log(session, code):
    return session.scalars(select(ChangeLog).where(ChangeLog.device_code == code, ChangeLog.entity == "device",
                                                  ChangeLog.field == "status")
                           .order_by(ChangeLog.id)).all()


def test_suspend_sets_status_cites_findings_and_logs(env):
    session, devices, run = env
    f = world.finding(session, run.id, "JL-001", "REV01")
    decision = D.suspend(session, devices["JL-001"].id, reason="未经法制审核", user="张三", finding_ids=[f.id], on=ON)
    session.commit()
    assert devices["JL-001"].status == "停用"
    assert (decision.kind, decision.decided_on, decision.decided_by, decision.finding_ids) == \
        ("suspend", ON, "张三", [f.id])
    [log] = status_log(session, "JL-001")
    assert (log.before, log.after, log.user, log.action) == ("在用", "停用", "张三", "suspend")
    entry = session.scalar(select(ChangeLog).where(ChangeLog.entity == "decision", ChangeLog.entity_id == decision.id))
    problem = world.problem(session, "JL-001", "REV01")
    assert decision.problem_ids == [problem.id] and problem.decision_id == decision.id
    assert json.loads(entry.after) == {"decided_on": "2024-07-01", "reason": "未经法制审核",
                                       "problems": [f"{problem.id}:REV01"]}


@pytest.mark.parametrize("kwargs, message", [
    ({"reason": " "}, "停用原因"),
    ({"user": ""}, "决定人"),
])
def test_suspend_needs_reason_and_user(env, kwargs, message):
    session, devices, _ = env
    args = {"reason": "未经法制审核", "user": "张三"} | kwargs
    with pytest.raises(DecisionError, match=message):
        D.suspend(session, devices["JL-001"].id, **args)


def test_suspend_refuses_a_device_already_suspended(env):
    session, devices, _ = env
    with pytest.raises(DecisionError, match="已是“停用”状态"):
        D.suspend(session, devices["CG-001"].id, reason="x", user="张三")


def test_a_decision_cites_only_the_devices_own_findings(env):
    session, devices, run = env
    other = world.finding(session, run.id, "JL-002", "SGN01")
    with pytest.raises(DecisionError, match="不属于设备“JL-001”"):
        D.suspend(session, devices["JL-001"].id, reason="x", user="张三", finding_ids=[other.id])
    with pytest.raises(DecisionError, match="不存在：999999"):
        D.suspend(session, devices["JL-001"].id, reason="x", user="张三", finding_ids=[999999])
    assert devices["JL-001"].status == "在用"


def test_dismissing_needs_a_reason_and_a_dismissed_problem_cannot_be_cited(env):
    session, devices, run = env
    f = world.finding(session, run.id, "JL-002", "SGN01")
    problem = problem_of_finding(session, f.id)
    with pytest.raises(DecisionError, match="排除问题须说明理由"):
        review_problem(session, problem.id, confirm=False, reason="", user="张三")
    review_problem(session, problem.id, confirm=True, reason=None, user="张三")
    review_problem(session, problem.id, confirm=False, reason="现场已有标识，登记有误", user="李四")
    session.commit()
    session.refresh(problem)
    assert problem.verdict == "dismissed" and problem.verdict_review.reason == "现场已有标识，登记有误"
    assert session.scalar(select(ChangeLog).where(ChangeLog.entity == "problem").order_by(ChangeLog.id.desc())).before \
        == "已确认"
    with pytest.raises(DecisionError, match="已被核查排除"):
        D.rectify(session, devices["JL-002"].id, measure="设置标识", requirement="设置标识牌",
                  deadline=dt.date(2024, 8, 31), responsible="李四", user="张三", finding_ids=[f.id], on=ON)


def test_rectify_opens_a_ledger_item_with_category_and_event(env):
    session, devices, run = env
    f = world.finding(session, run.id, "JL-002", "SGN01")
    decision, item = D.rectify(session, devices["JL-002"].id, measure="设置明显标识", requirement="设置标识牌",
                               deadline=dt.date(2024, 8, 31), responsible="李四", user="张三", finding_ids=[f.id],
                               on=ON)
    session.commit()
    assert (item.status, item.category, item.rules, item.department) == \
        ("待整改", "设置地点无明显可见标识", ["SGN01"], world.POLICE)
    assert item.problem == f.message and item.decision_id == decision.id and item.finding_ids == [f.id]
    [event] = session.scalars(select(LedgerEvent).where(LedgerEvent.item_id == item.id)).all()
    assert (event.from_status, event.to_status, event.user) == (None, "待整改", "张三")
    assert devices["JL-002"].status == "在用"  # rectifying does not change the status


def test_rectify_refuses_past_deadlines_missing_fields_and_duplicates(env):
    session, devices, run = env
    f = world.finding(session, run.id, "JL-002", "SGN01")
    args = dict(measure="设置标识", requirement="设置标识牌", deadline=dt.date(2024, 8, 31), responsible="李四",
                user="张三", finding_ids=[f.id], on=ON)
    with pytest.raises(DecisionError, match="早于决定日期"):
        D.rectify(session, devices["JL-002"].id, **(args | {"deadline": dt.date(2024, 6, 1)}))
    with pytest.raises(DecisionError, match="整改责任人"):
        D.rectify(session, devices["JL-002"].id, **(args | {"responsible": ""}))
    with pytest.raises(DecisionError, match="须引用至少一个问题"):
        D.rectify(session, devices["JL-002"].id, **(args | {"finding_ids": ()}))
    D.rectify(session, devices["JL-002"].id, **args)
    with pytest.raises(DecisionError, match="不能重复立项"):
        D.rectify(session, devices["JL-002"].id, **args)


def test_a_problem_without_findings_is_entered_by_hand(env):
    session, devices, _ = env
    _, item = D.rectify(session, devices["JL-003"].id, measure="更换立杆", requirement="立杆加固",
                        deadline=dt.date(2024, 9, 30), responsible="王五", user="张三", problem="立杆倾斜", on=ON)
    assert (item.problem, item.category, item.rules) == ("立杆倾斜", "其他问题", [])


def test_restore_only_after_the_ledger_item_is_closed(env):
    session, devices, run = env
    dev = devices["JL-001"]
    f = world.finding(session, run.id, "JL-001", "REV01")
    with pytest.raises(DecisionError, match="只有停用的设备才能恢复使用"):
        D.restore(session, dev.id, user="张三", reason="x")
    D.suspend(session, dev.id, reason="未经法制审核", user="张三", finding_ids=[f.id], on=ON)
    with pytest.raises(DecisionError, match="没有已销号的整改事项"):
        D.restore(session, dev.id, user="张三", reason="已完成审核")
    _, item = D.rectify(session, dev.id, measure="补办法制审核", requirement="完成法制审核", deadline=dt.date(2024, 7, 31),
                        responsible="王五", user="张三", finding_ids=[f.id], on=ON)
    with pytest.raises(DecisionError, match=f"第 {item.id} 项（待整改）"):
        D.restore(session, dev.id, user="张三", reason="已完成审核")
    advance(session, item.id, "已整改待核查", user="王五", note="审核意见书已出具")
    with pytest.raises(DecisionError, match="尚未销号"):
        D.restore(session, dev.id, user="张三", reason="已完成审核", ledger_item_id=item.id)
    close_item(session, item.id, evidence="法制审核意见书 将公法审〔2024〕3号", user="赵六", on=dt.date(2024, 7, 20))
    decision = D.restore(session, dev.id, user="张三", reason="已完成审核", ledger_item_id=item.id,
                         on=dt.date(2024, 7, 21))
    session.commit()
    assert dev.status == "在用" and decision.kind == "restore" and f"第 {item.id} 项已销号" in decision.reason
    assert [(log.before, log.after) for log in status_log(session, "JL-001")] == [("在用", "停用"), ("停用", "在用")]


def test_a_second_suspension_is_not_ended_by_the_rectification_of_the_first(env):
    session, devices, run = env
    dev = devices["JL-001"]
    f = world.finding(session, run.id, "JL-001", "REV01")

    def rectified(on: dt.date, closed: dt.date, **cited) -> LedgerItem:
        _, item = D.rectify(session, dev.id, measure="补办法制审核", requirement="完成法制审核", deadline=closed,
                            responsible="王五", user="张三", **(cited or {"problem": "另一问题"}), on=on)
        advance(session, item.id, "已整改待核查", user="王五", note="已补办")
        close_item(session, item.id, evidence="审核意见书", user="赵六", on=closed)
        return item

    D.suspend(session, dev.id, reason="未经法制审核", user="张三", finding_ids=[f.id], on=ON)
    rectified(ON, dt.date(2024, 7, 5))  # of another problem than the suspension's
    with pytest.raises(DecisionError, match=r"所依据的问题 \d+（REV01） 既未整改销号"):
        D.restore(session, dev.id, user="张三", reason="随意")
    first = rectified(ON, dt.date(2024, 7, 10), finding_ids=[f.id])
    D.restore(session, dev.id, user="张三", reason="已整改", on=dt.date(2024, 7, 11))
    second = D.suspend(session, dev.id, reason="擅自移位", user="张三", on=dt.date(2024, 8, 1))
    with pytest.raises(DecisionError, match=f"自本次停用（决定第 {second.id} 号，2024-08-01）以来没有已销号"):
        D.restore(session, dev.id, user="张三", reason="随意")
    with pytest.raises(DecisionError, match=f"第 {first.id} 项销号在本次停用"):
        D.restore(session, dev.id, user="张三", reason="随意", ledger_item_id=first.id)
    assert dev.status == "停用"
    D.restore(session, dev.id, user="张三", reason="x", ledger_item_id=rectified(dt.date(2024, 8, 1),
                                                                                dt.date(2024, 8, 5)).id)
    # Closed on the day of a suspension but recorded before it: an earlier rectification.
    early = rectified(dt.date(2024, 8, 6), dt.date(2024, 8, 10))
    D.suspend(session, dev.id, reason="擅自移位", user="张三", on=dt.date(2024, 8, 10))
    with pytest.raises(DecisionError, match="以来没有已销号"):
        D.restore(session, dev.id, user="张三", reason="随意")
    # Its own rectification, closed after it, ends it.
    _, item = D.rectify(session, dev.id, measure="复位", requirement="恢复原位", deadline=dt.date(2024, 8, 31),
                        responsible="王五", user="张三", problem="擅自移位", on=dt.date(2024, 8, 10))
    advance(session, item.id, "已整改待核查", user="王五", note="已复位")
    close_item(session, item.id, evidence="现场核查", user="赵六", on=dt.date(2024, 8, 20))
    decision = D.restore(session, dev.id, user="张三", reason="已复位", on=dt.date(2024, 8, 21))
    assert dev.status == "在用" and f"第 {item.id} 项已销号" in decision.reason and early.id != item.id


def test_remove_and_keep(env):
    session, devices, run = env
    f = world.finding(session, run.id, "JL-002", "SGN01")
    kept = D.keep(session, devices["JL-002"].id, user="张三", reason="标识已于次日设置", finding_ids=[f.id], on=ON)
    assert kept.kind == "keep" and devices["JL-002"].status == "在用"
    D.remove(session, devices["JL-004"].id, user="张三", reason="规划取消", on=ON)
    session.commit()
    assert devices["JL-004"].status == "拆除"
    assert [(log.before, log.after) for log in status_log(session, "JL-004")] == [("拟建", "拆除")]
    with pytest.raises(DecisionError, match="已拆除"):
        D.remove(session, devices["JL-004"].id, user="张三", reason="x")
    with pytest.raises(DecisionError, match="已拆除"):
        D.keep(session, devices["JL-004"].id, user="张三", reason="x")
    with pytest.raises(DecisionError, match="保留的理由"):
        D.keep(session, devices["JL-002"].id, user="张三", reason="")


@pytest.mark.parametrize("model", [Decision, ProblemReview, LedgerEvent])
def test_decisions_reviews_and_events_are_never_edited_or_deleted(env, model):
    session, devices, run = env
    f = world.finding(session, run.id, "JL-002", "SGN01")
    review_problem(session, problem_of_finding(session, f.id).id, confirm=True, reason=None, user="张三")
    D.rectify(session, devices["JL-002"].id, measure="设置标识", requirement="设置标识牌",
              deadline=dt.date(2024, 8, 31), responsible="李四", user="张三", finding_ids=[f.id], on=ON)
    session.commit()
    row = session.scalars(select(model)).first()
    field = {Decision: "reason", ProblemReview: "reason", LedgerEvent: "note"}[model]
    setattr(row, field, "改写")
    with pytest.raises(AppendOnlyError):
        session.flush()
    session.rollback()
    session.delete(session.scalars(select(model)).first())
    with pytest.raises(AppendOnlyError):
        session.flush()
    session.rollback()
    assert session.scalars(select(LedgerItem)).one().status == "待整改"


def test_category_follows_the_rule_group():
    assert D.category_of("CAL02") == "未经依法检定、逾期未检定或检定不合格"
    assert D.category_of("PLC01") == "设置地点、间距和数量不合理"
    assert D.category_of("PLC04") == "脱离实际监管需要随意设置"
    assert D.category_of("XYZ01") == D.category_of(None) == "其他问题"
