"""Device density per area (e.g. per township): counts, areas in km², devices per km²."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from geo.crs import as_float_array
from geo.metric import metric_crs_for, require_geographic, to_metric


def count_in_areas(lon, lat, areas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Per area: name, count of WGS-84 points inside it, area_km2 (in the metric CRS of the areas), per_km2.

    Points outside every area (or with NaN coordinates) are not counted; a point on a border shared by two areas
    is counted once, in the first of them. `areas` must have a geographic CRS (see geo.boundary.load_areas).
    """
    areas = require_geographic(areas, "辖区图层")
    if "name" not in areas.columns:
        raise ValueError("辖区图层缺少 name（区域名称）列。")
    lon, lat = np.broadcast_arrays(as_float_array(lon), as_float_array(lat))
    lon, lat = lon.ravel(), lat.ravel()
    geoms = np.asarray(areas.geometry.values, dtype=object)
    ok = np.isfinite(lon) & np.isfinite(lat)
    counts = np.zeros(len(areas), dtype=np.int64)
    if ok.any():
        point_idx, area_idx = shapely.STRtree(geoms).query(shapely.points(lon[ok], lat[ok]), predicate="intersects")
        order = np.lexsort((area_idx, point_idx))
        first = order[np.unique(point_idx[order], return_index=True)[1]]
        counts = np.bincount(area_idx[first], minlength=len(areas)).astype(np.int64)
    centres = areas.geometry.representative_point()
    crs = metric_crs_for(centres.x.to_numpy(), centres.y.to_numpy())
    area_km2 = np.asarray(
        shapely.area(shapely.transform(geoms, lambda c: np.column_stack(to_metric(c[:, 0], c[:, 1], crs))))
    ) / 1e6
    with np.errstate(divide="ignore", invalid="ignore"):
        per_km2 = np.where(area_km2 > 0, counts / area_km2, np.nan)
    return gpd.GeoDataFrame(
        {"name": areas["name"].to_numpy(), "count": counts, "area_km2": area_km2, "per_km2": per_km2},
        geometry=geoms, crs="EPSG:4326", index=areas.index,
    )
