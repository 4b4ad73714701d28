"""The supervision cycle in a real headless Chromium: the auditor enters the plan, a department edits and files its
self-inspection report, the overview says who is late, and the auditor urges the late one with a numbered letter."""
from __future__ import annotations

import datetime as dt
import io

import docx

from tests.web.support import DEPT_A, DEPT_B, PASSWORDS

from .conftest import login

TODAY = dt.date.today()


def test_the_plan_is_entered_a_report_edited_and_filed_and_the_late_department_urged(page, server):
    world, _ = server
    login(page, "auditor", PASSWORDS["auditor"])
    page.click("nav.mainnav a[href='/plan']")
    page.fill("#new-plan input[name=title]", "乙县罚款实施专项监督工作方案")
    page.fill("#new-plan input[name=issuer]", "乙县司法局")
    page.fill("#new-plan input[name=doc_prefix]", "乙司监督")
    page.click("#new-plan button[type=submit]")
    page.wait_for_selector("#plan-header")
    page.fill("#add-phase input[name=name]", "自查")
    page.fill("#add-phase input[name=start]", (TODAY - dt.timedelta(days=30)).isoformat())
    page.fill("#add-phase input[name=end]", (TODAY + dt.timedelta(days=30)).isoformat())
    page.click("#add-phase button[type=submit]")
    page.wait_for_selector("#plan-phases tr.current")
    page.click("#add-task summary")
    page.fill("#add-task textarea[name=title]", "完成自查，报送自查报告及突出问题清单")
    page.select_option("#add-task select[name=deliverable]", "自查报告")
    page.fill("#add-task input[name=deadline]", (TODAY - dt.timedelta(days=4)).isoformat())
    page.click("#add-task button[type=submit]")
    page.wait_for_selector("#plan-status tbody tr")
    assert page.locator("#plan-status tbody td.plan-cell").all_inner_texts() == ["逾期 4 天", "逾期 4 天"]
    page.screenshot(path=page.shots / "plan.png", full_page=True)

    # Department A opens its overdue task from the overview, edits one text of the generated report and files it.
    page.click("#logout")
    login(page, "clerk_a", PASSWORDS["clerk_a"])
    assert "逾期 4 天" in page.inner_text("#todo")
    page.click("#todo a")
    page.click(f"#department-{world.dept['a']} a.edit-report")
    page.wait_for_selector("#report-form")
    assert DEPT_A in page.inner_text("h1")
    written = "一是对尚未整改的问题逐项整改、逐项销号；二是每季度复查一次设备登记资料。"
    page.fill("textarea[name='text:next']", written)
    page.screenshot(path=page.shots / "report-editor.png", full_page=True)
    page.click("#file-report")
    page.wait_for_selector(".flash.success")
    assert "逾期 4 天报送" in page.inner_text(f"#department-{world.dept['a']} h2")
    with page.expect_download() as info:
        page.click(f"#department-{world.dept['a']} table.filings a")
    filed = docx.Document(io.BytesIO(open(info.value.path(), "rb").read()))
    assert written in "\n".join(p.text for p in filed.paragraphs)
    page.screenshot(path=page.shots / "task.png", full_page=True)

    # The auditor sees B late on the overview and urges it: the 督办函 is numbered in the register.
    page.click("#logout")
    login(page, "auditor", PASSWORDS["auditor"])
    rows = page.locator("#plan-standing tr.error").all_inner_texts()
    assert len(rows) == 1 and DEPT_B in rows[0] and "逾期 4 天" in rows[0]
    page.screenshot(path=page.shots / "overview.png", full_page=True)
    page.click("nav.mainnav a[href='/letters']")
    page.select_option("#compose select[name=kind]", "supervise")
    page.select_option("#compose select[name=department]", str(world.dept["b"]))
    page.click("#compose button[type=submit]")
    page.wait_for_selector("#letter-form")
    page.click("#issue-letter")
    page.wait_for_selector(".flash.success")
    number = f"乙司监督〔{TODAY.year}〕1号"
    assert number in page.inner_text("#register")
    page.screenshot(path=page.shots / "letters.png", full_page=True)
