"""The count model on the device page and the funnel plot, in a real browser (screenshots in the test's tmp dir)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tests.web.support import DEPT_A, PASSWORDS, database_session, device_csv

from .conftest import login

DAYS = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(180)]


@pytest.fixture(scope="module")
def detected(server, tmp_path_factory):
    """JA-002 with a rise, an outage and a spike; ten fixed speed cameras of department A, one at 95 a day."""
    from audit.registry.models import Device
    from audit.registry.store import import_file
    from audit.casework.problems import audit_and_record

    world, _ = server
    tmp = tmp_path_factory.mktemp("detected")
    counts = [8 + (i % 7) % 3 for i in range(180)]
    counts[60:74] = [3 * c for c in counts[60:74]]
    counts[100:112] = [0] * 12
    counts[140] = 90
    rows = [("JA-002", d, c) for d, c in zip(DAYS, counts)]
    cameras = [f"JA-2{k:02d},测速{k},固定测速,水南大道,由东向西,水南大道{k}号,117.4{k:02d},26.73,WGS84,2023-07-01,在用,"
               "2023-06-01,2023-06-05,是,2023-06-20,县政府网站,2024-01-10,2025-01-09,合格" for k in range(10)]
    rows += [(f"JA-2{k:02d}", d, 95 if k == 9 else 10 + k) for k in range(10) for d in DAYS]
    path = tmp / "v.csv"
    path.write_text("设备编号,日期,违法数量\n" + "".join(f"{c},{d},{n}\n" for c, d, n in rows), encoding="utf-8")
    with database_session(world.app) as db:
        assert import_file(db, device_csv(tmp / "cameras.csv", cameras), "devices", department=DEPT_A,
                           user="setup").applied
        db.commit()
        assert import_file(db, path, "violations", user="setup").applied
        db.commit()
        audit_and_record(db, as_of=DAYS[-1], user="setup")
        db.commit()
        ids = dict(db.execute(select(Device.device_code, Device.id)).all())
    return world, ids


def test_device_page_shows_the_expected_band_and_what_was_found(page, detected):
    world, ids = detected
    login(page, "auditor", PASSWORDS["auditor"])
    page.goto(f"{page.base}/devices/{ids['JA-002']}")
    band = page.locator(".chart polygon.band")
    box = band.bounding_box()
    assert box and box["width"] > 600 and box["height"] > 10
    assert page.locator(".chart rect.period.rise").count() == 1
    assert page.locator(".chart rect.period.outage").count() == 1
    spike = page.locator(".chart circle.spike")
    assert spike.count() == 1 and "：90" in spike.locator("title").text_content()
    rise = page.locator(".chart rect.period.rise").bounding_box()
    outage = page.locator(".chart rect.period.outage").bounding_box()
    assert rise["x"] < outage["x"] < spike.bounding_box()["x"]
    legend = page.inner_text(".chart-legend")
    assert "正常范围" in legend and "VIO04 持续升高 2024-03-01" in legend and "VIO05 采集中断 2024-04-10" in legend
    page.locator(".chart").screenshot(path=page.shots / "device-band.png")
    page.screenshot(path=page.shots / "device-page.png", full_page=True)


def test_funnel_plot_of_a_department_and_type(page, detected):
    world, ids = detected
    login(page, "auditor", PASSWORDS["auditor"])
    page.goto(f"{page.base}/devices/{ids['JA-209']}")
    page.click("text=本单位同类设备比较（漏斗图）")
    page.wait_for_selector("#funnel")
    assert page.locator("#funnel circle.flagged").count() == 1
    assert page.locator("#funnel circle.peer").count() == 9
    flagged = page.locator("#funnel circle.flagged").bounding_box()
    peers = [page.locator("#funnel circle.peer").nth(k).bounding_box() for k in range(9)]
    assert all(flagged["y"] < p["y"] for p in peers)  # higher on the page: more per day
    assert page.locator("#funnel path.limit").count() == 3
    assert "畸高（VIO01）" in page.inner_text("#funnel-table tbody tr:first-child")
    page.select_option("select[name=type]", "闯红灯")
    page.click("#funnel-filters button[type=submit]")
    # one red-light camera with data: drawn, but too few peers for control limits, and the page says so
    assert "同类设备中可比较的不足 8 台" in page.inner_text("main") and page.locator("#funnel path.limit").count() == 0
    page.go_back()
    page.locator(".chart").screenshot(path=page.shots / "funnel.png")
