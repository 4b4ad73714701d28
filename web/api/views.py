"""GET /api/csrf, /api/devices (GeoJSON), /api/devices/<id>, /api/findings. Sessions: POST /login, /logout."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, jsonify, request
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

from audit.casework.decisions import device_decisions
from audit.intake.columns import DEVICE_COLUMNS
from audit.registry.models import Department, Device, VerificationRecord
from audit.registry.models import AuditRun, Finding

from ..access import DECIDERS, requested_id, visible_device
from ..cache import cached_response
from ..database import get_session
from ..devices.filters import DeviceFilter
from ..findings import SEVERITIES, current_condition, problems_of, summarise, visible_condition

bp = Blueprint("api", __name__, url_prefix="/api")

DEVICE_KEYS = [c.key for c in DEVICE_COLUMNS if c.key != "department"]
SUMMARY_KEYS = ["device_code", "name", "device_type", "road", "direction", "address", "status"]


def plain(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


@bp.get("/csrf")
def csrf_token():
    """A CSRF token for this session: send it as the X-CSRFToken header with every POST."""
    return jsonify({"csrf_token": generate_csrf()})


@bp.get("/devices")
def devices():
    """GeoJSON of the devices the filter and the user's scope select, built once per registry state (web.cache)."""
    db = get_session()
    filt = DeviceFilter.from_args(request.args)
    scope = (current_user.role, None if current_user.role in DECIDERS else current_user.department_id)
    return cached_response(db, "api-devices", {"filter": filt.args(), "scope": scope},
                           lambda: _devices_geojson(db, filt), "application/json")


def _devices_geojson(db: Any, filt: DeviceFilter) -> bytes:
    wanted = filt.finding_ids(db)
    columns = (Device.id, Device.lon, Device.lat, Department.name, *[getattr(Device, k) for k in SUMMARY_KEYS])
    rows = [r for r in db.execute(filt.apply(select(*columns).join(Department)).order_by(Device.device_code))
            if wanted is None or r[0] in wanted]
    summary = summarise(db) if rows else {}
    features = []
    for device_id, lon, lat, dept, *values in rows:
        s = summary.get(device_id)
        props = {"id": device_id, "department": dept, **dict(zip(SUMMARY_KEYS, values)),
                 "worst_severity": s.worst if s else None, "rules": s.rules if s else []}
        geometry = {"type": "Point", "coordinates": [lon, lat]} if lon is not None and lat is not None else None
        features.append({"type": "Feature", "id": device_id, "geometry": geometry, "properties": props})
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


def _finding(f: Finding, problem: Any) -> dict[str, Any]:
    review = problem.verdict_review if problem is not None else None
    return {"id": f.id, "run_id": f.run_id, "rule": f.rule, "device_id": f.device_id, "device_code": f.device_code,
            "department": f.department, "severity": f.severity, "action": f.action, "message": f.message,
            "evidence": f.evidence, "basis": f.basis, "threshold": f.threshold,
            "cannot_assess": problem is None,
            "problem": None if problem is None else {
                "id": problem.id, "key": problem.key, "state": problem.review_state,
                "first_run_id": problem.first_run_id, "resolved_run_id": problem.resolved_run_id,
                "resolved_on": plain(problem.resolved_on), "resolved_reason": problem.resolved_reason,
                "decision_id": problem.decision_id, "open_item_id": problem.open_item_id},
            "review": None if review is None else {"status": review.status, "reason": review.reason,
                                                   "user": review.user, "at": plain(review.at),
                                                   "stale": problem.verdict_stale}}


@bp.get("/devices/<int:device_id>")
def device(device_id: int):
    db = get_session()
    dev = visible_device(db, device_id)
    findings = db.scalars(select(Finding).where(Finding.device_id == dev.id, current_condition(db))
                          .order_by(Finding.rule)).all()
    reviews = problems_of(db, findings)
    verifications = db.scalars(select(VerificationRecord).where(VerificationRecord.device_id == dev.id)
                               .order_by(VerificationRecord.verified_on)).all()
    return jsonify({
        "id": dev.id, "department": dev.department.name,
        **{k: plain(getattr(dev, k)) for k in DEVICE_KEYS},
        "raw_lon": dev.raw_lon, "raw_lat": dev.raw_lat, "missing_since_batch_id": dev.missing_since_batch_id,
        "verifications": [{"verified_on": plain(v.verified_on), "valid_until": plain(v.valid_until),
                           "result": v.result, "certificate_no": v.certificate_no, "agency": v.agency}
                          for v in verifications],
        "findings": [_finding(f, reviews.get(f.id)) for f in findings],
        "decisions": [{"id": d.id, "kind": d.kind, "decided_on": plain(d.decided_on), "reason": d.reason,
                       "decided_by": d.decided_by, "finding_ids": d.finding_ids, "problem_ids": d.problem_ids}
                      for d in device_decisions(db, dev.id)],
    })


@bp.get("/findings")
def findings():
    """Filters: rule, department (name), severity, run (id; default: each department's current run)."""
    db = get_session()
    args = request.args
    department = args.get("department", "")
    if department and current_user.role not in DECIDERS and department != current_user.department_name:
        abort(404)
    run_id = requested_id(args.get("run"))
    if run_id is not None and db.get(AuditRun, run_id) is None:
        abort(404)
    query = select(Finding).where(current_condition(db, run_id), visible_condition())
    if args.get("rule"):
        query = query.where(Finding.rule == args["rule"].upper())
    if department:
        query = query.where(Finding.department == department)
    if args.get("severity") in SEVERITIES:
        query = query.where(Finding.severity == args["severity"])
    rows = db.scalars(query.order_by(Finding.run_id, Finding.id)).all()
    reviews = problems_of(db, rows) if rows else {}
    return jsonify({"run": run_id, "count": len(rows), "findings": [_finding(f, reviews.get(f.id)) for f in rows]})
