"""GET /letters (the register), /letters/new (a document's problems, deadline and addressee), /letters/preview
(the unnumbered file), POST /letters/issue (numbered and registered), GET /letters/<id>/file (as issued)."""
from __future__ import annotations

import datetime as dt
import io
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.casework import register
from audit.casework.decisions import DecisionError
from audit.casework.plan import current_plan
from audit.exports.data import ExportError
from audit.exports.letters import KINDS, default_problems, issue, preview, request as letter_request
from audit.registry.models import Department, IssuedDocument, Problem
from audit.registry.ids import record_id

from ..access import DECIDERS, requested_id, roles_required
from ..database import get_session, writing
from ..i18n import gettext as _

bp = Blueprint("letters", __name__, url_prefix="/letters")
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
DEFAULT_DAYS = {"supervise": 15, "advice": 30, "opinion": 30, "decision": 15}


@bp.before_request
@roles_required(*DECIDERS)
def _deciders_only() -> None:
    return None


def _departments(db: Session) -> list[tuple[int, str]]:
    return [tuple(r) for r in db.execute(select(Department.id, Department.name).order_by(Department.name)).all()]


@bp.get("")
def index():
    db = get_session()
    return render_template("letters/index.html", documents=register.documents(db), kinds=KINDS,
                           departments=_departments(db))


def _department(db: Session, value: str | None) -> str | None:
    dept_id = requested_id(value)
    if dept_id is None:
        return None
    name = db.scalar(select(Department.name).where(Department.id == dept_id))
    if name is None:
        abort(404)
    return name


def _kind(value: str | None) -> str:
    if value not in KINDS:
        abort(404)
    return value


@bp.get("/new")
def new():
    db = get_session()
    kind = _kind(request.args.get("kind"))
    department = _department(db, request.args.get("department"))
    today = dt.date.today()
    spec = KINDS[kind]
    listed: list[Problem] = []
    chosen: set[int] = set()
    if spec.to_department and department:
        listed = [p for p in db.scalars(select(Problem).where(Problem.department == department,
                                                              Problem.resolved_on.is_(None))
                                        .order_by(Problem.device_code, Problem.rule))
                  if not (p.verdict == "dismissed" and not p.stale)]
        chosen = {p.id for p in default_problems(db, kind, department, today)}
    plan = current_plan(db)
    return render_template("letters/new.html", kind=kind, spec=spec, department=department,
                           department_id=request.args.get("department", ""), departments=_departments(db),
                           problems=listed, chosen=chosen, today=today,
                           deadline=today + dt.timedelta(days=DEFAULT_DAYS.get(kind, 30)),
                           prefix=plan.doc_prefix if plan else "", issuer=plan.issuer if plan else "",
                           cited=register.documents_citing(db, [p.id for p in listed]))


def _request(db: Session, values: Any):  # type: ignore[no-untyped-def]
    kind = _kind(values.get("kind"))
    department = _department(db, values.get("department"))
    ids = [i for v in values.getlist("problem") if (i := record_id(v)) is not None]
    deadline = _date(values.get("deadline"))
    on = _date(values.get("on")) or dt.date.today()
    return letter_request(db, kind, department=department, problem_ids=ids if KINDS[kind].to_department else None,
                          deadline=deadline, on=on, addressee=values.get("addressee"), issuer=values.get("issuer"))


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        raise ExportError(_("日期“{value}”格式不对，应为 2024-06-30。", value=value)) from None


def _back_to_form(values: Any):  # type: ignore[no-untyped-def]
    args = {k: values.get(k) for k in ("kind", "department") if values.get(k)}
    return redirect(url_for(".new", **args), code=303)


@bp.get("/preview")
def show_preview():
    db = get_session()
    try:
        req = _request(db, request.args)
        with tempfile.TemporaryDirectory(prefix="camaudit-letter-") as folder:
            path = preview(db, req, Path(folder) / "preview.docx")
            data = path.read_bytes()
    except ExportError as exc:
        flash(str(exc), "error")
        return _back_to_form(request.args)
    return _attachment(data, f"{KINDS[req.kind].name}（未编号）_{req.department or '各执法单位'}.docx")


@bp.post("/issue")
def issue_document():
    with writing() as db:
        try:
            req = _request(db, request.form)
            document = issue(db, req, prefix=request.form.get("prefix"), user=current_user.name)
            db.commit()
        except (ExportError, DecisionError) as exc:
            db.rollback()
            flash(str(exc), "error")
            return _back_to_form(request.form)
    flash(_("已发文：{no} {title}，引用问题 {n} 个。", no=document.doc_no, title=document.title, n=len(req.problems)),
          "success")
    return redirect(url_for(".index", issued=document.id), code=303)


@bp.get("/<int:document_id>/file")
def download(document_id: int):
    document = get_session().get(IssuedDocument, document_id)
    if document is None:
        abort(404)
    return _attachment(document.content, document.filename)


def _attachment(data: bytes, name: str) -> Response:
    response = send_file(io.BytesIO(data), mimetype=DOCX, as_attachment=True, download_name="document.docx")
    response.headers.set("Content-Disposition", "attachment", filename="document.docx",
                         **{"filename*": "UTF-8''" + quote(name, safe="!#$&+-.^_`|~")})
    return response
