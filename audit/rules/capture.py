"""VIO01, VIO03: capture counts and fine amounts abnormally high against peers (采集量、罚款数额畸高).

No official threshold exists: the rules compare each device's rate per day in service with the devices of its
type (audit.rules.peers) and report the score, the ratio to the peers' median and the peers. A device is flagged
when both its robust score exceeds peer_score_threshold and its rate is at least peer_min_ratio times the
peers' median: with tight peers a small difference is no abnormality (200.11 元 a case against peers at 200 元).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .base import BASIS_GUOFA_2024_5, IN_USE, Rule, device_states, memo, register
from .data import day_to_date
from .peers import PeerScores, funnel, peer_groups, peer_scores, rate_variance, service_totals

if TYPE_CHECKING:
    from .context import AuditContext
    from .profiles import Profile

BASIS_VIO = f"{BASIS_GUOFA_2024_5}（对违法事实采集量、罚款数额畸高的设备开展大数据分析，重点监督）"
PEER_SETTINGS = ("peer_min_devices", "peer_min_days", "peer_score_threshold", "peer_min_ratio",
                 "peer_within_department")
SCOPE_ZH = {True: "本单位同类", False: "全部审查范围同类"}


class _PeerRule(Rule):
    """Shared: which devices can be compared with peers, and the cannot-assess findings for the others."""

    severity = "较重"
    action = "核查"
    settings = PEER_SETTINGS
    material_evidence = ()
    reach = "audit"  # peers may be of the whole audit
    uses_service_totals = True
    what: str

    def eligible(self, devices: pd.DataFrame, ctx: AuditContext, need_fines: bool) -> tuple[np.ndarray, list]:
        used = (device_states(devices, ctx) == IN_USE).to_numpy()
        if not ctx.has_counts():
            return np.zeros(len(devices), dtype=bool), [self.context_cannot_assess(
                devices.loc[used, "department"], self.what, "未导入违法采集量统计", "导入违法采集量统计表")]
        tot = service_totals(devices, ctx)
        min_days = int(self.setting(ctx, "peer_min_days").value)
        has_rows = tot["rows"].to_numpy() > 0
        long_enough = np.nan_to_num(tot["days"].to_numpy(), nan=0) >= min_days
        ok = has_rows & long_enough
        parts = [self.cannot_assess(devices[used & ~has_rows], [], self.what, reason="未报送该设备在用期间的违法采集量统计"),
                 self.cannot_assess(devices[used & has_rows & ~long_enough], [], self.what,
                                    reason=f"统计期内在用不足 {min_days} 天")]
        if need_fines:
            fines = tot["fine_rows"].to_numpy() > 0
            parts.append(self.cannot_assess(devices[ok & ~fines], [], self.what, reason="违法采集量统计未填罚款金额"))
            ok &= fines
        return ok, parts

    def reference(self, devices: pd.DataFrame, ctx: AuditContext, ok: np.ndarray) -> np.ndarray:
        """The devices others are compared with: comparable, and no captures out of service (SRV01)."""
        return ok & ~service_totals(devices, ctx)["out_of_service"].to_numpy()

    def scores(self, devices: pd.DataFrame, ctx: AuditContext, x: np.ndarray, var: np.ndarray,
               reference: np.ndarray) -> PeerScores:
        groups = memo(ctx, "peer_groups", lambda: peer_groups(devices["device_type"].to_numpy(dtype=object),
                                                                  devices["department"].to_numpy(dtype=object)))
        return peer_scores(x, var, groups, reference, int(self.setting(ctx, "peer_min_devices").value),
                           bool(self.setting(ctx, "peer_within_department").value))

    def too_few(self, devices: pd.DataFrame, ctx: AuditContext, ok: np.ndarray, scores: PeerScores) -> tuple[
            np.ndarray, list]:
        """(devices with enough peers, cannot-assess findings for the others)."""
        min_peers = int(self.setting(ctx, "peer_min_devices").value)
        few = ok & (scores.size < min_peers)
        return ok & ~few, [self.cannot_assess(devices[few], [], self.what,
                                              reason=f"同类设备中可比较的不足 {min_peers} 台")]

    def limits(self, ctx: AuditContext) -> tuple[float, float]:
        return float(self.setting(ctx, "peer_score_threshold").value), float(self.setting(ctx, "peer_min_ratio").value)

    def threshold(self, ctx: AuditContext) -> dict[str, Any]:
        return {n: self.setting(ctx, n).threshold() for n in self.settings}


def _window(tot: pd.DataFrame) -> list[str]:
    return [f"{day_to_date(a):%Y-%m-%d} 至 {day_to_date(b):%Y-%m-%d}"
            for a, b in zip(tot["window_start"], tot["window_end"])]


def _span(tot: pd.DataFrame) -> list[dict[str, Any]]:
    return [{"window_start": day_to_date(a), "window_end": day_to_date(b)}
            for a, b in zip(tot["window_start"], tot["window_end"])]


@register
class PeerCaptureCount(_PeerRule):
    """Capture count abnormally high against peers of the same type (violations per day in service).

    Rate: violations in service over days in service (audit.rules.peers.service_totals: a retired device's days
    end when its data end; days and captures out of service are left out). Score: robust z of log(1 + rate)
    against the same type within the department (at least peer_min_devices comparable devices; else across the
    audit, or always so when peer_within_department is false). Flagged when the score exceeds
    peer_score_threshold and the rate is at least peer_min_ratio times the peers' median. One problem per device
    (no key); material: none (the rate moves with every day of data).

    Fails: one 固定测速 at 108 violations/day among ten at 10–19/day (score ≈ 7.5, 7.4 times the median).
    Passes: a device at 18/day among the same; 115/day among peers at exactly 100/day (1.15 times: not abnormal);
    a device with 5 days of data (reported as cannot assess).
    """

    code = "VIO01"
    title_zh = "违法采集量畸高（同类比较）"
    title_en = "Capture count abnormally high against peers"
    basis = BASIS_VIO
    what = "违法采集量是否畸高"

    def check(self, devices: pd.DataFrame, ctx: AuditContext) -> list[pd.DataFrame]:
        ok, parts = self.eligible(devices, ctx, need_fines=False)
        if not ok.any():
            return parts
        tot = service_totals(devices, ctx)
        rate = np.where(ok, tot["violations"] / tot["days"].where(tot["days"] > 0, np.nan), np.nan)
        scores = self.scores(devices, ctx, np.log1p(rate), rate_variance(rate, tot["days"].to_numpy()),
                             self.reference(devices, ctx, ok))
        ok, few = self.too_few(devices, ctx, ok, scores)
        own = scores.within_department
        limit, ratio = self.limits(ctx)
        peer = np.expm1(scores.median)
        hit = ok & (scores.score > limit) & (rate >= ratio * peer)
        t = tot[hit]
        messages, evidence = [], []
        for w, span, r, d, n, ty, within, k, p, s in zip(_window(t), _span(t), rate[hit], t["days"], t["violations"],
                                                     devices.loc[hit, "device_type"], own[hit], scores.size[hit],
                                                     peer[hit], scores.score[hit]):
            times = r / p if p > 0 else float("inf")
            messages.append(f"{w}在用 {int(d)} 天，日均采集违法 {r:.1f} 起（共 {int(n)} 起），为{SCOPE_ZH[bool(within)]}设备"
                            f"（{ty}，{int(k)} 台）中位数 {p:.1f} 起/日的 {times:.1f} 倍，稳健Z分数 {s:.1f}，超过 {limit:g}"
                            f"且不低于 {ratio:g} 倍；应重点核查设置地点、设备状态和违法记录。")
            evidence.append({"per_day": round(r, 3), "violations": int(n), "days": int(d), **span,
                             "peer_type": ty, "peer_scope": "department" if within else "audit",
                             "peer_count": int(k), "peer_median_per_day": round(p, 3),
                             "ratio": round(times, 2) if np.isfinite(times) else None, "score": round(s, 3)})
        return parts + few + [self.findings(devices[hit], messages, evidence, self.threshold(ctx))]


@register
class PeerFineAmount(_PeerRule):
    """Fine amount abnormally high against peers of the same type: fines per day in service, and per violation.

    Scores as VIO01 (robust z within the type, the department's where it has enough) on log(1 + fines per day)
    and on log(1 + fine per violation), over rows whose fine is known; flagged when either exceeds
    peer_score_threshold and is at least peer_min_ratio times the peers' median. One problem per device (no key);
    material: none (the amounts move with every day of data).

    Fails: a 固定测速 collecting 30,000 元/day among ten at 1,000–3,000 元/day; or at 1,500 元 per violation
    among peers at 200 元.
    Passes: a device at 2,000 元/day and 200 元 per violation among the same; a red-light camera at 200.11 元 per
    violation among peers at 200 元 (a high score, but 1.0 times the median).
    """

    code = "VIO03"
    title_zh = "罚款数额畸高（同类比较）"
    title_en = "Fine amount abnormally high against peers"
    basis = BASIS_VIO
    what = "罚款数额是否畸高"

    def check(self, devices: pd.DataFrame, ctx: AuditContext) -> list[pd.DataFrame]:
        ok, parts = self.eligible(devices, ctx, need_fines=True)
        if not ok.any():
            return parts
        tot = service_totals(devices, ctx)
        reference = self.reference(devices, ctx, ok)
        days = tot["days"].where(tot["days"] > 0, np.nan).to_numpy()
        per_day = np.where(ok, tot["fine"].to_numpy() / days, np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            per_case = np.where(ok & (tot["fined_violations"] > 0), tot["fine"] / tot["fined_violations"], 0.0)
        cases_per_day = tot["fined_violations"].to_numpy() / days
        s_day = self.scores(devices, ctx, np.log1p(per_day), rate_variance(cases_per_day, days, per_case), reference)
        s_case = self.scores(devices, ctx, np.log1p(per_case), np.zeros(len(devices)), reference)
        ok, few = self.too_few(devices, ctx, ok, s_day)
        own = s_day.within_department
        limit, ratio = self.limits(ctx)
        m_day, m_case = np.expm1(s_day.median), np.expm1(s_case.median)
        high_day = ok & (s_day.score > limit) & (per_day >= ratio * m_day)
        high_case = ok & (s_case.score > limit) & (per_case >= ratio * m_case)
        hit = high_day | high_case
        t = tot[hit]
        messages, evidence = [], []
        for w, span, fd, fc, total, d, ty, within, k, md, mc, sd, sc, hd, hc in zip(
                _window(t), _span(t), per_day[hit], per_case[hit], t["fine"], t["days"], devices.loc[hit, "device_type"],
                own[hit], s_day.size[hit], m_day[hit], m_case[hit], s_day.score[hit], s_case.score[hit],
                high_day[hit], high_case[hit]):
            high = []
            if hd:
                high.append(f"日均罚款 {fd:,.2f} 元，为中位数 {md:,.2f} 元的 {fd / md if md > 0 else float('inf'):.1f} 倍"
                            f"（稳健Z分数 {sd:.1f}）")
            if hc:
                high.append(f"每起罚款 {fc:,.2f} 元，为中位数 {mc:,.2f} 元的 {fc / mc if mc > 0 else float('inf'):.1f} 倍"
                            f"（稳健Z分数 {sc:.1f}）")
            messages.append(f"{w}在用 {int(d)} 天罚款共 {total:,.2f} 元，" + "；".join(high)
                            + f"，超过 {limit:g} 且不低于 {ratio:g} 倍（{SCOPE_ZH[bool(within)]}：{ty}，{int(k)} 台）；"
                            "应重点核查处罚是否合法适当。")
            evidence.append({"fine_yuan": round(total, 2), "days": int(d), **span,
                             "fine_per_day": round(fd, 2), "fine_per_violation": round(fc, 2), "peer_type": ty,
                             "peer_scope": "department" if within else "audit", "peer_count": int(k),
                             "peer_median_fine_per_day": round(md, 2), "peer_median_fine_per_violation": round(mc, 2),
                             "score_per_day": round(sd, 3), "score_per_violation": round(sc, 3)})
        return parts + few + [self.findings(devices[hit], messages, evidence, self.threshold(ctx))]


def capture_funnel(devices: pd.DataFrame, ctx: AuditContext, department: str, device_type: str) -> dict[str, Any]:
    """The funnel plot of VIO01 for one department and device type: each comparable device's rate per day
    against its days in service, the peers' centre and control limits, and which devices VIO01 flags.

    Empty `points` when the department has no comparable device of the type; `reason` says why there is no
    funnel (too few peers) where so.
    """
    rule = PeerCaptureCount()
    profile: Profile = ctx.profile
    ok, _ = rule.eligible(devices, ctx, need_fines=False)
    mine = ok & (devices["department"].to_numpy(dtype=object) == department) & \
        (devices["device_type"].to_numpy(dtype=object) == device_type)
    out: dict[str, Any] = {"department": department, "device_type": device_type, "points": [], "limits": None,
                           "reason": None}
    if not mine.any():
        out["reason"] = "本单位没有可比较的该类设备（统计期内在用不足或未报送违法采集量）"
        return out
    tot = service_totals(devices, ctx)
    days = tot["days"].to_numpy(dtype=float)
    rate = np.where(ok, tot["violations"].to_numpy() / np.where(days > 0, days, np.nan), np.nan)
    reference = rule.reference(devices, ctx, ok)
    scores = rule.scores(devices, ctx, np.log1p(rate), rate_variance(rate, days), reference)
    assessed, _ = rule.too_few(devices, ctx, ok, scores)
    limit, ratio = rule.limits(ctx)
    peer = np.expm1(scores.median)
    flagged = assessed & (scores.score > limit) & (rate >= ratio * peer)
    idx = np.flatnonzero(mine)
    out["points"] = [{"device_code": devices["device_code"].iloc[i], "id": int(devices["id"].iloc[i]),
                      "days": int(days[i]), "per_day": round(float(rate[i]), 3), "flagged": bool(flagged[i]),
                      "score": round(float(scores.score[i]), 2) if assessed[i] else None,
                      "out_of_service": bool(tot["out_of_service"].iloc[i])} for i in idx]
    with_peers = idx[assessed[idx]]
    if not len(with_peers):
        out["reason"] = f"同类设备中可比较的不足 {int(profile.get('peer_min_devices').value)} 台，无法画出控制限"
        return out
    i = with_peers[0]
    own = scores.within_department
    same_type = devices["device_type"].to_numpy(dtype=object) == device_type
    members = np.flatnonzero(reference & same_type & ((devices["department"].to_numpy(dtype=object) == department)
                                                      if own[i] else True))
    span = np.union1d(members, idx)
    out["limits"] = funnel(days[span], float(scores.median[i]), float(scores.scale[i]), limit, ratio,
                           shortest=float(profile.get("peer_min_days").value))
    out["scope"] = "department" if own[i] else "audit"
    out["peer_count"] = int(scores.size[i])
    out["threshold"] = {"score": limit, "ratio": ratio}
    return out


__all__ = ["PeerCaptureCount", "PeerFineAmount", "capture_funnel"]
