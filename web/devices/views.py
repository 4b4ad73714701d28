"""GET /devices (search, filter, sort, paginate), /devices/export.csv, /devices/<id>."""
from __future__ import annotations

import csv
import io
import json
from array import array

from flask import Blueprint, Response, current_app, render_template, request
from flask_login import current_user
from sqlalchemy import select

from audit.casework.current import current_condition
from audit.casework.devicelist import SORTS, department_choices, device_page, matching_ids, ordered
from audit.intake.columns import DEVICE_COLUMNS, DEVICE_TYPES, STATUSES
from audit.intake.xlsxsafe import csv_safe
from audit.registry.models import AuditRun, Department, Device
from audit.rules.engine import funnel_from_registry

from ..access import is_decider, own_department_id, requested_department, visible_device
from ..cache import remembered
from ..database import get_session
from ..findings import SEVERITIES, rule_titles, summarise_rows
from . import detail
from . import funnel as funnel_chart
from .filters import DeviceFilter

bp = Blueprint("devices", __name__, url_prefix="/devices")


def visible_departments() -> list[Department]:
    query = select(Department).order_by(Department.name)
    if not is_decider():
        query = query.where(Department.id == current_user.department_id)
    return list(get_session().scalars(query))


@bp.get("")
def index():
    filt = DeviceFilter.from_args(request.args)
    sort = request.args.get("sort", "code")
    desc = request.args.get("desc") == "1"
    db = get_session()
    scope = own_department_id()
    key = [filt.args(), scope, sort if sort in SORTS else "code", desc]  # every matching id in order, built once
    matches = remembered(db, "devicelist", key, lambda: json.dumps(  # per state of the registry (cache.remembered)
        matching_ids(db, filt, scope=scope, sort=sort, desc=desc)).encode(), lambda body: array("q", json.loads(body)))
    found = device_page(db, filt, scope=scope, sort=sort, desc=desc, page=request.args.get("page", 1, type=int) or 1,
                        per_page=int(current_app.config["DEVICES_PER_PAGE"]), matches=matches)
    departments = department_choices(db, current_user.department_id, confined=not is_decider())  # not boundaries
    return render_template("devices/index.html", rows=found.rows, filt=filt, total=found.total, page=found.page,
                           pages=found.pages, sort=sort, desc=desc, departments=departments,
                           types=DEVICE_TYPES, statuses=STATUSES, severities=SEVERITIES, titles=rule_titles(),
                           summary=summarise_rows(found.findings))


@bp.get("/export.csv")
def export_csv():
    """The filtered list as CSV (UTF-8 with BOM for Excel); cells that look like formulas are made inert."""
    filt = DeviceFilter.from_args(request.args)
    db = get_session()
    query = select(Device, Department.name).join(Department).where(*filt.conditions(current_condition(db), own_department_id()))
    rows = db.execute(ordered(query, "code", False))
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
