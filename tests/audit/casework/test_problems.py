"""Problems across audit runs: verdicts that hold on re-audit, evidence that sends them back, fixes that resolve
them, proposals to suspend, and reviews that are never doubled."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from audit.casework import decisions as D
from audit.casework import ledger as L
from audit.casework import problems as P
from audit.casework.decisions import DecisionError
from audit.registry.models import Device, Finding, LedgerEvent, Problem, ProblemReview
from tests.audit.exports import world

ON = dt.date(2024, 7, 1)
BEFORE = dt.date(2024, 6, 1)  # a decision before the runs' day (world.AS_OF)


@pytest.fixture
def env(session):
    devices = world.build(session)
    run = world.run(session)
    return session, devices, run


def reaudit(session, as_of=world.AS_OF, department=None):
    return world.run(session, as_of, department)


def test_every_finding_of_a_device_observes_a_problem_and_cannot_assess_observes_none(env):
    session, _, run = env
    findings = session.scalars(select(Finding).where(Finding.run_id == run.id)).all()
    for f in findings:
        cannot = bool((f.evidence or {}).get("cannot_assess"))
        assert (f.problem_id is None) == (cannot or f.device_id is None), (f.rule, f.device_code)
    sgn = world.finding(session, run.id, "JL-003", "SGN01")  # its file had no 标识设置 column
    assert sgn.problem_id is None
    with pytest.raises(DecisionError, match="不是问题"):
        P.problem_of_finding(session, sgn.id)


def test_a_reaudit_with_the_same_data_keeps_every_verdict(env):
    session, _, run = env
    rev = world.problem(session, "JL-001", "REV01")
    sgn = world.problem(session, "JL-002", "SGN01")
    P.review_problem(session, rev.id, confirm=True, reason=None, user="张三")
    P.review_problem(session, sgn.id, confirm=False, reason="现场已有标识，登记有误", user="张三")
    session.commit()
    run2 = reaudit(session)
    assert run2.id != run.id
    for problem, verdict in ((rev, "confirmed"), (sgn, "dismissed")):
        session.refresh(problem)
        assert (problem.verdict, problem.review_state, problem.last_run_id, problem.first_run_id) == \
            (verdict, verdict, run2.id, run.id)
        again = world.finding(session, run2.id, problem.device_code, problem.rule)
        assert again.problem_id == problem.id  # the new run's finding observes the same problem
    assert not P.is_pending(rev) and not P.is_pending(sgn)
    assert session.scalar(select(func.count()).select_from(Problem)) == \
        session.scalar(select(func.count()).select_from(Finding).where(Finding.run_id == run.id,
                                                                         Finding.problem_id.isnot(None)))


def test_changed_material_evidence_sends_a_verdict_back_to_review(env):
    session, devices, _ = env
    rev = world.problem(session, "JL-001", "REV01")
    P.review_problem(session, rev.id, confirm=False, reason="法制审核已办，登记漏填", user="张三")
    session.commit()
    # The department fills in a review date — after the device went into use: still REV01, other evidence.
    devices["JL-001"].legal_review_on = dt.date(2023, 9, 1)
    session.commit()
    outcome = P.record_run(session, world.run(session))  # (world.run records; record_run again changes nothing)
    session.refresh(rev)
    assert rev.verdict == "dismissed" and rev.stale and rev.review_state == "stale" and P.is_pending(rev)
    assert outcome.new == 0
    assert rev.verdict_review.reason == "法制审核已办，登记漏填"  # the earlier verdict is shown beside the evidence
    assert rev.material["legal_review_on"] == "2023-09-01"
    P.review_problem(session, rev.id, confirm=True, reason=None, user="李四")
    session.commit()
    session.refresh(rev)
    assert (rev.verdict, rev.stale, rev.review_state) == ("confirmed", False, "confirmed")


def test_a_fix_resolves_the_problem_and_the_ledger_recheck_says_so(env):
    session, devices, run = env
    sgn = world.problem(session, "JL-002", "SGN01")
    _, item = D.rectify(session, devices["JL-002"].id, measure="设置明显标识", requirement="设置标识牌",
                        deadline=dt.date(2024, 8, 31), responsible="李四", user="张三", problem_ids=[sgn.id], on=ON)
    session.commit()
    assert sgn.open_item_id == item.id
    devices["JL-002"].signage = True
    session.commit()
    run2 = reaudit(session)
    session.refresh(sgn)
    assert (sgn.resolved_run_id, sgn.resolved_on, sgn.resolved_reason, sgn.last_check) == \
        (run2.id, world.AS_OF, P.RESOLVED_NOT_FOUND, "resolved")
    assert L.rechecks(session, [item])[item.id] == L.Recheck("fixed", run2)
    assert L.rechecks(session, [item], upto=run)[item.id].result == "not_assessed"  # made before the item
    L.advance(session, item.id, "已整改待核查", user="李四", note="已安装标识牌")
    L.close_item(session, item.id, evidence="现场照片", user="赵六", on=dt.date(2024, 8, 1))
    session.commit()
    session.refresh(sgn)
    assert sgn.open_item_id is None


def test_closing_an_item_a_later_run_still_finds_needs_confirmation(env):
    session, devices, _ = env
    sgn = world.problem(session, "JL-002", "SGN01")
    _, item = D.rectify(session, devices["JL-002"].id, measure="设置明显标识", requirement="设置标识牌",
                        deadline=dt.date(2024, 8, 31), responsible="李四", user="张三", problem_ids=[sgn.id], on=ON)
    L.advance(session, item.id, "已整改待核查", user="李四", note="已安装标识牌")
    session.commit()
    run2 = reaudit(session)  # the registry still says 标识设置 否
    assert L.rechecks(session, [item])[item.id] == L.Recheck("still_failing", run2)
    with pytest.raises(DecisionError, match=f"问题 {sgn.id} 在第 {run2.id} 次审查"):
        L.close_item(session, item.id, evidence="现场照片", user="赵六", on=dt.date(2024, 8, 1))
    L.close_item(session, item.id, evidence="现场照片", user="赵六", on=dt.date(2024, 8, 1), despite_observed=True)
    session.commit()
    closing = session.scalars(select(LedgerEvent).where(LedgerEvent.item_id == item.id)
                              .order_by(LedgerEvent.id.desc())).first()
    assert closing.to_status == "已销号" and "复查仍发现问题" in closing.note and "经核查人确认销号" in closing.note


def test_a_suspended_device_is_rechecked_as_if_back_in_use(env):
    session, devices, _ = env
    rev = world.problem(session, "JL-001", "REV01")
    D.suspend(session, devices["JL-001"].id, reason="未经法制审核", user="张三", problem_ids=[rev.id], on=BEFORE)
    session.commit()
    run2 = reaudit(session)
    session.refresh(rev)
    # Still no legal review: the recheck observes the problem, says it was a recheck, and creates nothing new.
    assert (rev.resolved_run_id, rev.last_check, rev.last_run_id) == (None, "observed", run2.id)
    seen = world.finding(session, run2.id, "JL-001", "REV01")
    assert seen.problem_id == rev.id and seen.evidence["recheck_while_suspended"]
    assert seen.message.startswith(P.RECHECK_NOTE)
    assert {f.rule for f in session.scalars(select(Finding).where(Finding.run_id == run2.id,
                                                                  Finding.device_code == "JL-001"))} == {"REV01"}
    # The department records the review: the next run resolves the problem while the device is still suspended.
    devices["JL-001"].legal_review_on = dt.date(2023, 6, 1)
    session.commit()
    run3 = reaudit(session)
    session.refresh(rev)
    assert (rev.resolved_run_id, rev.resolved_reason) == (run3.id, P.RESOLVED_RECHECKED)
    assert devices["JL-001"].status == "停用"


def test_a_device_suspended_after_the_runs_day_is_audited_as_in_use_then(env):
    """Suspended on a later day than the audit's: in use on it, examined once by the run itself, no recheck."""
    session, devices, _ = env
    rev = world.problem(session, "JL-001", "REV01")
    D.suspend(session, devices["JL-001"].id, reason="未经法制审核", user="张三", problem_ids=[rev.id], on=ON)
    session.commit()
    run2 = reaudit(session)
    session.refresh(rev)
    assert (rev.resolved_run_id, rev.last_check, rev.last_run_id) == (None, "observed", run2.id)
    seen = session.scalars(select(Finding).where(Finding.run_id == run2.id, Finding.device_code == "JL-001",
                                                 Finding.rule == "REV01")).all()
    assert len(seen) == 1 and not seen[0].evidence.get("recheck_while_suspended")
    assert not seen[0].message.startswith(P.RECHECK_NOTE)


