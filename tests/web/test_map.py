"""The device map: local assets only, tiles as a setting (GCJ-02 for 高德), layers per finding group, small pages."""
from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, box

from audit.registry.models import Department
from audit.registry.store import set_boundary
from geo.boundary import load_areas
from geo.crs import wgs84_to_gcj02
from geo.roads import as_roads
from web.findings import DeviceFindings
from web.map.build import DATA_BIT, MapData, MapDevice, Tiles, build_map, group_mask, render_parts

from .support import DEPT_A, client_for, database_session


def render(app, devices, tiles="none", key="", **kw):
    with app.test_request_context():
        parts = render_parts(build_map(MapData(devices, **kw), Tiles(tiles, key), lambda s: s))
    return parts


def marker_rows(script: str) -> list[list]:
    return json.loads(re.search(r"var data = (\[.*?\]);\n", script, re.S).group(1))


def findings(*rules_and_severities):
    f = DeviceFindings()
    for rule, severity in rules_and_severities:
        f.add(rule, severity)
    return f


DEVICES = [MapDevice(1, 117.47, 26.72, findings(("REV01", "严重"), ("VIO02", "一般"))),
           MapDevice(2, 117.48, 26.73, findings(("SGN01", "较重"))),
           MapDevice(3, 117.49, 26.74, None)]


def test_group_mask_and_severity_colour():
    assert group_mask(DEVICES[0].findings) == (1 << 0) | (1 << 5)
    assert group_mask(None) == 0
    # A request for data is its own entry, and not a problem: the device still counts under 无问题.
    assert group_mask(None, unassessed=True) == 1 << DATA_BIT
    assert group_mask(DEVICES[1].findings, unassessed=True) == (1 << 2) | (1 << DATA_BIT)
    assert [d.severity_index for d in DEVICES] == [0, 1, 3]


def test_every_asset_is_served_locally(shared_world):
    client = client_for(shared_world.app, "auditor")
    page = client.get("/map").text
    assets = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', page)
    assert assets and all(a.startswith("/static/") or a.startswith("data:") for a in assets), assets
    for asset in assets:
        if asset.startswith("/static/"):
            assert client.get(asset).status_code == 200, asset
    assert "cdn" not in page.lower() and "https://" not in page


def test_layers_per_group_with_counts_and_one_marker_per_device(shared_world):
    parts = render(shared_world.app, DEVICES)
    rows = marker_rows(parts["script"])
    assert [r[2:] for r in rows] == [[1, 0, 33], [2, 1, 4], [3, 3, 0]]
    for name in ("审核（1）", "公布（0）", "标识（1）", "采集量（1）", "无问题（1）"):
        assert json.dumps(name) in parts["script"], name  # layer names as folium writes them (JSON)
    assert "camauditMap.connect(" in parts["script"]


def test_tiles_setting(shared_world):
    none = render(shared_world.app, DEVICES)["script"]
    assert "tileLayer" not in none
    assert "tile.openstreetmap.org" in render(shared_world.app, DEVICES, "osm")["script"]
    tianditu = render(shared_world.app, DEVICES, "tianditu", key="abc123")["script"]
    assert "tianditu.gov.cn" in tianditu and "tk=abc123" in tianditu
    assert not Tiles("tianditu").usable and "tianditu" not in render(shared_world.app, DEVICES, "tianditu")["script"]


def test_gaode_tiles_move_points_to_gcj02(shared_world):
    rows = marker_rows(render(shared_world.app, DEVICES, "gaode")["script"])
    lon, lat = wgs84_to_gcj02([d.lon for d in DEVICES], [d.lat for d in DEVICES])
    assert np.allclose([r[1] for r in rows], lon, atol=1e-6) and np.allclose([r[0] for r in rows], lat, atol=1e-6)
    assert abs(rows[0][1] - DEVICES[0].lon) > 1e-3  # several hundred metres in China
    wgs = marker_rows(render(shared_world.app, DEVICES, "osm")["script"])
    assert [r[:2] for r in wgs] == [[d.lat, d.lon] for d in DEVICES]


def test_focus_centres_on_the_device(shared_world):
    script = render(shared_world.app, DEVICES, focus=2)["script"]
    assert "[26.73, 117.48]" in script and "fitBounds" not in script


def test_ten_thousand_devices_stay_under_five_megabytes(shared_world):
    rng = np.random.default_rng(1)
    many = [MapDevice(i, 117 + rng.random(), 26 + rng.random(),
                      findings(("CAL02", "严重"), ("VIO01", "一般")) if i % 3 else None) for i in range(10_000)]
    parts = render(shared_world.app, many)
    size = sum(len(p.encode()) for p in parts.values())
    assert len(marker_rows(parts["script"])) == 10_000
    assert size < 5 * 2**20


