"""The public notice on a 390 px phone, anonymous, in a real headless Chromium: search, cards, map, no overflow."""
from __future__ import annotations

from tests.web.support import DEPT_B


def test_a_citizen_searches_the_notice_on_a_phone(browser, server, tmp_path):
    _, base = server
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True,
                                  has_touch=True, device_scale_factor=2)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("request", lambda req: None if req.url.startswith((base, "data:")) else problems.append(req.url))
    page.goto(base + "/public/notice")
    page.wait_for_function("document.getElementById('notice-map').dataset.sites !== undefined")
    assert page.eval_on_selector("#notice-map", "el => el.dataset.sites") == "5"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing cut off on the right
    page.fill("input[name=q]", "G205")
    page.click("#notice-filters button[type=submit]")
    page.wait_for_url("**/public/notice?q=G205*")
    page.wait_for_function("document.getElementById('notice-map').dataset.sites === '1'")
    assert page.inner_text("#notice-found") == "“G205”：找到 1 处。"
    card = page.locator("#notice-table tbody tr").first
    assert card.locator("td[data-label='具体位置']").inner_text() == "G205K10"
    box = card.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390  # one card per site, within the screen
    assert page.evaluate("getComputedStyle(document.querySelector('#notice-table thead')).display") == "none"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=tmp_path / "notice-phone.png", full_page=True)
    # The marker's popup tells what the notice publishes, nothing more.
    page.locator("#notice-map path.leaflet-interactive").first.click()
    popup = page.wait_for_selector(".notice-popup")
    assert popup.inner_text().splitlines() == [f"执法单位：{DEPT_B}", "道路名称：G205 双向", "具体位置：G205K10",
                                               "设备类型：超限超载"]
    page.screenshot(path=tmp_path / "notice-phone-popup.png")
    context.close()
    assert problems == []

