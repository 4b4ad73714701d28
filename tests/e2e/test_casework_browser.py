"""The casework path in a real headless Chromium, as the auditor and the department clerk do it:

the review page proposes suspensions → bulk suspend → the clerk uploads the old sheet (conflict shown, suspension
holds) → the auditor dismisses one problem → re-audit with the same data (verdict kept) → the clerk fixes the data →
re-audit (problem 已消除; the ledger's 复查 says so) → close (销号) → restore.
"""
from __future__ import annotations

from tests.web.support import AS_OF, PASSWORDS, ROWS_A

from .conftest import login
from .test_browser import upload_file


def logout(page) -> None:
    page.click("form.logout button[type=submit]") if page.locator("form.logout button").count() else None
    page.context.clear_cookies()


def run_audit(page) -> None:
    page.goto(page.base + "/")
    page.fill("#run-audit input[name=as_of]", AS_OF.isoformat())
    page.click("#run-audit-button")
    page.wait_for_selector(".flash.success")
    assert "审查完成" in page.inner_text(".flash.success")


def test_the_casework_path_in_the_browser(page, server):
    world, _ = server
    ja1, ja2 = world.device["JA-001"], world.device["JA-002"]

    # 1. The review page proposes to suspend the devices with open 停用 problems; one click suspends them.
    login(page, "auditor", PASSWORDS["auditor"])
    page.goto(page.base + "/review")
    proposals = page.locator("section.proposals")
    assert "JA-001" in proposals.inner_text() and "拟停用" in proposals.inner_text()
    page.screenshot(path=page.shots / "review-proposals.png", full_page=True)
    proposals.locator("button[type=submit]").click()
    page.wait_for_selector(".flash.success")
    assert "已停用审查建议停用的" in page.inner_text(".flash.success")
    page.goto(page.base + f"/devices/{ja1}")
    assert page.locator("h1 .badge").inner_text() == "停用"
    logout(page)

    # 2. The clerk uploads the old sheet (JA-001 still says 在用): the report shows the decision holds.
    login(page, "clerk_a", PASSWORDS["clerk_a"])
    upload_file(page, "旧登记表.csv", ROWS_A)
    report = page.inner_text("main")
    assert "决定停用" in report and "JA-001" in report and "未采用" in report
    assert "按审查机关的决定保持原状态 1 台" in page.inner_text(".import-summary .held")
    page.screenshot(path=page.shots / "upload-decision-holds.png", full_page=True)
    page.click("#confirm-import")
    page.wait_for_selector('#import-status[data-state="applied"]')
    logout(page)

    # 3. The auditor dismisses JA-002's sign problem with one reason, through the bulk form.
    login(page, "auditor", PASSWORDS["auditor"])
    page.goto(page.base + f"/devices/{ja1}")
    assert page.locator("h1 .badge").inner_text() == "停用"
    page.goto(page.base + "/review?rule=SGN01")
    page.check(f"#device-{ja2} tr.problem input[type=checkbox]")
    page.fill("#bulk-review input[name=reason]", "现场已设标识，登记有误")
    page.click("#bulk-review button[value=dismiss]")
    page.wait_for_selector(".flash.success")
    assert "已排除 1 个问题" in page.inner_text(".flash.success")

    # 4. Re-audit with the same data: the dismissal holds.
    run_audit(page)
    page.goto(page.base + "/review?state=dismissed")
    dismissed = page.inner_text("main")
    assert "JA-002" in dismissed and "现场已设标识，登记有误" in dismissed
    page.goto(page.base + "/review?rule=SGN01")
    assert f"device-{ja2}" not in page.content()

    # 5. Rectify JA-001's missing legal review from its page.
    page.goto(page.base + f"/devices/{ja1}")
    form = page.locator("form.decision-rectify").first
    form.locator("input[name=measure]").fill("补办法制审核")
    form.locator("input[name=requirement]").fill("取得法制审核意见书")
    form.locator("input[name=deadline]").fill("2099-07-31")
    form.locator("input[name=responsible]").fill("王五")
    form.locator("button[type=submit]").click()
    page.wait_for_selector(".flash.success")
    item = page.locator("#ledger-table tbody tr td").first.inner_text()
    logout(page)

    # 6. The clerk records the review date (a partial upload of that one device).
    login(page, "clerk_a", PASSWORDS["clerk_a"])
    fixed = ROWS_A[0].replace("在用,,,是", "在用,2023-06-01,2023-06-05,是")
    page.goto(page.base + "/upload")
    page.check("input[name=mode][value=partial]")
    upload_file_keeping_mode(page, "补充.csv", [fixed])
    page.click("#confirm-import")
    page.wait_for_selector('#import-status[data-state="applied"]')
    logout(page)

    # 7. Re-audit: the suspended device is re-checked as if back in use; the problem is 已消除, the ledger says so.
    login(page, "auditor", PASSWORDS["auditor"])
    run_audit(page)
    page.goto(page.base + "/review?state=resolved")
    assert "JA-001" in page.inner_text("main")
    page.goto(page.base + f"/ledger/{item}")
    assert "复查已整改" in page.inner_text("main")
    report = page.locator("form.ledger-advance:has(input[name=to_status][value=已整改待核查])")
    report.locator("textarea[name=note]").fill("已取得法制审核意见书 甲公法审〔2024〕9号")
    report.locator("button[type=submit]").click()
    page.wait_for_selector(".flash.success")
    page.fill("#close-form textarea[name=evidence]", "审核意见书 甲公法审〔2024〕9号")
    page.click("#close-form button[type=submit]")
    page.wait_for_selector("#reopen-form")

    # 8. Restore from the device page.
    page.goto(page.base + f"/devices/{ja1}")
    page.fill("form.decision-restore textarea[name=reason]", "已完成法制审核，核查销号")
    page.click("form.decision-restore button[type=submit]")
    page.wait_for_selector(".flash.success")
    assert "已恢复使用" in page.inner_text(".flash.success")
    assert page.locator("h1 .badge").inner_text() == "在用"
    page.screenshot(path=page.shots / "device-restored.png", full_page=True)


def upload_file_keeping_mode(page, name: str, rows: list[str]) -> None:
    """Upload from the page already open (the import mode chosen on it)."""
    import re

    from tests.web.support import HEADER

    page.set_input_files("input[type=file]", {"name": name, "mimeType": "text/csv",
                                              "buffer": (HEADER + "\n".join(rows) + "\n").encode()})
    page.click("#upload-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/upload/[A-Za-z0-9_-]{22}$"))
