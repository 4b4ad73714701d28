"""geo.boundary: loading jurisdiction polygons and testing points against them."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shapely

from geo.boundary import load_areas, load_boundary, points_within
from geo.crs import gcj02_to_wgs84

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT / ".." / "shared" / "data" / "real"
JIANGLE = ROOT / "data" / "boundaries" / "jiangle_350428_townships.geojson"
JIANGLE_TOWNSHIPS = {"古镛镇", "万安镇", "高唐镇", "白莲镇", "黄潭镇", "水南镇", "光明乡",
                     "漠源乡", "南口乡", "万全乡", "安仁乡", "大源乡", "余坊乡"}


def _real(name: str) -> Path:
    path = REAL / "china_boundaries" / name
    if not path.exists():
        pytest.skip(f"real data not available: {path}")
    return path


def test_shipped_jiangle_townships():
    areas = load_areas(JIANGLE)
    assert areas.crs.to_epsg() == 4326
    assert list(areas.columns) == ["name", "geometry"]
    assert set(areas["name"]) == JIANGLE_TOWNSHIPS
    assert areas.geometry.is_valid.all()


def test_jiangle_boundary_contains_the_county_seat_only():
    county = load_boundary(JIANGLE)
    assert county.geom_type == "Polygon"  # the townships tile the county without gaps
    # county seat (古镛镇); Sanming city centre; Shaxian; NaN
    got = points_within([117.473, 117.639, 117.79, np.nan], [26.728, 26.263, 26.40, 26.7], county)
    assert got.tolist() == [True, False, False, False]


def test_shipped_jiangle_file_matches_its_source():
    source = json.loads(_real("sanming_jiangle_350428_townships.json").read_text(encoding="utf-8"))
    shipped = load_areas(JIANGLE)
    assert shipped["name"].tolist() == [f["properties"]["name"] for f in source["features"]]
    for feature, geom in zip(source["features"], shipped.geometry):
        # coordinates only rounded to 6 decimals (≈ 0.1 m)
        assert shapely.hausdorff_distance(shapely.geometry.shape(feature["geometry"]), geom) < 1e-6


def test_geometry_collections_are_reduced_to_polygons():
    areas = load_areas(_real("fuzhou_cangshan_townships.geojson"))
    assert len(areas) == 14
    assert set(areas.geom_type) <= {"Polygon", "MultiPolygon"}
    assert areas.geometry.is_valid.all()
    assert "仓山镇" in set(areas["name"])
    assert areas.loc[areas["name"] == "仓山镇"].geom_type.item() == "MultiPolygon"


def test_invalid_and_non_polygonal_features(tmp_path):
    bowtie = {"type": "Polygon", "coordinates": [[[117, 26], [117.1, 26.1], [117.1, 26], [117, 26.1], [117, 26]]]}
    mixed = {"type": "GeometryCollection", "geometries": [
        {"type": "LineString", "coordinates": [[118, 26], [118.1, 26.1]]},
        {"type": "Polygon", "coordinates": [[[118, 26], [118.1, 26], [118.1, 26.1], [118, 26]]]},
    ]}
    line = {"type": "LineString", "coordinates": [[119, 26], [119.1, 26.1]]}
    path = tmp_path / "areas.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": n}, "geometry": g}
        for n, g in (("bowtie", bowtie), ("mixed", mixed), ("line", line))
    ]}))
    areas = load_areas(path)
    assert areas["name"].tolist() == ["bowtie", "mixed"]
    assert areas.geometry.is_valid.all()
    assert areas.geometry.iloc[0].area == pytest.approx(0.005)  # two triangles of the bow-tie
    assert areas.geometry.iloc[1].geom_type == "Polygon"


def test_no_polygon_at_all_is_an_error(tmp_path):
    path = tmp_path / "lines.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": "x"},
        "geometry": {"type": "LineString", "coordinates": [[119, 26], [119.1, 26.1]]}}]}))
    with pytest.raises(ValueError, match="没有面状要素"):
        load_areas(path)


def test_an_unreadable_boundary_file_is_an_error_naming_it(tmp_path):
    path = tmp_path / "乡镇.geojson"
    path.write_text("<html>登录超时</html>", encoding="utf-8")
    with pytest.raises(ValueError, match="边界文件 乡镇.geojson 无法读取"):
        load_areas(path)


def test_source_crs_gcj02_converts_every_vertex():
    plain = load_areas(JIANGLE)
    shifted = load_areas(JIANGLE, source_crs="GCJ02")
    x, y = shapely.get_coordinates(plain.geometry.iloc[0]).T
    want = np.column_stack(gcj02_to_wgs84(x, y))
    np.testing.assert_allclose(shapely.get_coordinates(shifted.geometry.iloc[0]), want, atol=1e-12)


def test_points_within_tolerance():
    county = load_boundary(JIANGLE)
    x, y = shapely.get_coordinates(county).T
    east = np.argmax(x)
    # 0.01° east of the easternmost vertex: ≈ 994 m outside at this latitude
    lon, lat = x[east] + 0.01, y[east]
    assert not points_within(lon, lat, county)
    assert not points_within(lon, lat, county, tolerance_m=900)
    assert points_within(lon, lat, county, tolerance_m=1100)
    with pytest.raises(ValueError, match="容差"):
        points_within(lon, lat, county, tolerance_m=-1)
