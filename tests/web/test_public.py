"""The public notice of camera sites: no login, devices in use only, nothing internal, every value escaped."""
from __future__ import annotations

import io
import json
from urllib.parse import quote

import docx
import lxml.html
import openpyxl

from audit.casework import decisions
from audit.registry.models import Device

from .support import DEPT_A, DEPT_B, XSS_ADDRESS, XSS_NAME, XSS_URL, database_session

INTERNAL = ("JA-0", "JB-0", "2023-06-20", "2024-05-20", "法制审核", "检定", "REV01", "CAL02",
            "县政府网站", "device_id", "/devices/")


def sites(html: str) -> list[list]:
    return json.loads(lxml.html.fromstring(html).get_element_by_id("notice-sites").text)


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


def test_the_notice_is_searched_and_paged(world, monkeypatch):
    monkeypatch.setattr("web.public.views.PER_PAGE", 2)
    client = world.app.test_client()
    first = client.get("/public/notice").text
    assert [r[0] for r in rows(first)] == ["1", "2"] and "第 1 / 3 页" in first
    second = client.get("/public/notice?page=2").text
    assert [r[0] for r in rows(second)] == ["3", "4"] and [r[2] for r in rows(second)] == ["水南大道", "府前路"]
    assert [r[0] for r in rows(client.get("/public/notice?page=99").text)] == ["5"]  # past the end: the last page
    found = client.get("/public/notice", query_string={"q": "府前"}).text
    assert [r[2:4] for r in rows(found)] == [["府前路", "府前路与金溪路口"]] and "“府前”：找到 1 处。" in found
    by_type = client.get("/public/notice", query_string={"q": "闯红灯"}).text
    assert [r[2] for r in rows(by_type)] == ["府前路"]
    none = client.get("/public/notice", query_string={"q": "无此路"}).text
    assert rows(none) == [["没有符合条件的设置地点。"]] and sites(none) == []
    # The pager keeps the search and the department.
    monkeypatch.setattr("web.public.views.PER_PAGE", 1)
    paged = lxml.html.fromstring(client.get("/public/notice", query_string={"q": "路", "department": DEPT_A}).text)
    assert paged.xpath("//nav[@id='notice-pager']//a[@rel='next']/@href") == [
        f"/public/notice?page=2&q=%E8%B7%AF&department={quote(DEPT_A)}"]


def test_the_map_shows_every_site_found_with_public_fields_only(world, monkeypatch):
    monkeypatch.setattr("web.public.views.PER_PAGE", 1)
    client = world.app.test_client()
    page = client.get("/public/notice").text
    shown = sites(page)
    assert len(shown) == 5 and len(rows(page)) == 1  # the map has every site, the table one page
    jb = next(s for s in shown if s[3] == "G205")
    assert jb == [26.7, 117.5, DEPT_B, "G205", "双向", "G205K10", "超限超载", ""]
    assert next(s for s in shown if s[3] == "水南大道")[:2] == [26.7285, 117.4731]
    with database_session(world.app) as db:  # a surveyed position is published to about 10 m only
        device = db.get(Device, world.device["JA-002"])
        device.lon, device.lat = 117.47023456, 26.73014321
        db.commit()
    page = client.get("/public/notice").text
    assert next(s for s in sites(page) if s[3] == "府前路")[:2] == [26.7301, 117.4702]
    assert "117.4702345" not in page and "26.7301432" not in page
    assert [s[3] for s in sites(client.get("/public/notice?q=G205").text)] == ["G205"]
    assert "<script>alert" not in page.split('id="notice-sites">')[1].split("</script>")[0]


def test_the_map_follows_the_tiles_datum(tmp_path):
    from geo.crs import wgs84_to_gcj02

    from .support import make_app, populate

    app = make_app(tmp_path, MAP_TILES="gaode")
    populate(app, tmp_path)
    page = app.test_client().get("/public/notice").text
    jb = next(s for s in sites(page) if s[3] == "G205")
    lon, lat = wgs84_to_gcj02([117.5], [26.7])
    assert jb[:2] == [round(float(lat[0]), 5), round(float(lon[0]), 5)]
    tiles = json.loads(lxml.html.fromstring(page).get_element_by_id("notice-tiles").text)
    assert [t["name"] for t in tiles] == ["高德地图"] and "autonavi.com" in tiles[0]["url"]
