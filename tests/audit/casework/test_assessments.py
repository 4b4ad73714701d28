"""The annual site review: an assessment keeps the year's evidence, the schedule says when each device is next due,
and a device not assessed in time becomes an ASR01 problem that an assessment resolves."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from audit.casework import assessments as A
from audit.casework.decisions import DecisionError
from audit.registry.models import AppendOnlyError, Problem, SiteAssessment, ViolationStat
from tests.audit.exports import world

ON = dt.date(2025, 6, 30)


@pytest.fixture
def env(session):
    devices = world.build(session)
    for day in range(60):  # JL-002: 3 violations a day from 2025-05-01, 50 yuan each
        session.add(ViolationStat(device_id=devices["JL-002"].id, period="day",
                                  period_start=dt.date(2025, 5, 1) + dt.timedelta(days=day), count=3,
                                  fine_yuan=150))
    session.commit()
    return session, devices


def test_an_assessment_keeps_the_evidence_of_the_year(env):
    session, devices = env
    world.run(session, as_of=ON)
    done = A.assess(session, devices["JL-002"].id, outcome="relocate", reason="路口已改造，事故点转移", user="auditor",
                    on=ON)
    captures = done.evidence["captures"]
    assert (captures["total"], captures["days_with_data"], captures["fine_yuan"]) == (180, 60, 9000.0)
    assert captures["by_month"] == {"2025-05": 93, "2025-06": 87} and captures["per_day"] == round(180 / 365, 2)
    assert [p["rule"] for p in done.evidence["open_problems"]] == ["SGN01"]
    assert done.evidence["justification"] == "事故多发路段" and done.outcome_zh == "迁移"
    quiet = A.assess(session, devices["CG-002"].id, outcome="keep", reason="占道经营投诉集中", user="auditor", on=ON)
    assert quiet.evidence["captures"]["source"] is None and quiet.evidence["captures"]["total"] == 0


@pytest.mark.parametrize("device, outcome, reason, message", [
    ("JL-002", "move", "理由", "评估结论“move”不对，应为：保留、迁移、拆除"),
    ("JL-002", "keep", " ", "请写明评估理由"),
    ("JL-004", "keep", "理由", "为“拟建”，不在用，无需年度评估"),
])
def test_an_assessment_refuses_what_it_cannot_record(env, device, outcome, reason, message):
    session, devices = env
    with pytest.raises(DecisionError, match=message):
        A.assess(session, devices[device].id, outcome=outcome, reason=reason, user="auditor", on=ON)


def test_assessments_are_never_edited(env):
    session, devices = env
    done = A.assess(session, devices["JL-002"].id, outcome="keep", reason="理由", user="auditor", on=ON)
    session.commit()
    done.outcome = "remove"
    with pytest.raises(AppendOnlyError):
        session.flush()


def test_the_schedule_counts_from_the_last_assessment_or_the_start_of_the_review(env):
    session, devices = env
    A.assess(session, devices["JL-002"].id, outcome="keep", reason="理由", user="auditor", on=dt.date(2025, 2, 1))
    rows = {r.device.device_code: r for r in A.schedule(session, dt.date(2026, 1, 20))}
    assert set(rows) == {"JL-001", "JL-002", "JL-003", "CG-002"}  # in use: not planned, not suspended
    assert (rows["JL-002"].due, rows["JL-002"].state, rows["JL-002"].days) == (dt.date(2026, 2, 1), "due_soon", 12)
    assert (rows["JL-001"].due, rows["JL-001"].state, rows["JL-001"].days) == (dt.date(2026, 1, 1), "overdue", 19)
    assert A.schedule(session, dt.date(2025, 6, 30))[0].state == "ok"
    assert [r.device.device_code for r in A.schedule(session, ON, department=world.CITY)] == ["CG-002"]


def test_the_schedule_of_an_earlier_day_lists_the_devices_in_use_then(env):
    """A device removed today was in use on an earlier day: the schedule (and the 年度评估表) of that day lists it;
    today's does not."""
    from audit.casework import decisions

    session, devices = env
    decisions.remove(session, devices["JL-001"].id, user="auditor", reason="道路改造，设备撤除")
    session.commit()
    today = dt.datetime.now(dt.timezone.utc).date()
    assert "JL-001" in {r.device.device_code for r in A.schedule(session, dt.date(2026, 1, 20))}
    assert "JL-001" not in {r.device.device_code for r in A.schedule(session, today)}


def test_a_device_not_assessed_in_time_is_a_problem_an_assessment_resolves(env):
    session, devices = env
    late = dt.date(2026, 3, 1)
    world.run(session, as_of=late)
    flagged = {p.device_code: p for p in session.scalars(select(Problem).where(Problem.rule == "ASR01"))}
    assert set(flagged) == {"JL-001", "JL-002", "JL-003", "CG-002"}
    assert flagged["JL-002"].key == "2026-01-01" and flagged["JL-002"].action == "核查"
    A.assess(session, devices["JL-002"].id, outcome="keep", reason="理由", user="auditor", on=dt.date(2026, 2, 20))
    session.commit()
    world.run(session, as_of=late)
    session.expire_all()
    assert session.get(Problem, flagged["JL-002"].id).resolved_run_id is not None
    assert session.get(Problem, flagged["JL-001"].id).resolved_run_id is None
    assert session.scalar(select(SiteAssessment.outcome)) == "keep"
