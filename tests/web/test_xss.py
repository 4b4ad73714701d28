"""Names, addresses and URLs holding markup are shown as text everywhere: pages, popups, tooltips, reports."""
from __future__ import annotations

import re

from shapely.geometry import box

from audit.registry.store import set_boundary

from .support import XSS_ADDRESS, XSS_NAME, XSS_URL, client_for, database_session, token_of, upload

RAW = ("<script>alert(1)", "<img src=x onerror", "onerror=alert(1)>")


def assert_inert(html: str, where: str) -> None:
    for raw in RAW:
        assert raw not in html, f"{where}: raw {raw!r}"
    assert not re.search(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", html, re.I), where


def test_pages_escape_a_hostile_device(shared_world):
    client = client_for(shared_world.app, "auditor")
    device = shared_world.device["JA-001"]
    pages = {
        "list": client.get("/devices?q=JA-001").text,
        "detail": client.get(f"/devices/{device}").text,
        "popup": client.get(f"/map/popup/{device}").text,
        "review": client.get("/review?state=unreviewed").text,
    }
    for where, html in pages.items():
        assert_inert(html, where)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, where
    for where in ("detail", "popup"):
        assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in pages[where], where
    assert XSS_URL in pages["detail"]  # shown as text, never as a link


def test_the_map_page_carries_no_device_text(shared_world):
    html = client_for(shared_world.app, "auditor").get("/map").text
    assert_inert(html, "map")
    assert "alert(1)" not in html


def test_boundary_tooltips_escape_department_names(world):
    with database_session(world.app) as db:
        set_boundary(db, XSS_ADDRESS, box(117.4, 26.6, 117.6, 26.8), source="test", user="test")
        db.commit()
    html = client_for(world.app, "auditor").get("/map").text
    assert_inert(html, "map with boundary")
    assert "\\u0026#34;\\u0026gt;\\u0026lt;img" in html or "&#34;&gt;&lt;img" in html


def test_the_json_api_returns_the_text_unchanged_as_json(shared_world):
    client = client_for(shared_world.app, "auditor")
    response = client.get(f"/api/devices/{shared_world.device['JA-001']}")
    assert response.mimetype == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    data = response.get_json()
    assert data["name"] == XSS_NAME and data["address"] == XSS_ADDRESS and data["publication_channel"] == XSS_URL


def test_the_upload_report_escapes_cell_values(shared_world):
    client = client_for(shared_world.app, "dept_a")
    content = f"设备编号,设备类型,经度,纬度\nJA-100,{XSS_NAME},117.1,26.1\n".encode()
    report = client.get(f"/upload/{token_of(upload(client, f'{XSS_NAME}.csv', content))}").text
    assert_inert(report, "upload report")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report
