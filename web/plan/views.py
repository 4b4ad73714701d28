"""GET /plan (the plan and where each department stands), the plan's forms (auditors and admins), a task's page
with its filings, filing (upload, or the generated document), returning a filing, downloading a filed file."""
from __future__ import annotations

import datetime as dt
import io
from typing import Any, Callable

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.casework import filings, plan
from audit.casework.decisions import DecisionError
from audit.exports.data import ExportError, Options
from audit.exports.drafting import DELIVERABLE_KINDS, EDITABLE, generate_for_filing
from audit.registry.models import DELIVERABLES, Department, Filing, PlanPhase, PlanTask, SupervisionPlan
from audit.registry.ids import record_id

from ..access import DECIDERS, check_department, is_decider, requested_id, roles_required
from ..database import apply_decision, get_session, writing
from ..i18n import gettext as _

bp = Blueprint("plan", __name__, url_prefix="/plan")


def _departments(db: Session) -> list[Department]:
    return list(db.scalars(select(Department).order_by(Department.name)))


def _back(plan_id: int | None = None):  # type: ignore[no-untyped-def]
    return redirect(url_for(".index", plan=plan_id) if plan_id else url_for(".index"), code=303)


@bp.get("")
def index():
    db = get_session()
    chosen = requested_id(request.args.get("plan"))
    shown = db.get(SupervisionPlan, chosen) if chosen else plan.current_plan(db)
    if chosen and shown is None:
        abort(404)
    today = dt.date.today()
    own = None if is_decider() else current_user.department_id
    statuses = filings.plan_status(db, shown, today, own) if shown else []
    by_task: dict[int, dict[int, Any]] = {}
    for s in statuses:
        by_task.setdefault(s.task.id, {})[s.department.id] = s
    return render_template("plan/index.html", plan=shown, plans=plan.plans(db), today=today, by_task=by_task,
                           standing=filings.by_department(statuses), departments=_departments(db),
                           deliverables=DELIVERABLES, todo=filings.todo(db, shown, own, today) if own and shown else [])


def _act(action: Callable[[Session], Any], success: str, back: Any) -> Any:
    apply_decision(action, success)
    return back


def _form_departments() -> list[str] | None:
    """The 责任单位 chosen in a task form (department ids) as names, or None for every department. An id that names
    no department (deleted since the form was shown, or made up) stays in the list, for the plan to refuse."""
    if request.form.get("all_departments") == "1":
        return None
    chosen = [(v, record_id(v)) for v in request.form.getlist("department") if v]
    ids = [i for _v, i in chosen if i is not None]
    names = dict(get_session().execute(select(Department.id, Department.name).where(Department.id.in_(ids))).all())
    return [names.get(i) or _("编号为 {id} 的单位", id=v) for v, i in chosen] or None


@bp.post("")
@roles_required(*DECIDERS)
def create():
    form = request.form
    created: list[int] = []

    def act(db: Session) -> None:
        created.append(plan.create_plan(db, title=form.get("title", ""), issuer=form.get("issuer", ""),
                                        doc_no=form.get("doc_no"), doc_prefix=form.get("doc_prefix"),
                                        user=current_user.name).id)

    apply_decision(act, _("已新建工作方案“{title}”，请添加阶段和任务。", title=form.get("title", "").strip()))
    return _back(created[0] if created else None)


@bp.post("/<int:plan_id>")
@roles_required(*DECIDERS)
def update(plan_id: int):
    form = request.form
    return _act(lambda db: plan.update_plan(db, plan_id, title=form.get("title", ""), issuer=form.get("issuer", ""),
                                            doc_no=form.get("doc_no"), doc_prefix=form.get("doc_prefix")),
                _("已保存工作方案。"), _back(plan_id))


@bp.post("/<int:plan_id>/phases")
@roles_required(*DECIDERS)
def add_phase(plan_id: int):
    form = request.form
    return _act(lambda db: plan.add_phase(db, plan_id, name=form.get("name", ""), start=form.get("start"),
                                          end=form.get("end")),
                _("已添加阶段“{name}”。", name=form.get("name", "").strip()), _back(plan_id))


@bp.post("/phases/<int:phase_id>/delete")
@roles_required(*DECIDERS)
def remove_phase(phase_id: int):
    phase = get_session().get(PlanPhase, phase_id)
    if phase is None:
        abort(404)
    return _act(lambda db: plan.remove_phase(db, phase_id), _("已删除阶段“{name}”。", name=phase.name),
                _back(phase.plan_id))


def _task_fields() -> dict[str, Any]:
    form = request.form
    return {"title": form.get("title", ""), "deliverable": form.get("deliverable", ""),
            "deadline": form.get("deadline"), "departments": _form_departments(),
            "phase_id": form.get("phase_id") or None, "requirement": form.get("requirement")}


