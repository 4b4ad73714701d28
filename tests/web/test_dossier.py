"""The dossier over HTTP: files checked by content and scoped by department, a refused file changes nothing (a
ledger step included), answers and their replies, 待办 as each role sees it, the spot-check form's messages."""
from __future__ import annotations

import io
from pathlib import Path

import lxml.html
from sqlalchemy import func, select

from audit.intake.columns import DEVICE_COLUMNS
from audit.registry.models import Attachment, LedgerItem, Problem, ProblemResponse
from tests import filesamples
from web.devices.detail import SECTIONS

from .support import DEPT_B, client_for, database_session, post


def send(client, url, files, **fields):
    data = {**fields, "files": [(io.BytesIO(content), name) for name, content in files]}
    return post(client, url, data, content_type="multipart/form-data")


def flashes(response) -> str:
    return " ".join(e.text_content() for e in lxml.html.fromstring(response.text).find_class("flash"))


def count(app, model) -> int:
    with database_session(app) as db:
        return db.scalar(select(func.count(model.id))) or 0


def test_every_inventory_column_has_its_place_in_the_dossier():
    placed = [k for _key, _title, fields in SECTIONS for k in fields]
    assert sorted(placed) == sorted(c.key for c in DEVICE_COLUMNS if c.key != "department")


def test_a_renamed_program_is_refused_and_nothing_is_stored(world):
    clerk = client_for(world.app, "dept_a")
    response = send(clerk, f"/attachments/device/{world.device['JA-002']}", [("photo.jpg", filesamples.EXE)],
                    purpose="标识照片", next=f"/devices/{world.device['JA-002']}")
    assert response.status_code == 303
    page = clerk.get(response.headers["Location"])
    assert "“photo.jpg”不是 JPG、PNG 图片或 PDF 文件" in flashes(page) and "Windows 可执行程序" in flashes(page)
    assert count(world.app, Attachment) == 0
    assert not any(Path(world.app.config["ATTACHMENTS_FOLDER"]).rglob("*.*"))


def test_a_file_is_served_to_its_department_and_auditors_only(world):
    clerk_a, clerk_b, auditor = (client_for(world.app, r) for r in ("dept_a", "dept_b", "auditor"))
    pdf = filesamples.pdf(pages=2)
    send(clerk_a, f"/attachments/device/{world.device['JA-001']}", [("法制审核意见书.pdf", pdf)], purpose="审核文书",
         note="甲公法审〔2023〕12号")
    with database_session(world.app) as db:
        attachment = db.scalar(select(Attachment))
    for client in (clerk_a, auditor):
        got = client.get(f"/attachments/{attachment.id}")
        assert got.status_code == 200 and got.data == pdf and got.mimetype == "application/pdf"
        assert got.headers["Content-Disposition"].startswith("attachment;")  # a PDF downloads, never runs here
        assert "sandbox" in got.headers["Content-Security-Policy"]
        assert client.get(f"/attachments/{attachment.id}/thumb").data[:3] == b"\xff\xd8\xff"
    for url in (f"/attachments/{attachment.id}", f"/attachments/{attachment.id}/thumb"):
        refused = clerk_b.get(url)
        assert refused.status_code == 404 and "法制审核意见书" not in refused.text
    assert send(clerk_b, f"/attachments/device/{world.device['JA-001']}", [("a.jpg", filesamples.jpeg())],
                purpose="标识照片").status_code == 404
    # Filed under 法制和技术审核 on the dossier, beside the review's date and number.
    page = lxml.html.fromstring(clerk_a.get(f"/devices/{world.device['JA-001']}").text)
    review = page.get_element_by_id("dossier-review").text_content()
    assert "法制审核意见书.pdf" in review and "2 页" in review and "甲公法审〔2023〕12号" in review
    assert "技术审核文号" in review
    assert "法制审核意见书.pdf" not in page.get_element_by_id("dossier-signage").text_content()