def test_removing_a_device_resolves_its_problems_at_once_and_a_later_audit_keeps_them_so(env):
    """The removal itself resolves the device's open problems, on its day, for the reason an audit would give,
    without a run: they leave the open problems, the pending ones and the review counts at once."""
    session, devices, _ = env
    rev = world.problem(session, "JL-001", "REV01")
    others = {p.id for p in P.open_problems(session) if p.device_id != devices["JL-001"].id}
    assert rev in P.open_problems(session) and P.is_pending(rev)
    D.remove(session, devices["JL-001"].id, reason="撤除", user="张三", problem_ids=[rev.id], on=BEFORE)
    session.commit()
    session.refresh(rev)
    assert (rev.is_resolved, rev.resolved_run_id, rev.resolved_on, rev.resolved_reason) == \
        (True, None, BEFORE, P.RESOLVED_REMOVED)
    assert {p.id for p in P.open_problems(session)} == others and not P.is_pending(rev)
    assert P.open_problems(session, device_ids=[devices["JL-001"].id]) == []
    reaudit(session)
    session.refresh(rev)
    assert (rev.resolved_run_id, rev.resolved_on, rev.resolved_reason) == (None, BEFORE, P.RESOLVED_REMOVED)


def test_a_department_run_touches_only_that_departments_problems(env):
    session, devices, _ = env
    sgn = world.problem(session, "JL-002", "SGN01")
    devices["JL-002"].signage = True
    session.commit()
    reaudit(session, department=world.CITY)
    session.refresh(sgn)
    assert sgn.resolved_run_id is None
    reaudit(session, department=world.POLICE)
    session.refresh(sgn)
    assert sgn.resolved_run_id is not None


