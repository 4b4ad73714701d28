"""PUB: the placement site is published before the device goes into use."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .base import (
    BASIS_GUOFA_2024_5,
    BASIS_LAW_41,
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
from .data import day_to_date
from .stakes import OPEN, day_numbers_of, stakes_for

if TYPE_CHECKING:
    from .context import AuditContext
    from .profiles import Profile


@register
class Publication(Rule):
    """A device in use whose site was not published, or published later than the profile's lead time before use.

    Why: 《行政处罚法》第四十一条第一款: the placement sites must be published; 国发〔2024〕5号: publish before use.
    Guangdong (粤府〔2025〕12号) requires publication 30 days before use, for devices going into use from
    2025-05-01 (`publication_lead_effective_from`); earlier devices are held to "before use" (0 days).

    Each finding states the cases at stake: the violations and fines recorded with no publication, or before the
    site had been published for the required lead time (the cases the department must review one by one).

    Fails (national): 启用日期 2023-07-01, 社会公布日期 empty or 2023-07-02.
    Fails (guangdong): 启用日期 2025-07-01, 社会公布日期 2025-06-15 (16 days, 30 required).
    Passes: 启用日期 2023-07-01, 社会公布日期 2023-06-20 (national); 2025-05-20 for a 2025-07-01 start (guangdong).

    Basis: the national texts; a profile that sets a lead time adds the measure it comes from (the source of
    `publication_lead_days`), so a national audit never cites a provincial rule. Material evidence: the
    publication date.
    """

    code = "PUB01"
    title_zh = "投入使用前未向社会公布"
    title_en = "Site not published before use"
    basis = f"{BASIS_LAW_41}；{BASIS_GUOFA_2024_5}"
    severity = "严重"
    action = "停用"
    settings = ("publication_lead_days", "publication_lead_effective_from")
    material_evidence = ("published_on",)

    def basis_for(self, profile: Profile) -> str:
        lead = profile.values["publication_lead_days"]
        return f"{self.basis}；{lead.source}" if lead.value and lead.source not in self.basis else self.basis

    def check(self, devices: pd.DataFrame, ctx: AuditContext) -> list[pd.DataFrame]:
        day = as_timestamp(ctx.as_of)
        lead = self.setting(ctx, "publication_lead_days").value
        since = as_timestamp(self.setting(ctx, "publication_lead_effective_from").value)
        threshold = {n: self.setting(ctx, n).threshold() for n in self.settings}
        used = devices[device_states(devices, ctx) == IN_USE]
        pub = used["published_on"]
        absent = used[pub.isna() & unsupplied(used, "published_on")]
        missing = used[(pub.isna() & ~unsupplied(used, "published_on")) | (pub > day)]
        dated = used[pub.notna() & (pub <= day)]
        timing_unknown = dated[dated["in_service_on"].isna()]
        dated = dated[dated["in_service_on"].notna()]
        required = pd.Series(0, index=dated.index).where(dated["in_service_on"] < since, lead)
        actual = (dated["in_service_on"] - dated["published_on"]).dt.days
        late = dated[actual < required]
        req, act = required[late.index].tolist(), actual[late.index].tolist()

        pub_text = fmt_dates(missing["published_on"])
        stake_missing, cases_missing = stakes_for(devices, ctx, missing, -OPEN, OPEN,
                                                  [f"截至{day:%Y-%m-%d}该设备"] * len(missing))
        msg_missing = [
            f"{used}，但截至{day:%Y-%m-%d}未记录社会公布（“社会公布日期”{'为空' if not p else f'{p} 晚于审查基准日'}）；"
            f"应立即停用，向社会公布设置地点后方可使用；{stake}。"
            for p, used, stake in zip(pub_text, in_use_text(missing), stake_missing)]
        ev_missing = [{"published_on": p or None, "in_service_on": s or None,
                       "lead_days_required": int(lead) if pd.notna(st) and st >= since else 0, "cases": c}
                      for p, s, st, c in zip(pub_text, fmt_dates(missing["in_service_on"]), missing["in_service_on"],
                                             cases_missing)]
        p_late, s_late = fmt_dates(late["published_on"]), fmt_dates(late["in_service_on"])
        # The cases recorded before the lead time had run: before publication + the required days.
        ready = day_numbers_of(late["published_on"]) + np.asarray(req, dtype=np.int64)
        ready_text = [day_to_date(int(r)).date().isoformat() for r in ready]
        stake_late, cases_late = stakes_for(devices, ctx, late, -OPEN, ready - 1, [
            f"公布前（{r} 以前）" if q == 0 else f"公布满 {q} 天前（{r} 以前）" for r, q in zip(ready_text, req)])
        msg_late = [
            (f"社会公布日期 {p} 晚于启用日期 {s}：投入使用时未向社会公布；" if a < 0 else
             f"社会公布日期 {p} 仅早于启用日期 {s} {a} 天，少于本配置要求的 {r} 天；")
            + f"应停用核查；{stake}。"
            for p, s, a, r, stake in zip(p_late, s_late, act, req, stake_late)]
        ev_late = [{"published_on": p, "in_service_on": s, "lead_days_actual": a, "lead_days_required": r,
                    "lawful_from": f, "cases": c}
                   for p, s, a, r, f, c in zip(p_late, s_late, act, req, ready_text, cases_late)]
        return [
            unknown_state_findings(self, devices, ctx, "设备是否在用、是否须已公布"),
            self.findings(missing, msg_missing, ev_missing, threshold, is_plain=True),
            self.findings(late, msg_late, ev_late, threshold, is_plain=True),
            self.cannot_assess(timing_unknown, ["in_service_on"], "是否在投入使用前公布"),
            self.cannot_assess(absent, ["published_on"], "设置地点是否向社会公布", reason="上传的设备登记表没有“社会公布日期”列"),
        ]
