"""GET /assessments (every device in use: its latest annual assessment and when the next is due), GET/POST
/assessments/devices/<id> (the year's evidence and the auditor's keep / relocate / remove assessment)."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from audit.casework import assessments
from audit.registry.models import ASSESSMENT_OUTCOMES, Department

from ..access import DECIDERS, is_decider, roles_required, visible_device
from ..database import apply_decision, get_session
from ..i18n import gettext as _
from ..findings import device_label

bp = Blueprint("assessments", __name__, url_prefix="/assessments")
STATES = ("overdue", "due_soon", "ok", "unknown")


@bp.get("")
def index():
    db = get_session()
    today = dt.date.today()
    department = request.args.get("department", "") if is_decider() else (current_user.department_name or "")
    state = request.args.get("state", "")
    rows = assessments.schedule(db, today, department=department or None)
    counts = {s: sum(r.state == s for r in rows) for s in STATES}
    if state in STATES:
        rows = [r for r in rows if r.state == state]
    departments = db.scalars(select(Department.name).order_by(Department.name)).all() if is_decider() else []
    return render_template("assessments/index.html", rows=rows, counts=counts, state=state, department=department,
                           departments=departments, today=today, STATE_ZH=assessments.STATE_ZH, states=STATES)


def _day(value: str | None) -> dt.date:
    """The day the evidence is read up to (an assessment recorded afterwards, from the file), default today."""
    try:
        return min(dt.date.fromisoformat(value), dt.date.today()) if value else dt.date.today()
    except ValueError:
        return dt.date.today()


@bp.get("/devices/<int:device_id>")
def device(device_id: int):
    db = get_session()
    found = visible_device(db, device_id)
    day = _day(request.args.get("on"))
    return render_template("assessments/device.html", device=found, evidence=assessments.evidence_for(db, found, day),
                           history=assessments.history(db, found.id), outcomes=ASSESSMENT_OUTCOMES, today=day)


@bp.post("/devices/<int:device_id>")
@roles_required(*DECIDERS)
def assess(device_id: int):
    found = visible_device(get_session(), device_id)
    form = request.form
    outcome = form.get("outcome", "")
    day = _day(form.get("on"))
    apply_decision(lambda db: assessments.assess(db, found.id, outcome=outcome, reason=form.get("reason", ""),
                                                 user=current_user.name, on=day),
                   _("已记录 {device} 的年度评估：{outcome}。", device=device_label(found),
                     outcome=_(ASSESSMENT_OUTCOMES.get(outcome, outcome))))
    return redirect(url_for(".device", device_id=found.id), code=303)
