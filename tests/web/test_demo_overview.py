"""`make demo`'s overview: the demo county's plan with one department late, as the auditor and that department
see it."""
from __future__ import annotations

import lxml.html
import pytest

from audit.cli.demo import load_demo
from web import create_app

LATE = "将乐县交通运输局"


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.sqlite3'}"
    load_demo(url, echo=lambda _: None)
    return create_app({"DATABASE_URL": url, "SECRET_KEY": "test", "TESTING": True, "WTF_CSRF_ENABLED": False})


def signed_in(app, user):
    client = app.test_client()
    assert client.post("/login", data={"username": user, "password": "camaudit-demo"}).status_code == 302
    return client


def test_the_overview_shows_the_late_department_with_its_days(demo_app):
    page = lxml.html.fromstring(signed_in(demo_app, "auditor").get("/").text)
    rows = {r.xpath("td[1]")[0].text_content(): r for r in page.xpath("//section[@id='plan-standing']//tr[td]")}
    assert len(rows) == 4
    late = {name: row.xpath("td[contains(@class, 'late-list')]")[0].text_content().strip() for name, row in rows.items()}
    assert late[LATE] == "自查报告 逾期 10 天" and rows[LATE].get("class") == "error"
    assert all(text == "—" for name, text in late.items() if name != LATE)
    phases = [r.text_content() for r in page.xpath("//section[@id='phases']//tr[contains(@class, 'current')]")]
    assert len(phases) == 1 and "整改" in phases[0]


def test_a_department_sees_its_own_row_and_what_is_due(demo_app):
    page = lxml.html.fromstring(signed_in(demo_app, "jiaojing").get("/").text)
    rows = page.xpath("//section[@id='plan-standing']//tr[td]")
    assert [r.xpath("td[1]")[0].text_content() for r in rows] == ["将乐县公安局交通管理大队"]
    todo = page.get_element_by_id("todo").text_content()
    assert "整改台账" in todo and "剩 5 天" in todo and "自查报告" not in todo  # filed on time
