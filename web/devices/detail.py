"""What the device page shows: record, verification history, findings over time, decisions, ledger, change log, chart."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from audit.registry.models import LedgerItem
from audit.casework.decisions import device_decisions, latest_reviews
from audit.intake.columns import DEVICE_COLUMNS
from audit.registry.models import ChangeLog, Device, VerificationRecord, ViolationStat
from audit.registry.models import AuditRun, Finding
from audit.registry.store import load_reported_days
from audit.rules.band import expected_band
from audit.rules.profiles import ProfileError, load_profile

from ..findings import current_condition, rule_titles
from . import chart

CHANGE_LOG_LIMIT = 300
PERIOD_RULES = {"VIO04": "rise", "VIO05": "outage"}  # findings drawn as shaded periods on the chart


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
    reviews = latest_reviews(db, [f.id for f, _ in findings])
    ledger = db.scalars(select(LedgerItem).where(LedgerItem.device_id == device.id).order_by(LedgerItem.id)).all()
    changes = db.scalars(select(ChangeLog).where(or_(
        ChangeLog.device_code == device.device_code,
        (ChangeLog.entity == "device") & (ChangeLog.entity_id == device.id)))
        .order_by(ChangeLog.id.desc()).limit(CHANGE_LOG_LIMIT)).all()
    daily = db.execute(select(ViolationStat.period_start, ViolationStat.count).where(
        ViolationStat.device_id == device.id, ViolationStat.period == "day")).all()
    marked = [f for f, _ in findings if f.id in current and isinstance(f.evidence, dict)]
    spikes = {dt.date.fromisoformat(f.evidence["date"]) for f in marked if f.rule == "VIO02" and f.evidence.get("date")}
    periods = sorted((PERIOD_RULES[f.rule], dt.date.fromisoformat(f.evidence["start"]),
                      dt.date.fromisoformat(f.evidence["end"]))
                     for f in marked if f.rule in PERIOD_RULES and f.evidence.get("start") and f.evidence.get("end"))
    run = next((r for f, r in findings if f.id in current), None) or \
        db.scalar(select(AuditRun).order_by(AuditRun.id.desc()).limit(1))
    band = _band(db, device, daily, run)
    monthly = db.execute(select(ViolationStat.period_start, ViolationStat.count, ViolationStat.fine_yuan).where(
        ViolationStat.device_id == device.id, ViolationStat.period == "month")
        .order_by(ViolationStat.period_start)).all()
    return {
        "record": record(device),
        "verifications": verifications,
        "findings": findings,
        "current_ids": current,
        "current_findings": [f for f, _ in findings if f.id in current],
        "reviews": reviews,
        "titles": rule_titles(),
        "decisions": device_decisions(db, device.id),
        "ledger": ledger,
        "changes": changes,
        "change_limit": CHANGE_LOG_LIMIT,
        "chart": chart.build([(d, int(c)) for d, c in daily], spikes, band, periods),
        "spike_days": sorted(spikes),
        "periods": periods,
        "band_profile": run.profile if run is not None and band else None,
        "monthly": monthly,
    }


def _band(db: Session, device: Device, daily: list, run: AuditRun | None) -> list[tuple[dt.date, float, float, float]]:
    """(day, expected, lower, upper) of the days the count model scores, with the profile of the device's audit
    run (national when there is none or it no longer loads)."""
    if not daily:
        return []
    try:
        profile = load_profile(run.profile if run is not None else "national")
    except ProfileError:
        profile = load_profile("national")
    reported = load_reported_days(db, device.department_id)
    span_end = reported[-1] if device.status in ("在用", None) and reported else None
    frame = expected_band([d for d, _ in daily], [int(c) for _, c in daily], profile, reported=reported,
                          span_end=span_end)
    frame = frame[frame["expected"].notna()]
    return list(zip(frame["day"], frame["expected"], frame["lower"], frame["upper"]))
