"""The public notice of camera sites: no login, devices in use only, nothing internal, every value escaped."""
from __future__ import annotations

import io
from urllib.parse import quote

import docx
import lxml.html
import openpyxl

from audit.casework import decisions
from audit.registry.models import Device

from .support import DEPT_A, DEPT_B, XSS_ADDRESS, XSS_NAME, XSS_URL, database_session

INTERNAL = ("JA-0", "JB-0", "117.47", "26.72", "2023-06-20", "2024-05-20", "法制审核", "检定", "REV01", "CAL02", "县政府网站")


def rows(html: str) -> list[list[str]]:
    doc = lxml.html.fromstring(html)
    return [[td.text_content().strip() for td in tr.findall("td")]
            for tr in doc.get_element_by_id("notice-table").iterfind("tbody/tr")]


def test_anyone_sees_the_devices_in_use_and_nothing_internal(world):
    with database_session(world.app) as db:
        decisions.suspend(db, world.device["JA-003"], reason="无检定", user="auditor")
        db.commit()
    client = world.app.test_client()  # not signed in
    response = client.get("/public/notice")
    assert response.status_code == 200
    shown = rows(response.text)
    assert [r[1:4] for r in shown] == [[DEPT_B, "G205", "G205K10"], [DEPT_B, "S306", "S306K3"],
                                       [DEPT_A, "水南大道", XSS_ADDRESS], [DEPT_A, "府前路", "府前路与金溪路口"]]
    assert shown[3][4:6] == ["双向", "闯红灯"]  # direction and type; the suspended JA-003 is not listed
    for text in INTERNAL:
        assert text not in response.text, text
    assert [r[1] for r in rows(client.get("/public/notice", query_string={"department": DEPT_A}).text)] == [DEPT_A] * 2
    assert client.get("/public/notice", query_string={"department": "丙县"}).status_code == 404


def test_the_login_page_links_to_the_notice(shared_world):
    page = lxml.html.fromstring(shared_world.app.test_client().get("/login").text)
    assert page.get_element_by_id("public-notice-link").get("href") == "/public/notice"


def test_every_value_is_escaped(world):
    with database_session(world.app) as db:
        device = db.get(Device, world.device["JA-002"])
        device.road, device.direction, device.violation_kinds = XSS_NAME, XSS_ADDRESS, XSS_URL
        db.commit()
    page = world.app.test_client().get("/public/notice").text
    assert XSS_NAME not in page and XSS_ADDRESS not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert 'href="javascript' not in page
    assert [XSS_NAME, XSS_ADDRESS] == rows(page)[3][2:5:2]


def test_the_notice_downloads_without_login(world):
    client = world.app.test_client()
    response = client.get("/public/notice.xlsx", query_string={"department": DEPT_B})
    assert response.status_code == 200
    assert f"filename*=UTF-8''{quote(f'设置地点公告_{DEPT_B}_')}" in response.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    values = [v for row in sheet.iter_rows(values_only=True) for v in row if v is not None]
    assert "电子技术监控设备设置地点公告" in values and "G205K10" in values and "S306K3" in values
    assert not any(str(v).startswith(("JB-", "JA-")) or v == DEPT_A for v in values)

    document = docx.Document(io.BytesIO(client.get("/public/notice.docx").data))
    cells = {c.text for t in document.tables for row in t.rows for c in row.cells}
    assert {"府前路与金溪路口", "G205K10", XSS_ADDRESS} <= cells and not any(c.startswith("JA-") for c in cells)
    assert client.get("/public/notice.pdf").status_code == 404
    assert client.get("/public/notice.xlsx", query_string={"department": "丙县"}).status_code == 404
