"""Road networks: loading road lines, snapping points onto them, along-road positions and close pairs.

A road is connected linework with one name: features with the same non-empty name that touch are joined into one
road (road files usually split a street into many segments at each junction), so one street gives one road and
two streets sharing a name in different towns stay two roads. Unnamed features stay as they are.

Positions along a road (along_m) are planar metres in the metric CRS of the snapped points
(geo.metric.metric_crs_for): within a few degrees of the zone's central meridian they match ground distances to
better than 0.3 %. A road whose linework does not merge into one line (a fork, a dual carriageway) keeps its
parts end to end: a position on a later part is offset by the lengths of the parts before it, so positions stay
monotonic on the road but the distance between positions on different parts is not a distance along the road.
A road that is one closed line (a ring road) has its length in loop_m, and positions wrap around it.
"""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geo.crs import as_float_array, parse_crs, to_wgs84
from geo.layerfile import mark_source, read_layer
from geo.metric import metric_crs_for, require_geographic, to_metric

NAME_COLUMNS = ("name", "NAME", "Name", "名称", "道路名称", "name_zh")
LINEAR = ("LineString", "MultiLineString")
_GEOD = pyproj.Geod(ellps="WGS84")
_WINDOW_MARGIN_M = 1e-3  # candidate windows search a millimetre wider; the exact test follows


def _linear(geom) -> shapely.Geometry | None:
    """The 2-D linear part of `geom` (LineString or MultiLineString), None when it has none."""
    if geom is None or geom.is_empty:
        return None
    geom = shapely.force_2d(geom)
    if geom.geom_type in LINEAR:
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in LINEAR and not p.is_empty]
    lines = [q for p in parts for q in shapely.get_parts(p)]
    if not lines:
        return None
    return lines[0] if len(lines) == 1 else shapely.MultiLineString(lines)


def _names(frame: pd.DataFrame) -> np.ndarray:
    for col in NAME_COLUMNS:
        if col in frame.columns:
            return np.array(["" if pd.isna(v) else str(v).strip() for v in frame[col]], dtype=object)
    return np.full(len(frame), "", dtype=object)


