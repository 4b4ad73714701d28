"""GET/POST /upload, GET /upload/<token>, POST /upload/<token>/confirm|cancel, templates and annotated reports."""
from __future__ import annotations

import io
import tempfile
import time
from pathlib import Path
from typing import Any


from flask import (Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, send_file,
                   url_for)
from flask_login import current_user
from sqlalchemy import or_, select

from audit.intake.columns import CRS_CHOICES, TABLES
from audit.intake.report import Problem, ValidationReport
from audit.registry.history import field_label
from audit.registry.models import Department, ImportBatch
from audit.registry.models import User

from ..access import check_department, is_decider
from ..database import get_session
from ..i18n import get_locale
from ..i18n import gettext as _
from . import importing, pending

bp = Blueprint("upload", __name__, url_prefix="/upload")


def upload_root() -> Path:
    return Path(current_app.instance_path) / "uploads"


def _departments() -> list[str]:
    """Departments an auditor may upload for (a department user always uploads for its own)."""
    if not is_decider():
        return []
    return list(get_session().scalars(select(Department.name).order_by(Department.name)))


def _recent_batches() -> list[ImportBatch]:
    query = select(ImportBatch).order_by(ImportBatch.id.desc()).limit(20)
    if not is_decider():
        # A department's own inventories, and the counts and verifications its users uploaded.
        names = select(User.name).where(User.department_id == current_user.department_id)
        query = query.where(or_(ImportBatch.department_id == current_user.department_id,
                                ImportBatch.user.in_(names)))
    return list(get_session().scalars(query))


@bp.get("")
def index():
    return render_template("upload/index.html", tables=TABLES, departments=_departments(), crs_choices=CRS_CHOICES,
                           batches=_recent_batches())


@bp.get("/template/<kind>.xlsx")
def template(kind: str):
    from audit.intake.template import write_template

    if kind not in TABLES:
        abort(404)
    with tempfile.TemporaryDirectory(prefix="camaudit-template-") as folder:
        path = Path(folder) / f"{kind}.xlsx"
        write_template(kind, path, lang=get_locale())
        data = path.read_bytes()
    return send_file(io.BytesIO(data), as_attachment=True, download_name=f"{_table_title(kind)}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _table_title(kind: str) -> str:
    return TABLES[kind].title if get_locale() == "zh" else TABLES[kind].title_en


@bp.post("")
def submit():
    kind = request.form.get("kind", "")
    upload = request.files.get("file")
    if kind not in TABLES:
        flash(_("请选择上传的表格类型。"), "error")
        return redirect(url_for(".index"))
    if upload is None or not upload.filename:
        flash(_("请选择要上传的文件。"), "error")
        return redirect(url_for(".index"))
    if current_user.role == "department":
        department = current_user.department_name
    else:
        department = (request.form.get("department") or "").strip() or None
    crs = request.form.get("crs") or None
    partial = kind == "devices" and request.form.get("mode") == "partial"
    from_column = kind == "devices" and current_user.role != "department" \
        and request.form.get("department_from_column") == "1"
    root = upload_root()
    pending.purge(root, float(current_app.config["UPLOAD_MAX_AGE_HOURS"]))
    item = pending.create(root, upload, {
        "kind": kind, "department": department, "crs": crs if crs in CRS_CHOICES else None,
        "partial": partial, "department_from_column": from_column,
        "user": current_user.name, "department_id": current_user.department_id, "filename": upload.filename,
    })
    importing.start_dry_run(item)
    return redirect(url_for(".show", token=item.token), code=303)


def _pending_or_404(token: str) -> pending.Pending:
    item = pending.load(upload_root(), token)
    if item is None:
        abort(404)
    if not is_decider():
        # A department user sees the uploads of its own department only.
        check_department(item.meta.get("department_id"))
    return item


@bp.get("/<token>")
def show(token: str):
    item = _pending_or_404(token)
    running = item.meta.get("state") if item.meta.get("state") in importing.RUNNING else None
    return render_template("upload/report.html", item=item, meta=item.meta, report=item.meta.get("report") or {},
                           kind_title=_table_title(item.meta["kind"]), field_label=field_label, running=running,
                           elapsed=int(time.time() - item.meta.get("started", time.time())))


@bp.get("/<token>/status")
def status(token: str):
    """Whether the upload's check or import is still running (the report page asks until it is done)."""
    item = _pending_or_404(token)
    return jsonify({"state": item.meta.get("state", importing.DONE),
                    "elapsed": int(time.time() - item.meta.get("started", time.time()))})


@bp.post("/<token>/confirm")
def confirm(token: str):
    item = _pending_or_404(token)
    if item.meta.get("batch_id"):
        flash(_("该文件已导入（批次 {batch}），未重复导入。", batch=item.meta["batch_id"]), "success")
        return redirect(url_for(".show", token=token), code=303)
    if not (item.meta.get("report") or {}).get("ok"):
        flash(_("文件有错误，不能导入；请修改后重新上传。"), "error")
        return redirect(url_for(".show", token=token), code=303)
    importing.start_import(item)
    return redirect(url_for(".show", token=token), code=303)


@bp.post("/<token>/cancel")
def cancel(token: str):
    item = _pending_or_404(token)
    importing.cancel(item)
    if item.meta.get("batch_id"):
        flash(_("该文件已导入（批次 {batch}），未重复导入。", batch=item.meta["batch_id"]), "error")
        return redirect(url_for(".show", token=token), code=303)
    flash(_("已取消，数据库未作任何改动。"), "success")
    return redirect(url_for(".index"), code=303)


@bp.get("/<token>/annotated.xlsx")
def annotated(token: str):
    """The uploaded sheet with the bad cells highlighted and commented (only while the file is kept)."""
    from audit.intake.report_xlsx import write_annotated

    item = _pending_or_404(token)
    data = item.meta.get("report")
    if not data or not item.path.exists():
        abort(404)
    with tempfile.TemporaryDirectory(prefix="camaudit-report-") as folder:
        out = Path(folder) / "annotated.xlsx"
        write_annotated(item.path, _report_from(data), out)
        content = out.read_bytes()
    return send_file(io.BytesIO(content), as_attachment=True,
                     download_name=f"{Path(item.meta['stored_name']).stem}-校验报告.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _report_from(data: dict[str, Any]) -> ValidationReport:
    problems = [Problem(**p) for p in data.get("errors", []) + data.get("warnings", [])]
    return ValidationReport(filename=data["filename"], kind=data["kind"], problems=problems, sheet=data.get("sheet"),
                            header_row=data.get("header_row"), data_rows=data.get("data_rows", 0))
