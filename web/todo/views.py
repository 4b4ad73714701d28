"""GET /todo: a department's to-do list (plan tasks, ledger items, problems to answer, data to supply); an auditor
sees every department's counts and may open one's list."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, render_template, request
from flask_login import current_user
from sqlalchemy import select

from audit.casework import filings
from audit.casework.plan import current_plan
from audit.casework.todo import TodoCounts, department_todo, todo_counts
from audit.exports import ExportError
from audit.exports import data_requests
from audit.exports.data import Options
from audit.registry.models import Department

from ..access import is_decider, requested_department
from ..database import get_session
from ..findings import rule_titles

bp = Blueprint("todo", __name__, url_prefix="/todo")


def supply(db, department: str) -> list[list[object]]:  # type: ignore[no-untyped-def]
    """The department's requests for data (补报资料清单 rows: 序号, 单位, 资料, 事项, 设备, 台数); none before any run."""
    try:
        return data_requests.build(db, Options(department=department)).rows
    except ExportError:
        return []


@bp.get("")
def index():
    db = get_session()
    today = dt.date.today()
    dept_id = requested_department(request.args.get("department"))
    if dept_id is None and not is_decider():  # a department user without a department sees nothing
        abort(404)
    plan = current_plan(db)
    if dept_id is None:  # an auditor with no department chosen: every department at a glance
        departments = list(db.scalars(select(Department).order_by(Department.name)))
        counts = todo_counts(db, today)
        requests = data_requests.request_counts(db, [d.name for d in departments])
        rows = []
        for dept in departments:
            late = sum(1 for s in filings.todo(db, plan, dept.id, today) if s.state == "late")
            rows.append((dept, counts.get(dept.name, TodoCounts()), requests[dept.name], late))
        return render_template("todo/overview.html", rows=rows, today=today)
    department = db.get(Department, dept_id)
    if department is None or (not is_decider() and dept_id != current_user.department_id):
        abort(404)
    return render_template("todo/index.html", department=department, todo=department_todo(db, department.name, today),
                           tasks=filings.todo(db, plan, department.id, today), supply=supply(db, department.name),
                           today=today, titles=rule_titles())
