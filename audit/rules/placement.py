"""PLC: site, spacing and number of devices, jurisdiction, and real supervision need (国发〔2024〕5号)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import shapely

from geo.boundary import points_within
from geo.density import count_in_areas
from geo.metric import metric_crs_for, to_metric
from geo.spacing import close_pairs

from .base import BASIS_GUOFA_2024_5, BASIS_LAW_41, IN_USE, RETIRED, Rule, blank, device_states, register
from .data import coverage, day_to_date, segments, violations

if TYPE_CHECKING:
    from ..engine import AuditContext

MAX_LISTED_NEIGHBOURS = 50
BOTH_WAYS = ("双向", "双向抓拍")


def _active(devices: pd.DataFrame) -> pd.Series:
    """Devices on the ground or planned: every status except 停用 and 拆除."""
    return ~devices["status"].isin(RETIRED)


def _located(devices: pd.DataFrame) -> pd.Series:
    return devices["lon"].notna() & devices["lat"].notna()


def _norm_text(series: pd.Series) -> np.ndarray:
    """Stripped text, None where empty (for road and direction matching)."""
    out = series.astype(object).where(~blank(series), None)
    return np.array([v.strip() if isinstance(v, str) else None for v in out], dtype=object)


@register
class Spacing(Rule):
    """A device closer than the profile's minimum spacing to another device of the same function.

    Same function is the same device type; when both devices give a road (道路名称), it must be the same road, and
    when both give a direction (方向), the same direction (双向 matches any). Distances are geodesic (WGS-84),
    the candidates found with a spatial index in a metric CRS (geo.spacing.close_pairs). No road network is
    loaded yet, so distances are straight-line, not along the road. Devices 停用/拆除 are left out; 拟建 count.

    Fails (national: 固定测速 500 m): two 固定测速 devices on 水南大道 由东向西, 300 m apart.
    Passes: the same 300 m apart on different roads, in opposite directions, or one 固定测速 and one 闯红灯.
    """

    code = "PLC01"
    title_zh = "同类设备间距过近"
    title_en = "Same-function devices too close together"
    basis = f"{BASIS_GUOFA_2024_5}（设置地点、间距和数量不合理）；{BASIS_LAW_41}（设置合理）"
    severity = "较重"
    action = "整改"
    settings = ("min_spacing_m",)

    def check(self, devices: pd.DataFrame, ctx: AuditContext) -> list[pd.DataFrame]:
        active = _active(devices)
        located = _located(devices)
        idx = np.flatnonzero((active & located).to_numpy())
        type_code, types = pd.factorize(devices["device_type"].to_numpy(dtype=object)[idx])
        spacing = self.setting(ctx, "min_spacing_m")
        limit = np.array([float(spacing.for_type(t)) for t in types] + [np.nan])[type_code]
        pairs = close_pairs(devices["lon"].to_numpy()[idx], devices["lat"].to_numpy()[idx], limit, groups=type_code)
        i, j = idx[pairs["i"].to_numpy()], idx[pairs["j"].to_numpy()]  # positions in devices
        dist = pairs["distance_m"].to_numpy()
        # Road and direction only matter for devices in a candidate pair: normalise just those.
        members = np.unique(np.r_[i, j])
        road = np.full(len(devices), None, dtype=object)
        way = np.full(len(devices), None, dtype=object)
        road[members] = _norm_text(devices["road"].iloc[members])
        way[members] = _norm_text(devices["direction"].iloc[members])
        same_road = (road[i] == None) | (road[j] == None) | (road[i] == road[j])  # noqa: E711 (elementwise)
        both = np.isin(way[i], BOTH_WAYS) | np.isin(way[j], BOTH_WAYS)
        same_way = (way[i] == None) | (way[j] == None) | (way[i] == way[j]) | both  # noqa: E711
        keep = same_road & same_way
        i, j, dist = i[keep], j[keep], dist[keep]
        # Both ends of a pair get a finding: each device with its neighbours, nearest first (ties by code).
        src, dst, d = np.r_[i, j], np.r_[j, i], np.r_[dist, dist]
        codes = devices["device_code"].to_numpy(dtype=object)  # str, as are departments: evidence is plain JSON
        rank = np.zeros(len(devices), dtype=np.int64)
        rank[members] = np.argsort(np.argsort(codes[members]))
        order = np.lexsort((rank[dst], d, src))
        src, dst, d = src[order], dst[order], d[order]
        flagged, starts = segments(src)
        counts = np.diff(np.r_[starts, len(src)])
        depts = devices["department"].to_numpy(dtype=object)
        limits = np.array([float(spacing.for_type(t)) if isinstance(t, str) else float(spacing.value)
                           for t in devices["device_type"].to_numpy(dtype=object)[flagged]])
        messages, evidence = [], []
        for s, n, lim in zip(starts.tolist(), counts.tolist(), limits.tolist()):
            near, dn = dst[s], float(d[s])
            dept = depts[near] if isinstance(depts[near], str) else None
            others = f"，另有 {n - 1} 台同类设备也在此范围内" if n > 1 else ""
            messages.append(f"与同类设备 {codes[near]} 相距 {dn:.1f} 米，小于本配置最小间距 {lim:g} 米{others}；"
                            f"应评估设置必要性，撤并或调整设置地点。")
            evidence.append({"distance_m": round(dn, 1), "neighbour": codes[near], "neighbour_department": dept,
                             "neighbour_count": n, "min_spacing_m": lim, "method": "straight_line_geodesic",
                             "neighbours": [{"device_code": codes[dst[t]], "distance_m": round(float(d[t]), 1)}
                                            for t in range(s, s + min(n, MAX_LISTED_NEIGHBOURS))]})
        keys = devices[["device_code", "department", "device_type"]]
        rows = keys.iloc[flagged]
        no_xy = keys[(active & ~located).to_numpy()]
        return [
            self.findings(rows, messages, evidence, self.thresholds(ctx, self.settings, rows["device_type"]),
                          is_plain=True),
            self.cannot_assess(no_xy, ["lon", "lat"], "与同类设备的间距"),
        ]


def _area_of_points(lon: np.ndarray, lat: np.ndarray, areas) -> np.ndarray:
    """Position of the first area containing each point (-1 outside every area), as geo.density counts them."""
    found = np.full(len(lon), -1, dtype=np.int64)
    if not len(lon):
        return found
    tree = shapely.STRtree(np.asarray(areas.geometry.values, dtype=object))
    p, a = tree.query(shapely.points(lon, lat), predicate="intersects")
    order = np.lexsort((a, p))
    first = np.unique(p[order], return_index=True)[1]
    found[p[order][first]] = a[order][first]
    return found


@register
class Density(Rule):
    """Too many devices of one type of one department in a township/area polygon (devices per km²).

    Areas are the township (乡镇/街道) polygons given to the audit (ctx.areas); a finding names the area, the
    count, the area in km² and the density against the profile's limit for the type, and lists the devices. An
    area with a single device is never reported. Density per km of road needs a road network, not loaded yet.
    Without areas, the rule reports once per department that it cannot assess.

    Fails (national: 固定测速 1 per km²): 3 固定测速 devices of one department in a 2 km² township.
    Passes: 3 固定测速 in a 10 km² township; 2 devices of different types; a single device in a 0.5 km² area.
    """

    code = "PLC02"
    title_zh = "区域内同类设备数量过多"
    title_en = "Device density above the limit"
    basis = f"{BASIS_GUOFA_2024_5}（设置地点、间距和数量不合理）"
    severity = "较重"
    action = "整改"
    settings = ("max_density_per_km2",)

    def check(self, devices: pd.DataFrame, ctx: AuditContext) -> list[pd.DataFrame]:
        active = devices[_active(devices)]
        limit_value = self.setting(ctx, "max_density_per_km2")
        if ctx.areas is None or len(ctx.areas) == 0:
            return [self.context_cannot_assess(active["department"], "设备密度是否过高", "未加载乡镇（街道）边界",
                                               "加载乡镇（街道）边界")]
        located = active[_located(active)]
        lon, lat = located["lon"].to_numpy(), located["lat"].to_numpy()
        areas = count_in_areas(lon, lat, ctx.areas)
        area_of = _area_of_points(lon, lat, ctx.areas.to_crs(4326))
        inside = located.assign(_area=area_of)[area_of >= 0]
        groups = inside.groupby(["department", "device_type", "_area"], sort=True)["device_code"].agg(list)
        names, km2 = areas["name"].to_numpy(dtype=object), areas["area_km2"].to_numpy()
        rows, messages, evidence, thresholds = [], [], [], []
        for (dept, dtype, area), members in groups.items():
            n, size = len(members), float(km2[area])
            limit = float(limit_value.for_type(dtype))
            per = n / size if size > 0 else np.inf
            if n < 2 or per <= limit:
                continue
            rows.append({"device_code": None, "department": dept})
            messages.append(f"{names[area]}（{size:.2f} 平方公里）内本单位{dtype}设备 {n} 台，密度 {per:.2f} 台/平方公里，"
                            f"超过本配置上限 {limit:g} 台/平方公里；应评估设置必要性，撤并多余设备。")
            evidence.append({"area": names[area], "device_type": dtype, "count": n, "area_km2": round(size, 4),
                             "per_km2": round(per, 4), "max_per_km2": limit, "device_codes": sorted(members)})
            thresholds.append({limit_value.name: limit_value.threshold(dtype)})
        return [
            self.findings(pd.DataFrame(rows, columns=["device_code", "department"]), messages, evidence, thresholds),
            self.cannot_assess(active[~_located(active)], ["lon", "lat"], "所在乡镇（街道）的设备密度"),
        ]


@register
class Jurisdiction(Rule):
    """A device outside its department's jurisdiction boundary (when a boundary is loaded for it).

    A device within the profile's tolerance of the boundary (coordinate error, a border road) is not reported.
    Departments with no boundary loaded get one cannot-assess finding each.

    Fails: a device of 将乐县公安局交警大队 located 5 km outside the county boundary.
    Passes: a device inside the boundary, or 20 m outside it (tolerance 50 m).
    """

    code = "PLC03"
    title_zh = "设备设在辖区范围以外"
    title_en = "Outside the department's jurisdiction"
    basis = f"{BASIS_LAW_41}（设置合理）；《中华人民共和国行政处罚法》第二十二条（地域管辖）"
    severity = "较重"
    action = "整改"
    settings = ("boundary_tolerance_m",)

    def check(self, devices: pd.DataFrame, ctx: AuditContext) -> list[pd.DataFrame]:
        tolerance = float(self.setting(ctx, "boundary_tolerance_m").value)
        threshold = {"boundary_tolerance_m": self.setting(ctx, "boundary_tolerance_m").threshold()}
        active = devices[_active(devices)]
        has_boundary = active["department"].isin(list(ctx.boundaries))
        parts = [self.context_cannot_assess(active.loc[~has_boundary, "department"], "设备是否在辖区范围内",
                                            "未加载本单位辖区边界", "加载辖区边界")]
        scoped = active[has_boundary]
        parts.append(self.cannot_assess(scoped[~_located(scoped)], ["lon", "lat"], "设备是否在辖区范围内"))
        scoped = scoped[_located(scoped)]
        for dept, group in scoped.groupby("department", sort=True):
            geom = ctx.boundaries[dept]
            lon, lat = group["lon"].to_numpy(), group["lat"].to_numpy()
            outside = ~points_within(lon, lat, geom, tolerance_m=tolerance)
            if not outside.any():
                continue
            out = group[outside]
            centre = geom.representative_point()
            crs = metric_crs_for(centre.x, centre.y)
            geom_m = shapely.transform(geom, lambda c: np.column_stack(to_metric(c[:, 0], c[:, 1], crs)))
            x, y = to_metric(lon[outside], lat[outside], crs)
            dist = shapely.distance(geom_m, shapely.points(x, y))
            parts.append(self.findings(
                out, [f"设备位于本单位辖区边界以外约 {m:,.0f} 米处；应核实坐标，或移交有管辖权的单位、撤除设备。" for m in dist],
                [{"outside_m": round(float(m), 1), "boundary": dept, "tolerance_m": tolerance} for m in dist],
                threshold))
        return parts


@register
class SupervisionNeed(Rule):
    """A device set up with no recorded justification (设置依据), or with near-zero captures over a long period.

    Why: 国发〔2024〕5号 forbids setting up devices detached from real supervision needs (脱离实际监管需要随意设置).
    Two checks: (1) every device not 停用/拆除 records its justification (accidents, complaints …); (2) a device
    in use for the whole window (profile: low_capture_window_days, ending on the last day of its department's
    violation data) with at most low_capture_max_per_day violations per day on average has no real need. A device
    with no row in the window had zero captures. When the department's data do not cover the window, the rule
    says it cannot assess (2).

    Fails: 设置依据 empty; or 在用 since 2022 with 3 violations in the last 180 days.
    Passes: 设置依据 "2022年该路段发生超速事故7起" and 40 violations in the window; a device in use for 30 days only.
    """

    code = "PLC04"
    title_zh = "设置依据缺失或无实际监管需要"
    title_en = "No justification, or no real supervision need"
    basis = f"{BASIS_GUOFA_2024_5}（脱离实际监管需要随意设置监控设备）"
    severity = "一般"
    action = "核查"
    settings = ("low_capture_window_days", "low_capture_max_per_day")

    def check(self, devices: pd.DataFrame, ctx: AuditContext) -> list[pd.DataFrame]:
        active = _active(devices)
        no_reason = devices[active & blank(devices["justification"])]
        parts = [self.findings(no_reason, ["未记录设置依据（“设置依据”为空）：无法说明设置该设备的实际监管需要；应补充事故、投诉等设置依据，"
                                           "无依据的应撤除。"] * len(no_reason),
                               [{"justification": None}] * len(no_reason))]
        return parts + self._low_capture(devices, ctx)

    def _low_capture(self, devices: pd.DataFrame, ctx: AuditContext) -> list[pd.DataFrame]:
        window = int(self.setting(ctx, "low_capture_window_days").value)
        max_rate = float(self.setting(ctx, "low_capture_max_per_day").value)
        threshold = {n: self.setting(ctx, n).threshold() for n in self.settings}
        used = (device_states(devices, ctx) == IN_USE).to_numpy()
        what = "设备是否长期几乎无抓拍"
        if len(ctx.violations) == 0:
            return [self.context_cannot_assess(devices.loc[used, "department"], what, "未导入违法采集量统计",
                                               "导入违法采集量统计表")]
        cov = coverage(devices, ctx)
        dept_last = cov["dept_last"].to_numpy()
        start = dept_last - window + 1
        no_dept_data = used & np.isnan(dept_last)
        short = used & ~np.isnan(dept_last) & (cov["dept_first"].to_numpy() > start)
        started = devices["in_service_on"]
        started_day = np.where(started.notna(), started.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
                               .astype(np.int64), np.nan)
        unknown_start = used & ~no_dept_data & ~short & np.isnan(started_day)
        eligible = used & ~no_dept_data & ~short & (started_day <= start)
        v = violations(devices, ctx)
        inside = (v.day >= start[v.dev]) & (v.day <= dept_last[v.dev])
        total = np.bincount(v.dev[inside], weights=v.count[inside], minlength=len(devices))
        low = eligible & (total <= max_rate * window)
        rows = devices[low]
        t, s, e = total[low], start[low], dept_last[low]
        messages = [f"{day_to_date(a):%Y-%m-%d} 至 {day_to_date(b):%Y-%m-%d}（{window} 天）仅采集违法 {int(n)} 起，"
                    f"日均 {n / window:.2f} 起，不超过 {max_rate:g} 起/日：长期几乎无抓拍，设置缺乏实际监管需要；应评估后撤除或调整。"
                    for n, a, b in zip(t, s, e)]
        evidence = [{"window_start": day_to_date(a), "window_end": day_to_date(b), "window_days": window,
                     "violations": int(n), "per_day": round(n / window, 4)} for n, a, b in zip(t, s, e)]
        dept_rows = devices[short]
        return [
            self.findings(rows, messages, evidence, threshold),
            self.cannot_assess(devices[unknown_start], ["in_service_on"], what + "（是否已在用满统计期）"),
            self.context_cannot_assess(devices.loc[no_dept_data, "department"], what, "本单位未报送违法采集量统计",
                                       "导入违法采集量统计表"),
            self.context_cannot_assess(dept_rows["department"], what,
                                       f"本单位违法采集量统计不足最近 {window} 天", f"补报最近 {window} 天的违法采集量统计"),
        ]
