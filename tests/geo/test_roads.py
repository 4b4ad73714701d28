"""geo.roads: loading road lines, snapping devices onto them, along-road positions and close pairs."""
from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, MultiLineString, Point

from geo.crs import wgs84_to_gcj02
from geo.roads import along_road_pairs, as_roads, load_roads, road_lengths_km, snap_to_roads
from geo.spacing import close_pairs

GEOD = pyproj.Geod(ellps="WGS84")
LAT = 26.5
# A U-shaped road: two legs 0.0015° of longitude (≈ 149 m) apart, each 0.005° of latitude (≈ 553 m) long.
U_ROAD = LineString([(117.0, 26.5), (117.0, 26.505), (117.0015, 26.505), (117.0015, 26.5)])


def _roads(*lines, names=None) -> gpd.GeoDataFrame:
    names = names or [f"路{k}" for k in range(len(lines))]
    return gpd.GeoDataFrame({"name": names}, geometry=list(lines), crs="EPSG:4326")


def _geod(lon1, lat1, lon2, lat2) -> float:
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


def test_snap_onto_a_straight_road_gives_position_and_offset():
    roads = _roads(LineString([(117.0, LAT), (117.02, LAT)]))
    north = 20.0 / 110_800  # ≈ 20 m of latitude
    snap = snap_to_roads([117.003, 117.003, 117.01, np.nan], [LAT + north, LAT - 3 * north, LAT, LAT], roads, 30)
    assert list(snap.columns) == ["road", "along_m", "offset_m", "loop_m", "part"]
    assert snap["road"].tolist() == [0, -1, 0, -1]  # 60 m off: beyond the tolerance; NaN: never
    assert snap.loc[0, "along_m"] == pytest.approx(_geod(117.0, LAT, 117.003, LAT), rel=1e-3)
    assert snap.loc[0, "offset_m"] == pytest.approx(_geod(117.003, LAT, 117.003, LAT + north), rel=1e-3)
    assert snap.loc[2, "along_m"] == pytest.approx(_geod(117.0, LAT, 117.01, LAT), rel=1e-3)
    assert snap.loc[1, ["along_m", "offset_m"]].isna().all()
    assert snap["loop_m"].isna().all()
    wider = snap_to_roads([117.003], [LAT - 3 * north], roads, 70)
    assert wider["road"].tolist() == [0] and wider.loc[0, "offset_m"] == pytest.approx(60, rel=0.01)


def test_point_snaps_to_the_nearest_road_and_to_the_first_of_two_equidistant():
    roads = _roads(LineString([(117.0, LAT), (117.01, LAT)]), LineString([(117.0, LAT + 0.0002), (117.01, LAT + 0.0002)]))
    snap = snap_to_roads([117.005, 117.005, 117.005], [LAT + 0.00005, LAT + 0.00015, LAT + 0.0001], roads, 30)
    assert snap["road"].tolist() == [0, 1, 0]


def test_along_positions_match_geodesic_distance_on_a_long_road():
    # 0.4° of latitude along the central meridian's neighbourhood and 1° east of it: within 0.5 %.
    road = LineString([(118.0, 26.0), (118.0, 26.4)])
    lat = np.linspace(26.05, 26.35, 7)
    snap = snap_to_roads(np.full(7, 118.0), lat, _roads(road), 30)
    want = [_geod(118.0, 26.0, 118.0, y) for y in lat]
    np.testing.assert_allclose(snap["along_m"], want, rtol=0.005)
    assert road_lengths_km(_roads(road))[0] == pytest.approx(_geod(118.0, 26.0, 118.0, 26.4) / 1000, rel=1e-9)


def test_u_shaped_road_devices_are_close_straight_line_but_far_along_the_road():
    lon, lat = np.array([117.0001, 117.0014]), np.array([26.5002, 26.5002])  # each ≈ 10 m off its leg
    straight = _geod(lon[0], lat[0], lon[1], lat[1])
    assert 120 < straight < 150
    assert len(close_pairs(lon, lat, 500)) == 1  # straight-line they are a pair
    snap = snap_to_roads(lon, lat, _roads(U_ROAD), 30)
    assert snap["road"].tolist() == [0, 0]
    assert len(along_road_pairs(snap, 500)) == 0  # along the road they are not
    pairs = along_road_pairs(snap, 1500)
    legs = 2 * _geod(117.0, 26.5002, 117.0, 26.505) + _geod(117.0, 26.505, 117.0015, 26.505)
    assert pairs[["i", "j"]].values.tolist() == [[0, 1]]
    assert pairs.loc[0, "distance_m"] == pytest.approx(legs, rel=0.005)
    assert 1150 < legs < 1300


