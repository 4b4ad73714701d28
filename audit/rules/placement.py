"""PLC: site, spacing and number of devices, jurisdiction, and real supervision need (国发〔2024〕5号)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import shapely

from geo.boundary import points_within
from geo.density import count_in_areas
from geo.metric import metric_crs_for, to_metric
from geo.roads import along_road_pairs, road_lengths_km, snap_to_roads
from geo.spacing import close_pairs, geodesic_m

from .base import (
    BASIS_GUOFA_2024_5,
    BASIS_LAW_41,
    IN_USE,
    RETIRED,
    Rule,
    blank,
    device_states,
    memo,
    register,
    unsupplied,
)
from .data import coverage, day_to_date, segments, violations

if TYPE_CHECKING:
    from .context import AuditContext

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


def _has_roads(ctx: AuditContext) -> bool:
    return ctx.roads is not None and len(ctx.roads) > 0


def _road_snap(devices: pd.DataFrame, ctx: AuditContext, tolerance_m: float) -> pd.DataFrame:
    """Every device snapped to the loaded road network (geo.roads.snap_to_roads), once per run."""
    return memo(ctx, f"road_snap:{tolerance_m!r}", lambda: snap_to_roads(
        devices["lon"].to_numpy(dtype=float), devices["lat"].to_numpy(dtype=float), ctx.roads, tolerance_m))


def _road_name(ctx: AuditContext, road: int) -> str | None:
    name = ctx.roads["name"].iloc[road] if "name" in ctx.roads.columns else None
    return (name.strip() or None) if isinstance(name, str) else None


@register
class Spacing(Rule):
    """A device closer than the profile's minimum spacing to another device of the same function.

    Same function is the same device type; when both devices give a road (道路名称), it must be the same road, and
    when both give a direction (方向), the same direction (双向 matches any). Without a road network, distances
    are straight-line and geodesic (WGS-84), the candidates found with a spatial index in a metric CRS
    (geo.spacing.close_pairs). With a road network (ctx.roads), a device within road_snap_tolerance_m of a road
    is placed on it: two devices on the same road are compared along the road (geo.roads.along_road_pairs; never
    less than the straight-line distance), two devices on different roads not at all, and a device off the
    network is compared straight-line with every device as without a network. Devices 停用/拆除 are left out;
    拟建 count.

    Fails (national: 固定测速 500 m): two 固定测速 devices on 水南大道 由东向西, 300 m apart.
    Passes: the same 300 m apart on different roads, in opposite directions, or one 固定测速 and one 闯红灯; two
    固定测速 150 m apart across the bend of a U-shaped road but 1.2 km apart along it, when the road is loaded.
    """

    code = "PLC01"
    title_zh = "同类设备间距过近"
    title_en = "Same-function devices too close together"
    basis = f"{BASIS_GUOFA_2024_5}（设置地点、间距和数量不合理）；{BASIS_LAW_41}（设置合理）"
    severity = "较重"
    action = "整改"
    settings = ("min_spacing_m", "road_snap_tolerance_m")
    examines = "not_retired"
    reach = "audit"  # a neighbour may be another department's
    # Key: the nearest neighbour's device code (a pair is one problem on each of its devices).

    def check(self, devices: pd.DataFrame, ctx: AuditContext) -> list[pd.DataFrame]:
        active = _active(devices)
        located = _located(devices)
        idx = np.flatnonzero((active & located).to_numpy())
        type_code, types = pd.factorize(devices["device_type"].to_numpy(dtype=object)[idx])
        spacing = self.setting(ctx, "min_spacing_m")
        limit = np.array([float(spacing.for_type(t)) for t in types] + [np.nan])[type_code]
        lon, lat = devices["lon"].to_numpy(dtype=float)[idx], devices["lat"].to_numpy(dtype=float)[idx]
        pairs = close_pairs(lon, lat, limit, groups=type_code)
        pi, pj, dist = pairs["i"].to_numpy(), pairs["j"].to_numpy(), pairs["distance_m"].to_numpy()
        along_road = np.zeros(len(pi), dtype=bool)
        roads = _has_roads(ctx)
        road_of, along = np.full(len(devices), -1), np.full(len(devices), np.nan)
        part_of = road_of
        if roads:
            tolerance = float(self.setting(ctx, "road_snap_tolerance_m").value)
            snap = _road_snap(devices, ctx, tolerance)
            road_of, along, part_of = snap["road"].to_numpy(), snap["along_m"].to_numpy(), snap["part"].to_numpy()
            on, line = road_of[idx], part_of[idx]
            # Straight-line pairs: at least one device off the network, or the two on different lines of one road
            # (no distance along it between them, as on two branches of a fork); devices on two roads are apart
            off = (on[pi] < 0) | (on[pj] < 0) | ((on[pi] == on[pj]) & (line[pi] != line[pj]))
            pi, pj, dist = pi[off], pj[off], dist[off]
            by_road = along_road_pairs(snap.iloc[idx].reset_index(drop=True), limit, groups=type_code)
            ai, aj = by_road["i"].to_numpy(), by_road["j"].to_numpy()
            # Never shorter than straight across (a road's line may bend back).
            ad = np.maximum(by_road["distance_m"].to_numpy(), geodesic_m(lon[ai], lat[ai], lon[aj], lat[aj]))
            close = ad < np.minimum(limit[ai], limit[aj])
            pi, pj, dist = np.r_[pi, ai[close]], np.r_[pj, aj[close]], np.r_[dist, ad[close]]
            along_road = np.r_[along_road[off], np.ones(int(close.sum()), dtype=bool)]
        i, j = idx[pi], idx[pj]  # positions in devices
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
        i, j, dist, along_road = i[keep], j[keep], dist[keep], along_road[keep]
        # Both ends of a pair get a finding: each device with its neighbours, nearest first (ties by code).
        src, dst, d, by = np.r_[i, j], np.r_[j, i], np.r_[dist, dist], np.r_[along_road, along_road]
        codes = devices["device_code"].to_numpy(dtype=object)  # str, as are departments: evidence is plain JSON
        rank = np.zeros(len(devices), dtype=np.int64)
        rank[members] = np.argsort(np.argsort(codes[members]))
        order = np.lexsort((rank[dst], d, src))
        src, dst, d, by = src[order], dst[order], d[order], by[order]
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
            name = _road_name(ctx, int(road_of[src[s]])) if by[s] else None
            where = (f"沿道路“{name}”" if name else "沿同一道路") if by[s] else ""
            how = ""
            if roads and not by[s]:
                how = ("（直线距离：两台设备位于路网中道路的不同分支，未按沿道路距离计算）" if part_of[src[s]] >= 0 and part_of[near] >= 0
                       else f"（直线距离：至少一台设备距已加载路网的道路超过 {tolerance:g} 米）")
            messages.append(f"与同类设备 {codes[near]} {where}相距 {dn:.1f} 米{how}，小于本配置最小间距 {lim:g} 米"
                            f"{others}；应评估设置必要性，撤并或调整设置地点。")
            item = {"key": codes[near], "distance_m": round(dn, 1), "neighbour": codes[near],
                    "neighbour_department": dept,
                    "neighbour_count": n, "min_spacing_m": lim,
                    "method": "along_road" if by[s] else "straight_line_geodesic",
                    "neighbours": [self._neighbour(codes[dst[t]], float(d[t]), bool(by[t]), along[dst[t]], roads)
                                   for t in range(s, s + min(n, MAX_LISTED_NEIGHBOURS))]}
            if by[s]:
                item |= {"road": name, "along_m": round(float(along[src[s]]), 1),
                         "neighbour_along_m": round(float(along[near]), 1)}
            evidence.append(item)
        keys = devices[["device_code", "department", "device_type"]]
        rows = keys.iloc[flagged]
        no_xy = keys[(active & ~located).to_numpy()]
        used = self.settings if roads else ("min_spacing_m",)
        return [
            self.findings(rows, messages, evidence, self.thresholds(ctx, used, rows["device_type"]), is_plain=True),
            self.cannot_assess(no_xy, ["lon", "lat"], "与同类设备的间距"),
        ]

    @staticmethod
    def _neighbour(code: str, distance: float, by_road: bool, along: float, roads: bool) -> dict:
        """One entry of the neighbours list (with the method and position along the road when roads are loaded)."""
        item = {"device_code": code, "distance_m": round(distance, 1)}
        if roads:
            item["method"] = "along_road" if by_road else "straight_line_geodesic"
            if by_road:
                item["along_m"] = round(float(along), 1)
        return item


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


def _crowded(devices: pd.DataFrame, place: np.ndarray, size: np.ndarray, setting, least: int = 2):
    """Each group of at least `least` devices of one department and type at one place (area or road; `place` gives
    the position in `size` of each device's, -1 for none) with more devices per unit of size than the setting
    allows for the type: (department, type, place, sorted device codes, size, limit, count per unit)."""
    placed = place >= 0
    groups = (devices.loc[placed, ["department", "device_type", "device_code"]].assign(_place=place[placed])
              .groupby(["department", "device_type", "_place"], sort=True)["device_code"].agg(list))
    for (dept, dtype, where), members in groups.items():
        n, extent = len(members), float(size[where])
        limit = float(setting.for_type(dtype))
        per = n / extent if extent > 0 else np.inf
        if n >= least and per > limit:
            yield dept, dtype, int(where), sorted(members), extent, limit, per


@register
class Density(Rule):
    """Too many devices of one type of one department in a township/area polygon (per km²) or on a road (per km).

    Areas are the township (乡镇/街道) polygons given to the audit (ctx.areas); a finding names the area, the
    count, the area in km² and the density against the profile's limit for the type, and lists the devices.
    Without areas, the rule reports once per department that it cannot assess the area density. With a road
    network (ctx.roads), the devices within road_snap_tolerance_m of a road are counted on it, and a road where
    a department has more devices of a type per km of the road's length than the profile allows gets a finding
    (road, length, count, limit, devices); without a network there is no per-road check. An area with a single
    device is never reported, nor a road with fewer than min_devices_per_road (national: 3): the count per km of
    two devices says more about where the road file cuts the road than about the devices, and how close two
    devices are is PLC01's question.

    Fails (national: 固定测速 1 per km², 1 per km of road): 3 固定测速 devices of one department in a 2 km²
    township; 3 固定测速 on a 2 km road.
    Passes: 3 固定测速 in a 10 km² township or on a 5 km road; 2 devices of different types; a single device in a
    0.5 km² area; 2 固定测速 on a 300 m road.
    """

    code = "PLC02"
    title_zh = "区域内同类设备数量过多"
    title_en = "Device density above the limit"
    basis = f"{BASIS_GUOFA_2024_5}（设置地点、间距和数量不合理）"
    severity = "较重"
    action = "整改"
    settings = ("max_density_per_km2", "max_devices_per_road_km", "min_devices_per_road", "road_snap_tolerance_m")
    examines = "not_retired"
    # One finding per device of a crowded township or road; key: that township or road. Material: the count.
    material_evidence = ("count",)

    def check(self, devices: pd.DataFrame, ctx: AuditContext) -> list[pd.DataFrame]:
        active = devices[_active(devices)]
        limit_value = self.setting(ctx, "max_density_per_km2")
        has_areas, roads = ctx.areas is not None and len(ctx.areas) > 0, _has_roads(ctx)
        parts = []
        if has_areas:
            parts.append(self._per_area(active[_located(active)], ctx, limit_value))
        else:
            parts.append(self.context_cannot_assess(active["department"], "设备密度是否过高", "未加载乡镇（街道）边界",
                                                    "加载乡镇（街道）边界"))
        if roads:
            parts.append(self._per_road(devices, ctx))
        if has_areas or roads:
            where = "和".join(w for w, on in (("所在乡镇（街道）", has_areas), ("所在道路", roads)) if on)
            parts.append(self.cannot_assess(active[~_located(active)], ["lon", "lat"], f"{where}的设备密度"))
        return parts

    def _per_area(self, located: pd.DataFrame, ctx: AuditContext, limit_value) -> pd.DataFrame:
        lon, lat = located["lon"].to_numpy(), located["lat"].to_numpy()
        areas = count_in_areas(lon, lat, ctx.areas)
        area_of = _area_of_points(lon, lat, ctx.areas.to_crs(4326))
        names, km2 = areas["name"].to_numpy(dtype=object), areas["area_km2"].to_numpy()
        rows, messages, evidence, thresholds = [], [], [], []
        for dept, dtype, area, members, size, limit, per in _crowded(located, area_of, km2, limit_value):
            text = (f"所在的{names[area]}（{size:.2f} 平方公里）内本单位{dtype}设备 {len(members)} 台，密度 {per:.2f} "
                    f"台/平方公里，超过本配置上限 {limit:g} 台/平方公里；应评估设置必要性，撤并多余设备。")
            item = {"key": f"乡镇:{names[area]}", "area": names[area], "device_type": dtype, "count": len(members),
                    "area_km2": round(size, 4), "per_km2": round(per, 4), "max_per_km2": limit,
                    "device_codes": members}
            for code in members:
                rows.append({"device_code": code, "department": dept})
                messages.append(text)
                evidence.append(item)
                thresholds.append({limit_value.name: limit_value.threshold(dtype)})
        return self.findings(pd.DataFrame(rows, columns=["device_code", "department"]), messages, evidence,
                             thresholds)

    def _per_road(self, devices: pd.DataFrame, ctx: AuditContext) -> pd.DataFrame:
        per_km = self.setting(ctx, "max_devices_per_road_km")
        tolerance = self.setting(ctx, "road_snap_tolerance_m")
        least = self.setting(ctx, "min_devices_per_road")
        road_of = _road_snap(devices, ctx, float(tolerance.value))["road"].to_numpy()
        counted = (_active(devices) & _located(devices)).to_numpy()
        lengths = memo(ctx, "road_lengths_km", lambda: road_lengths_km(ctx.roads))
        rows, messages, evidence, thresholds = [], [], [], []
        for dept, dtype, road, members, km, limit, per in _crowded(devices[counted], road_of[counted], lengths,
                                                                     per_km, least=max(2, int(least.value))):
            name = _road_name(ctx, road)
            label = f"道路“{name}”" if name else f"路网第 {road + 1} 条道路（未命名）"
            text = (f"所在的{label}（长 {km:.2f} 公里）上本单位{dtype}设备 {len(members)} 台，{per:.2f} 台/公里，"
                    f"超过本配置上限 {limit:g} 台/公里；应评估设置必要性，撤并多余设备。")
            item = {"key": f"道路:{name or road + 1}", "road": name, "road_index": road, "device_type": dtype,
                    "count": len(members), "length_km": round(km, 3), "per_km": round(per, 3), "max_per_km": limit,
                    "device_codes": members}
            for code in members:
                rows.append({"device_code": code, "department": dept})
                messages.append(text)
                evidence.append(item)
                thresholds.append({per_km.name: per_km.threshold(dtype), least.name: least.threshold(),
                                   tolerance.name: tolerance.threshold()})
        return self.findings(pd.DataFrame(rows, columns=["device_code", "department"]), messages, evidence,
                             thresholds)


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
    examines = "not_retired"

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
    with rows, none of them in the window, had zero captures there; a device with no rows at all was not reported
    and cannot be assessed. A month only partly in the window counts pro rata (its days inside over its days).
    When the department's data do not cover the window, the rule says it cannot assess (2).

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
        empty = active & blank(devices["justification"])
        absent = empty & unsupplied(devices, "justification")
        no_reason = devices[empty & ~absent]
        parts = [self.findings(no_reason, ["未记录设置依据（“设置依据”为空）：无法说明设置该设备的实际监管需要；应补充事故、投诉等设置依据，"
                                           "无依据的应撤除。"] * len(no_reason),
                               [{"key": "设置依据", "justification": None}] * len(no_reason)),
                 self.cannot_assess(devices[absent], ["justification"], "设置该设备是否有实际监管需要",
                                    reason="上传的设备登记表没有“设置依据”列")]
        return parts + self._low_capture(devices, ctx)

    def _low_capture(self, devices: pd.DataFrame, ctx: AuditContext) -> list[pd.DataFrame]:
        window = int(self.setting(ctx, "low_capture_window_days").value)
        max_rate = float(self.setting(ctx, "low_capture_max_per_day").value)
        threshold = {n: self.setting(ctx, n).threshold() for n in self.settings}
        used = (device_states(devices, ctx) == IN_USE).to_numpy()
        what = "设备是否长期几乎无抓拍"
        if not ctx.has_counts():
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
        reported = np.bincount(v.dev, minlength=len(devices)) > 0
        # A day counts when it is in the window; a month by the share of its days that are (pro rata).
        inside = ~v.monthly & (v.day >= start[v.dev]) & (v.day <= dept_last[v.dev])
        total = np.bincount(v.dev, weights=np.where(inside, v.count, 0), minlength=len(devices))
        prorated = np.zeros(len(devices), dtype=int)
        if v.monthly.any():
            m = v.take(v.monthly)
            overlap = np.minimum(m.day + m.ndays - 1, dept_last[m.dev]) - np.maximum(m.day, start[m.dev]) + 1
            share = np.clip(np.nan_to_num(overlap, nan=0.0), 0, None) / m.ndays
            total += np.bincount(m.dev, weights=m.count * share, minlength=len(devices))
            prorated = np.bincount(m.dev, weights=(share > 0) & (share < 1), minlength=len(devices)).astype(int)
        low = eligible & reported & (total <= max_rate * window)
        rows = devices[low]
        t, s, e, pr = total[low], start[low], dept_last[low], prorated[low]
        messages = [f"{day_to_date(a):%Y-%m-%d} 至 {day_to_date(b):%Y-%m-%d}（{window} 天）仅采集违法 {n:g} 起"
                    + (f"（其中 {k} 个按月统计的月份仅部分在期间内，按天数折算）" if k else "")
                    + f"，日均 {n / window:.2f} 起，不超过 {max_rate:g} 起/日：长期几乎无抓拍，设置缺乏实际监管需要；应评估后撤除或调整。"
                    for n, a, b, k in zip(np.round(t, 1), s, e, pr)]
        evidence = [{"key": "采集量", "window_start": day_to_date(a), "window_end": day_to_date(b), "window_days": window,
                     "violations": round(float(n), 1), "per_day": round(n / window, 4), "prorated_months": int(k)}
                    for n, a, b, k in zip(t, s, e, pr)]
        dept_rows = devices[short]
        return [
            self.findings(rows, messages, evidence, threshold),
            self.cannot_assess(devices[unknown_start], ["in_service_on"], what + "（是否已在用满统计期）"),
            self.cannot_assess(devices[eligible & ~reported], [], what, reason="未报送该设备的违法采集量统计"),
            self.context_cannot_assess(devices.loc[no_dept_data, "department"], what, "本单位未报送违法采集量统计",
                                       "导入违法采集量统计表"),
            self.context_cannot_assess(dept_rows["department"], what,
                                       f"本单位违法采集量统计不足最近 {window} 天", f"补报最近 {window} 天的违法采集量统计"),
        ]
