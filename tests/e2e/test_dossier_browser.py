"""The dossier's daily work in a real headless Chromium, each step as the role that does it:

the clerk reads the 待办 page, answers a problem with a paper attached, and a renamed program is refused; the
auditor accepts the answer on the review page and both see the thread; the clerk of the traffic bureau reports a
ledger item rectified with photos, the auditor sees them when closing and the ledger export lists them; another
department's photo cannot be fetched; the auditor draws a spot check with a seed, records a result and exports the
list.
"""
from __future__ import annotations

import re

import openpyxl
from sqlalchemy import select

from audit.registry.models import Attachment, Problem
from tests import filesamples
from tests.web.support import DEPT_A, PASSWORDS, database_session

from .conftest import login


def logout(page) -> None:
    page.context.clear_cookies()


def _problem(world, problem_id):
    with database_session(world.app) as db:
        p = db.get(Problem, problem_id)
        return p.device_id, p.rule


def test_the_clerk_answers_a_problem_and_a_renamed_program_is_refused(page, server):
    world, _ = server
    device_id, rule = _problem(world, world.problem["a"])
    login(page, "clerk_a", PASSWORDS["clerk_a"])
    page.click("nav.mainnav a[href='/todo']")
    assert DEPT_A in page.inner_text("h1")
    row = page.locator(f"#todo-problems tr.problem[data-problem='{world.problem['a']}']")
    assert rule in row.inner_text()
    page.screenshot(path=page.shots / "todo-department.png", full_page=True)
    row.locator("a.button").click()
    page.wait_for_url(re.compile(rf".*/devices/{device_id}#problem-{world.problem['a']}$"))

    # The hostile file: a Windows program renamed photo.jpg is refused by its content, and nothing is stored.
    form = page.locator("#dossier-files form.attach-form")
    form.locator("select[name=purpose]").select_option("标识照片")
    form.locator("input[type=file]").set_input_files({"name": "photo.jpg", "mimeType": "image/jpeg",
                                                      "buffer": filesamples.EXE})
    form.locator("button[type=submit]").click()
    page.wait_for_selector(".flash.error")
    assert "“photo.jpg”不是 JPG、PNG 图片或 PDF 文件" in page.inner_text(".flash.error")
    assert "Windows 可执行程序" in page.inner_text(".flash.error")
    assert page.locator("#dossier-files .gallery .file").count() == 0
    page.screenshot(path=page.shots / "dossier-refused-file.png", full_page=True)

    # A real sign photo goes under 标识设置, shown as a thumbnail that opens the file.
    page.locator("#dossier-signage details.attach summary").click()
    signage = page.locator("#dossier-signage form.attach-form")
    signage.locator("input[type=file]").set_input_files({"name": "现场标识.jpg", "mimeType": "image/jpeg",
                                                         "buffer": filesamples.jpeg(1200, 900)})
    signage.locator("input[name=note]").fill("路口东侧 30 米")
    signage.locator("button[type=submit]").click()
    page.wait_for_selector(".flash.success")
    thumb = page.locator("#dossier-signage .gallery .file img")
    assert thumb.count() == 1
    # The thumbnail really loads (waited for: under load it arrives after the page; a broken one never does).
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    assert "现场标识.jpg" in page.inner_text("#dossier-signage")

    # The answer (申辩) with its paper.
    thread = page.locator(f"#problem-{world.problem['a']} + tr.thread-row")
    thread.locator("details.respond summary").click()
    answer = thread.locator("form.response-form")
    answer.locator("select[name=kind]").select_option("申辩")
    answer.locator("textarea[name=text]").fill("该设备已于 2023 年 6 月完成审核，登记表漏填，附审核意见书。")
    answer.locator("input[type=file]").set_input_files({"name": "审核意见书.pdf", "mimeType": "application/pdf",
                                                        "buffer": filesamples.pdf()})
    answer.locator("button[type=submit]").click()
    page.wait_for_selector(".flash.success")
    assert "已提交申辩" in page.inner_text(".flash.success")
    thread = page.locator(f"#problem-{world.problem['a']} + tr.thread-row")
    assert "申辩待审查人员处理" in thread.inner_text() and "审核意见书.pdf" in thread.inner_text()
    assert thread.locator("form.response-form").count() == 0  # one answer waits at a time
    page.screenshot(path=page.shots / "dossier-answered.png", full_page=True)
    page.goto(page.base + "/todo")
    assert str(world.problem["a"]) not in [r.get_attribute("data-problem")
                                           for r in page.locator("#todo-problems tr.problem").all()]
    assert "已提交，等待审查人员处理" in page.inner_text("#todo-problems")


