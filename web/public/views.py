"""GET /public/notice and /public/notice.<docx|xlsx>: devices in use, only what public_notice publishes."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, render_template, request

from audit.exports import ExportError
from audit.exports.public_notice import BASIS, TITLE, notice_rows

from ..database import get_session
from ..documents.files import send_export

bp = Blueprint("public", __name__, url_prefix="/public")
FORMATS = ("docx", "xlsx")


def _department() -> str | None:
    return request.args.get("department", "").strip() or None


@bp.get("/notice")
def notice():
    department = _department()
    rows = notice_rows(get_session())
    departments = sorted({r["department"] for r in rows})
    if department is not None:
        if department not in departments:
            abort(404)
        rows = [r for r in rows if r["department"] == department]
    return render_template("public/notice.html", rows=rows, departments=departments, department=department,
                           title=TITLE, basis=BASIS, formats=FORMATS, today=dt.date.today())


@bp.get("/notice.<fmt>")
def notice_file(fmt: str):
    if fmt not in FORMATS:
        abort(404)
    try:
        return send_export(get_session(), "public-notice", f".{fmt}", department=_department())
    except ExportError:  # no such department
        abort(404)
