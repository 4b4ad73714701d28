"""What the device page shows: record, verification history, findings over time, decisions, ledger, change log, chart."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from audit.casework.decisions import device_decisions
from audit.registry.history import describe
from audit.intake.columns import DEVICE_COLUMNS
from audit.registry.models import (AuditRun, ChangeLog, Device, Finding, LedgerItem, Problem, ProblemReview,
                                   VerificationRecord, ViolationStat)

from ..findings import cannot_assess_condition, current_condition, rule_titles
from . import chart

CHANGE_LOG_LIMIT = 300


def cell(value: Any) -> Any:
    """A registry value as shown and exported: dates ISO, booleans 是/否, None empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def record(device: Device) -> list[tuple[str, Any]]:
    rows = [(c.header, cell(getattr(device, c.key))) for c in DEVICE_COLUMNS if c.key != "department"]
    rows.insert(1, ("所属单位", device.department.name))
    rows += [("原始经度", cell(device.raw_lon)), ("原始纬度", cell(device.raw_lat))]
    return rows


def context(db: Session, device: Device) -> dict[str, Any]:
    verifications = db.scalars(select(VerificationRecord).where(VerificationRecord.device_id == device.id)
                               .order_by(VerificationRecord.verified_on.desc())).all()
    findings = db.execute(select(Finding, AuditRun).join(AuditRun, AuditRun.id == Finding.run_id)
                          .where(Finding.device_id == device.id)
                          .order_by(AuditRun.id.desc(), Finding.rule)).all()
    current = set(db.scalars(select(Finding.id).where(Finding.device_id == device.id, current_condition(db))))
    problems = db.scalars(select(Problem).where(Problem.device_id == device.id)
                          .order_by(Problem.resolved_run_id.isnot(None), Problem.rule, Problem.key)).all()
    reviews: dict[int, list[ProblemReview]] = {}
    for r in db.scalars(select(ProblemReview).where(ProblemReview.problem_id.in_([p.id for p in problems]))
                        .order_by(ProblemReview.id)):
        reviews.setdefault(r.problem_id, []).append(r)
    data_requests = db.scalars(select(Finding).where(Finding.device_id == device.id, current_condition(db),
                                                     cannot_assess_condition()).order_by(Finding.rule)).all()
    ledger = db.scalars(select(LedgerItem).where(LedgerItem.device_id == device.id).order_by(LedgerItem.id)).all()
    changes = db.scalars(select(ChangeLog).where(or_(
        ChangeLog.device_code == device.device_code,
        (ChangeLog.entity == "device") & (ChangeLog.entity_id == device.id)))
        .order_by(ChangeLog.id.desc()).limit(CHANGE_LOG_LIMIT)).all()
    daily = db.execute(select(ViolationStat.period_start, ViolationStat.count).where(
        ViolationStat.device_id == device.id, ViolationStat.period == "day")).all()
    spikes = {dt.date.fromisoformat(f.evidence["date"]) for f, _ in findings
              if f.id in current and f.rule == "VIO02" and isinstance(f.evidence, dict) and f.evidence.get("date")}
    monthly = db.execute(select(ViolationStat.period_start, ViolationStat.count, ViolationStat.fine_yuan).where(
        ViolationStat.device_id == device.id, ViolationStat.period == "month")
        .order_by(ViolationStat.period_start)).all()
    return {
        "record": record(device),
        "verifications": verifications,
        "findings": findings,
        "current_ids": current,
        "problems": problems,
        "open_problems": [p for p in problems if not p.is_resolved],
        "reviews": reviews,
        "data_requests": data_requests,
        "titles": rule_titles(),
        "decisions": device_decisions(db, device.id),
        "problem_rules": {p.id: p.rule for p in problems},
        "ledger": ledger,
        "changes": [describe(c) for c in changes],
        "change_limit": CHANGE_LOG_LIMIT,
        "chart": chart.build([(d, int(c)) for d, c in daily], spikes),
        "spike_days": sorted(spikes),
        "monthly": monthly,
    }