def test_the_auditor_accepts_the_answer_and_both_sides_see_the_thread(page, server):
    world, _ = server
    device_id, _rule = _problem(world, world.problem["a"])
    login(page, "auditor", PASSWORDS["auditor"])
    page.goto(page.base + "/review")
    page.click("nav.review-states a:has-text('单位答复待处理')")
    thread = page.locator(f"#device-{device_id} tr.thread-row[data-problem='{world.problem['a']}']")
    assert "漏填" in thread.inner_text()
    page.screenshot(path=page.shots / "review-answers.png", full_page=True)
    thread.locator("form.accept-form input[name=reason]").fill("审核意见书日期早于启用日期")
    thread.locator("form.accept-form button[type=submit]").click()
    page.wait_for_selector(".flash.success")
    assert "已采纳单位申辩，问题已排除" in page.inner_text(".flash.success")
    page.goto(page.base + f"/devices/{device_id}")
    row = page.locator(f"#problem-{world.problem['a']}")
    assert "已排除：采纳单位申辩：审核意见书日期早于启用日期" in row.inner_text()
    logout(page)

    login(page, "clerk_a", PASSWORDS["clerk_a"])
    page.goto(page.base + f"/devices/{device_id}")
    entries = page.locator(f"#problem-{world.problem['a']} + tr.thread-row .thread .entry").all_inner_texts()
    assert len(entries) == 2 and "申辩" in entries[0] and "采纳" in entries[1] and "auditor" in entries[1]
    page.locator(f"#problem-{world.problem['a']}").scroll_into_view_if_needed()
    page.screenshot(path=page.shots / "dossier-thread.png", full_page=True)


def test_proof_at_each_ledger_step_shown_when_closing_and_listed_by_the_export(page, server):
    world, _ = server
    login(page, "clerk_b", PASSWORDS["clerk_b"])
    page.goto(page.base + "/todo")
    overdue = page.locator(f"#todo-ledger tr[data-item='{world.ledger_b}']")
    assert "已逾期" in overdue.inner_text()
    overdue.locator("a.button").click()
    report = page.locator("form.ledger-advance:has(input[name=to_status][value=已整改待核查])")
    report.locator("textarea[name=note]").fill("已补办法制和技术审核，附意见书和现场照片")
    report.locator("input[type=file]").set_input_files([
        {"name": "审核意见书.pdf", "mimeType": "application/pdf", "buffer": filesamples.pdf(pages=2)},
        {"name": "现场.png", "mimeType": "image/png", "buffer": filesamples.png()}])
    report.locator("button[type=submit]").click()
    page.wait_for_selector(".flash.success")
    assert "附整改佐证材料 2 份" in page.inner_text(".flash.success")
    assert page.locator("#item-files .gallery .file").count() == 2
    logout(page)

    login(page, "auditor", PASSWORDS["auditor"])
    page.goto(page.base + f"/ledger/{world.ledger_b}")
    shown = page.locator("#close-form .close-files .gallery .file").all_inner_texts()
    assert len(shown) == 2 and "审核意见书.pdf" in shown[0] and "2 页" in shown[0] and "clerk_b" in shown[0]
    page.screenshot(path=page.shots / "ledger-close-with-proof.png", full_page=True)
    page.fill("#close-form textarea[name=evidence]", "审核意见书 乙交法审〔2024〕3号，现场照片已核")
    page.click("#close-form button[type=submit]")
    page.wait_for_selector("#reopen-form")
    assert page.inner_text("#item-status") == "已销号"
    history = page.locator("#item-history tbody tr").all_inner_texts()
    assert "审核意见书.pdf" in history[-2] and "现场.png" in history[-2]  # filed with the step that reported it

    page.click("nav.mainnav a[href='/documents']")
    page.select_option("select[name=document]", "ledger.xlsx")
    with page.expect_download() as info:
        page.click("#export-button")
    saved = page.shots / info.value.suggested_filename
    info.value.save_as(saved)
    cells = [str(v) for row in openpyxl.load_workbook(saved).active.iter_rows(values_only=True) for v in row if v]
    assert any("整改佐证材料：审核意见书.pdf" in c and "整改佐证材料：现场.png" in c and "clerk_b" in c for c in cells)