def test_an_audit_of_an_earlier_day_resolves_no_problem_seen_later(env):
    session, devices, _ = env
    sgn = world.problem(session, "JL-002", "SGN01")
    devices["JL-002"].signage = True
    session.commit()
    earlier = reaudit(session, as_of=world.AS_OF - dt.timedelta(days=90))
    session.refresh(sgn)
    assert sgn.resolved_run_id is None and sgn.checked_run_id != earlier.id
    reaudit(session)
    session.refresh(sgn)
    assert sgn.resolved_reason == P.RESOLVED_NOT_FOUND


def test_a_backdated_run_keeps_first_and_last_seen_the_earliest_and_latest_days_observed(env):
    """Audited as of 6-30, then 7-31, then 5-31: the problem was first seen on 5-31 and last on 7-31, and its
    description and latest check stay those of 7-31."""
    session, _, _ = env
    rev = world.problem(session, "JL-001", "REV01")
    july = reaudit(session, as_of=dt.date(2024, 7, 31))
    may = reaudit(session, as_of=dt.date(2024, 5, 31))
    assert world.finding(session, may.id, "JL-001", "REV01").problem_id == rev.id
    session.refresh(rev)
    assert (rev.first_run_id, rev.first_seen_on, rev.last_run_id, rev.last_seen_on) == \
        (may.id, dt.date(2024, 5, 31), july.id, dt.date(2024, 7, 31))
    assert (rev.checked_run_id, rev.last_check, rev.resolved_run_id) == (july.id, "observed", None)
    assert "截至2024-07-31" in rev.message


def test_a_backdated_run_does_not_reopen_a_problem_a_later_dated_run_resolved(env):
    """A speed camera first verified on 2024-07-10: as of 6-30 it had no verification (CAL01), as of 7-31 it had.
    The June audit run again finds CAL01 for June: the problem stays resolved as of 7-31."""
    session, devices, _ = env
    camera = devices["JL-002"]
    camera.device_type, camera.verified_on = "固定测速", dt.date(2024, 7, 10)
    camera.verification_valid_until, camera.verification_result = dt.date(2025, 7, 9), "合格"
    session.commit()
    june = reaudit(session)
    cal = world.problem(session, "JL-002", "CAL01")
    assert (cal.first_run_id, cal.resolved_run_id) == (june.id, None)
    july = reaudit(session, as_of=dt.date(2024, 7, 31))
    again = reaudit(session)
    assert world.finding(session, again.id, "JL-002", "CAL01").problem_id == cal.id
    session.refresh(cal)
    assert (cal.resolved_run_id, cal.resolved_on, cal.resolved_reason, cal.last_check, cal.checked_run_id) == \
        (july.id, dt.date(2024, 7, 31), P.RESOLVED_NOT_FOUND, "resolved", july.id)
    assert (cal.first_seen_on, cal.last_seen_on) == (world.AS_OF, world.AS_OF)


