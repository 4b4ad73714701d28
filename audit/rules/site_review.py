"""ASR: the annual site review (年度评估) — every device in use is assessed keep / relocate / remove each year."""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pandas as pd

from .base import (
    BASIS_GUOFA_2024_5,
    IN_USE,
    Rule,
    as_timestamp,
    device_states,
    in_use_text,
    register,
    unknown_state_findings,
)

if TYPE_CHECKING:
    from .context import AuditContext


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (the month's last day where it has fewer days)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)


def review_due(in_service_on: dt.date | None, last_assessed: dt.date | None, effective_from: dt.date,
               months: int) -> dt.date | None:
    """The day by which a device in use must next be assessed: a cycle after its last assessment, or — never
    assessed — a cycle after it went into use or after the review began (effective_from), whichever is later.
    None when neither an assessment nor the start of use is known."""
    if last_assessed is not None:
        return add_months(last_assessed, months)
    if in_service_on is None:
        return None
    return add_months(max(in_service_on, effective_from), months)


@register
class AnnualSiteReview(Rule):
    """A device in use that has not had its annual site review (年度评估) within the cycle.

    Why: 国发〔2024〕5号 requires the site, spacing and number of devices to follow real supervision needs, which
    change: a site justified by last year's accidents may not be justified now. Each year the supervising body
    assesses every device in use — keep, relocate or remove — on its captures, its problems and its registered
    justification (the practice of New South Wales and of the UK safety camera partnerships, which review every
    site yearly). The cycle (`site_review_interval_months`) runs from the last assessment; a device never
    assessed is due a cycle after it went into use or after the review began (`site_review_effective_from`).

    Fails: in use since 2023-07-01, review from 2024-01-01, 12 months, as of 2025-06-30, never assessed (due
    2025-01-01); or last assessed 2024-05-01 (due 2025-05-01).
    Passes: assessed 2024-12-01 (due 2025-12-01); in use since 2025-03-01 (due 2026-03-01); planned (拟建).

    Key: the due date (a review missed again next year is a new problem). Material evidence: none beyond the key.
    """

    code = "ASR01"
    title_zh = "在用设备超过一年未作年度评估"
    title_en = "In use without the annual site review"
    basis = f"{BASIS_GUOFA_2024_5}（设置地点、间距和数量应符合实际监管需要）；本地专项监督工作方案（年度点位评估）"
    severity = "一般"
    action = "核查"
    settings = ("site_review_interval_months", "site_review_effective_from")

    def check(self, devices: pd.DataFrame, ctx: AuditContext) -> list[pd.DataFrame]:
        day = ctx.as_of
        months = int(self.setting(ctx, "site_review_interval_months").value)
        since = self.setting(ctx, "site_review_effective_from").value
        threshold = {n: self.setting(ctx, n).threshold() for n in self.settings}
        used = devices[device_states(devices, ctx) == IN_USE]
        done = ctx.assessments[ctx.assessments["assessed_on"] <= as_timestamp(day)]
        last = done.groupby("device_code")["assessed_on"].max() if len(done) else pd.Series(dtype="datetime64[ns]")
        rows, messages, evidence = [], [], []
        unknown = []
        for i, (code, start, text) in enumerate(zip(used["device_code"], used["in_service_on"], in_use_text(used))):
            started = None if pd.isna(start) else start.date()
            previous = last.get(code)
            previous = None if previous is None or pd.isna(previous) else previous.date()
            due = review_due(started, previous, since, months)
            if due is None:
                if day > add_months(since, months):  # whenever it started, it may have been due by now
                    unknown.append(i)
                continue
            if day <= due:
                continue
            rows.append(i)
            late = (day - due).days
            basis = f"上次评估 {previous.isoformat()}" if previous else (
                f"自{'年度评估起算日 ' + since.isoformat() if started is None or started < since else '启用日期 ' + started.isoformat()}起从未评估")
            messages.append(f"{text}，{basis}，应于 {due.isoformat()} 前完成年度评估，已逾期 {late} 天；"
                            "应由审查机关结合抓拍量、问题和设置依据评估保留、迁移或拆除。")
            evidence.append({"key": due.isoformat(), "due_on": due.isoformat(), "days_late": late,
                             "last_assessed_on": previous.isoformat() if previous else None,
                             "in_service_on": started.isoformat() if started else None})
        flagged = used.iloc[rows]
        return [
            unknown_state_findings(self, devices, ctx, "设备是否在用、是否到了年度评估期限"),
            self.findings(flagged, messages, evidence, threshold, is_plain=True),
            self.cannot_assess(used.iloc[unknown], ["in_service_on"], "设备是否已到年度评估期限"),
        ]


__all__ = ["AnnualSiteReview", "add_months", "review_due"]