def test_another_departments_photo_cannot_be_fetched(page, server):
    world, _ = server
    with database_session(world.app) as db:
        theirs = db.scalar(select(Attachment.id).where(Attachment.filename == "现场.png"))  # department B's
        ours = db.scalar(select(Attachment.id).where(Attachment.filename == "现场标识.jpg"))  # department A's
    login(page, "clerk_a", PASSWORDS["clerk_a"])
    for url in (f"/attachments/{theirs}", f"/attachments/{theirs}/thumb"):
        response = page.goto(page.base + url)
        assert response.status == 404 and "现场.png" not in page.content() and "JB-" not in page.content()
    mine = page.goto(page.base + f"/attachments/{ours}")
    assert mine.status == 200 and mine.headers["content-type"] == "image/jpeg"
    assert "sandbox" in mine.headers["content-security-policy"]


def test_the_auditor_draws_a_spot_check_records_a_result_and_exports_the_list(page, server):
    login(page, "auditor", PASSWORDS["auditor"])
    page.click("nav.mainnav a[href='/spotchecks']")
    page.fill("#draw-form input[name=devices]", "3")
    page.fill("#draw-form input[name=seed]", "20240630")
    page.fill("#draw-form textarea[name=roster]", "张三\n李四\n王五\n赵六")
    page.click("#draw-form button[type=submit]")
    page.wait_for_selector(".flash.success")
    assert "随机种子 20240630" in page.inner_text(".flash.success")
    assert page.inner_text("#seed") == "20240630"
    rows = page.locator("#spot-check-items tbody tr")
    assert rows.count() == 3
    first = rows.first
    assert len(first.locator("td").nth(4).inner_text().split("、")) == 2  # two inspectors per device
    first.locator("select[name=result]").select_option("不合格")
    first.locator("button[type=submit]").click()
    page.wait_for_selector(".flash.error")
    assert "须写明情况" in page.inner_text(".flash.error")
    first = page.locator("#spot-check-items tbody tr").first
    first.locator("select[name=result]").select_option("不合格")
    first.locator("input[name=note]").fill("标识被树木遮挡")
    first.locator("button[type=submit]").click()
    page.wait_for_selector(".flash.success")
    assert "不合格" in page.locator("#spot-check-items tbody tr").first.locator("td.result").inner_text()
    page.screenshot(path=page.shots / "spot-check.png", full_page=True)
    codes = [r.locator("td").nth(1).locator("a").inner_text() for r in page.locator("#spot-check-items tbody tr").all()]
    with page.expect_download() as info:
        page.click("#export-spot-check")
    saved = page.shots / info.value.suggested_filename
    info.value.save_as(saved)
    assert info.value.suggested_filename.startswith("双随机抽查名单_全部单位_")
    values = [str(v) for row in openpyxl.load_workbook(saved).active.iter_rows(values_only=True) for v in row if v]
    assert set(codes) <= set(values) and "标识被树木遮挡" in values
    assert any("随机种子 20240630" in v for v in values)
    # The same seed, roster and registry draw the same devices: the draw can be checked by anyone.
    page.click("nav.mainnav a[href='/spotchecks']")
    page.fill("#draw-form input[name=devices]", "3")
    page.fill("#draw-form input[name=seed]", "20240630")
    page.click("#draw-form button[type=submit]")  # the roster is kept from the last draw
    page.wait_for_selector(".flash.success")
    again = [r.locator("td").nth(1).locator("a").inner_text() for r in page.locator("#spot-check-items tbody tr").all()]
    assert again == codes
    page.goto(page.base + "/spotchecks")
    page.screenshot(path=page.shots / "spot-check-list.png", full_page=True)
