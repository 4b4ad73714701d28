"""A department answers a problem (说明/申辩); the auditor accepts it (the problem dismissed, the reason recorded)
or rejects it with a reason; one answer waits at a time; the thread shows both sides in order; 待办 lists what the
department must still do."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from audit.casework import decisions as D
from audit.casework import ledger as L
from audit.casework import responses as R
from audit.casework.decisions import DecisionError
from audit.casework.problems import review_problem
from audit.casework.todo import department_todo
from audit.registry.models import ProblemResponse
from tests.audit.exports import world

POLICE, CITY = world.POLICE, world.CITY


@pytest.fixture
def env(session):
    devices = world.build(session)
    world.run(session)
    return session, devices


def test_an_accepted_answer_dismisses_the_problem_with_the_reason(env):
    session, _ = env
    problem = world.problem(session, "JL-002", "SGN01")
    response = R.respond(session, problem.id, kind="申辩", text="现场已设标识牌，见附照片。", user="clerk",
                         department=POLICE)
    session.commit()
    assert R.pending_response(session, problem.id).id == response.id
    review = R.accept(session, response.id, reason="照片显示标识清晰可见", user="auditor")
    session.commit()
    session.refresh(problem)
    assert (problem.verdict, review.reason) == ("dismissed", "采纳单位申辩：照片显示标识清晰可见")
    assert (response.status, response.answered_by, response.review_id) == ("accepted", "auditor", review.id)
    entries = [(e.side, e.what, e.text) for e in R.thread(session, problem.id)]
    assert entries == [("department", "申辩", "现场已设标识牌，见附照片。"), ("auditor", "采纳", "照片显示标识清晰可见")]
    with pytest.raises(DecisionError, match="已被排除，无需答复"):
        R.respond(session, problem.id, kind="说明", text="再补充一次说明", user="clerk", department=POLICE)


def test_accepting_without_a_reason_records_the_answer_itself(env):
    session, _ = env
    problem = world.problem(session, "JL-002", "SGN01")
    response = R.respond(session, problem.id, kind="说明", text="标识于六月设置，登记表漏填。", user="clerk",
                         department=POLICE)
    review = R.accept(session, response.id, reason="", user="auditor")
    assert review.reason == "采纳单位说明：标识于六月设置，登记表漏填。"


def test_a_rejected_answer_leaves_the_problem_and_the_department_may_answer_again(env):
    session, _ = env
    problem = world.problem(session, "JL-002", "SGN01")
    review_problem(session, problem.id, confirm=True, reason=None, user="auditor")
    first = R.respond(session, problem.id, kind="申辩", text="该路口车流量小，无需标识。", user="clerk",
                      department=POLICE)
    with pytest.raises(DecisionError, match="已有一份答复等待审查人员处理"):
        R.respond(session, problem.id, kind="说明", text="补充一点说明内容", user="clerk", department=POLICE)
    with pytest.raises(DecisionError, match="不予采纳须说明理由"):
        R.reject(session, first.id, reason=" ", user="auditor")
    R.reject(session, first.id, reason="法律要求设置明显标识，与车流量无关", user="auditor")
    session.commit()
    session.refresh(problem)
    assert problem.verdict == "confirmed"
    with pytest.raises(DecisionError, match="已处理"):
        R.accept(session, first.id, reason=None, user="auditor2")
    second = R.respond(session, problem.id, kind="说明", text="已按要求补设标识。", user="clerk", department=POLICE)
    assert [(e.side, e.what) for e in R.thread(session, problem.id)] == [
        ("auditor", "已确认"), ("department", "申辩"), ("auditor", "不予采纳"), ("department", "说明")]
    assert second.status == "pending"


@pytest.mark.parametrize("changes, message", [
    ({"department": CITY}, "只有“将乐县公安局交通管理大队”可以答复"),
    ({"department": None}, "只有"),
    ({"kind": "投诉"}, "答复类型应为：说明、申辩"),
    ({"text": "不对"}, "至少 5 个字"),
    ({"user": ""}, "请填写答复人"),
])
def test_refused_answers(env, changes, message):
    session, _ = env
    problem = world.problem(session, "JL-002", "SGN01")
    args = {"kind": "说明", "text": "标识已经设置好了", "user": "clerk", "department": POLICE} | changes
    with pytest.raises(DecisionError, match=message):
        R.respond(session, problem.id, **args)
    assert session.scalar(select(ProblemResponse.id)) is None


def test_the_answer_is_set_once_even_by_two_auditors_at_once(env, db_engine):
    from audit.registry.db import session_factory

    session, _ = env
    problem = world.problem(session, "JL-002", "SGN01")
    response = R.respond(session, problem.id, kind="申辩", text="现场已设标识牌。", user="clerk", department=POLICE)
    session.commit()
    other = session_factory(db_engine)()
    seen = R.get_response(other, response.id)
    assert seen.status == "pending"  # what the second auditor's page showed
    R.reject(session, response.id, reason="照片不清", user="auditor1")
    session.commit()
    other.rollback()  # a new transaction, as every request that writes starts one
    with pytest.raises(DecisionError, match="已由 auditor1 处理"):
        R._answer(other, seen, "accepted", "采纳", "auditor2")  # the compare-and-set behind accept and reject
    other.rollback()
    other.close()


def test_todo_lists_what_to_answer_what_waits_and_the_items_overdue_first(env):
    session, devices = env
    today = dt.date(2024, 9, 1)
    empty = department_todo(session, CITY, today)
    sgn = world.problem(session, "JL-002", "SGN01")
    rev = world.problem(session, "JL-001", "REV01")
    todo = department_todo(session, POLICE, today)
    to_answer = {p.id for p, _ in todo.to_answer}
    assert {sgn.id, rev.id} <= to_answer and not todo.answered and not todo.items
    assert all(p.department == POLICE for p, _ in todo.to_answer)
    assert [p.severity for p, _ in todo.to_answer] == sorted((p.severity for p, _ in todo.to_answer),
                                                             key=lambda s: {"严重": 0, "较重": 1, "一般": 2}[s])
    response = R.respond(session, sgn.id, kind="说明", text="标识已经设置好了", user="clerk", department=POLICE)
    _, late = D.rectify(session, devices["JL-001"].id, measure="补办审核", requirement="取得意见书",
                        deadline=dt.date(2024, 8, 15), responsible="李四", user="auditor", problem_ids=[rev.id],
                        on=dt.date(2024, 7, 1))
    _, soon = D.rectify(session, devices["JL-002"].id, measure="设置标识", requirement="设置",
                        deadline=dt.date(2024, 9, 1), responsible="李四", user="auditor", on=dt.date(2024, 7, 1),
                        problem="标识不明显")
    _, first = D.rectify(session, devices["JL-003"].id, measure="核实", requirement="核实",
                         deadline=dt.date(2024, 8, 20), responsible="李四", user="auditor", on=dt.date(2024, 7, 1),
                         problem="位置待核实")
    L.advance(session, first.id, "已整改待核查", user="clerk", note="已核实")
    session.commit()
    todo = department_todo(session, POLICE, today)
    assert [(p.id, r.id) for p, r in todo.answered] == [(sgn.id, response.id)]
    assert rev.id not in {p.id for p, _ in todo.to_answer}  # being rectified: the ledger item is the answer
    assert [(d.item.id, d.overdue, d.days) for d in todo.items] == [(late.id, True, 17), (soon.id, False, 0)]
    assert [d.item.id for d in todo.waiting_check] == [first.id] and todo.overdue == 1
    R.reject(session, response.id, reason="未见照片", user="auditor")
    todo = department_todo(session, POLICE, today)
    assert (sgn.id, response.id) in [(p.id, r and r.id) for p, r in todo.to_answer]  # back, with the reason
    assert not empty.items and not empty.answered