@pytest.mark.parametrize("role,count", [("auditor", "显示 5 台设备"), ("dept_a", "显示 3 台设备")])
def test_the_map_page_counts_what_the_user_may_see(shared_world, role, count):
    page = client_for(shared_world.app, role).get("/map").text
    assert count in page


def test_map_filters(shared_world):
    client = client_for(shared_world.app, "auditor")
    assert "显示 1 台设备" in client.get("/map?type=闯红灯").text
    assert "显示 2 台设备" in client.get("/map?rule=REV01").text
    assert "显示 0 台设备" in client.get("/map?status=拆除").text


def test_the_township_layer_is_drawn_from_the_setting_and_a_broken_file_is_reported(world, tmp_path):
    client = client_for(world.app, "auditor")
    world.app.config["AREAS_FILE"] = "data/boundaries/jiangle_350428_townships.geojson"  # relative to the project
    page = client.get("/map")
    layer = json.dumps("乡镇设备密度")  # as folium writes the layer name
    assert page.status_code == 200 and layer in page.text and "边界图层未显示" not in page.text
    broken = tmp_path / "towns.geojson"
    broken.write_text("<html>登录超时</html>", encoding="utf-8")
    world.app.config["AREAS_FILE"] = str(broken)
    page = client.get("/map")
    assert page.status_code == 200 and layer not in page.text
    assert "乡镇（街道）边界图层未显示：边界文件 towns.geojson 无法读取" in page.text


def test_the_road_network_is_a_layer_with_the_names_and_follows_the_tiles_datum(world):
    roads = as_roads(gpd.GeoDataFrame({"name": ["水南大道", None, "远处的路"]}, crs="EPSG:4326", geometry=[
        LineString([(117.47, 26.73), (117.48, 26.731)]), LineString([(117.46, 26.72), (117.461, 26.725)]),
        LineString([(113.0, 23.0), (113.1, 23.0)])]))
    script = render(world.app, DEVICES, roads=roads)["script"]
    assert all(json.dumps(text) in script for text in ("路网", "水南大道", "未命名道路"))  # as folium writes them
    assert json.dumps("远处的路") not in script  # hundreds of km from every device shown
    def first_vertex(text):
        x, y = re.search(r'"coordinates": \[\[([0-9.]+), ([0-9.]+)\]', text[text.index("LineString") - 200:]).groups()
        return float(x), float(y)

    assert first_vertex(script) == (117.47, 26.73)
    gx, gy = wgs84_to_gcj02(np.array([117.47]), np.array([26.73]))
    moved = first_vertex(render(world.app, DEVICES, "gaode", roads=roads)["script"])
    assert moved == pytest.approx((gx[0], gy[0]), abs=1e-5)  # drawn on 高德 tiles in their datum
    client = client_for(world.app, "auditor")
    world.app.config["ROADS_FILE"] = "data/demo/roads.geojson"
    assert json.dumps("滨江路") in client.get("/map").text
    world.app.config["ROADS_FILE"] = "data/demo/无此文件.geojson"
    page = client.get("/map")
    assert page.status_code == 200 and "路网图层未显示：路网文件 无此文件.geojson 不存在" in page.text


def legend_entries(script: str) -> list[dict]:
    """The legend entries as map.js receives them: [[layer or null, entry], …]."""
    text = script[script.index("camauditMap.legend("):]
    return [json.loads(e) for e in re.findall(r"\[(?:null|[a-z_0-9]+), (\{.*?\})\]", text.split(");")[0])]


def test_every_layer_has_a_legend_entry_and_the_townships_are_named(shared_world):
    areas = gpd.read_file("data/boundaries/jiangle_350428_townships.geojson")[["name", "geometry"]]
    roads = as_roads(gpd.GeoDataFrame({"name": ["水南大道"]}, crs="EPSG:4326",
                                      geometry=[LineString([(117.47, 26.73), (117.48, 26.731)])]))
    boundary = json.loads(areas.dissolve().geometry.to_json())["features"][0]["geometry"]
    script = render(shared_world.app, DEVICES, areas=areas, roads=roads, boundaries=[("甲县公安局", boundary)])["script"]
    entries = {e["label"]: e for e in legend_entries(script)}
    assert set(entries) == {"设备（颜色为最严重的未结问题）", "聚合点：数字为设备台数，颜色为其中最严重的问题",
                            "乡镇设备密度（台/平方公里）", "乡镇（街道）名称，放大后显示", "路网（悬停显示道路名称）",
                            "辖区边界", "设备热力图"}
    assert [i[1] for i in entries["设备（颜色为最严重的未结问题）"]["items"]] == ["严重", "较重", "一般", "无问题"]
    shades = entries["乡镇设备密度（台/平方公里）"]["items"]
    assert len(shades) == 5 and shades[0][1] == "0.00" and float(shades[-1][1]) > 0  # 0 up to the densest
    assert entries["辖区边界"]["note"] == "甲县公安局"
    names = json.loads(re.search(r"camauditMap\.labels\([a-z_0-9]+, (\[.*?\])\);", script, re.S).group(1))
    assert {n[2] for n in names} == set(areas["name"]) and len(names) == 13
    gucheng = next(n for n in names if n[2] == "古镛镇")
    assert 26 < gucheng[0] < 27.5 and 117 < gucheng[1] < 118  # [lat, lon]


