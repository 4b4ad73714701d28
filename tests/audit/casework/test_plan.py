"""The supervision plan as data: entered whole or piece by piece with every mistake reported, and where each
department stands on each task (filed, filed late, late, due) as the calendar moves."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from audit.casework import filings as F
from audit.casework import plan as P
from audit.casework.decisions import DecisionError
from audit.registry.models import Department, Filing, PlanTask, SupervisionPlan
from tests.audit.exports import world

DEADLINE = dt.date(2024, 7, 25)
OTHER = "将乐县交通运输局"
PDF = b"%PDF-1.4 a report"


@pytest.fixture
def env(session):
    world.build(session)
    session.add(Department(name=OTHER))
    session.flush()
    plan = P.load_plan(session, {
        "title": "将乐县罚款实施专项监督工作方案", "issuer": "将乐县司法局", "doc_no": "将司〔2024〕12号",
        "doc_prefix": "将司监督",
        "phases": [{"name": "自查", "start": "2024-05-01", "end": "2024-07-25"},
                   {"name": "整改", "start": "2024-07-26", "end": "2024-10-31"}],
        "tasks": [{"title": "报送自查报告", "deliverable": "自查报告", "deadline": DEADLINE, "phase": "自查",
                   "departments": [world.POLICE, world.CITY, OTHER]},
                  {"title": "报送工作总结", "deliverable": "工作总结", "deadline": "2024-12-01"}]}, user="admin")
    session.commit()
    ids = dict(session.execute(select(Department.name, Department.id)).all())
    return session, plan, ids


def state(session, plan, on, department_id):
    [s] = [s for s in F.plan_status(session, plan, on, department_id) if s.task.deliverable == "自查报告"]
    return s.state, s.days


def test_a_plan_file_enters_phases_and_tasks_and_becomes_the_current_plan(env):
    session, plan, ids = env
    assert P.current_plan(session).id == plan.id
    assert [(p.name, p.start, p.end) for p in plan.phases] == [("自查", dt.date(2024, 5, 1), DEADLINE),
                                                             ("整改", dt.date(2024, 7, 26), dt.date(2024, 10, 31))]
    report, summary = plan.tasks
    assert (report.deliverable, report.deadline, report.phase.name) == ("自查报告", DEADLINE, "自查")
    assert P.responsible_text(session, report) == "、".join(sorted([world.POLICE, world.CITY, OTHER]))
    assert summary.department_ids is None and P.responsible_text(session, summary) == "各执法单位"
    # Every department, including one registered after the plan was entered.
    session.add(Department(name="将乐县市场监督管理局"))
    session.flush()
    assert "将乐县市场监督管理局" in {d.name for d in P.responsible(session, summary)}


def test_a_plan_file_with_mistakes_reports_them_all_and_writes_nothing(env):
    session, _, _ = env
    before = session.scalar(select(func.count()).select_from(SupervisionPlan))
    with pytest.raises(DecisionError) as caught:
        P.load_plan(session, {"title": "", "issuer": "将乐县司法局",
                              "phases": [{"name": "自查", "start": "2024-08-01", "end": "2024-07-01"},
                                         {"name": "自查", "start": "2024-09-01", "end": "2024-09-30"}],
                              "tasks": [{"title": "报送自查报告", "deliverable": "报告", "deadline": "7月25日",
                                         "phase": "汇报", "departments": ["将乐县不存在局"],
                                         "requirement": "按\x00附件格式"}]}, user="admin")
    text = str(caught.value)
    for expected in ("方案名称（title）不能为空", "第 1 个阶段（自查）的结束日期 2024-07-01 早于开始日期 2024-08-01",
                     "阶段名称重复：自查", "第 1 项任务：报送材料“报告”不在可选范围内",
                     "第 1 项任务：完成时限“7月25日”不是日期，应写作 2025-07-25",
                     "第 1 项任务：阶段“汇报”不在方案的阶段中", "责任单位“将乐县不存在局”未登记",
                     # PostgreSQL refuses NUL in text: the file's line is named instead of a failed write
                     "第 1 项任务：具体要求“按\\x00附件格式”中有不可见的控制字符（U+0000，第2个字符）"):
        assert expected in text, expected
    assert text.startswith("工作方案有以下问题，未作任何改动")
    session.rollback()
    assert session.scalar(select(func.count()).select_from(SupervisionPlan)) == before
    with pytest.raises(DecisionError, match="方案中没有任务"):
        P.load_plan(session, {"title": "方案", "issuer": "司法局"}, user="admin")


def test_the_status_follows_the_calendar(env):
    """Due with days left, due today, late by days; filed on time stays filed; filed late counts the days."""
    session, plan, ids = env
    police, city, other = ids[world.POLICE], ids[world.CITY], ids[OTHER]
    assert state(session, plan, dt.date(2024, 7, 20), police) == ("due", 5)
    assert state(session, plan, DEADLINE, police) == ("due", 0)
    assert state(session, plan, dt.date(2024, 7, 26), police) == ("late", 1)
    task = plan.tasks[0]
    F.file_task(session, task.id, police, content=PDF, filename="自查报告.pdf", method="upload", user="clerk",
                on=dt.date(2024, 7, 20))
    F.file_task(session, task.id, city, content=PDF, filename="自查报告.pdf", method="upload", user="clerk",
                on=dt.date(2024, 7, 28))
    session.commit()
    for day in (dt.date(2024, 7, 20), DEADLINE, dt.date(2024, 12, 31)):
        assert state(session, plan, day, police) == ("filed", 0)
    assert state(session, plan, dt.date(2024, 12, 31), city) == ("filed_late", 3)
    assert state(session, plan, dt.date(2024, 8, 4), other) == ("late", 10)
    [late] = [s for s in F.plan_status(session, plan, dt.date(2024, 8, 4), other) if s.task.id == task.id]
    assert late.text == "逾期 10 天未报送"
    standing = {d.department.name: d for d in F.by_department(F.plan_status(session, plan, dt.date(2024, 8, 4)))}
    assert (standing[world.POLICE].count("filed"), standing[world.CITY].count("filed_late"),
            [s.days for s in standing[OTHER].late]) == (1, 1, [10])
    assert standing[OTHER].next_due.task.deliverable == "工作总结"


def test_a_returned_filing_no_longer_counts_and_a_new_one_is_dated_anew(env):
    session, plan, ids = env
    police, task = ids[world.POLICE], plan.tasks[0]
    first = F.file_task(session, task.id, police, content=PDF, filename="自查报告.pdf", method="upload",
                        user="clerk", on=dt.date(2024, 7, 20))
    with pytest.raises(DecisionError, match="须说明理由"):
        F.return_filing(session, first.id, reason=" ", user="auditor")
    F.return_filing(session, first.id, reason="缺少突出问题清单", user="auditor", on=dt.date(2024, 7, 22))
    with pytest.raises(DecisionError, match="已于 2024-07-22 由 auditor 退回"):
        F.return_filing(session, first.id, reason="再退一次", user="auditor")
    [s] = [s for s in F.plan_status(session, plan, dt.date(2024, 7, 23), police) if s.task.id == task.id]
    assert (s.state, s.days, s.returned.id, s.text) == ("due", 2, first.id, "未到期（剩 2 天）（已退回）")
    F.file_task(session, task.id, police, content=PDF, filename="自查报告（补正）.pdf", method="upload", user="clerk",
                on=dt.date(2024, 7, 27))
    assert state(session, plan, dt.date(2024, 8, 1), police) == ("filed_late", 2)


def test_todo_lists_the_overdue_first_then_what_is_due_within_the_days(env):
    session, plan, ids = env
    other = ids[OTHER]
    assert [s.task.deliverable for s in F.todo(session, plan, other, dt.date(2024, 7, 10))] == []
    assert [(s.task.deliverable, s.state, s.days) for s in F.todo(session, plan, other, dt.date(2024, 7, 20))] == \
        [("自查报告", "due", 5)]
    assert [(s.task.deliverable, s.state, s.days) for s in F.todo(session, plan, other, dt.date(2024, 11, 28))] == \
        [("自查报告", "late", 126), ("工作总结", "due", 3)]
    assert F.todo(session, None, other, dt.date(2024, 11, 28)) == []


def test_filing_refuses_a_department_not_responsible_and_files_that_are_not_what_they_say(env):
    session, plan, ids = env
    summary = plan.tasks[1]
    report = plan.tasks[0]
    extra = Department(name="将乐县林业局")
    session.add(extra)
    session.flush()
    with pytest.raises(DecisionError, match="责任单位中没有“将乐县林业局”"):
        F.file_task(session, report.id, extra.id, content=PDF, filename="a.pdf", method="upload", user="clerk")
    police = ids[world.POLICE]
    for name, content, message in [("报告.exe", b"MZ", "类型不能报送"), ("报告.pdf", b"", "是空文件"),
                                   ("报告.docx", b"%PDF-1.4", "内容不是 .docx 文件"),
                                   ("报告.pdf", b"%PDF" + b"0" * F.MAX_FILE_BYTES, "超过 20 MB")]:
        with pytest.raises(DecisionError, match=message):
            F.file_task(session, summary.id, police, content=content, filename=name, method="upload", user="clerk")
    filing = F.file_task(session, summary.id, police, content=PDF, filename="C:\\Users\\clerk\\工作总结:定稿.pdf",
                         method="upload", user="clerk", on=dt.date(2024, 11, 30))
    assert filing.filename == "工作总结_定稿.pdf" and filing.size == len(PDF) and len(filing.sha256) == 64


def test_a_task_with_filings_keeps_its_departments_and_cannot_be_deleted(env):
    session, plan, ids = env
    task = plan.tasks[0]
    F.file_task(session, task.id, ids[world.CITY], content=PDF, filename="a.pdf", method="upload", user="clerk")
    with pytest.raises(DecisionError, match=f"{world.CITY}已报送本任务，不能从责任单位中去掉"):
        P.update_task(session, task.id, title=task.title, deliverable="自查报告", deadline=DEADLINE,
                      departments=[world.POLICE])
    with pytest.raises(DecisionError, match="不能改为报送“季度报告”"):
        P.update_task(session, task.id, title=task.title, deliverable="季度报告", deadline=DEADLINE)
    with pytest.raises(DecisionError, match="已有单位报送，不能删除"):
        P.remove_task(session, task.id)
    P.update_task(session, task.id, title="报送自查报告及突出问题清单", deliverable="自查报告",
                  deadline=dt.date(2024, 7, 31), departments=[world.CITY, OTHER], phase_id=task.phase_id)
    assert (task.title, task.deadline, len(task.department_ids)) == ("报送自查报告及突出问题清单", dt.date(2024, 7, 31), 2)
    with pytest.raises(DecisionError, match="阶段“自查”下还有 1 项任务"):
        P.remove_phase(session, task.phase_id)
    P.remove_task(session, plan.tasks[1].id)
    assert session.scalar(select(func.count()).select_from(PlanTask)) == 1
    assert session.scalar(select(func.count()).select_from(Filing)) == 1


def test_without_a_plan_the_setting_still_gives_the_phases(session):
    setting = [{"name": "整改", "start": "2024-06-16", "end": "2024-09-30"},
               {"name": "自查", "start": "2024-05-01", "end": "2024-06-15"}]
    shown = P.phase_views(None, setting)
    assert [p.name for p in shown] == ["自查", "整改"]
    assert [p.state(dt.date(2024, 7, 1)) for p in shown] == ["past", "current"]