def test_a_run_of_a_day_before_a_devices_removal_does_not_reopen_its_problem(env):
    """JL-002 is removed on 7-20, which resolves SGN01 as of that day. The department's sheet said the sign was
    up: the audit as of 7-10 no longer finds SGN01. Its sheet corrected back, the audit as of 7-15 finds SGN01 on a
    day the device was still in use: the problem of the removed device stays resolved."""
    session, devices, _ = env
    sgn = world.problem(session, "JL-002", "SGN01")
    D.remove(session, devices["JL-002"].id, reason="道路改造，设备撤除", user="张三", on=dt.date(2024, 7, 20))
    devices["JL-002"].signage = True
    session.commit()
    reaudit(session, as_of=dt.date(2024, 7, 10))
    session.refresh(sgn)
    assert (sgn.resolved_run_id, sgn.resolved_on, sgn.resolved_reason) == \
        (None, dt.date(2024, 7, 20), P.RESOLVED_REMOVED)
    devices["JL-002"].signage = False
    session.commit()
    later = reaudit(session, as_of=dt.date(2024, 7, 15))
    assert world.finding(session, later.id, "JL-002", "SGN01").problem_id == sgn.id
    session.refresh(sgn)
    assert (sgn.resolved_run_id, sgn.resolved_on, sgn.resolved_reason, sgn.last_seen_on) == \
        (None, dt.date(2024, 7, 20), P.RESOLVED_REMOVED, dt.date(2024, 7, 15))


def test_a_department_run_resolves_no_problem_of_a_rule_across_departments(env):
    session, devices, _ = env
    # A city camera put where a police one stands, as the same type: PLC01 on both, across the departments.
    police = devices["JL-001"]
    devices["CG-002"].device_type, devices["CG-002"].road, devices["CG-002"].direction = \
        police.device_type, police.road, police.direction
    devices["CG-002"].lon, devices["CG-002"].lat = police.lon, police.lat
    session.commit()
    reaudit(session)
    plc = world.problem(session, "JL-001", "PLC01")
    assert plc is not None and plc.resolved_run_id is None
    reaudit(session, department=world.POLICE)  # the city's camera is not in this run
    session.refresh(plc)
    assert plc.resolved_run_id is None
    devices["CG-002"].lon = police.lon + 0.05  # moved 5 km away
    session.commit()
    reaudit(session)
    session.refresh(plc)
    assert plc.resolved_reason == P.RESOLVED_NOT_FOUND


def test_a_problem_that_comes_back_is_reopened_with_its_history(env):
    session, devices, run = env
    sgn = world.problem(session, "JL-002", "SGN01")
    devices["JL-002"].signage = True
    session.commit()
    reaudit(session)
    devices["JL-002"].signage = False
    session.commit()
    run3 = reaudit(session)
    session.refresh(sgn)
    assert (sgn.resolved_run_id, sgn.first_run_id, sgn.last_run_id) == (None, run.id, run3.id)


def test_a_problem_back_after_its_suspension_was_lifted_awaits_a_new_decision(env):
    """Suspended, rectified, closed and restored, the device's record loses its legal review again: the problem
    comes back pending and proposed for suspension, not 已决定 by the decision carried out on its first time."""
    session, devices, _ = env
    dev = devices["JL-001"]
    rev = world.problem(session, "JL-001", "REV01")
    D.suspend(session, dev.id, reason="未经法制审核", user="张三", problem_ids=[rev.id], on=ON)
    _, item = D.rectify(session, dev.id, measure="补办法制审核", requirement="完成法制审核",
                        deadline=dt.date(2024, 7, 31), responsible="王五", user="张三", problem_ids=[rev.id], on=ON)
    dev.legal_review_on, dev.legal_review_no = dt.date(2023, 6, 1), "将公法审〔2023〕9号"
    session.commit()
    reaudit(session)
    L.advance(session, item.id, "已整改待核查", user="王五", note="已补办")
    L.close_item(session, item.id, evidence="审核意见书", user="赵六", on=dt.date(2024, 7, 20))
    D.restore(session, dev.id, user="张三", reason="已完成法制审核", on=dt.date(2024, 7, 21))
    session.commit()
    session.refresh(rev)
    assert rev.resolved_run_id is not None and rev.decision_id is not None
    dev.legal_review_on, dev.legal_review_no = None, None
    session.commit()
    reaudit(session)
    session.refresh(rev)
    assert rev.resolved_run_id is None and rev.decision_id is None and P.is_pending(rev)
    assert [p.id for proposal in P.suspension_proposals(session) for p in proposal.problems
            if proposal.device.id == dev.id] == [rev.id]


