"""GET /review; POST problem reviews (one or in bulk) and device decisions (through audit). Ledger: web/ledger."""
from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from typing import Any, Callable

from flask import Blueprint, abort, flash, redirect, render_template, request
from flask_login import current_user
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from audit.casework import decisions, ledger, problems, register, responses
from audit.exports.letters import KINDS as LETTER_KINDS
from audit.registry.models import (AuditRun, Department, Device, Finding, LedgerItem, Problem, ProblemResponse,
                                   ProblemReview)
from audit.rules.profiles import profile_title
from audit.registry.ids import record_id

from ..access import DECIDERS, roles_required, visible_device
from ..auth.views import safe_next
from ..database import apply_decision, get_session
from ..devices.filters import DeviceFilter
from ..findings import (SEVERITIES, cannot_assess_condition, current_condition, device_label, problem_label,
                        rule_titles)
from ..i18n import gettext as _

bp = Blueprint("review", __name__, url_prefix="/review")

DEVICES_PER_PAGE = 20
# Review queue states: awaiting review (new, or evidence changed since the verdict), departments' answers awaiting
# the auditor, verdicts not yet decided on, decided, resolved by a later run, and the requests for data
# (cannot-assess findings, never reviewed).
REVIEW_STATES = ("pending", "responses", "confirmed", "dismissed", "decided", "resolved", "data")
SORTS = {  # the order of the devices listed
    "department": (Department.name, Device.device_code),
    "code": (Device.device_code,),
    "name": (Device.name.asc().nulls_last(), Device.device_code),
    "road": (Device.road.asc().nulls_last(), Device.device_code),
}
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


def answered_ids() -> Any:
    """Problems with a department's answer waiting for the auditor."""
    return select(ProblemResponse.problem_id).where(ProblemResponse.status == "pending")


def _state_condition(state: str) -> ColumnElement[bool]:
    open_ = Problem.resolved_on.is_(None)
    if state == "responses":
        return and_(open_, Problem.id.in_(answered_ids()))
    undecided = and_(open_, Problem.decision_id.is_(None))
    if state == "pending":
        return and_(undecided, or_(Problem.verdict.is_(None), Problem.stale.is_(True)))
    if state in ("confirmed", "dismissed"):
        return and_(undecided, Problem.verdict == state, Problem.stale.is_(False))
    if state == "decided":
        return and_(open_, Problem.decision_id.isnot(None))
    return Problem.resolved_on.isnot(None)


