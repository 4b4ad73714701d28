"""GET /ledger, /ledger/<id>; POST /ledger/<id>/advance (with proof files), /attach, /close, /reopen (all through
audit.ledger and audit.casework.attachments)."""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.casework import attachments, ledger
from audit.registry.models import LEDGER_STATUSES, LedgerItem
from audit.registry.models import Department
from audit.registry.models import AuditRun

from ..access import DECIDERS, check_department, is_decider, requested_department, roles_required
from ..attachments import files
from ..database import apply_decision, get_session
from ..findings import device_label
from ..i18n import gettext as _
from ..i18n import term
from ..review.views import allowed_moves

bp = Blueprint("ledger", __name__, url_prefix="/ledger")

SORTS: dict[str, Callable[[LedgerItem], Any]] = {  # the list's sortable columns
    "id": lambda i: i.id,
    "department": lambda i: (i.department, i.id),
    "device": lambda i: (i.device.device_code, i.id),
    "deadline": lambda i: (i.deadline, i.id),
    "status": lambda i: (LEDGER_STATUSES.index(i.status) if i.status in LEDGER_STATUSES else 99, i.id),
}


def matches(item: LedgerItem, text: str) -> bool:
    """The search box: device code, name, road or site, the problem, the measure or the responsible person."""
    fields = (item.device.device_code, item.device.name, item.device.road, item.device.address, item.problem,
              item.measure, item.responsible)
    return any(text in (f or "") for f in fields)


def department_name(db: Session, department_id: int | None) -> str | None:
    """The name of a department the user may see (None: all departments, for auditors)."""
    if department_id is None:
        if not is_decider():  # a department user without a department sees nothing
            abort(404)
        return None
    name = db.scalar(select(Department.name).where(Department.id == department_id))
    if name is None:
        abort(404)
    return name


def departments_by_run(items: list[LedgerItem], found: dict[int, ledger.Recheck]) -> list[tuple[AuditRun, list[str]]]:
    """The runs the items' 复查 rest on (audit.casework.ledger.rechecks), each with the departments of those items."""
    grouped: dict[int, tuple[AuditRun, set[str]]] = {}
    for item in items:
        run = found[item.id].run
        if run is not None:
            grouped.setdefault(run.id, (run, set()))[1].add(item.department)
    return [(run, sorted(names)) for run, names in (grouped[k] for k in sorted(grouped))]


@bp.get("")
def index():
    db = get_session()
    dept_id = requested_department(request.args.get("department"))
    department = department_name(db, dept_id)
    status = request.args.get("status", "")
    status = status if status in LEDGER_STATUSES else ""
    overdue_only = request.args.get("overdue") == "1"
    search = request.args.get("q", "").strip()[:100]
    sort = request.args.get("sort", "department")
    sort = sort if sort in SORTS else "department"
    desc = request.args.get("desc") == "1"
    today = dt.date.today()
    items = ledger.items(db, department=department, status=[status] if status else None)
    overdue = {i.id for i in items if ledger.is_overdue(i, today)}
    if overdue_only:
        items = [i for i in items if i.id in overdue]
    if search:
        items = [i for i in items if matches(i, search)]
    items.sort(key=SORTS[sort], reverse=desc)
    found = ledger.rechecks(db, items)
    departments = (db.execute(select(Department.id, Department.name).order_by(Department.name)).all()
                   if is_decider() else [])
    return render_template("ledger/index.html", items=items, today=today, overdue=overdue,
                           compared={i: r.result for i, r in found.items()},
                           runs=departments_by_run(items, found), statuses=LEDGER_STATUSES, status=status,
                           overdue_only=overdue_only, departments=departments, search=search, sort=sort, desc=desc,
                           department_id=dept_id if is_decider() else None, COMPARISON_ZH=ledger.COMPARISON_ZH)


def _item(item_id: int) -> LedgerItem:
    item = get_session().get(LedgerItem, item_id)
    if item is None:
        abort(404)
    check_department(item.device.department_id)
    return item


@bp.get("/<int:item_id>")
def show(item_id: int):
    db = get_session()
    item = _item(item_id)
    recheck = ledger.rechecks(db, [item])[item.id]
    return render_template("ledger/show.html", item=item, overdue=ledger.is_overdue(item, dt.date.today()),
                           comparison=recheck.result, run=recheck.run,
                           moves=allowed_moves(item), COMPARISON_ZH=ledger.COMPARISON_ZH,
                           observed=ledger.still_observed(db, item))


def _act(item_id: int, action: Callable[[Session], Any], success: str):  # type: ignore[no-untyped-def]
    apply_decision(action, success)
    return redirect(url_for("ledger.show", item_id=item_id), code=303)


def _attach_to(db: Session, item: LedgerItem, given: list[attachments.Upload], event_id: int | None) -> None:
    attachments.attach(db, files.folder(), given, device_id=item.device_id, purpose="整改佐证材料",
                       user=current_user.name, ledger_item_id=item.id, ledger_event_id=event_id,
                       max_bytes=files.max_bytes())


@bp.post("/<int:item_id>/advance")
def advance(item_id: int):
    """A department reports progress on its own items, with its proof (整改佐证材料); auditors may also send an
    item back (核查未通过). The step and its files are recorded together or not at all."""
    item = _item(item_id)
    to_status = request.form.get("to_status", "")
    if to_status not in allowed_moves(item):
        abort(403)
    note = request.form.get("note")
    given = files.uploads()

    def act(db: Session) -> None:
        event = ledger.advance(db, item_id, to_status, user=current_user.name, note=note)
        if given:
            _attach_to(db, item, given, event.id)

    return _act(item_id, act, _("整改台账第 {id} 项（{device}）已改为“{status}”。", id=item_id,
                               device=device_label(item.device), status=term(to_status))
                + (_("附整改佐证材料 {n} 份。", n=len(given)) if given else ""))


@bp.post("/<int:item_id>/attach")
def attach(item_id: int):
    """More proof for an open item, without a change of status."""
    item = _item(item_id)
    if not item.is_open:
        abort(403)
    given = files.uploads()
    return _act(item_id, lambda db: _attach_to(db, item, given, None),
                _("已为整改台账第 {id} 项（{device}）上传整改佐证材料 {n} 份。", id=item_id,
                  device=device_label(item.device), n=len(given)))


@bp.post("/<int:item_id>/close")
@roles_required(*DECIDERS)
def close(item_id: int):
    """销号: the checking auditor, recorded with the evidence seen."""
    item = _item(item_id)
    evidence = request.form.get("evidence", "")
    despite = request.form.get("despite_observed") == "1"
    return _act(item_id, lambda db: ledger.close_item(db, item_id, evidence=evidence, user=current_user.name,
                                                      despite_observed=despite),
                _("整改台账第 {id} 项（{device}）已销号。", id=item_id, device=device_label(item.device)))


@bp.post("/<int:item_id>/reopen")
@roles_required(*DECIDERS)
def reopen(item_id: int):
    """Reopen a closed item: a new event with the reason; the earlier closing stays in the history."""
    item = _item(item_id)
    reason = request.form.get("reason", "")
    return _act(item_id, lambda db: ledger.reopen(db, item_id, reason=reason, user=current_user.name),
                _("整改台账第 {id} 项（{device}）已重新打开，状态为“整改中”。", id=item_id,
                  device=device_label(item.device)))
