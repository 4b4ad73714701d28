"""总览: open findings counted as the user may see them, overdue ledger items, the supervision phase."""
from __future__ import annotations

import datetime as dt

from web.overview.views import phases

from .support import DEPT_A, DEPT_B, client_for, make_app, populate


def test_phases_mark_the_current_one():
    config = [{"name": "自查", "start": "2024-05-01", "end": "2024-06-15"},
              {"name": "整改", "start": "2024-06-16", "end": "2024-09-30"},
              {"name": "总结", "start": "2024-10-01", "end": "2024-10-31"}]
    shown = phases(None, config, dt.date(2024, 7, 1))
    assert [p["current"] for p in shown] == [False, True, False]
    assert shown[0]["end"] == dt.date(2024, 6, 15)


def test_counts_follow_the_users_departments(shared_world):
    auditor = client_for(shared_world.app, "auditor").get("/").text
    clerk = client_for(shared_world.app, "dept_a").get("/").text
    assert DEPT_A in auditor and DEPT_B in auditor
    assert DEPT_A in clerk and DEPT_B not in clerk
    assert 'id="run-audit"' in auditor and 'id="run-audit"' not in clerk


def test_overdue_items_and_phases_are_shown(tmp_path):
    today = dt.date.today()
    app = make_app(tmp_path, SUPERVISION_PHASES=[
        {"name": "整改", "start": (today - dt.timedelta(days=5)).isoformat(),
         "end": (today + dt.timedelta(days=5)).isoformat()}])
    populate(app, tmp_path)  # its ledger item's deadline is 2024-07-30: overdue now
    page = client_for(app, "dept_b").get("/").text
    overdue = page.split('id="overdue"')[1].split("</section>")[0]
    assert "JB-001" in overdue and "2024-07-30" in overdue
    assert '<tr class="phase current"><td>整改</td>' in page
    assert "JB-001" not in client_for(app, "dept_a").get("/").text.split('id="overdue"')[1].split("</section>")[0]
