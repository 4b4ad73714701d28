"""GET/POST /spotchecks (the draws, and a new draw); GET /spotchecks/<id>; POST its results; GET its list (.xlsx).

All through audit.casework.spotcheck and audit.exports.spot_check; auditors only.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from urllib.parse import quote

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from audit.casework import spotcheck
from audit.casework.decisions import DecisionError
from audit.exports.spot_check import export_spot_check
from audit.registry.models import Department, SpotCheck, SpotCheckItem

from ..access import DECIDERS, roles_required
from ..database import apply_decision, get_session, writing
from ..documents.files import MIMETYPES
from ..findings import device_label
from ..i18n import gettext as _
from ..i18n import term

bp = Blueprint("spotchecks", __name__, url_prefix="/spotchecks")


WHOLE_DIGITS = 19  # a seed below 2**63 has at most 19 digits; a count of devices or inspectors fewer


class FormError(ValueError):
    """A field of the draw form that cannot be read."""


def _whole(value: str | None, label: str, *, required: bool) -> int | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise FormError(_("请填写{label}。", label=label))
        return None
    if not text.isascii() or not text.isdigit():
        raise FormError(_("{label}须为整数，“{value}”不是整数。", label=label, value=text))
    if len(text.lstrip("0")) > WHOLE_DIGITS:  # int() refuses thousands of digits; none of these needs 20
        raise FormError(_("{label}“{value}…”过大。", label=label, value=text[:20]))
    return int(text)


def _check(check_id: int) -> SpotCheck:
    check = get_session().get(SpotCheck, check_id)
    if check is None:
        abort(404)
    return check


def _form_page(values: dict[str, str], status: int = 200):  # type: ignore[no-untyped-def]
    db = get_session()
    checks = db.scalars(select(SpotCheck).options(selectinload(SpotCheck.items)).order_by(SpotCheck.id.desc())).all()
    if "roster" not in values and checks:  # the last roster, to draw from the same people again
        values = {**values, "roster": "\n".join(checks[0].roster)}
    departments = db.scalars(select(Department.name).order_by(Department.name)).all()
    in_use = spotcheck.candidate_counts(db)
    return render_template("spotchecks/index.html", checks=checks, departments=departments, in_use=in_use,
                           total=sum(in_use.values()), values=values), status


@bp.get("")
@roles_required(*DECIDERS)
def index():
    return _form_page({})


@bp.post("")
@roles_required(*DECIDERS)
def draw():
    form = request.form
    values = {k: form.get(k, "") for k in ("department", "devices", "team_size", "roster", "seed")}
    try:
        devices = _whole(form.get("devices"), _("抽查设备数"), required=True)
        team_size = _whole(form.get("team_size"), _("抽取检查人员数"), required=False)
        seed = _whole(form.get("seed"), _("随机种子"), required=False)
    except FormError as exc:
        flash(str(exc), "error")
        return _form_page(values, 400)
    roster = [line for line in form.get("roster", "").splitlines() if line.strip()]
    with writing() as db:
        try:
            check = spotcheck.draw(db, devices=devices or 0, inspectors=roster, seed=seed,
                                   department=form.get("department") or None, user=current_user.name,
                                   team_size=team_size)
            db.commit()
        except DecisionError as exc:
            db.rollback()
            flash(str(exc), "error")
            return _form_page(values, 400)
    flash(_("已抽取 {n} 台设备和 {m} 名检查人员（随机种子 {seed}）。", n=len(check.items), m=len(check.inspectors),
            seed=check.seed), "success")
    return redirect(url_for(".show", check_id=check.id), code=303)


@bp.get("/<int:check_id>")
@roles_required(*DECIDERS)
def show(check_id: int):
    check = _check(check_id)
    done = sum(1 for i in check.items if i.result)
    return render_template("spotchecks/show.html", check=check, done=done, results=spotcheck.RESULTS)


@bp.post("/<int:check_id>/devices/<int:device_id>")
@roles_required(*DECIDERS)
def record(check_id: int, device_id: int):
    check = _check(check_id)
    item = get_session().scalar(select(SpotCheckItem).where(SpotCheckItem.spot_check_id == check.id,
                                                            SpotCheckItem.device_id == device_id))
    if item is None:
        abort(404)
    result, note = request.form.get("result", ""), request.form.get("note")
    apply_decision(lambda db: spotcheck.record_result(db, check.id, device_id, result=result, note=note,
                                                      user=current_user.name),
                   _("已记录 {device} 的检查结果：{result}。", device=device_label(item.device), result=term(result)))
    return redirect(url_for(".show", check_id=check.id) + f"#item-{item.id}", code=303)


@bp.get("/<int:check_id>/list.xlsx")
@roles_required(*DECIDERS)
def export(check_id: int):
    check = _check(check_id)
    with tempfile.TemporaryDirectory(prefix="camaudit-spot-check-") as folder:
        data = export_spot_check(get_session(), check.id, Path(folder) / "list.xlsx").read_bytes()
    day = check.created_at.date().isoformat()
    response = Response(data, mimetype=MIMETYPES[".xlsx"])
    name = f"双随机抽查名单_{check.department or '全部单位'}_{day}.xlsx"
    response.headers["Content-Disposition"] = (f"attachment; filename=\"spot-check_{day}.xlsx\"; "
                                               f"filename*=UTF-8''{quote(name)}")
    return response
