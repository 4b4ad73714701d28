"""Coordinates: each row's coordinate system (its 坐标系 cell, the upload's default, else WGS-84), swapped
longitude/latitude, zero and out-of-range values, conversion to WGS-84, and positions outside China or outside the
department's jurisdiction."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from geo.crs import CrsSpec, in_china, looks_swapped, parse_crs, to_wgs84

from .rows import SheetRows, show

GEOGRAPHIC = ("wgs84", "cgcs2000", "gcj02", "bd09")


def coordinates(sheet: SheetRows, frame: pd.DataFrame, default_crs: str | None, boundary: Any) -> None:
    n = len(frame)
    x = np.asarray(frame["lon"], dtype=float)
    y = np.asarray(frame["lat"], dtype=float)
    frame["raw_lon"], frame["raw_lat"] = x.copy(), y.copy()
    try:
        default = parse_crs(None, default=default_crs)
    except ValueError as exc:
        sheet.report.error("BAD_CRS", f"导入时指定的默认坐标系有误：{exc}")
        default = parse_crs(None)
    specs = np.empty(n, dtype=object)
    unnamed = np.ones(n, dtype=bool)
    bad_crs = np.zeros(n, dtype=bool)
    if "crs" in sheet.parsed:
        parsed = sheet.parsed["crs"]
        specs[:] = parsed.take()
        unnamed = parsed.empty
        bad_crs = parsed.bad
    specs[unnamed] = default
    if default_crs is None and unnamed.any():
        sheet.checks.crs_assumed(sheet, int(unnamed.sum()), bool(np.isfinite(x[unnamed]).any()))
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    given = np.isfinite(x) & np.isfinite(y) & ~bad_crs
    zero = given & ((x == 0) | (y == 0))
    for index in np.flatnonzero(zero):
        sheet.error("COORD_ZERO", "经度或纬度为 0，不是设备的实际位置；请填写实际坐标。", "lon", index)
    given &= ~zero
    labels = np.array([s.label if s is not None else None for s in specs], dtype=object)
    for label in pd.unique(labels[given]):
        rows = np.flatnonzero(given & (labels == label))
        spec: CrsSpec = specs[rows[0]]
        lon[rows], lat[rows] = convert(sheet, spec, x[rows], y[rows], rows)
    frame["crs"] = pd.Series(labels, dtype=object)
    valid = np.isfinite(lon) & np.isfinite(lat)
    outside = valid & ~in_china(lon, lat)
    for index in np.flatnonzero(outside):
        sheet.warning("COORD_OUTSIDE_CHINA", f"坐标（经度 {lon[index]:.6f}，纬度 {lat[index]:.6f}）不在中国境内；"
                      "请核对经纬度和坐标系。", "lon", index)
    if boundary is not None:
        from geo.boundary import points_within

        for index in np.flatnonzero(valid & ~points_within(lon, lat, boundary)):
            sheet.warning("COORD_OUTSIDE_BOUNDARY", f"坐标（经度 {lon[index]:.6f}，纬度 {lat[index]:.6f}）"
                          "不在本单位辖区范围内；请核对坐标和坐标系。", "lon", index)
    frame["lon"], frame["lat"] = lon, lat


def convert(sheet: SheetRows, spec: CrsSpec, x: np.ndarray, y: np.ndarray, rows: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    x, y = x.copy(), y.copy()
    if spec.kind in GEOGRAPHIC:
        swapped = looks_swapped(x, y) & (np.abs(y) <= 180) & (np.abs(x) <= 90)
    else:
        plain = to_wgs84(x, y, spec)[0]
        flipped_lon, flipped_lat = to_wgs84(y, x, spec)
        swapped = ~np.isfinite(plain) & np.isfinite(flipped_lon) & in_china(flipped_lon, flipped_lat)
    for k in np.flatnonzero(swapped):
        sheet.warning("COORD_SWAPPED", f"经度、纬度（东、北坐标）似乎填反了：经度列为 {_num(x[k])}，纬度列为 "
                      f"{_num(y[k])}，已按经度 {_num(y[k])}、纬度 {_num(x[k])} 处理；"
                      "请核对并在文件中改正。", "lon", rows[k], f"{_num(x[k])}, {_num(y[k])}")
    x[swapped], y[swapped] = y[swapped], x[swapped]
    if spec.kind in GEOGRAPHIC:
        wrong = (np.abs(x) > 180) | (np.abs(y) > 90)
        x[wrong] = y[wrong] = np.nan
        lon, lat = to_wgs84(x, y, spec)
    else:
        lon, lat = to_wgs84(x, y, spec)
    wrong = ~np.isfinite(lon) | ~np.isfinite(lat) | (np.abs(lon) > 180) | (np.abs(lat) > 90)
    for k in np.flatnonzero(wrong):
        if spec.kind in GEOGRAPHIC:
            message = ("坐标超出范围：经度应在 -180～180、纬度应在 -90～90 之间（十进制度）；请检查是否少了小数点，"
                       "或填的是投影坐标（米）——投影坐标须在坐标系列写明带号，如 CGCS2000-3度带-39。")
        else:
            message = (f"投影坐标与坐标系“{spec.label}”不符：东坐标应为带号加6位整数（如 39500000）或6位整数，"
                       "北坐标为7位整数（米）；请核对坐标和带号。")
        sheet.error("COORD_OUT_OF_RANGE", message, "lon", rows[k], _typed(sheet, int(rows[k])))
    lon[wrong] = lat[wrong] = np.nan
    return lon, lat


def _typed(sheet: SheetRows, index: int) -> str:
    """The longitude and latitude cells as the clerk typed them."""
    cells = [show(sheet.parsed[key].raw(index)) if key in sheet.parsed else None for key in ("lon", "lat")]
    return ", ".join(c if c is not None else "（空）" for c in cells)


def _num(value: float) -> str:
    return f"{value:.10g}"
