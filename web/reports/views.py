"""GET /reports/<kind>: a report generated from the data with its texts in text boxes; POST saves the texts (the
draft), puts the generated texts back, or files the report for a plan task (audit.exports.drafting)."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.casework import filings
from audit.casework.decisions import DecisionError
from audit.casework.plan import get_task
from audit.exports.data import ExportError, Options
from audit.exports.drafting import CASE_CHOICE, DELIVERABLE_KINDS, EDITABLE, build, draft_of, generate_for_filing, save
from audit.exports.letters import KINDS as LETTER_KINDS
from audit.exports.reports import ADDRESSEE, Grid, Heading, Text, unfilled
from audit.exports.typical_case import case_choices
from audit.registry.models import Department, PlanTask

from ..access import is_decider, requested_department, requested_id
from ..database import get_session, writing
from ..i18n import gettext as _
from ..ledger.views import department_name

bp = Blueprint("reports", __name__, url_prefix="/reports")
CASE_KINDS = ("summary", "typical-case")


def _spec(kind: str):  # type: ignore[no-untyped-def]
    if kind not in EDITABLE:
        abort(404)
    spec = EDITABLE[kind]
    if spec.bureau and not is_decider():
        abort(403)
    return spec


def _context(db: Session, kind: str, values: Any) -> tuple[Options, int | None, PlanTask | None]:
    """The report's options from the request: the department (a department user's own), the date, the task."""
    spec = _spec(kind)
    dept_id = None if spec.bureau else requested_department(values.get("department"))
    department = department_name(db, dept_id) if dept_id is not None or not is_decider() else None
    task = None
    task_id = requested_id(values.get("task"))
    if task_id is not None:
        task = db.get(PlanTask, task_id)
        if task is None or DELIVERABLE_KINDS.get(task.deliverable, (None,))[0] != kind:
            abort(404)
    return Options(department=department, as_of=_date(values.get("as_of")) or dt.date.today()), dept_id, task


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@bp.get("/<kind>")
def edit(kind: str):
    db = get_session()
    spec = _spec(kind)
    opts, dept_id, task = _context(db, kind, request.args)
    departments = (db.execute(select(Department.id, Department.name).order_by(Department.name)).all()
                   if is_decider() and not spec.bureau else [])
    error = None
    report = None
    if spec.bureau or opts.department:
        try:
            report = build(db, kind, opts)
        except ExportError as exc:
            error = str(exc)
    saved = draft_of(db, kind, opts) if (spec.bureau or opts.department) else {}
    return render_template("reports/edit.html", kind=kind, spec=spec, report=report, error=error, opts=opts,
                           dept_id=dept_id, task=task, departments=departments, saved=saved,
                           missing=unfilled(report) if report else [], blocks=_shapes(report),
                           ADDRESSEE=ADDRESSEE, cases=case_choices(db, opts.department) if kind in CASE_KINDS else [],
                           case_id=saved.get(CASE_CHOICE), letter_kind=kind if kind in LETTER_KINDS else None)


def _shapes(report: Any) -> list[tuple[str, Any]]:
    """The report's blocks with their shape (heading, text, grid), for the template."""
    if report is None:
        return []
    names = {Heading: "heading", Text: "text", Grid: "grid"}
    return [(names[type(b)], b) for b in report.blocks]


@bp.post("/<kind>")
def submit(kind: str):
    """action=save (keep the texts), reset (back to the generated texts) or file (save, then file for the task)."""
    db = get_session()
    spec = _spec(kind)
    opts, dept_id, task = _context(db, kind, request.form)
    if not spec.bureau and opts.department is None:
        abort(400)
    action = request.form.get("action", "save")
    texts = {k[5:]: v for k, v in request.form.items() if k.startswith("text:")}
    if ADDRESSEE in request.form:
        texts[ADDRESSEE] = request.form[ADDRESSEE]
    case = requested_id(request.form.get("case"))
    if case is not None and case not in {c.finding_id for c in case_choices(db, opts.department)}:
        abort(404)
    args = {"kind": kind, "department": dept_id, "as_of": opts.day.isoformat(), "task": task.id if task else None}
    back = redirect(url_for(".edit", **{k: v for k, v in args.items() if v is not None}), code=303)
    with writing() as db:
        try:
            if action == "reset":
                save(db, kind, opts, {}, user=current_user.name, reset=tuple(draft_of(db, kind, opts)))
            else:
                save(db, kind, opts, texts, user=current_user.name, case_finding_id=case)
            if action == "file":
                if task is None:
                    abort(400)
                filename, content = generate_for_filing(db, task.deliverable, replace(opts, case_finding_id=case))
                filings.file_task(db, get_task(db, task.id).id, dept_id, content=content, filename=filename,
                                  method="generated", user=current_user.name)
            db.commit()
        except (ExportError, DecisionError) as exc:
            db.rollback()
            flash(str(exc), "error")
            return back
    if action == "file":
        flash(_("已报送“{what}”（系统生成并确认，{user}）。", what=task.deliverable, user=current_user.name), "success")
        return redirect(url_for("plan.task", task_id=task.id), code=303)
    flash(_("已恢复为系统生成的文字。") if action == "reset" else _("已保存草稿。"), "success")
    return back
