"""Metric projections for measuring metres: the CGCS2000 3-degree Gauss-Kruger zone in China, UTM elsewhere."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pyproj

from geo.crs import GK_EPSG_CENTRAL_MERIDIAN, GK_ZONES, as_float_array, in_china


def metric_crs_for(lon, lat) -> pyproj.CRS:
    """The metric CRS for a set of WGS-84 points, chosen at their median point.

    In China: the CGCS2000 3-degree Gauss-Kruger zone (central-meridian form, EPSG:4534–4554) containing the median
    longitude; elsewhere the WGS-84 UTM zone (EPSG:326xx north, 327xx south). NaN points are ignored.
    """
    lon, lat = np.broadcast_arrays(as_float_array(lon), as_float_array(lat))
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.any():
        raise ValueError("没有有效坐标，无法选择用于量算距离的投影坐标系。")
    mlon, mlat = float(np.median(lon[ok])), float(np.median(lat[ok]))
    if in_china(mlon, mlat):
        zone = min(max(int(np.floor((mlon + 1.5) / 3.0)), GK_ZONES.start), GK_ZONES.stop - 1)
        return _crs(GK_EPSG_CENTRAL_MERIDIAN + zone - GK_ZONES.start)
    utm_zone = min(int(np.floor((mlon + 180.0) / 6.0)) + 1, 60)
    return _crs((32600 if mlat >= 0 else 32700) + utm_zone)


@lru_cache(maxsize=64)
def _crs(epsg: int) -> pyproj.CRS:
    return pyproj.CRS.from_epsg(epsg)


@lru_cache(maxsize=64)
def _to_metric_transformer(crs: pyproj.CRS) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(_crs(4326), crs, always_xy=True)


def require_metric(crs) -> pyproj.CRS:
    """`crs` as a pyproj.CRS, checked to be projected in metres (ValueError otherwise)."""
    crs = pyproj.CRS.from_user_input(crs)
    if not crs.is_projected or crs.axis_info[0].unit_name not in ("metre", "meter"):
        raise ValueError(f"坐标系 {crs.name} 不是以米为单位的投影坐标系，不能用于量算距离或面积。")
    return crs


def to_metric(lon, lat, crs) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) in metres of WGS-84 points in the projected `crs` (e.g. from metric_crs_for); NaN stays NaN."""
    lon, lat = np.broadcast_arrays(as_float_array(lon), as_float_array(lat))
    x, y = _to_metric_transformer(require_metric(crs)).transform(lon, lat)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def require_geographic(gdf, what: str = "图层"):
    """`gdf` in EPSG:4326; ValueError when its CRS is missing or not geographic (longitude/latitude)."""
    if gdf.crs is None:
        raise ValueError(f"{what}没有声明坐标系，无法判断坐标含义；请提供经纬度（WGS-84）数据。")
    if not gdf.crs.is_geographic:
        raise ValueError(f"{what}的坐标系为 {gdf.crs.name}，不是经纬度坐标系；请先转换为 WGS-84 经纬度。")
    return gdf if gdf.crs.equals(_crs(4326)) else gdf.to_crs(4326)
