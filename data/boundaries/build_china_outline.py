"""Build china_outline.geojson: a simplified, slightly buffered outline of China used by geo.crs.in_china.

Source: DataV.GeoAtlas national file (areas_v3) as stored in lqb-zh/geojson-chinadata @ 03c042e6 (100000_full.json).
Run: .venv/bin/python data/boundaries/build_china_outline.py [path/to/datav_100000_full_provinces.json]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import geopandas as gpd
import shapely

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE.parents[1] / ".." / "shared" / "data" / "real" / "china_boundaries" / "datav_100000_full_provinces.json"
SIMPLIFY_DEG = 0.01
BUFFER_DEG = 0.05
MIN_PART_DEG2 = 1e-4  # drops specks (tiny islets) left over after buffering merges neighbours
DECIMALS = 4


def build(source: Path) -> shapely.Geometry:
    provinces = gpd.read_file(source)
    provinces = provinces[provinces["name"].fillna("").str.strip() != ""]  # drop DataV's adcode-100000 line feature
    if len(provinces) != 34:
        raise SystemExit(f"expected 34 province-level features, got {len(provinces)}")
    outline = shapely.union_all(shapely.make_valid(provinces.geometry.values))
    outline = outline.buffer(BUFFER_DEG).simplify(SIMPLIFY_DEG, preserve_topology=True)
    parts = [p for p in shapely.get_parts(outline) if p.area >= MIN_PART_DEG2]
    # holes inside the country (lakes, enclaves between provinces) are not "outside China"
    parts = [shapely.Polygon(p.exterior) for p in parts]
    outline = shapely.union_all(parts)
    return shapely.set_precision(outline, 10 ** -DECIMALS)


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SOURCE
    outline = build(source)
    feature = {
        "type": "Feature",
        "properties": {"name": "China (simplified outline, buffered 0.05°)"},
        "geometry": json.loads(shapely.to_geojson(outline, indent=None)),
    }
    out = HERE / "china_outline.geojson"
    out.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}, separators=(",", ":")))
    print(f"{out}: {out.stat().st_size / 1024:.0f} KB, {shapely.get_num_coordinates(outline)} vertices, "
          f"{shapely.get_num_geometries(outline)} parts")


if __name__ == "__main__":
    main()
