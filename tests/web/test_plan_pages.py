"""工作方案 in the browser's requests: the bureau enters the plan, a department files (its edited report or an
upload), the bureau returns a filing, and the overview says who is late by how many days."""
from __future__ import annotations

import datetime as dt
import io

import docx
import lxml.html
from sqlalchemy import select

from audit.registry.models import Filing, PlanTask, ReportDraft, SupervisionPlan

from .support import DEPT_A, DEPT_B, client_for, database_session, post

TODAY = dt.date.today()


def flash_of(client) -> str:
    page = lxml.html.fromstring(client.get("/plan").text)
    return " ".join(e.text_content() for e in page.xpath("//div[contains(@class, 'flash')]"))


def enter_plan(world) -> dict:
    """The auditor enters a plan through the forms: one phase, a task of department A due in 3 days and one of
    both departments due 10 days ago."""
    auditor = client_for(world.app, "auditor")
    assert post(auditor, "/plan", {"title": "罚款实施专项监督工作方案", "issuer": "某县司法局",
                                   "doc_prefix": "某司监督"}).status_code == 303
    with database_session(world.app) as db:
        plan_id = db.scalar(select(SupervisionPlan.id))
    post(auditor, f"/plan/{plan_id}/phases", {"name": "自查", "start": (TODAY - dt.timedelta(days=30)).isoformat(),
                                              "end": (TODAY + dt.timedelta(days=30)).isoformat()})
    post(auditor, f"/plan/{plan_id}/tasks", {"title": "报送自查报告", "deliverable": "自查报告",
                                             "deadline": (TODAY - dt.timedelta(days=10)).isoformat(),
                                             "all_departments": "1"})
    post(auditor, f"/plan/{plan_id}/tasks", {"title": "报送专题说明", "deliverable": "专题说明",
                                             "deadline": (TODAY + dt.timedelta(days=3)).isoformat(),
                                             "department": str(world.dept["a"])})
    with database_session(world.app) as db:
        tasks = dict(db.execute(select(PlanTask.deliverable, PlanTask.id)).all())
    return {"plan": plan_id, "report": tasks["自查报告"], "note": tasks["专题说明"], "auditor": auditor}


def test_the_bureau_enters_a_plan_and_a_mistake_is_told_in_chinese(world):
    ids = enter_plan(world)
    auditor = ids["auditor"]
    post(auditor, f"/plan/{ids['plan']}/tasks", {"title": "", "deliverable": "报告", "deadline": "下周"})
    message = flash_of(auditor)
    assert "任务：任务内容不能为空" in message and "报送材料“报告”不在可选范围内" in message
    assert "完成时限“下周”不是日期" in message
    page = lxml.html.fromstring(auditor.get("/plan").text)
    status = page.get_element_by_id("plan-status")
    headers = [th.text_content() for th in status.xpath(".//thead//th")]
    assert headers[3:] == [DEPT_B, DEPT_A]  # by name
    cells = {tr.get("data-task"): [td.text_content().strip() for td in tr.xpath("td")[3:]]
             for tr in status.xpath(".//tbody/tr")}
    assert cells[str(ids["report"])] == ["逾期 10 天", "逾期 10 天"]
    assert cells[str(ids["note"])] == ["—", "剩 3 天"]  # department B is not responsible for it


