"""GET / (总览: open findings, overdue items, the supervision plan and where each department stands) and
POST /audit/run."""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from audit.casework import filings, ledger
from audit.casework.plan import current_plan, phase_views
from audit.registry.models import Department, Device
from audit.casework.problems import audit_and_record, suspension_proposals
from audit.registry.models import AuditRun
from audit.rules.engine import AuditDateError
from audit.rules.parallel import AuditWorkerError
from audit.rules.profiles import ProfileError, list_profiles, profile_title

from ..access import DECIDERS, is_decider, roles_required, scope_devices
from ..database import get_session, writing
from ..findings import SEVERITY_RANK, cannot_assess_counts, open_findings, rule_titles
from ..i18n import gettext as _
from ..layers import configured_areas, configured_roads

bp = Blueprint("overview", __name__)


def phases(plan: Any, config: list[dict[str, Any]], today: dt.date) -> list[dict[str, Any]]:
    """The special supervision's phases (自查 / 整改 / 总结): the plan's, else the SUPERVISION_PHASES setting's;
    the current one marked."""
    return [{"name": p.name, "start": p.start, "end": p.end, "current": p.state(today) == "current"}
            for p in phase_views(plan, config)]


@bp.get("/")
def index():
    db = get_session()
    today = dt.date.today()
    found = open_findings(db)
    by_severity = sorted(found.count_by("severity"), key=lambda r: SEVERITY_RANK.get(r[0], 9))
    devices = db.execute(scope_devices(select(Department.name, Device.status, func.count())
                                       .join(Department, Department.id == Device.department_id))
                         .group_by(Department.name, Device.status).order_by(Department.name)).all()
    by_department_status: dict[str, dict[str, int]] = {}
    for name, status, n in devices:
        by_department_status.setdefault(name, {})[status or ""] = n
    department = None if is_decider() else (current_user.department_name or "")
    plan = current_plan(db)
    own = None if is_decider() else current_user.department_id
    standing = filings.by_department(filings.plan_status(db, plan, today, own)) if plan else []
    return render_template(
        "overview/index.html", by_rule=found.count_by("rule"), by_severity=by_severity,
        by_department=found.count_by("department"), by_action=found.count_by("action"), titles=rule_titles(),
        devices=by_department_status, overdue=ledger.overdue_items(db, today, department), today=today,
        phases=phases(plan, current_app.config.get("SUPERVISION_PHASES") or [], today), plan=plan, standing=standing,
        todo=filings.todo(db, plan, own, today) if plan and own else [],
        runs=db.scalars(select(AuditRun).order_by(AuditRun.id.desc()).limit(5)).all() if is_decider() else [],
        data_requests=cannot_assess_counts(db),
        proposed=len(suspension_proposals(db)) if is_decider() else 0,
        profiles={name: profile_title(name) for name in list_profiles()},
        departments=db.scalars(select(Department.name).order_by(Department.name)).all())


@bp.post("/audit/run")
@roles_required(*DECIDERS)
def run():
    db = get_session()
    form = request.form
    try:
        as_of = dt.date.fromisoformat(form.get("as_of") or dt.date.today().isoformat())
    except ValueError:
        flash(_("审查基准日须为日期，如 2024-06-30。"), "error")
        return redirect(url_for(".index"), code=303)
    profile = form.get("profile") or "national"
    department = form.get("department") or None
    if profile not in list_profiles():
        flash(_("没有名为“{name}”的审查配置。", name=profile), "error")
        return redirect(url_for(".index"), code=303)
    if department and db.scalar(select(Department.id).where(Department.name == department)) is None:
        flash(_("没有名为“{name}”的单位。", name=department), "error")
        return redirect(url_for(".index"), code=303)
    try:
        areas, roads = configured_areas(), configured_roads()
    except ValueError as exc:
        flash(_("审查未运行：{error}请管理员检查乡镇边界和路网图层的配置。", error=str(exc)), "error")
        return redirect(url_for(".index"), code=303)
    with writing() as db:
        try:
            audit_run, _findings, outcome = audit_and_record(db, as_of=as_of, profile_name=profile,
                                                             department=department, user=current_user.name,
                                                             areas=areas, roads=roads,
                                                             workers=current_app.config["AUDIT_WORKERS"])
            db.commit()
        except (ProfileError, AuditDateError, AuditWorkerError) as exc:
            db.rollback()
            flash(str(exc), "error")
            return redirect(url_for(".index"), code=303)
    flash(_(
        "审查完成（第 {id} 次审查）：审查 {devices} 台设备；新发现问题 {new} 个，复查仍存在 {still} 个，已消除 {resolved} 个。",
        devices=audit_run.device_count, new=outcome.new, still=outcome.observed, resolved=outcome.resolved,
        id=audit_run.id), "success")
    return redirect(url_for(".index"), code=303)