def test_multilinestring_uses_the_nearest_part_and_offsets_later_parts():
    first = LineString([(117.0, LAT), (117.01, LAT)])
    second = LineString([(117.02, LAT), (117.03, LAT)])  # a gap of 0.01° between the parts
    roads = _roads(MultiLineString([first, second]))
    snap = snap_to_roads([117.005, 117.025, 117.0295], [LAT, LAT, LAT], roads, 30)
    first_m = _geod(117.0, LAT, 117.01, LAT)
    assert snap["road"].tolist() == [0, 0, 0]
    assert snap.loc[0, "along_m"] == pytest.approx(first_m / 2, rel=1e-3)
    assert snap.loc[1, "along_m"] == pytest.approx(first_m + _geod(117.02, LAT, 117.025, LAT), rel=1e-3)
    assert snap["along_m"].is_monotonic_increasing
    # Parts that touch are merged into one line (line_merge), whatever their order in the feature.
    touching = _roads(MultiLineString([LineString([(117.01, LAT), (117.02, LAT)]), first]))
    merged = snap_to_roads([117.015], [LAT], touching, 30)
    assert merged.loc[0, "along_m"] == pytest.approx(_geod(117.0, LAT, 117.015, LAT), rel=1e-3)


def test_loop_road_pairs_are_measured_the_shorter_way_round():
    corners = [(117.0, LAT), (117.01, LAT), (117.01, LAT + 0.01), (117.0, LAT + 0.01), (117.0, LAT)]
    ring = _roads(LineString(corners))
    # just before the end of the loop (≈ 111 m), just after its start (≈ 100 m), and on the far side
    snap = snap_to_roads([117.0, 117.001, 117.005], [LAT + 0.001, LAT, LAT + 0.01], ring, 30)
    loop = sum(_geod(*a, *b) for a, b in zip(corners[:-1], corners[1:]))
    assert snap["loop_m"].to_numpy() == pytest.approx(np.full(3, loop), rel=0.005)
    assert snap.loc[0, "along_m"] > loop - 200 and snap.loc[1, "along_m"] < 200
    pairs = along_road_pairs(snap, 500)
    assert pairs[["i", "j"]].values.tolist() == [[0, 1]]
    assert pairs.loc[0, "distance_m"] == pytest.approx(_geod(117.0, LAT + 0.001, 117.0, LAT)
                                                       + _geod(117.0, LAT, 117.001, LAT), rel=0.005)


def test_along_road_pairs_respect_groups_and_per_point_thresholds():
    snap = pd.DataFrame({"road": [0, 0, 0, 1, -1], "along_m": [0.0, 80.0, 300.0, 50.0, np.nan]})
    assert along_road_pairs(snap, 100)[["i", "j"]].values.tolist() == [[0, 1]]
    assert along_road_pairs(snap, 400)[["i", "j"]].values.tolist() == [[0, 1], [0, 2], [1, 2]]
    # different groups never pair; a None group takes part in no pair
    assert along_road_pairs(snap, 400, groups=["a", "b", "a", "a", "a"])[["i", "j"]].values.tolist() == [[0, 2]]
    assert along_road_pairs(snap, 400, groups=[None, "a", "a", "a", "a"])[["i", "j"]].values.tolist() == [[1, 2]]
    # a pair must be closer than both points' thresholds
    assert along_road_pairs(snap, [400, 50, 400, 400, 400])[["i", "j"]].values.tolist() == [[0, 2]]
    with pytest.raises(ValueError, match="正的米数"):
        along_road_pairs(snap, 0)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.floats(0, 3000), st.sampled_from(["a", "b", None]),
                          st.sampled_from([150.0, 500.0])), min_size=0, max_size=50))
def test_along_road_pairs_equal_brute_force(points):
    loops = {0: np.nan, 1: 3000.0, 2: np.nan}  # road 1 is a loop of 3 km
    snap = pd.DataFrame({"road": [p[0] for p in points], "along_m": [p[1] for p in points],
                         "loop_m": [loops[p[0]] for p in points]})
    got = along_road_pairs(snap, [p[3] for p in points], groups=[p[2] for p in points])
    want = {}
    for i, (ri, ai, gi, li) in enumerate(points):
        for j, (rj, aj, gj, lj) in enumerate(points[i + 1:], start=i + 1):
            d = abs(ai - aj)
            if ri == 1:
                d = min(d, 3000.0 - d)
            if ri == rj and gi is not None and gi == gj and d < min(li, lj):
                want[(i, j)] = d
    assert list(zip(got["i"], got["j"])) == sorted(want)
    np.testing.assert_allclose(got["distance_m"], [want[k] for k in sorted(want)], atol=1e-6)


def _write_geojson(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                    encoding="utf-8")
    return path


def _feature(coords, **props) -> dict:
    return {"type": "Feature", "properties": props, "geometry": {"type": "LineString", "coordinates": coords}}