def test_a_department_files_its_edited_report_and_an_upload(world):
    ids = enter_plan(world)
    clerk = client_for(world.app, "dept_a")
    editor = clerk.get(f"/reports/self-report?task={ids['report']}")
    form = lxml.html.fromstring(editor.text).get_element_by_id("report-form")
    assert form.xpath(".//textarea[@name='text:next']") and form.xpath(".//button[@value='file']")
    written = "一是对尚未整改的问题逐项整改；二是每季度开展一次复查。"
    filed = post(clerk, "/reports/self-report", {"task": str(ids["report"]), "action": "file", "text:next": written,
                                                 "as_of": TODAY.isoformat()})
    assert filed.status_code == 303 and filed.headers["Location"].endswith(f"/plan/tasks/{ids['report']}")
    with database_session(world.app) as db:
        filing = db.scalar(select(Filing).where(Filing.task_id == ids["report"]))
        content, who, how = filing.content, filing.filed_by, filing.method
        assert db.scalar(select(ReportDraft.sections))["next"] == written
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(content)).paragraphs)
    assert written in text and f"{DEPT_A}关于罚款实施专项监督自查情况的报告" in text and (who, how) == ("clerk_a", "generated")
    task_page = clerk.get(f"/plan/tasks/{ids['report']}").text
    assert "逾期 10 天报送" in task_page and "clerk_a" in task_page and DEPT_B not in task_page
    # The note on accountability cannot be filed while it still holds what the author must write; an upload can.
    refused = post(clerk, "/reports/accountability-note", {"task": str(ids["note"]), "action": "file"})
    assert refused.status_code == 303
    assert "以下部分尚未填写：二、追责问责情况、三、容错免责情况" in clerk.get(refused.headers["Location"]).text
    upload = post(clerk, f"/plan/tasks/{ids['note']}/file",
                  {"method": "upload", "file": (io.BytesIO(b"%PDF-1.4 note"), "专题说明.pdf")},
                  content_type="multipart/form-data")
    assert upload.status_code == 303
    page = clerk.get(f"/plan/tasks/{ids['note']}").text
    assert "已报送" in page and "专题说明.pdf" in page
    overview = lxml.html.fromstring(clerk.get("/").text)
    assert overview.xpath("//section[@id='plan-standing']//td[@class='num']")[0].text_content() == "1"


def test_the_bureau_returns_a_filing_and_the_department_is_late_again(world):
    ids = enter_plan(world)
    clerk_b = client_for(world.app, "dept_b")
    post(clerk_b, f"/plan/tasks/{ids['report']}/file",
         {"method": "upload", "file": (io.BytesIO(b"%PDF-1.4 report"), "自查报告.pdf")}, content_type="multipart/form-data")
    with database_session(world.app) as db:
        filing_id = db.scalar(select(Filing.id))
    auditor = ids["auditor"]
    download = auditor.get(f"/plan/filings/{filing_id}/file")
    assert download.data == b"%PDF-1.4 report"
    post(auditor, f"/plan/filings/{filing_id}/return", {"reason": "未附突出问题清单"})
    page = clerk_b.get(f"/plan/tasks/{ids['report']}").text
    assert "退回：未附突出问题清单" in page and "逾期 10 天" in page
    overview = lxml.html.fromstring(auditor.get("/").text)
    late = {r.xpath("td[1]")[0].text_content(): r.xpath("td[4]")[0].text_content()
            for r in overview.xpath("//section[@id='plan-standing']//tr[td]")}
    assert late[DEPT_B].startswith("自查报告 逾期 10 天") and late[DEPT_A].startswith("自查报告 逾期 10 天")


def test_the_department_sees_its_due_soon_and_overdue_tasks(world):
    ids = enter_plan(world)
    overview = lxml.html.fromstring(client_for(world.app, "dept_a").get("/").text)
    todo = [tr.text_content() for tr in overview.get_element_by_id("todo").xpath(".//tr")]
    assert len(todo) == 2 and "自查报告" in todo[0] and "逾期 10 天" in todo[0] and "剩 3 天" in todo[1]
    other = lxml.html.fromstring(client_for(world.app, "dept_b").get("/").text)
    assert [tr.text_content() for tr in other.get_element_by_id("todo").xpath(".//tr")][0].count("逾期 10 天") == 1
    assert client_for(world.app, "dept_b").get(f"/plan/tasks/{ids['note']}").status_code == 404


def test_the_plan_pages_in_english(world):
    enter_plan(world)
    auditor = client_for(world.app, "auditor")
    post(auditor, "/lang", {"lang": "en", "next": "/plan"})
    page = auditor.get("/plan").text
    assert "Supervision plan" in page and "days late" in page and "Self-inspection report" in page
