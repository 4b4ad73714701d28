"""REV: legal and technical review before a device is used to collect evidence (行政处罚法 第四十一条第一款)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from .base import (
    BASIS_GUOFA_2024_5,
    BASIS_LAW_41,
    HEADERS,
    IN_USE,
    Rule,
    as_timestamp,
    device_states,
    fmt_dates,
    in_use_text,
    register,
    unknown_state_findings,
    unsupplied,
)
from .stakes import OPEN, day_numbers_of, stakes_for

if TYPE_CHECKING:
    from .context import AuditContext


class _ReviewRule(Rule):
    """Shared check: a device in use must have the review recorded, dated on or before it went into use.

    Material evidence: the review date (a verdict given while no review was recorded does not cover a review
    entered later with a date after going into use).

    Each finding states the cases at stake (audit.rules.stakes): the violations and fines recorded with no review
    at all, or before the review date, which 第四十一条第二款 bars as evidence and the department must review.
    """

    column: str
    review_zh: str
    severity = "严重"
    action = "停用"

    def check(self, devices: pd.DataFrame, ctx: AuditContext) -> list[pd.DataFrame]:
        day = as_timestamp(ctx.as_of)
        state = device_states(devices, ctx)
        used = devices[state == IN_USE]
        review = used[self.column]
        started = used["in_service_on"]
        header = HEADERS[self.column]
        # A review dated after the as-of date was not there on the as-of date; a column the department never sent
        # says nothing either way.
        absent = used[review.isna() & unsupplied(used, self.column)]
        missing = used[(review.isna() & ~unsupplied(used, self.column)) | (review > day)]
        late = used[review.notna() & (review <= day) & started.notna() & (review > started)]
        timing_unknown = used[review.notna() & (review <= day) & started.isna()]

        # The cases at stake: all recorded without the review, or recorded before it.
        stake_missing, cases_missing = stakes_for(devices, ctx, missing, -OPEN, OPEN,
                                                  [f"截至{day:%Y-%m-%d}该设备"] * len(missing))
        msg_missing = [
            f"{used_text}，但截至{day:%Y-%m-%d}未记录{self.review_zh}"
            f"（“{header}”{'为空' if not d else f'{d} 晚于审查基准日'}）；"
            f"应立即停用，完成{self.review_zh}后方可使用；{stake}。"
            for d, used_text, stake in zip(fmt_dates(missing[self.column]), in_use_text(missing), stake_missing)]
        ev_missing = [{self.column: d or None, "in_service_on": s or None, "cases": c}
                      for d, s, c in zip(fmt_dates(missing[self.column]), fmt_dates(missing["in_service_on"]),
                                         cases_missing)]
        late_days = (late[self.column] - late["in_service_on"]).dt.days.tolist()
        reviewed = fmt_dates(late[self.column])
        stake_late, cases_late = stakes_for(devices, ctx, late, -OPEN, day_numbers_of(late[self.column]) - 1,
                                            [f"{self.review_zh}前（{r} 以前）" for r in reviewed])
        msg_late = [
            f"{self.review_zh}日期 {r} 晚于启用日期 {s}（晚 {n} 天）：投入使用时未经{self.review_zh}；"
            f"应停用核查；{stake}。"
            for r, s, n, stake in zip(reviewed, fmt_dates(late["in_service_on"]), late_days, stake_late)]
        ev_late = [{self.column: r, "in_service_on": s, "days_late": n, "cases": c}
                   for r, s, n, c in zip(reviewed, fmt_dates(late["in_service_on"]), late_days, cases_late)]
        return [
            unknown_state_findings(self, devices, ctx, f"设备是否在用、是否须经{self.review_zh}"),
            self.findings(missing, msg_missing, ev_missing, is_plain=True),
            self.findings(late, msg_late, ev_late, is_plain=True),
            self.cannot_assess(timing_unknown, ["in_service_on"], f"{self.review_zh}是否在投入使用前完成"),
            self.cannot_assess(absent, [self.column], f"设备是否经过{self.review_zh}",
                               reason=f"上传的设备登记表没有“{header}”列"),
        ]


@register
class LegalReview(_ReviewRule):
    """A device in use has no legal review (法制审核) recorded, or the review is dated after it went into use.

    Why: 《行政处罚法》第四十一条第一款 requires legal and technical review before electronic monitoring devices
    are used to collect or fix facts of violations; 国发〔2024〕5号 lists use without review as a problem.

    Fails: status 在用, 启用日期 2023-07-01, 法制审核日期 empty (or 2023-08-01).
    Passes: status 在用, 启用日期 2023-07-01, 法制审核日期 2023-06-01; or status 拟建 with no review yet.
    """

    code = "REV01"
    material_evidence = ("legal_review_on",)
    title_zh = "在用设备未经法制审核"
    title_en = "In use without legal review"
    basis = f"{BASIS_LAW_41}；{BASIS_GUOFA_2024_5}"
    column = "legal_review_on"
    review_zh = "法制审核"


@register
class TechnicalReview(_ReviewRule):
    """A device in use has no technical review (技术审核) recorded, or the review is dated after it went into use.

    Why: 《行政处罚法》第四十一条第一款 requires legal and technical review before use; records from devices not
    reviewed may not be used as evidence (第四十一条第二款).

    Fails: status 在用, 启用日期 2023-07-01, 技术审核日期 empty (or 2023-07-02).
    Passes: status 在用, 启用日期 2023-07-01, 技术审核日期 2023-06-10.
    """

    code = "REV02"
    material_evidence = ("tech_review_on",)
    title_zh = "在用设备未经技术审核"
    title_en = "In use without technical review"
    basis = f"{BASIS_LAW_41}；{BASIS_GUOFA_2024_5}"
    column = "tech_review_on"
    review_zh = "技术审核"