def test_load_roads_joins_touching_segments_of_one_name(tmp_path):
    path = _write_geojson(tmp_path / "roads.geojson", [
        _feature([[117.0, 26.5], [117.01, 26.5]], name="水南大道"),
        _feature([[117.0, 26.6], [117.01, 26.6]], name="人民路"),
        _feature([[117.01, 26.5], [117.02, 26.5]], name="水南大道"),  # continues the first segment
        _feature([[117.3, 26.6], [117.31, 26.6]], name="人民路"),  # another town's 人民路: a road of its own
        _feature([[117.02, 26.5], [117.03, 26.5]]),  # unnamed, touching 水南大道: not joined
        _feature([[117.03, 26.5], [117.04, 26.5]], name=""),  # unnamed segments are never joined to each other
        {"type": "Feature", "properties": {"name": "路口"}, "geometry": {"type": "Point", "coordinates": [117, 26.5]}},
    ])
    roads = load_roads(path)
    assert roads.crs.to_epsg() == 4326 and list(roads.columns) == ["name", "geometry"]
    assert roads["name"].tolist() == ["水南大道", "人民路", "人民路", "", ""]
    assert roads.geom_type.tolist() == ["LineString"] * 5
    assert shapely.equals(roads.geometry[0], LineString([(117.0, 26.5), (117.02, 26.5)]))
    lengths = road_lengths_km(roads)
    assert lengths[0] == pytest.approx(2 * lengths[3], rel=1e-6)
    # the joined road gives one position along both segments
    snap = snap_to_roads([117.005, 117.015], [26.5, 26.5], roads, 30)
    assert snap["road"].tolist() == [0, 0]
    assert snap.loc[1, "along_m"] - snap.loc[0, "along_m"] == pytest.approx(_geod(117.005, 26.5, 117.015, 26.5),
                                                                              rel=1e-3)


def test_load_roads_without_lines_is_refused(tmp_path):
    path = _write_geojson(tmp_path / "points.geojson", [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [117, 26.5]}}])
    with pytest.raises(ValueError, match="points.geojson.*没有线状要素"):
        load_roads(path)


def test_gcj02_road_file_is_converted_to_wgs84(tmp_path):
    wgs_lon, wgs_lat = np.array([117.470, 117.480, 117.490]), np.array([26.720, 26.725, 26.728])
    gcj_lon, gcj_lat = wgs84_to_gcj02(wgs_lon, wgs_lat)
    path = _write_geojson(tmp_path / "amap.geojson", [_feature(np.column_stack([gcj_lon, gcj_lat]).tolist(),
                                                               name="滨江路")])
    roads = load_roads(path, source_crs="GCJ02")
    np.testing.assert_allclose(np.asarray(roads.geometry[0].coords), np.column_stack([wgs_lon, wgs_lat]), atol=1e-6)
    # Read as WGS-84 the road would lie hundreds of metres away: a device on it would not snap.
    assert snap_to_roads([117.475], [26.7225], roads, 30)["road"].tolist() == [0]
    assert snap_to_roads([117.475], [26.7225], load_roads(path), 30)["road"].tolist() == [-1]


def test_projected_frame_is_reprojected_and_geographic_crs_required():
    metric = gpd.GeoDataFrame({"名称": ["江滨路"]}, geometry=[LineString([(500_000, 2_930_000), (501_000, 2_930_000)])],
                              crs="EPSG:4548")  # CGCS2000 GK CM 117°E
    roads = as_roads(metric)
    assert roads["name"].tolist() == ["江滨路"] and roads.crs.to_epsg() == 4326
    assert road_lengths_km(roads)[0] == pytest.approx(1.0, rel=0.001)
    with pytest.raises(ValueError, match="不是经纬度坐标系"):
        snap_to_roads([117.0], [26.5], metric, 30)
    with pytest.raises(ValueError, match="吸附容差"):
        snap_to_roads([117.0], [26.5], roads, -1)
    assert snap_to_roads([np.nan], [np.nan], roads, 30)["road"].tolist() == [-1]
    assert Point(roads.geometry[0].coords[0]).x == pytest.approx(117.0, abs=1e-6)  # false easting 500 km at 117°E


def test_files_that_are_not_road_layers_are_refused_with_the_file_named(tmp_path):
    missing = tmp_path / "无此文件.geojson"
    with pytest.raises(ValueError, match="路网文件 无此文件.geojson 不存在"):
        load_roads(missing)
    text = tmp_path / "roads.geojson"
    text.write_text("name,wkt\n", encoding="utf-8")
    with pytest.raises(ValueError, match="路网文件 roads.geojson 无法读取.*请导出为 GeoJSON"):
        load_roads(text)


def test_a_layer_is_identified_by_its_content_not_its_file_name(tmp_path):
    from geo.layerfile import describe_layer

    data = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "滨江路"},
            "geometry": {"type": "LineString", "coordinates": [[117.0, 26.5], [117.01, 26.5]]}}]}
    (tmp_path / "a.geojson").write_text(json.dumps(data), encoding="utf-8")
    (tmp_path / "b.geojson").write_text(json.dumps(data, indent=2), encoding="utf-8")
    a, b = describe_layer(load_roads(tmp_path / "a.geojson")), describe_layer(load_roads(tmp_path / "b.geojson"))
    assert (a["source"], a["features"], b["source"]) == ("a.geojson", 1, "b.geojson")
    assert a["sha256"] == b["sha256"]
    data["features"][0]["geometry"]["coordinates"][1][0] = 117.02
    (tmp_path / "b.geojson").write_text(json.dumps(data), encoding="utf-8")
    assert describe_layer(load_roads(tmp_path / "b.geojson"))["sha256"] != a["sha256"]