def test_the_jurisdiction_is_drawn_as_an_outline_that_leaves_the_shading_its_tooltip(shared_world):
    square = {"type": "Polygon", "coordinates": [[[117.4, 26.7], [117.5, 26.7], [117.5, 26.8], [117.4, 26.8],
                                                   [117.4, 26.7]]]}
    script = render(shared_world.app, DEVICES, boundaries=[("甲县公安局", square)])["script"]
    assert '"type": "LineString"' in script and '"Polygon"' not in script  # no fill to catch the mouse


def test_no_township_shading_where_no_device_shown_is_in_the_townships(shared_world):
    areas = gpd.read_file("data/boundaries/jiangle_350428_townships.geojson")[["name", "geometry"]]
    chicago = [MapDevice(9, -87.65, 41.88, None)]
    script = render(shared_world.app, chicago, areas=areas)["script"]
    assert json.dumps("乡镇设备密度") not in script and "camauditMap.labels(" not in script
    assert "乡镇设备密度（台/平方公里）" not in {e["label"] for e in legend_entries(script)}


def test_the_map_opens_on_the_home_extent_not_on_every_device(shared_world):
    far = [*DEVICES, MapDevice(9, -87.65, 41.88, None)]
    script = render(shared_world.app, far, home=(117.2, 26.4, 117.6, 26.9))["script"]
    bounds = json.loads(re.search(r"fitBounds\(\s*(\[\[.*?\]\])", script, re.S).group(1))
    assert bounds == [[26.4, 117.2], [26.9, 117.6]]
    everything = json.loads(re.search(r"fitBounds\(\s*(\[\[.*?\]\])", render(shared_world.app, far)["script"],
                                      re.S).group(1))
    assert everything == [[26.72, -87.65], [41.88, 117.49]]
    gaode = json.loads(re.search(r"fitBounds\(\s*(\[\[.*?\]\])", render(shared_world.app, far, "gaode",
                                                                       home=(117.2, 26.4, 117.6, 26.9))["script"],
                                 re.S).group(1))
    gx, gy = wgs84_to_gcj02(np.array([117.2, 117.6]), np.array([26.4, 26.9]))
    assert np.allclose(gaode, [[gy[0], gx[0]], [gy[1], gx[1]]], atol=1e-9)


def home_of(client, query=""):
    script = client.get("/map" + query).text
    return json.loads(re.search(r"fitBounds\(\s*(\[\[.*?\]\])", script, re.S).group(1))


def test_each_user_sees_the_map_open_where_they_work(world):
    auditor, clerk = client_for(world.app, "auditor"), client_for(world.app, "dept_a")
    devices_only = home_of(auditor)
    assert devices_only == [[26.7, 117.469], [26.7301, 117.52]]  # no boundary, no townships: around the devices
    with database_session(world.app) as db:
        set_boundary(db, DEPT_A, box(117.3, 26.6, 117.6, 26.9), source="test")
        db.commit()
    assert home_of(auditor) == [[26.6, 117.3], [26.9, 117.6]]  # the county: the departments' boundaries
    assert home_of(clerk) == [[26.6, 117.3], [26.9, 117.6]]  # the clerk's own department
    b_only = home_of(auditor, f"?department={world.dept['b']}")
    assert b_only == [[26.7, 117.5], [26.71, 117.52]]  # B has no boundary: its devices
    world.app.config["AREAS_FILE"] = "data/boundaries/jiangle_350428_townships.geojson"
    with database_session(world.app) as db:
        db.get(Department, world.dept["a"]).boundary = None
        db.commit()
    west, south, east, north = load_areas("data/boundaries/jiangle_350428_townships.geojson").total_bounds
    county = home_of(auditor)  # no boundary at all: the township layer is the county
    assert np.allclose(county, [[south, west], [north, east]], atol=1e-6)
