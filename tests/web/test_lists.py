"""Lists people can work with: search by code, name, road or site; sort by column; only the devices missing from
the last upload (待核实) or with a cannot-assess finding (无法评估)."""
from __future__ import annotations

import datetime as dt

import lxml.html

from audit.casework import decisions

from .support import AS_OF, DEPT_A, ROWS_A, client_for, confirm, database_session, token_of, upload
from .test_upload import csv_bytes


def listed(html: str) -> list[str]:
    """Device codes in the order the page lists them (device list, review cards or ledger rows)."""
    page = lxml.html.fromstring(html)
    return [e.text_content().strip() for e in page.xpath(
        "//table[@id='device-table']/tbody/tr/td[1]/a | //section[contains(@class, 'review-device')]/h2/a"
        " | //table[@id='ledger-table']/tbody/tr/td[3]/a")]


def test_the_device_list_searches_code_name_road_and_site_and_sorts_by_column(shared_world):
    client = client_for(shared_world.app, "auditor")
    assert listed(client.get("/devices?q=JB-00").text) == ["JB-001", "JB-002"]
    assert listed(client.get("/devices?q=超限检测").text) == ["JB-001"]  # name
    assert listed(client.get("/devices?q=三华路").text) == ["JA-003"]  # road
    assert listed(client.get("/devices?q=金溪路口").text) == ["JA-002"]  # site
    assert listed(client.get("/devices?q=100%").text) == []  # a wildcard is a character
    assert listed(client.get("/devices?sort=road").text) == ["JB-001", "JB-002", "JA-003", "JA-002", "JA-001"]
    assert listed(client.get("/devices?sort=road&desc=1").text) == ["JA-001", "JA-002", "JA-003", "JB-002", "JB-001"]


def test_only_the_devices_missing_from_the_last_upload(world):
    clerk = client_for(world.app, "dept_a")
    assert "待核实" not in lxml.html.fromstring(clerk.get("/devices").text).get_element_by_id("device-table") \
        .text_content()
    token = token_of(upload(clerk, "设备登记表.csv", csv_bytes(*ROWS_A[:2])))
    confirm(clerk, token)
    page = clerk.get("/devices?pending=1").text
    assert listed(page) == ["JA-003"] and 'name="pending" value="1" checked' in page
    assert "待核实" in lxml.html.fromstring(page).get_element_by_id("device-table").text_content()
    assert listed(clerk.get("/devices?pending=1&q=府前").text) == []
    auditor = client_for(world.app, "auditor")
    # JA-003 has no problem to review, only data to supply: it is listed on the 待补报资料 tab.
    assert listed(auditor.get("/review?pending=1").text) == []
    assert listed(auditor.get("/review?pending=1&state=data").text) == ["JA-003"]
    # Uploaded again: nothing is waiting to be checked.
    token = token_of(upload(clerk, "设备登记表.csv", csv_bytes(*ROWS_A)))
    confirm(clerk, token)
    assert listed(clerk.get("/devices?pending=1").text) == []
    assert "没有符合条件的设备" in clerk.get("/devices?pending=1").text


def test_only_the_devices_with_a_cannot_assess_finding(shared_world):
    # The uploads had no 设置依据 column: PLC04 cannot assess any device (data to supply). JA-001 and JB-002 are
    # speed cameras without a warning-sign distance column either (SGN02).
    auditor = client_for(shared_world.app, "auditor")
    assert listed(auditor.get("/devices?unassessed=1").text) == ["JA-001", "JA-002", "JA-003", "JB-001", "JB-002"]
    assert listed(auditor.get("/devices?unassessed=1&type=固定测速&department=%d" % shared_world.dept["b"]).text) \
        == ["JB-002"]
    assert listed(auditor.get("/devices?unassessed=1&rule=REV01").text) == ["JA-001", "JB-001"]
    assert listed(client_for(shared_world.app, "dept_a").get("/devices?unassessed=1").text) == \
        ["JA-001", "JA-002", "JA-003"]
    # The review queue: devices with a problem to review that also lack data.
    assert sorted(listed(auditor.get("/review?unassessed=1").text)) == ["JA-001", "JA-002", "JB-001"]
    assert 'name="unassessed" value="1" checked' in auditor.get("/review?unassessed=1").text
    data = auditor.get("/review?state=data&rule=SGN02").text
    # Requests for data are never confirmed or dismissed: no review form, no selection for a bulk review.
    assert sorted(listed(data)) == ["JA-001", "JB-002"] and "review-form" not in data and "bulk-review" not in data


def test_the_review_list_searches_and_sorts(shared_world):
    auditor = client_for(shared_world.app, "auditor")
    assert listed(auditor.get("/review?q=府前").text) == ["JA-002"]
    assert listed(auditor.get("/review?q=G205").text) == ["JB-001"]
    assert listed(auditor.get("/review?q=无此设备").text) == []
    assert listed(auditor.get("/review?sort=code").text) == ["JA-001", "JA-002", "JB-001"]
    assert listed(auditor.get("/review?sort=road").text) == ["JB-001", "JA-002", "JA-001"]
    assert listed(auditor.get("/review").text) == ["JB-001", "JA-001", "JA-002"]  # department, code
    assert listed(auditor.get("/review?state=data&sort=road").text) == ["JB-001", "JB-002", "JA-003", "JA-002",
                                                                          "JA-001"]


def test_the_ledger_searches_and_sorts_by_column(world):
    with database_session(world.app) as db:
        for code, deadline in (("JA-002", AS_OF + dt.timedelta(days=90)), ("JA-003", AS_OF + dt.timedelta(days=10))):
            decisions.rectify(db, world.device[code], measure="设置标识", requirement="设置明显标识",
                              deadline=deadline, responsible="王五", user="auditor", on=AS_OF, problem="无标识")
        db.commit()
    auditor = client_for(world.app, "auditor")
    assert listed(auditor.get("/ledger").text) == ["JB-001", "JA-002", "JA-003"]  # by department, then item
    assert listed(auditor.get("/ledger?sort=deadline").text) == ["JA-003", "JB-001", "JA-002"]
    assert listed(auditor.get("/ledger?sort=deadline&desc=1").text) == ["JA-002", "JB-001", "JA-003"]
    assert listed(auditor.get("/ledger?q=王五").text) == ["JA-002", "JA-003"]
    assert listed(auditor.get("/ledger?q=乙县超限").text) == ["JB-001"]
    page = auditor.get("/ledger?q=王五&sort=deadline").text
    links = {a.text_content().strip(): a.get("href") for a in
             lxml.html.fromstring(page).xpath("//table[@id='ledger-table']/thead//a")}
    assert links["整改时限 ▲"] == "/ledger?sort=deadline&desc=1&q=%E7%8E%8B%E4%BA%94"  # keeps the search
    assert links["项"] == "/ledger?sort=id&q=%E7%8E%8B%E4%BA%94"
    clerk = client_for(world.app, "dept_a")
    assert listed(clerk.get("/ledger?sort=device").text) == ["JA-002", "JA-003"]
    assert DEPT_A in clerk.get("/ledger").text
