"""Reading a vector layer file (GeoJSON, Shapefile, GeoPackage …) with a clear message when it cannot be read."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
from pyogrio.errors import DataLayerError, DataSourceError


def read_layer(path: str | Path, what: str) -> gpd.GeoDataFrame:
    """The features of the file at `path`; `what` names the layer in the message (e.g. 路网, 边界).

    Raises ValueError (Chinese message) when the file is missing or is not a vector format GDAL reads.
    """
    name = Path(path).name
    if not Path(path).is_file():
        raise ValueError(f"{what}文件 {name} 不存在，请检查路径。")
    try:
        return gpd.read_file(path)
    except (DataSourceError, DataLayerError) as exc:
        raise ValueError(f"{what}文件 {name} 无法读取：不是可识别的 GeoJSON、Shapefile 或 GeoPackage 文件。"
                         f"请导出为 GeoJSON（WGS-84）后重试。") from exc
