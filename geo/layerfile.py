"""Reading a vector layer file (GeoJSON, Shapefile, GeoPackage …) with a clear message when it cannot be read."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio
import shapely
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


def mark_source(frame: gpd.GeoDataFrame, path: str | Path) -> gpd.GeoDataFrame:
    """Record the file a layer was read from (its name) and the layer's own title on the frame, for describe_layer."""
    frame.attrs["source"] = Path(path).name
    frame.attrs["title"] = layer_title(path)
    return frame


def layer_title(path: str | Path) -> str | None:
    """The title the layer gives itself (a GeoJSON's "name", a GeoPackage's layer), or None where it has none but
    its file name or an administrative code such as 350428: what a document may call the layer."""
    try:
        layers = pyogrio.list_layers(path)
    except (DataSourceError, DataLayerError, OSError):
        return None
    if len(layers) != 1:
        return None
    name = str(layers[0][0]).strip()
    if not name or name == Path(path).stem or name.isdigit():
        return None
    return name


def describe_layer(frame: gpd.GeoDataFrame) -> dict[str, Any]:
    """What identifies a layer's content: its source file name and title (when read from a file), feature count,
    and the sha256 of its names and WGS-84 geometries (the same content gives the same digest, whatever the file)."""
    digest = hashlib.sha256()
    names = frame["name"] if "name" in frame.columns else [""] * len(frame)
    for name, wkb in zip(names, shapely.to_wkb(frame.to_crs(4326).geometry.values, hex=True)):
        digest.update(f"{'' if name is None else name}\t{wkb}\n".encode("utf-8"))
    return {"source": frame.attrs.get("source"), "title": frame.attrs.get("title"), "features": len(frame),
            "sha256": digest.hexdigest()}
