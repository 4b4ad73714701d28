"""GET /documents (the form) and /documents/file (the download, or the form again with the reason it failed)."""
from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

from flask import Blueprint, abort, render_template, request
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from audit.exports import BUREAU_KINDS, KINDS, ExportError
from audit.exports.data import latest_run
from audit.exports.drafting import EDITABLE
from audit.exports.typical_case import case_choices
from audit.registry.models import Department
from audit.registry.models import AuditRun, Finding
from audit.registry.ids import record_id

from ..access import is_decider, requested_department
from ..database import get_session
from ..findings import rule_titles
from ..i18n import gettext as _
from ..ledger.views import department_name
from .files import MIMETYPES, send_export

bp = Blueprint("documents", __name__, url_prefix="/documents")

RUN_CHOICES = 50
FORMAT_LABELS = {".xlsx": "Excel（.xlsx）", ".docx": "Word（.docx）", ".geojson": "GeoJSON（.geojson）",
                 ".csv": "CSV（.csv）"}


class FormError(ValueError):
    """A field of the form that cannot be read; the message says which and how to fix it."""


def visible_runs(db: Session) -> list[AuditRun]:
    query = select(AuditRun).order_by(AuditRun.id.desc()).limit(RUN_CHOICES)
    if not is_decider():
        query = query.where(or_(AuditRun.department.is_(None), AuditRun.department == current_user.department_name))
    return list(db.scalars(query))


def offered_kinds() -> dict[str, Any]:
    """The documents the current user may make: a department files its own, not the bureau's letter and summary."""
    return {k: v for k, v in KINDS.items() if is_decider() or k not in BUREAU_KINDS}


def default_as_of(db: Session, department: str | None, run_id: int | None) -> dt.date:
    """The date of the audit run the documents are made from (the chosen one, else the department's latest)."""
    run = db.get(AuditRun, run_id) if run_id is not None else latest_run(db, department)
    return run.as_of if run is not None else dt.date.today()


def render_form(db: Session, values: Mapping[str, Any], department: str | None, error: str | None = None) -> str:
    departments = (db.execute(select(Department.id, Department.name).order_by(Department.name)).all()
                   if is_decider() else [(current_user.department_id, current_user.department_name)])
    documents = [(kind, name, [(f"{kind}{suffix}", FORMAT_LABELS.get(suffix, suffix)) for suffix in writers])
                 for kind, (name, writers) in offered_kinds().items()]
    run_id = _run_id(values.get("run"))
    editable = [(kind, spec.name) for kind, spec in EDITABLE.items() if is_decider() or not spec.bureau]
    return render_template("documents/index.html", documents=documents, departments=departments, editable=editable,
                           runs=visible_runs(db), values=values, error=error, titles=rule_titles(),
                           cases=case_choices(db, department, run_id) if is_decider() else [],
                           as_of=default_as_of(db, department, run_id))


def _run_id(value: str | None) -> int | None:
    return record_id(value)


@bp.get("")
def index():
    db = get_session()
    department = department_name(db, requested_department(request.args.get("department")))
    _check_run(db, _run_id(request.args.get("run")))
    return render_form(db, request.args, department)


def _int(value: str | None, what: str) -> int | None:
    if not value:
        return None
    number = record_id(value)
    if number is None:
        raise FormError(_("{what}“{value}”应为编号（数字）。", what=_(what), value=value))
    return number


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise FormError(_("日期“{value}”格式不对，应为 2024-06-30。", value=value)) from None


def _check_run(db: Session, run_id: int | None) -> None:
    """A department user may name only runs covering its department; another's answers 404."""
    if run_id is None or is_decider():
        return
    run = db.get(AuditRun, run_id)
    if run is not None and run.department not in (None, current_user.department_name):
        abort(404)


def _check_case(db: Session, finding_id: int | None) -> None:
    """A department user may cite only its own department's findings as the typical case."""
    if finding_id is None or is_decider():
        return
    finding = db.get(Finding, finding_id)
    if finding is None or finding.department != current_user.department_name:
        abort(404)


@bp.get("/file")
def download():
    db = get_session()
    args = request.args
    department = department_name(db, requested_department(args.get("department")))
    kind, dot, fmt = args.get("document", "").partition(".")
    try:
        if kind not in KINDS:
            raise FormError(_("请选择要导出的文书。"))
        if dot + fmt not in MIMETYPES:
            raise FormError(_("不支持的文件格式“{format}”。", format=fmt))
        as_of = _date(args.get("as_of"))
        run_id = _int(args.get("run"), "审查批次")
        case_id = _int(args.get("case"), "典型案例")
    except FormError as exc:
        return render_form(db, args, department, str(exc)), 400
    if kind in BUREAU_KINDS and not is_decider():
        abort(403)
    _check_run(db, run_id)
    _check_case(db, case_id)
    issuer = args.get("issuer", "").strip()[:100] or None
    try:
        return send_export(db, kind, dot + fmt, department=department, as_of=as_of, run_id=run_id,
                           case_finding_id=case_id if kind == "summary" else None, issuer=issuer)
    except ExportError as exc:
        return render_form(db, args, department, str(exc)), 400