def test_ten_identical_dismissals_make_one_review(env):
    session, _, _ = env
    sgn = world.problem(session, "JL-002", "SGN01")
    for _ in range(10):
        P.review_problem(session, sgn.id, confirm=False, reason="现场已有标识", user="张三")
        session.commit()
    assert session.scalar(select(func.count()).select_from(ProblemReview)) == 1
    P.review_problem(session, sgn.id, confirm=False, reason="另有理由", user="张三")
    session.commit()
    assert session.scalar(select(func.count()).select_from(ProblemReview)) == 2


def test_bulk_review_with_one_reason(env):
    session, _, _ = env
    ids = [world.problem(session, "JL-001", r).id for r in ("REV01",)] + [world.problem(session, "JL-002", "SGN01").id]
    with pytest.raises(DecisionError, match="请至少选择一个问题"):
        P.review_problems(session, [], confirm=True, reason=None, user="张三")
    with pytest.raises(DecisionError, match="排除问题须说明理由"):
        P.review_problems(session, ids, confirm=False, reason=" ", user="张三")
    reviews = P.review_problems(session, ids, confirm=False, reason="数据登记错误，已核实", user="张三")
    session.commit()
    assert sorted(r.problem_id for r in reviews) == sorted(ids)
    assert {session.get(Problem, i).verdict for i in ids} == {"dismissed"}


def test_suspension_proposals_and_the_bulk_suspension(env):
    session, devices, _ = env
    proposed = P.suspension_proposals(session)
    assert [p.device.device_code for p in proposed] == ["JL-001"]  # REV01 停用; CG-001 is already 停用
    assert proposed[0].rules == ["REV01"]
    rev = proposed[0].problems[0]
    P.review_problem(session, rev.id, confirm=False, reason="审核已办", user="张三")
    assert P.suspension_proposals(session) == []  # dismissed: no longer proposed
    P.review_problem(session, rev.id, confirm=True, reason=None, user="张三")
    [decision] = D.suspend_recommended(session, P.suspension_proposals(session), reason="审查建议停用", user="张三",
                                       on=ON)
    session.commit()
    assert (decision.device.device_code, decision.problem_ids, devices["JL-001"].status) == \
        ("JL-001", [rev.id], "停用")
    assert P.suspension_proposals(session) == []
    with pytest.raises(DecisionError, match="没有拟停用的设备"):
        D.suspend_recommended(session, [], reason="x", user="张三")
    session.refresh(rev)
    assert rev.decision_id == decision.id and not P.is_pending(rev)


def test_one_open_ledger_item_per_problem(env):
    session, devices, _ = env
    sgn = world.problem(session, "JL-002", "SGN01")
    args = dict(measure="设置标识", requirement="设置标识牌", deadline=dt.date(2024, 8, 31), responsible="李四",
                user="张三", problem_ids=[sgn.id], on=ON)
    D.rectify(session, devices["JL-002"].id, **args)
    session.commit()
    with pytest.raises(DecisionError, match="已在整改中，不能重复立项"):
        D.rectify(session, devices["JL-002"].id, **args)


def test_a_status_decision_checks_the_status_it_changes(env):
    session, devices, _ = env
    device = devices["JL-002"]
    # Another process suspended the device after this session read it.
    session.execute(Device.__table__.update().where(Device.id == device.id).values(status="停用"))
    with pytest.raises(DecisionError, match="当前状态为“停用”"):
        D.suspend(session, device.id, reason="x", user="张三", on=ON)
