"""The to-do overview's counts (every department at once, from columns) are the sizes of each department's own
to-do list and 补报资料清单, in every state a problem or an item can be in."""
from __future__ import annotations

import datetime as dt

import pytest

from audit.casework import decisions as D
from audit.casework import ledger as L
from audit.casework import responses as R
from audit.casework.todo import TodoCounts, department_todo, todo_counts
from audit.exports import data_requests
from audit.exports.data import ExportError, Options
from tests.audit.exports import world

POLICE, CITY = world.POLICE, world.CITY


def agreed(session, today: dt.date) -> dict[str, TodoCounts]:
    """The overview's counts, checked against each department's list."""
    counts = todo_counts(session, today)
    for name in (POLICE, CITY):
        todo = department_todo(session, name, today)
        assert counts.get(name, TodoCounts()) == TodoCounts(len(todo.to_answer), len(todo.answered), len(todo.items),
                                                            todo.overdue, len(todo.waiting_check)), name
    return counts


def requests_agree(session) -> dict[str, int]:
    """The overview's counts of what to supply, checked against each department's list (none before any run)."""
    counts = data_requests.request_counts(session, [POLICE, CITY])
    for name in (POLICE, CITY):
        try:
            rows = len(data_requests.build(session, Options(department=name)).rows)
        except ExportError:
            rows = 0
        assert counts[name] == rows, name
    return counts


@pytest.fixture
def env(session):
    return session, world.build(session)


def test_counts_are_the_sizes_of_each_department_s_list_in_every_state(env):
    session, devices = env
    today = dt.date(2024, 9, 1)
    assert agreed(session, today) == {}  # no run yet: nothing to do anywhere
    world.run(session)
    assert agreed(session, today)[POLICE] == TodoCounts(to_answer=2)
    sgn, rev = world.problem(session, "JL-002", "SGN01"), world.problem(session, "JL-001", "REV01")
    pending = R.respond(session, sgn.id, kind="说明", text="标识已经设置好了", user="clerk", department=POLICE)
    _, late = D.rectify(session, devices["JL-001"].id, measure="补办审核", requirement="取得意见书",
                        deadline=dt.date(2024, 8, 15), responsible="李四", user="auditor", problem_ids=[rev.id],
                        on=dt.date(2024, 7, 1))  # being rectified: the ledger item is the answer
    D.rectify(session, devices["CG-002"].id, measure="设置标识", requirement="设置", deadline=today,
              responsible="王五", user="auditor", on=dt.date(2024, 7, 1), problem="标识不明显")  # due today
    _, checked = D.rectify(session, devices["JL-003"].id, measure="核实", requirement="核实",
                           deadline=dt.date(2024, 8, 20), responsible="李四", user="auditor", on=dt.date(2024, 7, 1),
                           problem="位置待核实")
    L.advance(session, checked.id, "已整改待核查", user="clerk", note="已核实")
    session.commit()
    counts = agreed(session, today)
    assert counts[POLICE] == TodoCounts(to_answer=0, answered=1, items=1, overdue=1, waiting_check=1)
    assert counts[CITY] == TodoCounts(items=1, overdue=0)
    assert agreed(session, today + dt.timedelta(days=1))[CITY].overdue == 1  # the day after the deadline
    R.reject(session, pending.id, reason="未见照片", user="auditor")
    L.close_item(session, checked.id, evidence="现场照片", user="auditor", on=today)
    session.commit()
    assert agreed(session, today)[POLICE] == TodoCounts(to_answer=1, items=1, overdue=1)  # back, with the reason
    again = R.respond(session, sgn.id, kind="申辩", text="现场有标识", user="clerk", department=POLICE)
    R.accept(session, again.id, reason="照片可见", user="auditor")
    session.commit()
    assert agreed(session, today)[POLICE] == TodoCounts(items=1, overdue=1)  # dismissed: nothing to answer
    world.problem(session, "JL-002", "SGN01").stale = True  # the dismissal sent back by changed evidence
    session.commit()
    assert agreed(session, today)[POLICE] == TodoCounts(to_answer=1, items=1, overdue=1)


def test_request_counts_are_the_rows_of_each_department_s_list(env):
    session, _ = env
    assert requests_agree(session) == {POLICE: 0, CITY: 0}  # before any run
    world.run(session)
    counts = requests_agree(session)
    assert counts[POLICE] >= 1
    world.run(session, department=CITY)  # a later run of one department: its own current run
    assert requests_agree(session) == counts
