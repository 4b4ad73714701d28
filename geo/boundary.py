"""Jurisdiction boundaries: loading area polygons (county, townships) and testing points against them."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from geo.crs import as_float_array, parse_crs, to_wgs84
from geo.layerfile import mark_source, read_layer
from geo.metric import metric_crs_for, to_metric

NAME_COLUMNS = ("name", "NAME", "Name", "名称", "name_zh", "NAME_CHN")
POLYGONAL = ("Polygon", "MultiPolygon")


def _polygonal(geom) -> shapely.Geometry | None:
    """The valid polygonal part of `geom` (GeometryCollection members and make_valid debris that are not
    polygons are dropped); None when nothing polygonal remains."""
    if geom is None or geom.is_empty:
        return None
    geom = shapely.force_2d(geom)
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    if geom.geom_type in POLYGONAL:
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in POLYGONAL]
    if not parts:
        return None
    merged = shapely.union_all(parts)  # members of a collection may overlap
    return merged if merged.geom_type in POLYGONAL else None


def _names(gdf: gpd.GeoDataFrame) -> list[str]:
    for col in NAME_COLUMNS:
        if col in gdf.columns:
            return [str(v).strip() if v is not None and v == v else f"区域{i + 1}" for i, v in enumerate(gdf[col])]
    return [f"区域{i + 1}" for i in range(len(gdf))]


def load_areas(path: str | Path, source_crs: str | None = None) -> gpd.GeoDataFrame:
    """Areas of a boundary file (GeoJSON, Shapefile, …) as a GeoDataFrame with columns name, geometry in EPSG:4326.

    `source_crs` (see geo.crs.parse_crs) overrides the file's CRS: 'GCJ02'/'BD09' (e.g. DataV or Baidu outlines)
    and Gauss-Kruger zones convert each vertex to WGS-84. Without it a file that declares a CRS is reprojected, one
    that declares none is taken as WGS-84. Geometries are made valid; features with no polygonal part are dropped.
    """
    raw = read_layer(path, "边界")
    names = _names(raw)
    geoms = [_polygonal(g) for g in raw.geometry]
    if source_crs is not None:
        spec = parse_crs(source_crs)

        def convert(coords: np.ndarray) -> np.ndarray:
            return np.column_stack(to_wgs84(coords[:, 0], coords[:, 1], spec))

        geoms = [None if g is None else _polygonal(shapely.transform(g, convert)) for g in geoms]
        crs = "EPSG:4326"
    else:
        crs = raw.crs if raw.crs is not None else "EPSG:4326"
    keep = [i for i, g in enumerate(geoms) if g is not None]
    if not keep:
        raise ValueError(f"边界文件 {Path(path).name} 中没有面状要素（Polygon/MultiPolygon），无法作为辖区边界使用。")
    areas = gpd.GeoDataFrame({"name": [names[i] for i in keep]}, geometry=[geoms[i] for i in keep], crs=crs)
    if not areas.crs.equals("EPSG:4326"):
        areas = areas.to_crs(4326)
        areas["geometry"] = [_polygonal(g) for g in areas.geometry]
    return mark_source(areas, path)


def load_boundary(path: str | Path, source_crs: str | None = None) -> shapely.Geometry:
    """The union of all areas of a boundary file (e.g. a county from its townships), WGS-84."""
    return shapely.union_all(load_areas(path, source_crs).geometry.values)


def points_within(lon, lat, geom, tolerance_m: float = 0) -> np.ndarray:
    """True where the WGS-84 point lies inside `geom`, or within `tolerance_m` metres of it; NaN coordinates → False."""
    lon, lat = np.broadcast_arrays(as_float_array(lon), as_float_array(lat))
    if tolerance_m < 0 or not np.isfinite(tolerance_m):
        raise ValueError(f"容差应为非负的米数，收到 {tolerance_m}。")
    shapely.prepare(geom)
    inside = np.array(shapely.contains_xy(geom, lon, lat), dtype=bool)
    near = ~inside & np.isfinite(lon) & np.isfinite(lat)
    if tolerance_m > 0 and near.any():
        centre = geom.representative_point()
        crs = metric_crs_for(centre.x, centre.y)
        geom_m = shapely.transform(geom, lambda c: np.column_stack(to_metric(c[:, 0], c[:, 1], crs)))
        x, y = to_metric(lon[near], lat[near], crs)
        inside[near] = shapely.dwithin(geom_m, shapely.points(x, y), tolerance_m)
    return inside