def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected component label (its smallest member) of each of n nodes joined by the edges a–b."""
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for x, y in zip(a.tolist(), b.tolist()):
        rx, ry = find(x), find(y)
        if rx != ry:
            parent[max(rx, ry)] = min(rx, ry)
    return np.array([find(x) for x in range(n)], dtype=np.int64)


def as_roads(frame: gpd.GeoDataFrame, source_crs: str | None = None) -> gpd.GeoDataFrame:
    """Road lines of a GeoDataFrame as columns name (text, '' when unnamed), geometry in EPSG:4326.

    The name comes from the first of NAME_COLUMNS present. Non-linear members of a feature are dropped, features
    with no line at all are left out, and touching features with the same name are joined (see the module
    docstring). `source_crs` (see geo.crs.parse_crs) overrides the frame's CRS: 'GCJ02'/'BD09' (高德/百度 road
    data) and Gauss-Kruger zones convert each vertex to WGS-84; without it a declared CRS is reprojected and a
    frame with no CRS is taken as WGS-84. Rows are in order of first appearance, indexed 0..n-1.
    """
    names = _names(frame)
    geoms = [_linear(g) for g in frame.geometry]
    keep = [k for k, g in enumerate(geoms) if g is not None]
    if not keep:
        raise ValueError("路网文件中没有线状要素（LineString/MultiLineString），无法作为路网使用。")
    names, geoms = names[keep], np.array([geoms[k] for k in keep], dtype=object)
    if source_crs is not None:
        spec = parse_crs(source_crs)
        geoms = shapely.transform(geoms, lambda c: np.column_stack(to_wgs84(c[:, 0], c[:, 1], spec)))
    elif frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        geoms = np.asarray(gpd.GeoSeries(geoms, crs=frame.crs).to_crs(4326).values, dtype=object)
    parts, feature = shapely.get_parts(geoms, return_index=True)
    # Parts of one feature belong together; so do touching parts that carry the same non-empty name.
    a, b = shapely.STRtree(parts).query(parts, predicate="intersects")
    part_name = names[feature]
    joined = (a < b) & (part_name[a] == part_name[b]) & (part_name[a] != "")
    first_part = np.flatnonzero(np.r_[True, feature[1:] != feature[:-1]])
    same_feature = np.repeat(first_part, np.diff(np.r_[first_part, len(parts)]))
    label = _components(len(parts), np.r_[a[joined], same_feature], np.r_[b[joined], np.arange(len(parts))])
    roads, where = np.unique(label, return_inverse=True)  # labels are smallest members: first-appearance order
    order = np.argsort(where, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(where[order]) != 0])
    lines = [shapely.line_merge(shapely.multilinestrings(parts[m])) for m in np.split(order, starts[1:])]
    return gpd.GeoDataFrame({"name": part_name[roads].astype(object)}, geometry=lines, crs="EPSG:4326")


def load_roads(path: str | Path, source_crs: str | None = None) -> gpd.GeoDataFrame:
    """The roads of a line file (GeoJSON, Shapefile, GeoPackage …): columns name, geometry (EPSG:4326).

    See `as_roads` for names, joined segments and `source_crs` (e.g. 'GCJ02' for 高德 data).
    """
    frame = read_layer(path, "路网")
    try:
        return mark_source(as_roads(frame, source_crs), path)
    except ValueError as exc:
        raise ValueError(f"路网文件 {Path(path).name}：{exc}") from exc


def road_lengths_km(roads: gpd.GeoDataFrame) -> np.ndarray:
    """Ellipsoidal (WGS-84) length of each road in km, in the order of `roads`."""
    roads = require_geographic(roads, "路网图层")
    return np.array([_GEOD.geometry_length(g) / 1000.0 if g is not None else 0.0 for g in roads.geometry])


def _road_segments(roads: gpd.GeoDataFrame, crs) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                                           np.ndarray]:
    """The roads cut into straight metric segments (so that a spatial index holds small boxes, however long a road
    is): segments, their road position, offset (distance along the road to the segment's start, parts laid end
    to end), the line (part) of the road each lies on (a global number), and the road's length where the road is
    one closed line (NaN otherwise)."""
    geoms = np.asarray(roads.geometry.values, dtype=object)
    bad = [k for k, g in enumerate(geoms) if g is None or g.geom_type not in LINEAR]
    if bad:
        raise ValueError(f"路网图层第 {bad[0] + 1} 行不是线状要素（LineString/MultiLineString）。")
    merged = shapely.line_merge(shapely.transform(geoms, lambda c: np.column_stack(to_metric(c[:, 0], c[:, 1], crs))))
    parts, road_of_part = shapely.get_parts(merged, return_index=True)
    part_length = shapely.length(parts)
    single = np.bincount(road_of_part, minlength=len(geoms)) == 1
    loop_of_part = np.where(single[road_of_part] & shapely.is_closed(parts), part_length, np.nan)
    coords, part = shapely.get_coordinates(parts, return_index=True)
    inner = np.flatnonzero(part[:-1] == part[1:])  # consecutive vertices of one part
    a, b = coords[inner], coords[inner + 1]
    seg_part = part[inner]
    length = np.hypot(*(b - a).T)
    # Distance along the road to each segment's start: earlier segments of its part, then earlier parts.
    before = np.cumsum(length) - length
    first = np.flatnonzero(np.r_[True, seg_part[1:] != seg_part[:-1]])
    within_part = before - np.repeat(before[first], np.diff(np.r_[first, len(seg_part)]))
    part_before = np.cumsum(part_length) - part_length
    road_first = np.flatnonzero(np.r_[True, road_of_part[1:] != road_of_part[:-1]])
    part_offset = part_before - np.repeat(part_before[road_first], np.diff(np.r_[road_first, len(parts)]))
    segments = shapely.linestrings(np.stack([a, b], axis=1))
    return (segments, road_of_part[seg_part].astype(np.int64), part_offset[seg_part] + within_part,
            seg_part.astype(np.int64), loop_of_part[seg_part])


def snap_to_roads(lon, lat, roads: gpd.GeoDataFrame, tolerance_m: float) -> pd.DataFrame:
    """Each WGS-84 point snapped to the nearest road within `tolerance_m` metres.

    Columns: road (position of the road in `roads`, -1 where none is that close or the point has NaN coordinates),
    along_m (position along that road from its start, in metres), offset_m (distance from the road), loop_m (the
    road's length when it is a closed loop, NaN otherwise), part (the line of the road the point lies on: a road
    whose pieces do not merge into one line, as at a fork, has several, laid end to end in along_m, so that
    along_m measures a distance only between points of one part; -1 where road is -1); NaN where road is -1. Indexed 0..n-1 like the input.
    A point as close to two roads is snapped to the first of them. Uses a spatial index of the roads' straight
    segments (those within the tolerance of each point), never all pairs.
    """
    roads = require_geographic(roads, "路网图层")
    if not np.isfinite(tolerance_m) or tolerance_m < 0:
        raise ValueError(f"吸附容差应为非负的米数，收到 {tolerance_m}。")
    lon, lat = np.broadcast_arrays(as_float_array(lon), as_float_array(lat))
    lon, lat = lon.ravel(), lat.ravel()
    n = lon.size
    road_of, part_of = np.full(n, -1, dtype=np.int64), np.full(n, -1, dtype=np.int64)
    along, offset_m, loop_m = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    ok = np.isfinite(lon) & np.isfinite(lat)
    if ok.any() and len(roads):
        crs = metric_crs_for(lon[ok], lat[ok])
        segments, road, offset, part, loop = _road_segments(roads, crs)
        points = shapely.points(*to_metric(lon[ok], lat[ok], crs))
        # The segments within the tolerance of each point (a bounding-box index, then the exact test), and the
        # nearest of them; of equidistant segments the first (hence the first road).
        p, q = shapely.STRtree(segments).query(points, predicate="dwithin", distance=tolerance_m)
        dist = shapely.distance(segments[q], points[p])
        order = np.lexsort((q, dist, p))
        first = order[np.unique(p[order], return_index=True)[1]]
        p, q, dist = p[first], q[first], dist[first]
        rows = np.flatnonzero(ok)[p]
        road_of[rows], part_of[rows] = road[q], part[q]
        along[rows] = shapely.line_locate_point(segments[q], points[p]) + offset[q]
        offset_m[rows] = dist
        loop_m[rows] = loop[q]
    return pd.DataFrame({"road": road_of, "along_m": along, "offset_m": offset_m, "loop_m": loop_m, "part": part_of})


def along_road_pairs(snap: pd.DataFrame, max_m, groups=None) -> pd.DataFrame:
    """Pairs of snapped points on the same road less than `max_m` metres apart along it: columns i < j (positions
    in `snap`) and distance_m, sorted by i, j. Points on different parts of a road (snap_to_roads) do not pair: no
    distance along the road between them is known.

    `snap` is a snap_to_roads frame (or any frame with road and along_m, and optionally loop_m and part). `max_m` is a number
    or one threshold per point: a pair is kept when its distance is below min(max_m[i], max_m[j]); a NaN threshold
    excludes the point. With `groups`, only points of the same group pair up (None/NaN groups take part in no pair).
    On a loop road the distance is the shorter way round. Positions are sorted per road and each point is compared
    with the points within its own threshold ahead of it: never all pairs.
    """
    road = snap["road"].to_numpy(dtype=np.int64)
    if "part" in snap.columns:  # the line of the road: along_m compares only within one
        road = np.where(road >= 0, snap["part"].to_numpy(dtype=np.int64), road)
    along = snap["along_m"].to_numpy(dtype=float)
    loop = snap["loop_m"].to_numpy(dtype=float) if "loop_m" in snap.columns else np.full(len(snap), np.nan)
    n = len(snap)
    limit = np.broadcast_to(as_float_array(max_m), (n,)).astype(float)
    if np.any(limit[np.isfinite(limit)] <= 0):
        raise ValueError("间距阈值必须为正的米数。")
    if groups is None:
        group = np.zeros(n, dtype=np.int64)
    else:
        values = groups.to_numpy(dtype=object) if hasattr(groups, "to_numpy") else np.asarray(groups, dtype=object)
        if values.shape != (n,):
            raise ValueError(f"分组数量（{values.size}）与点数（{n}）不一致。")
        group = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)[0].astype(np.int64)
    ok = (road >= 0) & np.isfinite(along) & np.isfinite(limit) & (group >= 0)
    empty = pd.DataFrame({"i": np.array([], dtype=np.int64), "j": np.array([], dtype=np.int64),
                          "distance_m": np.array([], dtype=float)})
    idx = np.flatnonzero(ok)
    if idx.size < 2:
        return empty
    # On a loop, points near its start also appear once more one loop length further on (past its end).
    wrap = idx[np.isfinite(loop[idx]) & (along[idx] < limit[idx])]
    who = np.r_[idx, wrap]
    pos = np.r_[along[idx], along[wrap] + loop[wrap]]
    key = pd.factorize(pd.MultiIndex.from_arrays([group[who], road[who]]))[0]
    order = np.lexsort((pos, key))
    who, pos, key = who[order], pos[order], key[order]
    # One sorted coordinate for all roads: each (group, road) run is placed beyond the previous one's reach.
    # The window is widened by the rounding of that coordinate; the exact test on positions follows.
    reach = limit[who] + _WINDOW_MARGIN_M
    span = float(np.max(pos) - np.min(pos) + 2 * np.max(reach) + 1.0)
    coord = key * span + (pos - np.min(pos))
    end = np.searchsorted(coord, coord + reach + 4 * np.spacing(coord[-1]), side="left")
    count = end - np.arange(len(coord)) - 1
    src = np.repeat(np.arange(len(coord)), count)
    step = np.arange(src.size) - np.repeat(np.cumsum(count) - count, count)
    dst = src + 1 + step
    a, b = who[src], who[dst]
    d = pos[dst] - pos[src]
    i, j = np.minimum(a, b), np.maximum(a, b)
    keep = (key[src] == key[dst]) & (i != j) & (d < np.minimum(limit[i], limit[j]))
    i, j, d = i[keep], j[keep], d[keep]
    if not i.size:
        return empty
    order = np.lexsort((d, j, i))
    i, j, d = i[order], j[order], d[order]
    first = np.r_[True, (i[1:] != i[:-1]) | (j[1:] != j[:-1])]  # a loop pair found both ways round: the shorter
    return pd.DataFrame({"i": i[first], "j": j[first], "distance_m": d[first]})


__all__ = ["load_roads", "as_roads", "snap_to_roads", "road_lengths_km", "along_road_pairs"]
