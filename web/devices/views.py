"""GET /devices (search, filter, sort, paginate), /devices/export.csv, /devices/<id>."""
from __future__ import annotations

import csv
import io
import math

from flask import Blueprint, Response, current_app, render_template, request
from flask_login import current_user
from sqlalchemy import func, select

from audit.intake.columns import DEVICE_COLUMNS, DEVICE_TYPES, STATUSES
from audit.intake.xlsxsafe import csv_safe
from audit.registry.models import AuditRun, Department, Device
from audit.rules.engine import funnel_from_registry

from ..access import is_decider, requested_department, visible_device
from ..database import get_session
from ..findings import SEVERITIES, rule_titles, summarise
from . import detail
from . import funnel as funnel_chart
from .filters import DeviceFilter

bp = Blueprint("devices", __name__, url_prefix="/devices")

SORTS = {
    "code": Device.device_code,
    "name": Device.name,
    "type": Device.device_type,
    "department": Department.name,
    "road": Device.road,
    "status": Device.status,
    "in_service": Device.in_service_on,
}

# What the list shows (plain columns: no ORM objects to build per row).
LIST_COLUMNS = (Device.id, Device.device_code, Device.name, Device.device_type, Device.road, Device.status,
                Device.in_service_on, Device.missing_since_batch_id, Department.name.label("department"))


def visible_departments() -> list[Department]:
    query = select(Department).order_by(Department.name)
    if not is_decider():
        query = query.where(Department.id == current_user.department_id)
    return list(get_session().scalars(query))


def _sorted(query, key: str, desc: bool):  # type: ignore[no-untyped-def]
    column = SORTS.get(key, Device.device_code)
    order = column.desc() if desc else column.asc()
    return query.order_by(order.nulls_last(), Device.device_code)


@bp.get("")
def index():
    filt = DeviceFilter.from_args(request.args)
    sort = request.args.get("sort", "code")
    desc = request.args.get("desc") == "1"
    per_page = int(current_app.config["DEVICES_PER_PAGE"])
    db = get_session()
    wanted = filt.finding_ids(db)
    if wanted is None:
        total = db.scalar(filt.apply(select(func.count(Device.id)))) or 0
    else:  # ordered ids of every match, then one page of rows
        order = _sorted(filt.apply(select(Device.id).join(Department)), sort, desc)
        ordered = [i for i in db.connection().execute(order).scalars().all() if i in wanted]  # Core: fast for 10,000s
        total = len(ordered)
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, request.args.get("page", 1, type=int) or 1), pages)
    if wanted is None:
        rows = db.execute(_sorted(filt.apply(select(*LIST_COLUMNS).join(Department)), sort, desc)
                          .limit(per_page).offset((page - 1) * per_page)).all()
    else:
        page_ids = ordered[(page - 1) * per_page:page * per_page]
        found = {r.id: r for r in db.execute(select(*LIST_COLUMNS).join(Department).where(Device.id.in_(page_ids)))}
        rows = [found[i] for i in page_ids]
    return render_template("devices/index.html", rows=rows, filt=filt, total=total, page=page, pages=pages,
                           sort=sort, desc=desc, departments=visible_departments(), types=DEVICE_TYPES,
                           statuses=STATUSES, severities=SEVERITIES, titles=rule_titles(),
                           summary=summarise(db, [r.id for r in rows]))


@bp.get("/export.csv")
def export_csv():
    """The filtered list as CSV (UTF-8 with BOM for Excel); cells that look like formulas are made inert."""
    filt = DeviceFilter.from_args(request.args)
    db = get_session()
    wanted = filt.finding_ids(db)
    rows = [(device, dept) for device, dept in db.execute(
        _sorted(filt.apply(select(Device, Department.name).join(Department)), "code", False))
        if wanted is None or device.id in wanted]
    columns = [c for c in DEVICE_COLUMNS if c.key != "department"]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(["所属单位", *[c.header for c in columns]])
    for device, dept in rows:
        writer.writerow([csv_safe(dept), *[csv_safe(detail.cell(getattr(device, c.key))) for c in columns]])
    return Response("\ufeff" + buf.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename*=UTF-8''devices.csv"})


@bp.get("/funnel")
def funnel():
    """The funnel plot of one department and device type (VIO01: rate per day in service against days)."""
    db = get_session()
    departments = visible_departments()
    dept_id = requested_department(request.args.get("department")) or (departments[0].id if departments else None)
    dept = db.get(Department, dept_id) if dept_id is not None else None
    device_type = request.args.get("type") if request.args.get("type") in DEVICE_TYPES else DEVICE_TYPES[0]
    run = db.scalar(select(AuditRun).order_by(AuditRun.id.desc()).limit(1))
    data = None
    if dept is not None and run is not None:
        data = funnel_from_registry(db, department=dept.name, device_type=device_type, as_of=run.as_of,
                                    profile_name=run.profile)
    return render_template("devices/funnel.html", departments=departments, dept=dept, types=DEVICE_TYPES,
                           device_type=device_type, run=run, data=data,
                           plot=funnel_chart.build(data) if data else None)


@bp.get("/<int:device_id>")
def show(device_id: int):
    db = get_session()
    device = visible_device(db, device_id)
    return render_template("devices/show.html", device=device, **detail.context(db, device))
