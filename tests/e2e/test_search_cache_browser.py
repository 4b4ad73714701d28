"""In Chromium: the device list's search (from the search index) and the devices' GeoJSON the browser keeps and
revalidates (ETag), refreshed on the map and in the list after an upload."""
from __future__ import annotations

from tests.web.support import DEPT_B, PASSWORDS, database_session, device_csv

from .conftest import login
from .test_browser import api_devices, shown_markers


def searched(page, q: str) -> list[str]:
    page.goto(page.base + "/devices")
    page.fill("#device-filters input[name=q]", q)
    page.press("#device-filters input[name=q]", "Enter")
    page.wait_for_load_state("load")
    return [t.split("\t")[0].strip() for t in page.locator("#device-table tbody tr").all_inner_texts()
            if "没有" not in t]


def fetched(page) -> tuple[list[dict], str | None]:
    """The devices' properties as the page fetches them, and the tag (If-None-Match) the browser sent."""
    with page.expect_request_finished(lambda r: r.url.endswith("/api/devices")) as finished:
        devices = api_devices(page)
    return devices, finished.value.all_headers().get("if-none-match")


def test_the_auditor_and_a_clerk_search_the_device_list(page, server):
    login(page, "auditor", PASSWORDS["auditor"])
    assert searched(page, "府前路与金溪") == ["JA-002"]  # the site, from the index
    assert "q=%E5%BA%9C%E5%89%8D%E8%B7%AF%E4%B8%8E%E9%87%91%E6%BA%AA" in page.url
    page.screenshot(path=page.shots / "device-search.png", full_page=True)
    assert searched(page, "府前") == ["JA-002"]  # two characters: no trigram, the same list
    assert searched(page, "jb-00") == ["JB-001", "JB-002"]  # codes, in either case
    assert searched(page, "100%") == []
    page.context.clear_cookies()
    login(page, "clerk_b", PASSWORDS["clerk_b"])
    assert searched(page, "府前路与金溪") == []  # another department's device
    assert searched(page, "G205K") == ["JB-001"]


def test_the_browser_revalidates_the_devices_and_the_map_shows_an_upload(page, server, tmp_path):
    world, _ = server
    login(page, "auditor", PASSWORDS["auditor"])
    assert searched(page, "jb-00") == ["JB-001", "JB-002"]
    first, tag = fetched(page)
    again, sent = fetched(page)
    assert again == first and tag is None and sent  # kept by the browser, revalidated by its tag
    page.goto(page.base + "/map")
    assert shown_markers(page) == len(first)
    with database_session(world.app) as db:
        from audit.registry.store import import_file

        path = device_csv(tmp_path / "b.csv", ["JB-009,乙县新设测速,固定测速,S306,东,S306K9,117.51,26.72,WGS84,"
                                               "2024-01-01,在用,,,是,,,,,"])
        assert import_file(db, path, "devices", department=DEPT_B, partial=True).applied
        db.commit()
    after, stale = fetched(page)
    assert stale == sent and {d["device_code"] for d in after} == {d["device_code"] for d in first} | {"JB-009"}
    assert searched(page, "jb-00") == ["JB-001", "JB-002", "JB-009"]  # the list's ids, kept per state, too
    page.goto(page.base + "/map")
    assert shown_markers(page) == len(first) + 1
    page.wait_for_selector(".cluster, .leaflet-interactive")
    page.screenshot(path=page.shots / "map-after-upload.png")
