"""The auditor closes a ledger item and downloads the self-inspection attachment, in a real headless Chromium."""
from __future__ import annotations

import openpyxl

from tests.web.support import AS_OF, DEPT_B, PASSWORDS

from .conftest import login


def test_auditor_closes_a_ledger_item_and_downloads_the_self_inspection_list(page, server):
    world, _ = server
    login(page, "auditor", PASSWORDS["auditor"])
    page.click("nav.mainnav a[href='/ledger']")
    row = page.locator(f"#ledger-table tr[data-item='{world.ledger_b}']")
    assert row.get_attribute("data-status") == "待整改" and "已逾期" in row.inner_text()
    row.locator("a.button").click()

    # Reported rectified, then checked and closed with the evidence seen.
    report = page.locator("form.ledger-advance:has(input[name=to_status][value=已整改待核查])")
    report.locator("textarea[name=note]").fill("已取得法制审核意见书")
    report.locator("button[type=submit]").click()
    page.wait_for_selector(".flash.success")
    page.fill("#close-form textarea[name=evidence]", "审核意见书 乙交法审〔2024〕3号")
    page.click("#close-form button[type=submit]")
    page.wait_for_selector("#reopen-form")
    assert page.inner_text("#item-status") == "已销号"
    history = page.locator("#item-history tbody tr").all_inner_texts()
    assert "auditor\t已整改待核查\t已销号\t审核意见书 乙交法审〔2024〕3号" in history[-1]
    page.screenshot(path=page.shots / "ledger-item.png", full_page=True)

    # The self-inspection attachment as an Excel file, under its Chinese name.
    page.click("nav.mainnav a[href='/documents']")
    page.select_option("select[name=document]", "self-inspection.xlsx")
    with page.expect_navigation():  # the form follows the department: its cases and its run's date
        page.select_option("select[name=department]", str(world.dept["b"]))
    assert page.input_value("select[name=document]") == "self-inspection.xlsx"
    assert page.input_value("input[name=as_of]") == AS_OF.isoformat()  # the audit run's date, not today
    page.screenshot(path=page.shots / "documents.png", full_page=True)
    with page.expect_download() as info:
        page.click("#export-button")
    download = info.value
    assert download.suggested_filename == f"突出问题清单_{DEPT_B}_{AS_OF.isoformat()}.xlsx"
    saved = page.shots / download.suggested_filename
    download.save_as(saved)
    sheet = openpyxl.load_workbook(saved).active
    values = [str(v) for row in sheet.iter_rows(values_only=True) for v in row if v is not None]
    assert "罚款实施专项监督突出问题清单" in values and any(v.startswith("已销号") for v in values)