@bp.get("")
@roles_required(*DECIDERS)
def index():
    db = get_session()
    args = request.args
    department = args.get("department", "")
    rule = args.get("rule", "").upper()
    severity = args.get("severity", "")
    state = args.get("state", "pending")
    state = state if state in REVIEW_STATES else "pending"
    sort = args.get("sort", "department")
    sort = sort if sort in SORTS else "department"
    search = DeviceFilter(q=args.get("q", "").strip()[:100], pending=args.get("pending") == "1")
    unassessed = args.get("unassessed") == "1"
    if state == "data":
        conditions = [Finding.device_id.isnot(None), current_condition(db), cannot_assess_condition()]
        column = Finding.device_id
        for name, value in (("department", department), ("rule", rule)):
            if value:
                conditions.append(getattr(Finding, name) == value)
    else:
        conditions = [_state_condition(state)]
        column = Problem.device_id
        if department:
            conditions.append(Problem.department == department)
        if rule:
            conditions.append(Problem.rule == rule)
        if severity in SEVERITIES:
            conditions.append(Problem.severity == severity)
    device_ids = select(column).where(*conditions).distinct()
    listed = search.apply(select(Device).join(Department).where(Device.id.in_(device_ids)))
    if unassessed:  # devices the current run also could not fully assess (data to supply)
        listed = listed.where(Device.id.in_(select(Finding.device_id).where(current_condition(db),
                                                                            cannot_assess_condition())))
    total = db.scalar(select(func.count()).select_from(listed.subquery())) or 0
    pages = max(1, math.ceil(total / DEVICES_PER_PAGE))
    page = min(max(1, args.get("page", 1, type=int) or 1), pages)
    devices = list(db.scalars(listed.order_by(*SORTS[sort]).limit(DEVICES_PER_PAGE)
                              .offset((page - 1) * DEVICES_PER_PAGE)))
    shown = [d.id for d in devices]
    found: dict[int, list[Any]] = defaultdict(list)
    if state == "data":
        for f in db.scalars(select(Finding).where(Finding.device_id.in_(shown), current_condition(db),
                                                  cannot_assess_condition()).order_by(Finding.rule, Finding.id)):
            found[f.device_id].append(f)
    else:
        # Every open problem of the shown devices (not only the filtered ones), to decide with the full picture.
        for p in problems.open_problems(db, device_ids=shown) if state != "resolved" else db.scalars(
                select(Problem).where(Problem.device_id.in_(shown), *conditions).order_by(Problem.rule)):
            found[p.device_id].append(p)
    departments = db.scalars(select(Department.name).order_by(Department.name)).all()
    run = db.scalar(select(AuditRun).order_by(AuditRun.id.desc()).limit(1))
    filters = {k: v for k, v in {"department": department, "rule": rule, "severity": severity, "state": state,
                                 "q": search.q, "pending": "1" if search.pending else "",
                                 "unassessed": "1" if unassessed else "",
                                 "sort": sort if sort != "department" else ""}.items() if v}
    # The proposals to suspend (拟停用), on the queue's first tab when it is not narrowed to a rule or severity.
    proposed = problems.suspension_proposals(db, department or None) if state == "pending" and not (
        rule or severity) else []
    counts = problems.counts(db, department or None)
    answered = select(func.count(ProblemResponse.id)).where(ProblemResponse.status == "pending")
    counts["responses"] = db.scalar(answered.where(ProblemResponse.department == department) if department
                                    else answered) or 0
    shown_problems = [p.id for ps in found.values() for p in ps if isinstance(p, Problem)]
    answers = responses.responses_of(db, shown_problems)
    reviews = defaultdict(list)
    for r in db.scalars(select(ProblemReview).where(ProblemReview.problem_id.in_(shown_problems))
                        .order_by(ProblemReview.id)) if shown_problems else []:
        reviews[r.problem_id].append(r)
    threads = {i: responses.thread(db, i, reviews[i], answers.get(i, [])) for i in shown_problems}
    pending = {i: r for i in shown_problems for r in answers.get(i, []) if r.status == "pending"}
    cited = register.documents_citing(db, shown_problems)
    return render_template("review/index.html", devices=devices, found=found, total=total, page=page, pages=pages,
                           cited=cited, letter_kinds=LETTER_KINDS,
                           departments=departments, titles=rule_titles(), severities=SEVERITIES, filters=filters,
                           state=state, states=REVIEW_STATES, run=run, proposed=proposed, counts=counts,
                           threads=threads, pending=pending,
                           run_profile=profile_title(run.profile) if run else None)


def _act(action: Callable[[Session], Any], success: str):  # type: ignore[no-untyped-def]
    apply_decision(action, success)
    return redirect(safe_next(request.form.get("next")), code=303)


def _problem_ids() -> list[int]:
    return [i for v in request.form.getlist("problem") if (i := record_id(v)) is not None]


def _names(db: Session, ids: list[int]) -> str:
    rows = list(db.scalars(select(Problem).where(Problem.id.in_(ids))
                           .order_by(Problem.device_code, Problem.rule))) if ids else []
    text = "；".join(problem_label(p) for p in rows[:5])
    return text + (_(" 等 {n} 个问题", n=len(rows)) if len(rows) > 5 else "")


