"""What the device page (一机一档, the device's dossier) shows: the record grouped as a file is kept (basic facts,
reviews, sign, publication, verification) with the evidence files of each, the chart, the problems with their
verdicts and the department's answers, decisions, the ledger and its proof, spot checks, every file, the change
log in words."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from audit.casework import attachments, responses
from audit.casework.decisions import device_decisions
from audit.registry.history import describe
from audit.intake.columns import DEVICE_COLUMNS
from audit.registry.models import (AuditRun, ChangeLog, Device, Finding, LedgerItem, Problem, ProblemReview,
                                   SpotCheckItem, VerificationRecord, ViolationStat)
from audit.registry.store import load_reported_days
from audit.rules.band import expected_band
from audit.rules.profiles import ProfileError, load_profile

from ..findings import cannot_assess_condition, current_condition, rule_titles
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


# The dossier's sections of the record (一机一档): key → (title, the fields it holds, the files that prove them).
SECTIONS = (
    ("basic", "基本情况", ("device_code", "name", "device_type", "violation_kinds", "road", "direction", "address",
                        "lon", "lat", "crs", "installed_on", "in_service_on", "status", "speed_limit_kmh",
                        "justification")),
    ("review", "法制和技术审核", ("legal_review_on", "legal_review_no", "tech_review_on", "tech_review_no")),
    ("signage", "标识设置", ("signage", "sign_distance_m")),
    ("publication", "社会公布", ("published_on", "publication_channel")),
    ("verification", "计量检定", ("verified_on", "verification_valid_until", "verification_result", "certificate_no")),
)
HEADERS = {c.key: c.header for c in DEVICE_COLUMNS}


def sections(device: Device, files: list[Any]) -> list[dict[str, Any]]:
    """The record in the dossier's sections, each with its fields and the files filed under it."""
    by_section: dict[str, list[Any]] = {}
    for f in files:
        by_section.setdefault(attachments.PURPOSE_FIELDS.get(f.purpose, ""), []).append(f)
    out = []
    for key, title, fields in SECTIONS:
        rows = [(HEADERS[k], cell(getattr(device, k))) for k in fields]
        if key == "basic":
            rows.insert(1, ("所属单位", device.department.name))
            rows += [("原始经度", cell(device.raw_lon)), ("原始纬度", cell(device.raw_lat))]
        purpose = next((p for p, s in attachments.PURPOSE_FIELDS.items() if s == key), None)
        out.append({"key": key, "title": title, "rows": rows, "files": by_section.get(key, []), "purpose": purpose})
    return out


def context(db: Session, device: Device) -> dict[str, Any]:
    verifications = db.scalars(select(VerificationRecord).where(VerificationRecord.device_id == device.id)
                               .order_by(VerificationRecord.verified_on.desc())).all()
    findings = db.execute(select(Finding, AuditRun).join(AuditRun, AuditRun.id == Finding.run_id)
                          .where(Finding.device_id == device.id)
                          .order_by(AuditRun.id.desc(), Finding.rule)).all()
    current = set(db.scalars(select(Finding.id).where(Finding.device_id == device.id, current_condition(db))))
    problems = db.scalars(select(Problem).where(Problem.device_id == device.id)
                          .order_by(Problem.resolved_on.isnot(None), Problem.rule, Problem.key)).all()
    reviews: dict[int, list[ProblemReview]] = {}
    for r in db.scalars(select(ProblemReview).where(ProblemReview.problem_id.in_([p.id for p in problems]))
                        .order_by(ProblemReview.id)):
        reviews.setdefault(r.problem_id, []).append(r)
    data_requests = db.scalars(select(Finding).where(Finding.device_id == device.id, current_condition(db),
                                                     cannot_assess_condition()).order_by(Finding.rule)).all()
    ledger = db.scalars(select(LedgerItem).where(LedgerItem.device_id == device.id).order_by(LedgerItem.id)).all()
    answers = responses.responses_of(db, [p.id for p in problems])
    files = attachments.of_device(db, device.id)
    spot_checks = db.scalars(select(SpotCheckItem).where(SpotCheckItem.device_id == device.id)
                             .order_by(SpotCheckItem.id.desc())).all()
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
        "sections": sections(device, files),
        "files": files,
        "purposes": attachments.PURPOSES,
        "threads": {p.id: responses.thread(db, p.id, reviews.get(p.id, []), answers.get(p.id, [])) for p in problems},
        "pending": {p.id: r for p in problems for r in answers.get(p.id, []) if r.status == "pending"},
        "can_respond": {p.id for p in problems if responses.can_respond(p)},
        "spot_checks": spot_checks,
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
