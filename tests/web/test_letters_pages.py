"""监督文书 and 年度评估 in the browser's requests: a letter is drafted from its problems, previewed unnumbered,
issued under the next number and shown on the problems it cites; a device's annual assessment is recorded."""
from __future__ import annotations

import datetime as dt
import io
from urllib.parse import unquote

import docx
import lxml.html
from sqlalchemy import select

from audit.registry.models import IssuedDocument, SiteAssessment

from .support import DEPT_B, client_for, database_session, post

TODAY = dt.date.today()


def test_a_letter_is_drafted_previewed_issued_and_shown_on_its_problems(world):
    auditor = client_for(world.app, "auditor")
    form = lxml.html.fromstring(auditor.get(f"/letters/new?kind=opinion&department={world.dept['b']}").text)
    boxes = {int(b.get("value")): b.get("checked") is not None for b in form.xpath("//input[@name='problem']")}
    assert boxes and boxes[world.problem["b"]]  # JB-001's REV01 is serious: ticked for the 意见书
    deadline = (TODAY + dt.timedelta(days=30)).isoformat()
    fields = {"kind": "opinion", "department": str(world.dept["b"]), "deadline": deadline, "prefix": "乙司监督",
              "issuer": "乙县司法局", "problem": str(world.problem["b"])}
    preview = auditor.get("/letters/preview", query_string=fields)
    assert preview.mimetype.endswith("wordprocessingml.document")
    assert f"意见书（未编号）_{DEPT_B}.docx" in unquote(preview.headers["Content-Disposition"])
    assert "〔　　〕号" in "\n".join(p.text for p in docx.Document(io.BytesIO(preview.data)).paragraphs)
    issued = post(auditor, "/letters/issue", fields)
    assert issued.status_code == 303
    register = auditor.get(issued.headers["Location"]).text
    number = f"乙司监督〔{TODAY.year}〕1号"
    assert number in register and f"已发文：{number} 行政执法监督意见书，引用问题 1 个。" in register
    with database_session(world.app) as db:
        document = db.scalar(select(IssuedDocument))
        assert (document.department, document.problem_ids, document.issued_by) == (DEPT_B, [world.problem["b"]],
                                                                                   "auditor")
    fetched = auditor.get(f"/letters/{document.id}/file")
    assert number in "\n".join(p.text for p in docx.Document(io.BytesIO(fetched.data)).paragraphs)
    review = auditor.get("/review?state=pending").text
    assert f"已发意见书：{number}" in review
    again = post(auditor, "/letters/issue", fields)
    assert f"乙司监督〔{TODAY.year}〕2号" in auditor.get(again.headers["Location"]).text


def test_a_letter_that_cannot_be_made_sends_back_to_its_form_with_the_reason(world):
    auditor = client_for(world.app, "auditor")
    refused = post(auditor, "/letters/issue", {"kind": "decision", "department": str(world.dept["b"]),
                                                "deadline": (TODAY - dt.timedelta(days=1)).isoformat(), "prefix": "乙司"})
    assert refused.status_code == 303 and "/letters/new?kind=decision" in refused.headers["Location"]
    page = auditor.get(refused.headers["Location"]).text
    assert "应晚于发文日期" in page
    with database_session(world.app) as db:
        assert db.scalar(select(IssuedDocument.id)) is None


def test_the_annual_review_of_a_device(world):
    auditor = client_for(world.app, "auditor")
    listing = lxml.html.fromstring(auditor.get("/assessments").text)
    codes = [a.text_content() for a in listing.xpath("//table[@id='assessment-list']//td[1]/a")]
    assert codes == ["JB-001", "JB-002", "JA-001", "JA-002", "JA-003"]  # by department name (乙 before 甲)
    device = world.device["JB-002"]
    page = auditor.get(f"/assessments/devices/{device}").text
    assert "评估依据" in page and "设置依据" in page and "尚未评估" in page
    dated = auditor.get(f"/assessments/devices/{device}?on=2024-12-20").text
    assert "评估依据（截至 2024-12-20）" in dated and 'name="on" value="2024-12-20"' in dated
    post(auditor, f"/assessments/devices/{device}", {"outcome": "remove", "reason": "路段已封闭，无设置必要",
                                                     "on": "2024-12-20"})
    page = auditor.get(f"/assessments/devices/{device}").text
    assert "已记录 JB-002 乙县测速 的年度评估：拆除。" in page and "路段已封闭，无设置必要" in page
    with database_session(world.app) as db:
        done = db.scalar(select(SiteAssessment))
        assert (done.assessed_by, done.assessed_on) == ("auditor", dt.date(2024, 12, 20))
    post(auditor, f"/assessments/devices/{device}", {"outcome": "keep", "reason": ""})
    assert "请写明评估理由" in auditor.get(f"/assessments/devices/{device}").text
    clerk = client_for(world.app, "dept_b")
    own = clerk.get(f"/assessments/devices/{device}").text
    assert "路段已封闭" in own and 'id="assess-form"' not in own  # the department reads it, the auditor decides
