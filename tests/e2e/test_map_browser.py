"""The device map as the auditor and the clerk use it, in a real headless Chromium, with the township and road
layers configured and the departments' jurisdiction loaded."""
from __future__ import annotations

import pytest

from tests.web.support import DEPT_A, DEPT_B, PASSWORDS

from .conftest import login, serving

TOWNSHIPS = "data/boundaries/jiangle_350428_townships.geojson"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The seeded app with the township and road layers, both departments' boundary the county outline."""
    from audit.registry.store import set_boundary
    from geo.boundary import load_areas
    from tests.web.support import database_session, make_app, populate

    tmp = tmp_path_factory.mktemp("e2e-map")
    mp = pytest.MonkeyPatch()
    mp.setenv("CAMAUDIT_INSTANCE_PATH", str(tmp / "instance"))
    app = make_app(tmp, TESTING=False, AREAS_FILE=TOWNSHIPS, ROADS_FILE="data/demo/roads.geojson")
    world = populate(app, tmp)
    county = load_areas(TOWNSHIPS).geometry.union_all()
    with database_session(app) as db:
        for name in (DEPT_A, DEPT_B):
            set_boundary(db, name, county, source="test")
        db.commit()
    with serving(app) as url:
        yield world, url
    mp.undo()


def map_ready(page) -> None:
    page.wait_for_function("document.querySelector('.folium-map') && "
                           "document.querySelector('.folium-map').dataset.shownMarkers !== undefined")


def overlay(page, name: str):
    return page.locator(".leaflet-control-layers-overlays label", has_text=name).locator("input")


def legend_titles(page) -> list[str]:
    return [t.strip() for t in page.locator("#map-legend .legend-entry:visible .legend-title").all_inner_texts()]


def test_the_map_opens_on_the_county_with_a_legend_for_every_layer(page, server):
    login(page, "auditor", PASSWORDS["auditor"])
    page.goto(page.base + "/map")
    map_ready(page)
    zoom = page.evaluate("window[Object.keys(window).find(k => k.startsWith('map_'))].getZoom()")
    assert 9 <= zoom <= 11  # the county fills the map, not the whole of China
    titles = legend_titles(page)
    assert any(t.startswith("设备（") for t in titles) and any(t.startswith("乡镇设备密度") for t in titles)
    assert {"辖区边界", "路网（悬停显示道路名称）"} <= set(titles)
    assert "设备热力图" not in titles  # off by default: its entry appears with the layer
    assert page.locator(".township-label:visible").count() == 13
    assert page.locator(".leaflet-attribution-flag").count() == 0
    assert page.inner_text(".leaflet-control-attribution").strip() == "Leaflet"
    page.screenshot(path=page.shots / "map-county.png")

    overlay(page, "设备热力图").check()
    overlay(page, "乡镇设备密度").uncheck()
    titles = legend_titles(page)
    assert "设备热力图" in titles and not any(t.startswith("乡镇设备密度") for t in titles)
    overlay(page, "乡镇名称").uncheck()
    assert page.locator(".township-label:visible").count() == 0


def test_the_device_count_follows_the_layer_switches(page, server):
    login(page, "auditor", PASSWORDS["auditor"])
    page.goto(page.base + "/map")
    map_ready(page)
    assert page.inner_text("#map-count-shown") == "显示 5 台设备"
    overlay(page, "无问题").uncheck()
    for name in ("审核", "公布", "标识", "设置", "采集量"):
        overlay(page, name).uncheck()
    # No counts were uploaded: every device is asked for data, whatever its problems.
    assert page.inner_text("#map-count-shown") == "显示 5 台设备"
    overlay(page, "待补报资料").uncheck()
    shown = int(page.eval_on_selector(".folium-map", "el => el.dataset.shownMarkers"))
    assert shown == 1 and page.inner_text("#map-count-shown") == "显示 1 台设备"  # JB-001's expired verification
    overlay(page, "检定").uncheck()
    assert page.inner_text("#map-count-shown") == "显示 0 台设备"


def test_the_township_shading_answers_the_mouse_under_the_jurisdiction_outline(page, server):
    login(page, "auditor", PASSWORDS["auditor"])
    page.goto(page.base + "/map")
    map_ready(page)
    assert overlay(page, "辖区边界").is_checked()
    # A point inside 万安镇, away from every device, road and label.
    x, y = page.evaluate("""() => {
        const map = window[Object.keys(window).find(k => k.startsWith('map_'))];
        const p = map.latLngToContainerPoint([26.86, 117.43]);
        const box = map.getContainer().getBoundingClientRect();
        return [box.left + p.x, box.top + p.y];
    }""")
    page.mouse.move(x, y)
    tooltip = page.wait_for_selector(".leaflet-tooltip")
    assert "台/平方公里" in tooltip.inner_text()
    page.screenshot(path=page.shots / "map-density-tooltip.png")


def test_focus_opens_the_devices_popup_and_marks_it(page, server):
    world, _ = server
    login(page, "auditor", PASSWORDS["auditor"])
    page.goto(f"{page.base}/devices/{world.device['JA-002']}")
    page.click("text=在地图上查看")
    page.wait_for_selector(".popup h3")
    assert page.inner_text(".popup h3").startswith("JA-002")
    assert page.eval_on_selector(".folium-map", "el => el.dataset.focused") == str(world.device["JA-002"])
    page.locator(".leaflet-popup-close-button").click()
    assert page.eval_on_selector(".folium-map", "el => el.dataset.focused") == str(world.device["JA-002"])
    page.screenshot(path=page.shots / "map-focus.png")


def test_the_department_switch_and_the_clerks_own_map(page, server):
    world, _ = server
    login(page, "auditor", PASSWORDS["auditor"])
    page.goto(page.base + "/map")
    map_ready(page)
    with page.expect_navigation():
        page.select_option("#map-filters select[name=department]", str(world.dept["b"]))
    map_ready(page)
    assert page.inner_text("#map-count-shown") == "显示 2 台设备"
    assert page.locator("#map-legend .legend-note").inner_text() == DEPT_B
    page.context.clear_cookies()
    login(page, "clerk_a", PASSWORDS["clerk_a"])
    page.goto(page.base + "/map")
    map_ready(page)
    assert page.inner_text("#map-count-shown") == "显示 3 台设备"
    assert page.locator("#map-legend .legend-note").inner_text() == DEPT_A
    page.screenshot(path=page.shots / "map-clerk.png")
