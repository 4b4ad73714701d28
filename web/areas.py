"""The township/area polygons of the AREAS_FILE setting (for the density rule and the map), read once per app."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
from flask import current_app

from geo.boundary import load_areas

_CACHE = "camaudit.areas"


def configured_areas() -> gpd.GeoDataFrame | None:
    """None when AREAS_FILE is not set. A relative path is taken from the project folder."""
    setting = current_app.config.get("AREAS_FILE")
    if not setting:
        return None
    path = Path(setting)
    if not path.is_absolute():
        path = Path(current_app.root_path).parent / path
    cache = current_app.extensions.setdefault(_CACHE, {})
    key = (str(path), current_app.config.get("AREAS_CRS"))
    if key not in cache:
        cache[key] = load_areas(path, source_crs=current_app.config.get("AREAS_CRS") or None)
    return cache[key]
