"""SGN: a clearly visible sign at the site, and the speed warning sign at a proper distance."""
from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from .base import (
    BASIS_GUOFA_2024_5,
    BASIS_LAW_41,
    BASIS_MPS_157,
    IN_USE,
    Rule,
    device_states,
    in_use_text,
    register,
    unknown_state_findings,
    unsupplied,
)

if TYPE_CHECKING:
    from .context import AuditContext

SPEED_TYPES = ("固定测速", "移动测速", "区间测速")


@register
class Signage(Rule):
    """A device in use with no clearly visible sign recorded at its site (标识设置 = 否).

    Why: 《行政处罚法》第四十一条第一款 (标志明显); 国发〔2024〕5号 (设置地点无明显可见的标识); 公安部令第157号
    第十六条 (a sign or signal at the site).

    Fails: status 在用, 标识设置 否; or 标识设置 left empty in a file that has the column (nothing recorded).
    Passes: status 在用, 标识设置 是; or status 停用 with 标识设置 否. A file without the column: cannot assess.
    Material evidence: the signage value (否 and empty are different records).
    """

    code = "SGN01"
    material_evidence = ("signage",)
    title_zh = "设置地点无明显可见标识"
    title_en = "No visible sign at the site"
    basis = f"{BASIS_LAW_41}；{BASIS_GUOFA_2024_5}；{BASIS_MPS_157}第十六条"
    severity = "较重"
    action = "整改"

    def check(self, devices: pd.DataFrame, ctx: AuditContext) -> list[pd.DataFrame]:
        used = devices[device_states(devices, ctx) == IN_USE]
        sign = used["signage"]
        no_sign = used[sign.eq(False).fillna(False).astype(bool)]
        absent = sign.isna() & unsupplied(used, "signage")
        unrecorded = used[sign.isna() & ~absent]
        return [
            unknown_state_findings(self, devices, ctx, "在用设备是否设置明显标识",
                                   mask=devices["signage"].ne(True).fillna(True).astype(bool)),
            self.findings(no_sign, [f"{used}，设置地点未设置明显可见的标识（“标识设置”为“否”）；应限期设置标识。"
                                    for used in in_use_text(no_sign)], [{"signage": False}] * len(no_sign)),
            self.findings(unrecorded, [f"{used}，设置地点没有设置标识的记录（“标识设置”为空）；应核实现场，设置明显可见的标识并补记。"
                                       for used in in_use_text(unrecorded)], [{"signage": None}] * len(unrecorded)),
            self.cannot_assess(used[absent], ["signage"], "设置地点是否有明显可见的标识",
                               reason="上传的设备登记表没有“标识设置”列"),
        ]


@register
class SpeedSignDistance(Rule):
    """A speed device in use whose speed warning sign distance (标识距离米) lies outside the profile's range.

    Why: 公安部令第157号 第十六条: fixed speed sections carry a speed warning sign (测速警告标志); a sign placed
    too close gives drivers no warning, one too far no longer relates to the device. No national number exists:
    the range is set by the auditing body (profile settings sign_distance_min_m / sign_distance_max_m).

    Fails (national, 200–1000 m): 固定测速, 标识距离米 50 or 3000.
    Passes: 固定测速, 标识距离米 300; a 闯红灯 device (not a speed device); a device with 标识设置 否 (SGN01 reports it).
    """

    code = "SGN02"
    material_evidence = ("sign_distance_m",)
    title_zh = "测速警告标志距离不符合要求"
    title_en = "Speed warning sign distance out of range"
    basis = f"{BASIS_MPS_157}第十六条；{BASIS_LAW_41}"
    severity = "一般"
    action = "整改"
    settings = ("sign_distance_min_m", "sign_distance_max_m")

    def check(self, devices: pd.DataFrame, ctx: AuditContext) -> list[pd.DataFrame]:
        speed = devices[devices["device_type"].isin(SPEED_TYPES) & devices["signage"].ne(False).fillna(True)]
        low = self.setting(ctx, "sign_distance_min_m").for_types(speed["device_type"]).astype(float)
        high = self.setting(ctx, "sign_distance_max_m").for_types(speed["device_type"]).astype(float)
        dist = speed["sign_distance_m"]
        bad = dist.notna() & ((dist < low) | (dist > high))
        state = device_states(devices, ctx)[speed.index]
        used = state == IN_USE
        out = speed[bad & used]
        d, lo, hi = dist[out.index].tolist(), low[out.index].tolist(), high[out.index].tolist()
        messages = [f"测速警告标志距设备 {v:g} 米，{'小于' if v < a else '大于'}本配置要求的 {a:g}–{b:g} 米；应调整标志位置。"
                    for v, a, b in zip(d, lo, hi)]
        evidence = [{"sign_distance_m": v, "min_m": a, "max_m": b} for v, a, b in zip(d, lo, hi)]
        return [
            unknown_state_findings(self, speed, ctx, "在用测速设备的警告标志距离是否符合要求",
                                   mask=bad | dist.isna()),
            self.findings(out, messages, evidence, self.thresholds(ctx, self.settings, out["device_type"])),
            self.cannot_assess(speed[used & dist.isna()], ["sign_distance_m"], "测速警告标志距离是否符合要求"),
        ]
