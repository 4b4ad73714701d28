"""The map layers named by settings, read once per app: township/area polygons (AREAS_FILE) for the density rule
and the map, the road network (ROADS_FILE) for the spacing and density rules."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import geopandas as gpd
from flask import current_app

from geo.boundary import load_areas
from geo.roads import load_roads

_CACHE = "camaudit.layers"


def _configured(file_key: str, crs_key: str, load: Callable[..., gpd.GeoDataFrame]) -> gpd.GeoDataFrame | None:
    """None when the file setting is empty. A relative path is taken from the project folder."""
    setting = current_app.config.get(file_key)
    if not setting:
        return None
    path = Path(setting)
    if not path.is_absolute():
        path = Path(current_app.root_path).parent / path
    cache = current_app.extensions.setdefault(_CACHE, {})
    key = (file_key, str(path), current_app.config.get(crs_key))
    if key not in cache:
        cache[key] = load(path, source_crs=current_app.config.get(crs_key) or None)
    return cache[key]


def configured_areas() -> gpd.GeoDataFrame | None:
    return _configured("AREAS_FILE", "AREAS_CRS", load_areas)


def configured_roads() -> gpd.GeoDataFrame | None:
    return _configured("ROADS_FILE", "ROADS_CRS", load_roads)
