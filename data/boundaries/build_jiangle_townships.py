"""Build jiangle_350428_townships.geojson: the township (乡镇/街道) polygons of 将乐县 (adcode 350428).

Source: lqb-zh/geojson-chinadata @ 03c042e6 china/fujian/sanming/jiangle/350428.json. The geometry is unchanged
except that coordinates are rounded to 6 decimals (~0.1 m) and the JSON is written compactly.
Run: .venv/bin/python data/boundaries/build_jiangle_townships.py [path/to/sanming_jiangle_350428_townships.json]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE.parents[1] / ".." / "shared" / "data" / "real" / "china_boundaries" / "sanming_jiangle_350428_townships.json"
DECIMALS = 6


def _round(coords):
    if isinstance(coords[0], (int, float)):
        return [round(c, DECIMALS) for c in coords]
    return [_round(c) for c in coords]


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SOURCE
    data = json.loads(source.read_text(encoding="utf-8"))
    features = [
        {"type": "Feature", "properties": {"name": f["properties"]["name"]},
         "geometry": {"type": f["geometry"]["type"], "coordinates": _round(f["geometry"]["coordinates"])}}
        for f in data["features"]
    ]
    out = HERE / "jiangle_350428_townships.geojson"
    out.write_text(json.dumps({"type": "FeatureCollection", "name": "350428", "features": features},
                              ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    print(f"{out}: {out.stat().st_size / 1024:.0f} KB, {len(features)} features")


if __name__ == "__main__":
    main()
