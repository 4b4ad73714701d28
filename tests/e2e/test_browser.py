"""The auditor's and the clerk's work in a real headless Chromium."""
from __future__ import annotations

import re

from tests.web.support import HEADER, PASSWORDS, XSS_NAME

from .conftest import login

ERROR_ROW = "JA-020,坏行,无人机,某路,,,abc,26.7,WGS84,,在用,,,,,,,,"
GOOD_ROW = ("JA-021,新城路测速,固定测速,新城路,由东向西,新城路口,117.475,26.731,WGS84,2024-01-01,在用,2023-12-01,"
            "2023-12-05,是,2023-12-20,县政府网站,2024-01-02,2025-01-01,合格")


def upload_file(page, name: str, rows: list[str]) -> None:
    page.goto(page.base + "/upload")
    page.set_input_files("input[type=file]", {"name": name, "mimeType": "text/csv",
                                              "buffer": (HEADER + "\n".join(rows) + "\n").encode()})
    page.click("#upload-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/upload/[A-Za-z0-9_-]{22}$"))
    # The check runs in the background: the page shows its progress, then the report.
    page.wait_for_selector('#import-status:not([data-state="checking"])', timeout=60_000)


def shown_markers(page) -> int:
    page.wait_for_function("document.querySelector('.folium-map').dataset.shownMarkers !== undefined")
    return int(page.eval_on_selector(".folium-map", "el => el.dataset.shownMarkers"))


def api_devices(page) -> list[dict]:
    return page.evaluate("fetch('/api/devices').then(r => r.json()).then(d => d.features.map(f => f.properties))")


def test_clerk_uploads_a_bad_file_then_a_good_one(page, server):
    login(page, "clerk_a", PASSWORDS["clerk_a"])
    upload_file(page, "坏表.csv", [ERROR_ROW])
    assert page.get_attribute("#import-status", "data-state") == "rejected"
    cells = page.locator("#report-table tbody tr").all_inner_texts()
    assert any("设备类型\t无人机" in c for c in cells) and any("经度\tabc" in c for c in cells)
    page.screenshot(path=page.shots / "upload-rejected.png", full_page=True)

    upload_file(page, "设备登记表.csv", [GOOD_ROW])
    assert page.get_attribute("#import-status", "data-state") == "valid"
    page.click("#confirm-import")
    page.wait_for_selector('#import-status[data-state="applied"]')
    page.goto(page.base + "/devices?q=JA-021")
    assert page.locator("#device-table tbody tr").count() == 1


def test_auditor_runs_the_audit_and_uses_the_map(page, server):
    login(page, "auditor", PASSWORDS["auditor"])
    page.click("#run-audit-button")
    page.wait_for_selector(".flash.success")
    assert "审查完成" in page.inner_text(".flash.success")
    page.goto(page.base + "/map")
    devices = api_devices(page)
    assert shown_markers(page) == len(devices) >= 5
    layers = page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    assert any(t.strip().startswith("审核") for t in layers) and any(t.strip().startswith("无问题") for t in layers)
    page.wait_for_selector(".cluster, .leaflet-interactive")
    page.screenshot(path=page.shots / "map.png")
    # Switching off every group but 检定 leaves the device with a calibration finding.
    for label in page.locator(".leaflet-control-layers-overlays label").all():
        text = label.inner_text().strip()
        if not text.startswith("检定") and re.match(r"^(审核|公布|标识|设置|采集量|无问题|待补报资料)", text):
            label.locator("input").uncheck()
    assert shown_markers(page) == sum(1 for d in devices if any(r.startswith("CAL") for r in d["rules"])) >= 1
    # The popup of a marker is fetched and shows the device's fields with the hostile name as text.
    page.goto(page.base + "/map?q=JA-001")
    assert shown_markers(page) == 1
    page.evaluate("""() => {
        const find = prefix => window[Object.keys(window).find(k => k.startsWith(prefix))];
        const map = find('map_'), marker = find('fast_marker_cluster_').getLayers()[0];
        map.setView(marker.getLatLng(), map.getMaxZoom(), {animate: false});
        marker.openPopup();
    }""")
    page.wait_for_selector(".popup h3")
    assert XSS_NAME in page.inner_text(".popup")
    page.screenshot(path=page.shots / "map-popup.png")


def test_auditor_suspends_a_device(page, server):
    world, _ = server
    login(page, "auditor", PASSWORDS["auditor"])
    page.goto(f"{page.base}/devices/{world.device['JB-002']}")
    assert page.inner_text("h1 .badge") == "在用"
    page.fill("form.decision-suspend textarea[name=reason]", "警告标志距离不符，立即停用")
    page.click("form.decision-suspend button[type=submit]")
    page.wait_for_selector(".flash.success")
    assert page.inner_text("h1 .badge") == "停用"
    assert "警告标志距离不符" in page.inner_text("#decision-table")
    page.screenshot(path=page.shots / "device-suspended.png", full_page=True)
    page.goto(f"{page.base}/devices?status=停用")
    assert "JB-002" in page.inner_text("#device-table")


def test_a_department_cannot_reach_another_department(page, server):
    world, _ = server
    login(page, "clerk_a", PASSWORDS["clerk_a"])
    response = page.goto(f"{page.base}/devices/{world.device['JB-001']}")
    assert response.status == 404 and "JB-001" not in page.content()
    assert page.goto(f"{page.base}/api/devices/{world.device['JB-001']}").status == 404
    page.goto(page.base + "/map")
    own = api_devices(page)
    assert shown_markers(page) == len(own) >= 3
    assert all(d["device_code"].startswith("JA-") for d in own)
    assert page.locator("a[href='/review']").count() == 0


def test_a_hostile_device_name_is_shown_as_text(page, server):
    world, _ = server
    login(page, "auditor", PASSWORDS["auditor"])
    page.goto(f"{page.base}/devices/{world.device['JA-001']}")
    assert XSS_NAME in page.inner_text("h1")
    assert page.locator("script:text('alert(1)')").count() == 0
    assert page.locator("img[src=x]").count() == 0
    page.goto(page.base + "/devices")
    assert XSS_NAME in page.inner_text("#device-table")
    page.screenshot(path=page.shots / "device-list.png", full_page=True)
