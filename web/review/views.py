"""GET /review; POST findings reviews and device decisions (through audit). Ledger steps: web/ledger."""
from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from typing import Any, Callable

from flask import Blueprint, abort, flash, redirect, render_template, request
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit.casework import decisions, ledger
from audit.registry.models import LedgerItem
from audit.registry.models import Department, Device
from audit.registry.models import AuditRun, Finding

from ..access import DECIDERS, check_department, parse_id, roles_required
from ..auth.views import safe_next
from ..database import apply_decision, get_session
from ..findings import SEVERITIES, current_condition, dismissed_ids, rule_titles
from ..i18n import gettext as _

bp = Blueprint("review", __name__, url_prefix="/review")

DEVICES_PER_PAGE = 20
REVIEW_STATES = ("unreviewed", "confirmed", "dismissed")
# Ledger steps a department takes itself; going back and closing are the checker's (auditor's).
DEPARTMENT_MOVES = {"待整改": ("整改中", "已整改待核查"), "整改中": ("已整改待核查",)}


def allowed_moves(item: LedgerItem) -> tuple[str, ...]:
    if item.status == decisions.CLOSED:
        return ()
    if current_user.role in DECIDERS:
        return ledger.TRANSITIONS.get(item.status, ())
    return DEPARTMENT_MOVES.get(item.status, ())


@bp.app_context_processor
def ledger_helpers() -> dict[str, Any]:
    return {"allowed_moves": allowed_moves, "CLOSED": decisions.CLOSED}


def _reviewed(state: str):  # type: ignore[no-untyped-def]
    latest = select(func.max(decisions.FindingReview.id)).group_by(decisions.FindingReview.finding_id)
    if state == "dismissed":
        return Finding.id.in_(dismissed_ids())
    reviewed = select(decisions.FindingReview.finding_id).where(decisions.FindingReview.id.in_(latest))
    if state == "confirmed":
        return Finding.id.in_(reviewed.where(decisions.FindingReview.status == "confirmed"))
    return Finding.id.not_in(reviewed)


@bp.get("")
@roles_required(*DECIDERS)
def index():
    db = get_session()
    args = request.args
    department = args.get("department", "")
    rule = args.get("rule", "").upper()
    severity = args.get("severity", "")
    state = args.get("state", "unreviewed")
    state = state if state in REVIEW_STATES else "unreviewed"
    conditions = [Finding.device_id.isnot(None), current_condition(db), _reviewed(state)]
    if department:
        conditions.append(Finding.department == department)
    if rule:
        conditions.append(Finding.rule == rule)
    if severity in SEVERITIES:
        conditions.append(Finding.severity == severity)
    device_ids = select(Finding.device_id).where(*conditions).distinct()
    total = db.scalar(select(func.count()).select_from(device_ids.subquery())) or 0
    pages = max(1, math.ceil(total / DEVICES_PER_PAGE))
    page = min(max(1, args.get("page", 1, type=int) or 1), pages)
    devices = list(db.scalars(select(Device).where(Device.id.in_(device_ids))
                              .order_by(Device.department_id, Device.device_code)
                              .limit(DEVICES_PER_PAGE).offset((page - 1) * DEVICES_PER_PAGE)))
    # All current findings of the shown devices (not only the filtered ones), to decide with the full picture.
    found: dict[int, list[Finding]] = defaultdict(list)
    for f in db.scalars(select(Finding).where(Finding.device_id.in_([d.id for d in devices]), current_condition(db))
                        .order_by(Finding.rule, Finding.id)):
        found[f.device_id].append(f)
    all_ids = [f.id for fs in found.values() for f in fs]
    departments = db.scalars(select(Department.name).order_by(Department.name)).all()
    run = db.scalar(select(AuditRun).order_by(AuditRun.id.desc()).limit(1))
    filters = {k: v for k, v in {"department": department, "rule": rule, "severity": severity,
                                 "state": state}.items() if v}
    return render_template("review/index.html", devices=devices, found=found,
                           reviews=decisions.latest_reviews(db, all_ids), total=total, page=page, pages=pages,
                           departments=departments, titles=rule_titles(), severities=SEVERITIES, filters=filters,
                           state=state, states=REVIEW_STATES, run=run)


def _act(action: Callable[[Session], Any], success: str):  # type: ignore[no-untyped-def]
    apply_decision(action, success)
    return redirect(safe_next(request.form.get("next")), code=303)


def _device(device_id: int) -> Device:
    device = get_session().get(Device, device_id)
    if device is None:
        abort(404)
    check_department(device.department_id)
    return device


def _finding_ids() -> list[int]:
    return [i for v in request.form.getlist("finding") if (i := parse_id(v)) is not None]


@bp.post("/findings/<int:finding_id>")
@roles_required(*DECIDERS)
def review_finding(finding_id: int):
    finding = get_session().get(Finding, finding_id)
    if finding is None:
        abort(404)
    confirm = request.form.get("decision") == "confirm"
    reason = request.form.get("reason", "")
    return _act(lambda db: decisions.review_finding(db, finding_id, confirm=confirm, reason=reason,
                                                    user=current_user.name),
                _("已确认问题 {id}。", id=finding_id) if confirm else _("已排除问题 {id}。", id=finding_id))


@bp.post("/devices/<int:device_id>/suspend")
@roles_required(*DECIDERS)
def suspend(device_id: int):
    device = _device(device_id)
    form = request.form
    return _act(lambda db: decisions.suspend(db, device.id, reason=form.get("reason", ""), user=current_user.name,
                                             finding_ids=_finding_ids()),
                _("已停用设备 {code}。", code=device.device_code))


@bp.post("/devices/<int:device_id>/rectify")
@roles_required(*DECIDERS)
def rectify(device_id: int):
    device = _device(device_id)
    form = request.form
    try:
        deadline = dt.date.fromisoformat(form.get("deadline", ""))
    except ValueError:
        flash(_("整改时限须为日期，如 2024-07-31。"), "error")
        return redirect(safe_next(form.get("next")), code=303)
    return _act(lambda db: decisions.rectify(db, device.id, measure=form.get("measure", ""),
                                             requirement=form.get("requirement", ""), deadline=deadline,
                                             responsible=form.get("responsible", ""), user=current_user.name,
                                             finding_ids=_finding_ids(), problem=form.get("problem") or None),
                _("已将设备 {code} 列入整改台账。", code=device.device_code))


@bp.post("/devices/<int:device_id>/keep")
@roles_required(*DECIDERS)
def keep(device_id: int):
    device = _device(device_id)
    form = request.form
    return _act(lambda db: decisions.keep(db, device.id, user=current_user.name, reason=form.get("reason", ""),
                                          finding_ids=_finding_ids()),
                _("已记录保留设备 {code} 的决定。", code=device.device_code))

