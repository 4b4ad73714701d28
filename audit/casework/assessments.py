"""The annual site review (年度评估): the auditor assesses each device in use — keep (保留), relocate (迁移) or remove
(拆除) — on the evidence of the year: captures, problems and the registered justification, which is kept with the
assessment. A device not assessed within the cycle becomes an ASR01 finding (audit.rules.site_review).

An assessment is a record, not a decision: relocating or removing a device is then decided as any other
(a rectification with its ledger item, or a removal decision).
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..registry.models import ASSESSMENT_OUTCOMES, Department, Device, Problem, SiteAssessment, ViolationStat
from ..registry.store import load_status_history
from ..rules.profiles import load_profile
from ..rules.service import status_on
from ..rules.site_review import add_months, review_due
from .decisions import DecisionError, get_device

YEAR_DAYS = 365
DUE_SOON_DAYS = 30


def captures(session: Session, device_id: int, end: dt.date, days: int = YEAR_DAYS) -> dict[str, Any]:
    """The device's captures over the `days` up to `end`: total, days with data, per day, fines, by month.

    Daily statistics where the device has them, else its monthly ones."""
    start = end - dt.timedelta(days=days - 1)
    rows = session.execute(select(ViolationStat.period, ViolationStat.period_start, ViolationStat.count,
                                  ViolationStat.fine_yuan)
                           .where(ViolationStat.device_id == device_id, ViolationStat.period_start <= end,
                                  ViolationStat.period_start >= start.replace(day=1))).all()
    daily = [r for r in rows if r.period == "day" and r.period_start >= start]
    chosen = daily or [r for r in rows if r.period == "month"]
    months: dict[str, int] = defaultdict(int)
    for r in chosen:
        months[r.period_start.strftime("%Y-%m")] += int(r.count)
    total = sum(int(r.count) for r in chosen)
    fines = [float(r.fine_yuan) for r in chosen if r.fine_yuan is not None]
    return {"from": start.isoformat(), "to": end.isoformat(), "total": total,
            "days_with_data": len(daily) if daily else None, "per_day": round(total / days, 2) if chosen else None,
            "fine_yuan": round(sum(fines), 2) if fines else None, "by_month": dict(sorted(months.items())),
            "source": "day" if daily else ("month" if chosen else None)}


def evidence_for(session: Session, device: Device, on: dt.date) -> dict[str, Any]:
    """What the assessment rests on: the year's captures, the device's problems (open and resolved), its registered
    justification and site, and its previous assessment."""
    problems = list(session.scalars(select(Problem).where(Problem.device_id == device.id).order_by(Problem.rule)))
    previous = last_assessment(session, device.id)
    return {
        "captures": captures(session, device.id, on),
        "open_problems": [{"id": p.id, "rule": p.rule, "severity": p.severity, "message": p.message,
                           "verdict": p.verdict} for p in problems if not p.is_resolved
                          and not (p.verdict == "dismissed" and not p.stale)],
        "resolved_problems": sum(p.is_resolved for p in problems),
        "justification": device.justification,
        "site": "、".join(x for x in (device.road, device.address, device.direction) if x),
        "in_service_on": device.in_service_on.isoformat() if device.in_service_on else None,
        "previous": ({"assessed_on": previous.assessed_on.isoformat(), "outcome": previous.outcome}
                     if previous is not None else None),
    }


def last_assessment(session: Session, device_id: int) -> SiteAssessment | None:
    return session.scalar(select(SiteAssessment).where(SiteAssessment.device_id == device_id)
                          .order_by(SiteAssessment.assessed_on.desc(), SiteAssessment.id.desc()).limit(1))


def assess(session: Session, device_id: int, *, outcome: str, reason: str, user: str,
           on: dt.date | None = None) -> SiteAssessment:
    """Record the auditor's assessment of a device in use, with the evidence seen on that day."""
    device = get_device(session, device_id)
    reason, user = (reason or "").strip(), (user or "").strip()
    if outcome not in ASSESSMENT_OUTCOMES:
        raise DecisionError(f"评估结论“{outcome}”不对，应为：{'、'.join(ASSESSMENT_OUTCOMES.values())}。")
    if not reason:
        raise DecisionError("请写明评估理由（如近一年抓拍量、事故情况、问题整改情况、设置依据是否仍然成立）。")
    if not user:
        raise DecisionError("请填写评估人。")
    if device.status in ("拆除", "拟建"):
        raise DecisionError(f"设备“{device.device_code}”为“{device.status}”，不在用，无需年度评估。")
    day = on or dt.date.today()
    if device.in_service_on is not None and day < device.in_service_on:
        raise DecisionError(f"评估日期 {day.isoformat()} 早于设备启用日期 {device.in_service_on.isoformat()}。")
    assessment = SiteAssessment(device_id=device.id, assessed_on=day, outcome=outcome, reason=reason,
                                evidence=evidence_for(session, device, day), assessed_by=user)
    session.add(assessment)
    session.flush()
    return assessment