@bp.post("/<int:plan_id>/tasks")
@roles_required(*DECIDERS)
def add_task(plan_id: int):
    fields = _task_fields()
    return _act(lambda db: plan.add_task(db, plan_id, **fields), _("已添加任务。"), _back(plan_id))


def _task(task_id: int) -> PlanTask:
    task = get_session().get(PlanTask, task_id)
    if task is None:
        abort(404)
    if not is_decider() and current_user.department_id not in {d.id for d in plan.responsible(get_session(), task)}:
        abort(404)
    return task


@bp.post("/tasks/<int:task_id>")
@roles_required(*DECIDERS)
def update_task(task_id: int):
    task = _task(task_id)
    fields = _task_fields()
    return _act(lambda db: plan.update_task(db, task_id, **fields), _("已保存任务。"),
                redirect(url_for(".task", task_id=task.id), code=303))


@bp.post("/tasks/<int:task_id>/delete")
@roles_required(*DECIDERS)
def remove_task(task_id: int):
    task = _task(task_id)
    return _act(lambda db: plan.remove_task(db, task_id), _("已删除任务。"), _back(task.plan_id))


@bp.get("/tasks/<int:task_id>")
def task(task_id: int):
    db = get_session()
    chosen = _task(task_id)
    today = dt.date.today()
    found = filings.filings_of(db, [chosen.id])
    departments = [d for d in plan.responsible(db, chosen) if is_decider() or d.id == current_user.department_id]
    rows = [(filings.standing(chosen, d, found.get((chosen.id, d.id), []), today), found.get((chosen.id, d.id), []))
            for d in departments]
    kind = DELIVERABLE_KINDS.get(chosen.deliverable, (None, None))[0]
    return render_template("plan/task.html", task=chosen, rows=rows, today=today, report_kind=kind,
                           editable=kind in EDITABLE, generated=kind is not None,
                           responsible=plan.responsible_text(db, chosen),
                           phases=db.get_one(SupervisionPlan, chosen.plan_id).phases, departments=_departments(db),
                           deliverables=DELIVERABLES, suffixes=", ".join(filings.UPLOAD_SUFFIXES))


def _filing_department() -> int:
    """The department a filing is for: a department user's own; an auditor names it (filing received on paper)."""
    if not is_decider():
        return current_user.department_id
    dept_id = record_id(request.form.get("department"))
    if dept_id is None:
        abort(400)
    return dept_id


@bp.post("/tasks/<int:task_id>/file")
def file(task_id: int):
    """File a task: an uploaded file, or (method=generated) the document camaudit writes from the department's
    data with the texts as edited."""
    chosen = _task(task_id)
    dept_id = _filing_department()
    check_department(dept_id)
    back = redirect(url_for(".task", task_id=chosen.id), code=303)
    note = request.form.get("note")
    if request.form.get("method") == "generated":
        db = get_session()
        name = db.scalar(select(Department.name).where(Department.id == dept_id))
        as_of = _date(request.form.get("as_of"))
        with writing() as db:
            try:
                filename, content = generate_for_filing(db, chosen.deliverable,
                                                        Options(department=name, as_of=as_of or dt.date.today()))
                filings.file_task(db, chosen.id, dept_id, content=content, filename=filename, method="generated",
                                  user=current_user.name, note=note)
                db.commit()
            except (ExportError, DecisionError) as exc:
                db.rollback()
                flash(str(exc), "error")
                return back
        flash(_("已报送“{what}”（系统生成，{user}，{day}）。", what=chosen.deliverable, user=current_user.name,
                day=dt.date.today().isoformat()), "success")
        return back
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("请选择要报送的文件。"), "error")
        return back
    content = upload.read()
    return _act(lambda db: filings.file_task(db, chosen.id, dept_id, content=content, filename=upload.filename,
                                             method="upload", user=current_user.name, note=note),
                _("已报送“{what}”（上传文件 {name}）。", what=chosen.deliverable, name=filings.clean_filename(upload.filename)),
                back)


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _filing(filing_id: int) -> Filing:
    found = get_session().get(Filing, filing_id)
    if found is None:
        abort(404)
    check_department(found.department_id)
    return found


@bp.post("/filings/<int:filing_id>/return")
@roles_required(*DECIDERS)
def return_filing(filing_id: int):
    found = _filing(filing_id)
    reason = request.form.get("reason", "")
    return _act(lambda db: filings.return_filing(db, filing_id, reason=reason, user=current_user.name),
                _("已退回{department}报送的“{what}”。", department=found.department.name, what=found.task.deliverable),
                redirect(url_for(".task", task_id=found.task_id), code=303))


@bp.get("/filings/<int:filing_id>/file")
def download(filing_id: int):
    found = _filing(filing_id)
    return send_file(io.BytesIO(found.content), as_attachment=True, download_name=found.filename,
                     mimetype="application/octet-stream")