@bp.post("/problems/<int:problem_id>")
@roles_required(*DECIDERS)
def review_problem(problem_id: int):
    problem = get_session().get(Problem, problem_id)
    if problem is None:
        abort(404)
    confirm = request.form.get("decision") == "confirm"
    reason = request.form.get("reason", "")
    what = problem_label(problem)
    return _act(lambda db: problems.review_problem(db, problem_id, confirm=confirm, reason=reason,
                                                   user=current_user.name),
                _("已确认问题：{what}。", what=what) if confirm else _("已排除问题：{what}。", what=what))


@bp.post("/problems")
@roles_required(*DECIDERS)
def review_many():
    ids = _problem_ids()
    confirm = request.form.get("decision") == "confirm"
    reason = request.form.get("reason", "")
    names = _names(get_session(), ids)
    return _act(lambda db: problems.review_problems(db, ids, confirm=confirm, reason=reason, user=current_user.name),
                _("已确认 {n} 个问题：{names}。", n=len(ids), names=names) if confirm
                else _("已排除 {n} 个问题：{names}。", n=len(ids), names=names))


@bp.post("/suspend-recommended")
@roles_required(*DECIDERS)
def suspend_recommended():
    department = request.form.get("department") or None
    reason = request.form.get("reason", "")

    def act(db: Session) -> Any:
        return decisions.suspend_recommended(db, problems.suspension_proposals(db, department), reason=reason,
                                             user=current_user.name)

    count = len(problems.suspension_proposals(get_session(), department))
    return _act(act, _("已停用审查建议停用的 {n} 台设备。", n=count))


@bp.post("/devices/<int:device_id>/suspend")
@roles_required(*DECIDERS)
def suspend(device_id: int):
    device = visible_device(get_session(), device_id)
    form = request.form
    return _act(lambda db: decisions.suspend(db, device.id, reason=form.get("reason", ""), user=current_user.name,
                                             problem_ids=_problem_ids()),
                _("已停用设备 {device}。", device=device_label(device)))


@bp.post("/devices/<int:device_id>/rectify")
@roles_required(*DECIDERS)
def rectify(device_id: int):
    device = visible_device(get_session(), device_id)
    form = request.form
    try:
        deadline = dt.date.fromisoformat(form.get("deadline", ""))
    except ValueError:
        flash(_("整改时限须为日期，如 2024-07-31。"), "error")
        return redirect(safe_next(form.get("next")), code=303)
    return _act(lambda db: decisions.rectify(db, device.id, measure=form.get("measure", ""),
                                             requirement=form.get("requirement", ""), deadline=deadline,
                                             responsible=form.get("responsible", ""), user=current_user.name,
                                             problem_ids=_problem_ids(), problem=form.get("problem_text") or None),
                _("已将设备 {device} 列入整改台账。", device=device_label(device)))


@bp.post("/devices/<int:device_id>/restore")
@roles_required(*DECIDERS)
def restore(device_id: int):
    device = visible_device(get_session(), device_id)
    return _act(lambda db: decisions.restore(db, device.id, user=current_user.name,
                                             reason=request.form.get("reason", "")),
                _("设备 {device} 已恢复使用。", device=device_label(device)))


@bp.post("/devices/<int:device_id>/remove")
@roles_required(*DECIDERS)
def remove(device_id: int):
    device = visible_device(get_session(), device_id)
    return _act(lambda db: decisions.remove(db, device.id, user=current_user.name,
                                            reason=request.form.get("reason", ""), problem_ids=_problem_ids()),
                _("设备 {device} 已登记拆除。", device=device_label(device)))


@bp.post("/devices/<int:device_id>/keep")
@roles_required(*DECIDERS)
def keep(device_id: int):
    device = visible_device(get_session(), device_id)
    form = request.form
    return _act(lambda db: decisions.keep(db, device.id, user=current_user.name, reason=form.get("reason", ""),
                                          problem_ids=_problem_ids()),
                _("已记录保留设备 {device} 的决定。", device=device_label(device)))
