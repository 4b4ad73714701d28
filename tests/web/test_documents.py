"""文书导出: each document downloads under its Chinese name and opens; a department exports only its own."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
from urllib.parse import quote, urlencode

import docx
import lxml.html
import openpyxl
import pytest
from sqlalchemy import select

from audit.casework.problems import audit_and_record
from audit.registry.models import Finding

from .support import AS_OF, DEPT_A, DEPT_B, client_for, database_session, post

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def download(client, **params):
    return client.get("/documents/file?" + urlencode(params))


def sheet_text(response) -> str:
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    return "\n".join(str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row
                     if v is not None)


def docx_text(response) -> str:
    document = docx.Document(io.BytesIO(response.data))
    cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def error_of(response) -> str:
    return lxml.html.fromstring(response.text).get_element_by_id("export-error").text_content()


def test_the_self_inspection_list_downloads_under_its_chinese_name(shared_world):
    auditor = client_for(shared_world.app, "auditor")
    response = download(auditor, document="self-inspection.xlsx", department=shared_world.dept["b"],
                        as_of=AS_OF.isoformat())
    assert response.status_code == 200 and response.mimetype == XLSX
    name = f"突出问题清单_{DEPT_B}_2024-06-30.xlsx"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{quote(name)}" in disposition
    assert "filename=self-inspection_2024-06-30.xlsx" in disposition  # the ASCII fallback
    text = sheet_text(response)
    assert "罚款实施专项监督突出问题清单" in text and f"填报单位（盖章）：{DEPT_B}" in text
    assert "JB-001" in text and "JA-" not in text


@pytest.mark.parametrize("document, mimetype", [
    ("suspension-list.docx", DOCX), ("self-inspection.docx", DOCX), ("ledger.xlsx", XLSX),
    ("public-notice.xlsx", XLSX), ("opinion-letter.docx", DOCX), ("findings.geojson", "application/geo+json"),
    ("findings.csv", "text/csv"),
])
def test_every_kind_opens(shared_world, document, mimetype):
    auditor = client_for(shared_world.app, "auditor")
    response = download(auditor, document=document, department=shared_world.dept["b"], as_of="2024-07-01",
                        issuer="某县司法局")
    assert response.status_code == 200, response.text
    assert response.mimetype == mimetype
    suffix = document.rpartition(".")[2]
    assert f"_{quote(DEPT_B)}_2024-07-01.{suffix}" in response.headers["Content-Disposition"]
    if suffix == "xlsx":
        text = sheet_text(response)
    elif suffix == "docx":
        text = docx_text(response)
    elif suffix == "geojson":
        features = json.loads(response.data)["features"]
        text = "\n".join(f["properties"]["device_code"] or "" for f in features)
        assert features and {f["properties"]["department"] for f in features} == {DEPT_B}
    else:
        rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
        text = "\n".join(",".join(r) for r in rows)
        assert len(rows) > 1
    assert "JA-" not in text
    if document == "ledger.xlsx":
        assert "补办审核" in text and "张三" in text
    if document == "opinion-letter.docx":
        assert DEPT_B in text and "某县司法局" in text


def offered_cases(client, **params) -> dict[str, str]:
    form = lxml.html.fromstring(client.get("/documents?" + urlencode(params)).text)
    return {o.get("value"): o.text for o in form.xpath("//select[@name='case']/option") if o.get("value")}


def test_the_typical_case_is_one_of_the_chosen_departments_confirmed_problems(world):
    auditor = client_for(world.app, "auditor")
    assert offered_cases(auditor) == {}  # nothing confirmed yet
    assert "还没有经核查确认的问题" in auditor.get("/documents").text
    with database_session(world.app) as db:
        chosen = {code_rule: db.scalar(select(Finding.id).where(Finding.device_code == code_rule[0],
                                                                 Finding.rule == code_rule[1]))
                  for code_rule in (("JB-001", "REV01"), ("JA-002", "SGN01"), ("JA-001", "SGN02"))}
        problem_of = dict(db.execute(select(Finding.id, Finding.problem_id)
                                     .where(Finding.id.in_(list(chosen.values())))).all())
    for finding in chosen.values():  # JA-001's SGN02 cannot be assessed: never a typical case (nor reviewed)
        if problem_of[finding] is not None:
            post(auditor, f"/review/problems/{problem_of[finding]}", {"decision": "confirm"})
    shared = chosen[("JA-002", "SGN01")]
    post(auditor, f"/review/problems/{problem_of[shared]}", {"decision": "dismiss", "reason": "已有标识"})
    assert offered_cases(auditor) == {str(chosen[("JB-001", "REV01")]):
                                      f"JB-001 乙县超限检测站 · {DEPT_B} · REV01 在用设备未经法制审核 · 严重"}
    assert offered_cases(auditor, department=world.dept["a"]) == {}  # JA-002's was dismissed again
    post(auditor, f"/review/problems/{problem_of[shared]}", {"decision": "confirm"})
    assert list(offered_cases(auditor, department=world.dept["a"])) == [str(shared)]
    assert list(offered_cases(auditor, department=world.dept["b"])) == [str(chosen[("JB-001", "REV01")])]
    case = chosen[("JB-001", "REV01")]
    response = download(auditor, document="summary.docx", case=case, as_of=AS_OF.isoformat())
    assert response.status_code == 200 and response.mimetype == DOCX
    assert quote(f"专项监督工作总结_全部单位_{AS_OF.isoformat()}.docx") in response.headers["Content-Disposition"]
    text = docx_text(response)
    assert "罚款实施专项监督工作总结" in text and "设备 JB-001" in text


def test_the_date_defaults_to_the_audit_runs_date(world):
    auditor = client_for(world.app, "auditor")

    def shown_date(**params):
        form = lxml.html.fromstring(auditor.get("/documents?" + urlencode(params)).text)
        return form.xpath("//input[@name='as_of']/@value")[0]

    assert shown_date() == AS_OF.isoformat()  # the run's date, not today
    with database_session(world.app) as db:
        later = audit_and_record(db, as_of=dt.date(2024, 9, 30), department=DEPT_B, user="auditor")[0].id
        db.commit()
    assert shown_date(department=world.dept["b"]) == "2024-09-30"  # B's latest run
    assert shown_date(department=world.dept["a"]) == AS_OF.isoformat()  # A is still on the run of all
    assert shown_date() == AS_OF.isoformat()
    assert shown_date(run=later) == "2024-09-30" and shown_date(run=world.run_id) == AS_OF.isoformat()
    assert shown_date(as_of="2024-12-31", run=later) == "2024-12-31"  # what the user typed stays


@pytest.mark.parametrize("params, message", [
    ({"document": "ledger.docx"}, "整改台账（ledger）只能导出为 .xlsx 文件"),
    ({"document": "opinion-letter.docx"}, "监督意见书须指明一个单位"),
    ({"document": "findings.csv", "run": "999"}, "没有编号为 999 的审查记录"),
    ({"document": "findings.csv", "run": "第一次"}, "审查批次“第一次”应为编号"),
    ({"document": "ledger.xlsx", "as_of": "2024/6/30"}, "日期“2024/6/30”格式不对"),
    ({"document": "ledger.pdf"}, "不支持的文件格式“pdf”"),
    ({"document": "minutes.docx"}, "请选择要导出的文书"),
])
def test_a_document_that_cannot_be_made_shows_the_form_with_the_reason(shared_world, params, message):
    auditor = client_for(shared_world.app, "auditor")
    response = download(auditor, issuer="保留的落款", **params)
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert message in error_of(response)
    assert 'value="保留的落款"' in response.text  # what was filled in stays


def test_a_department_exports_its_own_department_only(world):
    clerk = client_for(world.app, "dept_a")
    form = clerk.get("/documents").text
    options = lxml.html.fromstring(form).xpath("//select[@name='department']/option")
    assert [(o.get("value"), o.text) for o in options] == [(str(world.dept["a"]), DEPT_A)]
    assert "JB-" not in form
    kinds = {o.get("value").partition(".")[0]
             for o in lxml.html.fromstring(form).xpath("//select[@name='document']//option")}
    # Its own reports too (自查报告, 季度报告, 工作总结 …), not the bureau's letters, work report and bulletin.
    assert kinds == {"suspension-list", "self-inspection", "ledger", "public-notice", "findings", "data-requests",
                     "self-report", "quarterly", "summary", "typical-case", "accountability-note", "new-devices",
                     "site-review", "task-list"}
    assert 'name="case"' not in form and "监督意见书" not in form and "专项监督工作报告" not in form
    for document in ("work-report.docx", "bulletin.docx", "opinion-letter.docx"):  # the bureau's own documents
        assert download(clerk, document=document).status_code == 403
    summary = download(clerk, document="summary.docx")
    assert summary.status_code == 200 and f"{DEPT_A}罚款实施专项监督工作总结" in docx_text(summary)
    # Without a department the document is still its own department's.
    response = download(clerk, document="ledger.xlsx")
    assert response.status_code == 200 and quote(DEPT_A) in response.headers["Content-Disposition"]
    assert "补办审核" not in sheet_text(response)
    assert "JB-" not in docx_text(download(clerk, document="suspension-list.docx"))
    # Another department, its finding as typical case, or a run of it alone: 404, its name not told.
    b_finding = world.finding["b"]
    with database_session(world.app) as db:
        run_b = audit_and_record(db, as_of=AS_OF, department=DEPT_B, user="auditor")[0].id
        db.commit()
        own = db.scalar(select(Finding.id).where(Finding.department == DEPT_A))
    for params in ({"department": world.dept["b"]}, {"case": b_finding}, {"run": run_b}):
        response = download(clerk, document="self-inspection.docx", **params)
        assert response.status_code == 404 and DEPT_B not in response.text, params
    assert clerk.get(f"/documents?run={run_b}").status_code == 404
    assert download(clerk, document="self-inspection.docx", case=own).status_code == 200
    assert download(clerk, document="findings.csv", run=world.run_id).status_code == 200
