"""Spacing between devices: close pairs and nearest neighbours, via a spatial index (never all pairs).

Candidates come from a spatial index in the metric CRS of the point set (geo.metric.metric_crs_for): a k-d tree
per group for close pairs (scipy's cKDTree works on the coordinates directly, with no geometry objects), a shapely
STRtree for nearest neighbours. The reported distances are ellipsoidal (WGS-84 geodesic), so they stay exact even
for points far from the projection's central meridian. Points with NaN coordinates, and points whose group is
None/NaN when groups are given, take part in no pair.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy.spatial import cKDTree

from geo.crs import as_float_array
from geo.metric import metric_crs_for, to_metric

_GEOD = pyproj.Geod(ellps="WGS84")
_MARGIN = 1.01  # projected distances may differ from geodesic ones by the scale factor; search a little wider


def geodesic_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Ellipsoidal (WGS-84) distances in metres, elementwise."""
    return np.asarray(_GEOD.inv(lon1, lat1, lon2, lat2)[2], dtype=float)


def _group_codes(groups, n: int) -> np.ndarray:
    """Integer code per point; -1 for points without a group. All 0 when groups is None."""
    if groups is None:
        return np.zeros(n, dtype=np.int64)
    values = groups.to_numpy(dtype=object) if hasattr(groups, "to_numpy") else np.asarray(groups, dtype=object)
    if values.shape != (n,):
        raise ValueError(f"分组数量（{values.size}）与点数（{n}）不一致。")
    codes, _ = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    return codes.astype(np.int64)


def _projected(lon: np.ndarray, lat: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Metric x, y of the usable rows and the largest scale factor of the projection over them."""
    crs = metric_crs_for(lon[ok], lat[ok])
    x, y = to_metric(lon[ok], lat[ok], crs)
    # Transverse Mercator scale grows away from the central meridian: k ≈ k0 / sqrt(1 - (cos φ sin Δλ)²)
    cm = next(p.value for p in crs.coordinate_operation.params if p.name == "Longitude of natural origin")
    b = np.cos(np.radians(lat[ok])) * np.sin(np.radians(lon[ok] - cm))
    scale = float(np.max(1.0 / np.sqrt(1.0 - np.minimum(b * b, 0.99)))) if b.size else 1.0
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float), scale


def close_pairs(lon, lat, max_m, groups=None) -> pd.DataFrame:
    """All pairs of points closer than `max_m` metres: columns i < j (positions in the input) and distance_m.

    `max_m` is a number or one threshold per point; with per-point thresholds a pair is kept when its distance is
    below min(max_m[i], max_m[j]) (a NaN threshold excludes the point). With `groups`, only points of the same
    group pair up. Each group is searched with its largest threshold, so thresholds should vary between groups
    rather than within one (as in the spacing rule: one threshold per device type). Sorted by i, j.
    """
    lon, lat = np.broadcast_arrays(as_float_array(lon), as_float_array(lat))
    lon, lat = lon.ravel(), lat.ravel()
    n = lon.size
    limit = np.broadcast_to(as_float_array(max_m), (n,)).astype(float)
    if np.any(limit[np.isfinite(limit)] <= 0):
        raise ValueError("间距阈值必须为正的米数。")
    codes = _group_codes(groups, n)
    ok = np.isfinite(lon) & np.isfinite(lat) & np.isfinite(limit) & (codes >= 0)
    empty = pd.DataFrame({"i": np.array([], dtype=np.int64), "j": np.array([], dtype=np.int64),
                          "distance_m": np.array([], dtype=float)})
    if ok.sum() < 2:
        return empty
    index = np.flatnonzero(ok)
    x, y, scale = _projected(lon, lat, ok)
    xy = np.column_stack([x, y])
    radius = limit[index] * scale * _MARGIN
    found_i, found_j = [np.array([], dtype=np.int64)], [np.array([], dtype=np.int64)]
    order = np.argsort(codes[index], kind="stable")  # positions in index, grouped; ascending within a group
    starts = np.flatnonzero(np.r_[True, np.diff(codes[index][order]) != 0])
    for members in np.split(order, starts[1:]):
        if members.size < 2:
            continue
        # Every pair within the group's largest search radius (a superset; the exact test follows), a < b.
        pairs = cKDTree(xy[members]).query_pairs(float(np.max(radius[members])), output_type="ndarray")
        found_i.append(index[members[pairs[:, 0]]])
        found_j.append(index[members[pairs[:, 1]]])
    i, j = np.concatenate(found_i), np.concatenate(found_j)
    if not i.size:
        return empty
    order = np.lexsort((j, i))
    i, j = i[order], j[order]
    dist = geodesic_m(lon[i], lat[i], lon[j], lat[j])
    close = dist < np.minimum(limit[i], limit[j])
    return pd.DataFrame({"i": i[close].astype(np.int64), "j": j[close].astype(np.int64),
                         "distance_m": dist[close]})


def nearest_neighbour(lon, lat, groups=None) -> pd.DataFrame:
    """Per point, the nearest other point of the same group: columns neighbour (Int64 position, <NA> where none)
    and distance_m (geodesic metres, NaN where none), indexed like the input. Duplicates are at distance 0."""
    lon, lat = np.broadcast_arrays(as_float_array(lon), as_float_array(lat))
    lon, lat = lon.ravel(), lat.ravel()
    n = lon.size
    codes = _group_codes(groups, n)
    ok = np.isfinite(lon) & np.isfinite(lat) & (codes >= 0)
    neighbour = np.full(n, -1, dtype=np.int64)
    if ok.sum() >= 2:
        points = np.empty(n, dtype=object)
        x, y, _ = _projected(lon, lat, ok)
        points[ok] = shapely.points(x, y)
        order = np.flatnonzero(ok)
        order = order[np.argsort(codes[order], kind="stable")]
        starts = np.flatnonzero(np.r_[True, np.diff(codes[order]) != 0])
        for members in np.split(order, starts[1:]):
            if members.size < 2:
                continue
            tree = shapely.STRtree(points[members])
            # exclusive=True skips the point itself but also any exact duplicate: those are handled below
            src, dst = tree.query_nearest(points[members], exclusive=True, all_matches=False)
            neighbour[members[src]] = members[dst]
        _link_duplicates(lon, lat, codes, ok, neighbour)
    has = neighbour >= 0
    dist = np.full(n, np.nan)
    if has.any():
        dist[has] = geodesic_m(lon[has], lat[has], lon[neighbour[has]], lat[neighbour[has]])
    return pd.DataFrame({"neighbour": pd.Series(neighbour, dtype="Int64").where(has), "distance_m": dist})


def _link_duplicates(lon, lat, codes, ok, neighbour) -> None:
    """Points sharing group and coordinates are each other's neighbours (the first one's is the second)."""
    idx = np.flatnonzero(ok)
    order = idx[np.lexsort((idx, lat[idx], lon[idx], codes[idx]))]
    key = np.column_stack([codes[order], lon[order], lat[order]])
    start = np.r_[True, np.any(key[1:] != key[:-1], axis=1)]
    run = np.cumsum(start) - 1
    first_pos = np.flatnonzero(start)
    size = np.diff(np.r_[first_pos, order.size])
    dup = size[run] > 1
    if not dup.any():
        return
    first = order[first_pos[run]]
    second = order[np.minimum(first_pos[run] + 1, order.size - 1)]
    own = order[dup]
    neighbour[own] = np.where(own == first[dup], second[dup], first[dup])