def test_a_ledger_step_with_a_refused_file_is_not_taken(world):
    clerk = client_for(world.app, "dept_b")
    url = f"/ledger/{world.ledger_b}/advance"
    response = send(clerk, url, [("照片.jpg", filesamples.jpeg()), ("photo.jpg", filesamples.EXE)],
                    to_status="已整改待核查", note="已补办审核")
    assert "附件未上传" in flashes(clerk.get(response.headers["Location"]))
    with database_session(world.app) as db:
        assert db.get(LedgerItem, world.ledger_b).status == "待整改"  # the step went with its files, or not at all
    assert count(world.app, Attachment) == 0
    send(clerk, url, [("照片.jpg", filesamples.jpeg())], to_status="已整改待核查", note="已补办审核")
    with database_session(world.app) as db:
        item = db.get(LedgerItem, world.ledger_b)
        assert item.status == "已整改待核查"
        assert [(a.filename, a.purpose, a.ledger_event_id) for a in item.attachments] == [
            ("照片.jpg", "整改佐证材料", item.events[-1].id)]


def test_answers_and_replies_each_by_their_own_side(world):
    clerk, auditor = client_for(world.app, "dept_b"), client_for(world.app, "auditor")
    with database_session(world.app) as db:  # a problem not being rectified (so 待办 lists it)
        problem, device = db.execute(select(Problem.id, Problem.device_id).where(
            Problem.department == DEPT_B, Problem.open_item_id.is_(None)).order_by(Problem.id).limit(1)).one()
    assert post(auditor, f"/problems/{problem}/responses", {"kind": "说明", "text": "审查人员不能答复"}
                ).status_code == 403
    send(clerk, f"/problems/{problem}/responses", [("检定证书.jpg", filesamples.jpeg())], kind="申辩",
         text="检定证书已更新，见附件。")
    with database_session(world.app) as db:
        response = db.scalar(select(ProblemResponse))
        assert [a.purpose for a in response.attachments] == ["说明材料"]
    assert post(clerk, f"/responses/{response.id}/accept", {}).status_code == 403
    review = auditor.get("/review?state=responses").text
    assert "检定证书已更新" in review and "accept-form" in review
    post(auditor, f"/responses/{response.id}/reject", {"reason": "证书有效期仍早于审查基准日"})
    todo = clerk.get("/todo").text
    assert "上次申辩未予采纳：证书有效期仍早于审查基准日" in todo
    page = clerk.get(f"/devices/{device}").text
    assert "不予采纳" in page and "response-form" in page  # the department may answer again


def test_todo_as_each_role_sees_it(world):
    auditor = client_for(world.app, "auditor").get("/todo").text
    rows = {r.xpath("td[1]")[0].text_content(): [c.text_content() for c in r.xpath("td")[1:]]
            for r in lxml.html.fromstring(auditor).xpath("//table[@id='todo-overview']/tbody/tr")}
    assert rows[DEPT_B][2:4] == ["1", "1"]  # one ledger item, overdue
    clerk = client_for(world.app, "dept_b").get("/todo")
    assert clerk.status_code == 200 and DEPT_B in clerk.text and "todo-overview" not in clerk.text
    overdue = lxml.html.fromstring(clerk.text).xpath(f"//tr[@data-item='{world.ledger_b}']")[0]
    assert "已逾期" in overdue.text_content() and "error" in overdue.get("class")


def test_the_spot_check_form_says_what_is_wrong(world):
    auditor = client_for(world.app, "auditor")
    for fields, message in (({"devices": "三台", "roster": "甲\n乙"}, "抽查设备数须为整数，“三台”不是整数"),
                            ({"devices": "99", "roster": "甲\n乙"}, "在用设备只有"),
                            ({"devices": "1", "roster": "甲"}, "至少 2 名执法检查人员"),
                            ({"devices": "1", "roster": "甲\n乙", "seed": "-5"}, "随机种子须为整数")):
        response = post(auditor, "/spotchecks", fields)
        assert response.status_code == 400 and message in flashes(response), message
        assert "甲" in response.text  # what was typed is kept