@dataclass
class ScheduleRow:
    """A device in use in the annual review: its latest assessment and when the next is due."""

    device: Device
    last: SiteAssessment | None
    due: dt.date | None
    on: dt.date

    @property
    def state(self) -> str:
        """overdue | due_soon | ok | unknown (no assessment and no 启用日期)."""
        if self.due is None:
            return "unknown"
        if self.on > self.due:
            return "overdue"
        return "due_soon" if (self.due - self.on).days <= DUE_SOON_DAYS else "ok"

    @property
    def days(self) -> int | None:
        return None if self.due is None else abs((self.on - self.due).days)


STATE_ZH = {"overdue": "逾期未评估", "due_soon": "即将到期", "ok": "未到期", "unknown": "启用日期不详"}


def schedule(session: Session, on: dt.date, *, department: str | None = None, profile: str = "national"
             ) -> list[ScheduleRow]:
    """Every device in use (status 在用) on `on` with its latest assessment on or before that day and its next due
    date under the profile's cycle, by department and device code. The status is the one the device had on `on`
    (rules.service.status_on): a device removed or suspended since was in use then, one put in use since was not."""
    prof = load_profile(profile)
    months = int(prof.get("site_review_interval_months").value)
    since = prof.get("site_review_effective_from").value
    query = (select(Device).join(Department).options(selectinload(Device.department))
             .order_by(Department.name, Device.device_code))
    if department:
        query = query.where(Department.name == department)
    devices = list(session.scalars(query))
    codes = [d.device_code for d in devices]
    then = status_on(pd.DataFrame({"device_code": codes, "status": [d.status for d in devices]}),
                     load_status_history(session, codes), on)
    devices = [d for d, status in zip(devices, then["status"].tolist()) if status == "在用"]
    latest: dict[int, SiteAssessment] = {}
    ids = [d.id for d in devices]
    for start in range(0, len(ids), 5000):
        for a in session.scalars(select(SiteAssessment).where(SiteAssessment.device_id.in_(ids[start:start + 5000]),
                                                              SiteAssessment.assessed_on <= on)
                                 .order_by(SiteAssessment.assessed_on, SiteAssessment.id)):
            latest[a.device_id] = a
    rows = []
    for d in devices:
        last = latest.get(d.id)
        due = review_due(d.in_service_on, last.assessed_on if last else None, since, months)
        if due is None and on <= add_months(since, months):
            due = add_months(since, months)  # whenever it started, not due before the first cycle ends
        rows.append(ScheduleRow(d, last, due, on))
    return rows


def history(session: Session, device_id: int) -> list[SiteAssessment]:
    return list(session.scalars(select(SiteAssessment).where(SiteAssessment.device_id == device_id)
                                .order_by(SiteAssessment.assessed_on.desc(), SiteAssessment.id.desc())))


__all__ = ["assess", "evidence_for", "captures", "last_assessment", "schedule", "ScheduleRow", "STATE_ZH",
           "history", "YEAR_DAYS", "DUE_SOON_DAYS"]
