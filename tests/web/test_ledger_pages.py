"""整改台账 pages: the list with overdue flags and the re-check, and the steps on one item with its history."""
from __future__ import annotations

import datetime as dt

import lxml.html
from sqlalchemy import select

from audit.casework import decisions
from audit.registry.models import LedgerEvent, LedgerItem
from audit.registry.models import Device
from audit.casework.problems import audit_and_record
from audit.registry.models import Finding

from .support import AS_OF, DEPT_A, DEPT_B, XSS_NAME, client_for, database_session, post


def table(html: str, table_id: str) -> list[list[str]]:
    """The body rows of a table as cell texts."""
    doc = lxml.html.fromstring(html)
    return [[" ".join(td.text_content().split()) for td in tr.findall("td")]
            for tr in doc.get_element_by_id(table_id).iterfind("tbody/tr")]


def flash(html: str) -> str:
    doc = lxml.html.fromstring(html)
    return " ".join(" ".join(el.text_content().split()) for el in doc.find_class("flash"))


def status_of(app, item_id: int) -> str:
    with database_session(app) as db:
        return db.get(LedgerItem, item_id).status


def rectify(app, code: str, rule: str, deadline: dt.date, problem: str | None = None) -> int:
    """A ledger item on the device's finding of this rule, decided today by the auditor."""
    with database_session(app) as db:
        finding = db.scalar(select(Finding).where(Finding.device_code == code, Finding.rule == rule))
        _, item = decisions.rectify(db, finding.device_id, measure="设置标识", requirement="设置明显可见的标识",
                                    deadline=deadline, responsible="李四", user="auditor",
                                    finding_ids=[finding.id], problem=problem)
        db.commit()
        return item.id


def test_the_workflow_through_the_pages(world):
    item = world.ledger_b
    url = f"/ledger/{item}"
    clerk_b, clerk_a = client_for(world.app, "dept_b"), client_for(world.app, "dept_a")
    auditor = client_for(world.app, "auditor")

    # The department reports progress on its own item; another department cannot see or touch it.
    assert "补办审核" in clerk_b.get("/ledger").text and "补办审核" not in clerk_a.get("/ledger").text
    assert clerk_a.get(url).status_code == 404
    assert post(clerk_a, f"{url}/advance", {"to_status": "整改中"}).status_code == 404
    response = post(clerk_b, f"{url}/advance", {"to_status": "整改中", "note": "已报法制审核"})
    assert response.status_code == 303 and response.headers["Location"] == url
    response = post(clerk_b, f"{url}/advance", {"to_status": "已整改待核查", "note": "已取得审核意见书"},
                    follow_redirects=True)
    assert "已改为“已整改待核查”" in flash(response.text)
    # Checking, closing and reopening are the auditor's.
    assert post(clerk_b, f"{url}/advance", {"to_status": "整改中", "note": "撤回"}).status_code == 403
    assert post(clerk_b, f"{url}/close", {"evidence": "自己说好了"}).status_code == 403
    assert 'id="close-form"' not in clerk_b.get(url).text
    assert status_of(world.app, item) == "已整改待核查"

    # Closing needs the evidence; the refusal says so and changes nothing.
    page = auditor.get(url).text
    assert 'id="close-form"' in page and 'id="reopen-form"' not in page
    refused = post(auditor, f"{url}/close", {"evidence": "  "}, follow_redirects=True)
    assert "销号须写明核查情况和证据" in flash(refused.text)
    assert status_of(world.app, item) == "已整改待核查"
    closed = post(auditor, f"{url}/close", {"evidence": "审核意见书 乙交法审〔2024〕3号"}, follow_redirects=True)
    assert "已销号" in flash(closed.text)
    with database_session(world.app) as db:
        row = db.get(LedgerItem, item)
        assert (row.status, row.closed_by, row.close_evidence) == ("已销号", "auditor", "审核意见书 乙交法审〔2024〕3号")
        assert row.closed_on == dt.date.today()
    assert 'id="reopen-form"' in closed.text and 'id="close-form"' not in closed.text
    assert post(clerk_b, f"{url}/reopen", {"reason": "想重来"}).status_code == 403

    # Reopening needs a reason and is a new event; the closing stays in the history.
    refused = post(auditor, f"{url}/reopen", {"reason": ""}, follow_redirects=True)
    assert "须说明理由" in flash(refused.text) and status_of(world.app, item) == "已销号"
    reopened = post(auditor, f"{url}/reopen", {"reason": "复查发现审核意见书未盖章"}, follow_redirects=True)
    assert status_of(world.app, item) == "整改中"
    history = table(reopened.text, "item-history")
    assert [(r[1], r[2], r[3]) for r in history] == [
        ("auditor", "（立项）", "待整改"),
        ("clerk_b", "待整改", "整改中"),
        ("clerk_b", "整改中", "已整改待核查"),
        ("auditor", "已整改待核查", "已销号"),
        ("auditor", "已销号", "整改中"),
    ]
    assert history[2][4] == "已取得审核意见书" and history[3][4] == "审核意见书 乙交法审〔2024〕3号"
    assert history[4][4].startswith("复查发现审核意见书未盖章（原于") and "由 auditor 销号" in history[4][4]
    with database_session(world.app) as db:
        assert db.scalar(select(LedgerEvent.user).where(LedgerEvent.item_id == item)
                         .order_by(LedgerEvent.id.desc()).limit(1)) == "auditor"
    # The clerk sees the same history on the item's page.
    assert table(clerk_b.get(url).text, "item-history") == history


def test_an_auditor_sends_back_an_item_that_fails_the_check(world):
    item, url = world.ledger_b, f"/ledger/{world.ledger_b}"
    clerk, auditor = client_for(world.app, "dept_b"), client_for(world.app, "auditor")
    post(clerk, f"{url}/advance", {"to_status": "已整改待核查", "note": "已整改"})
    refused = post(auditor, f"{url}/advance", {"to_status": "整改中"}, follow_redirects=True)
    assert "须说明理由" in flash(refused.text) and status_of(world.app, item) == "已整改待核查"
    post(auditor, f"{url}/advance", {"to_status": "整改中", "note": "现场未见标识"})
    assert status_of(world.app, item) == "整改中"


def test_overdue_items_are_flagged_and_the_filters_apply(world):
    soon = rectify(world.app, "JA-002", "SGN01", dt.date.today() + dt.timedelta(days=30))
    auditor = client_for(world.app, "auditor")
    rows = {r[0]: r for r in table(auditor.get("/ledger").text, "ledger-table")}
    assert set(rows) == {str(world.ledger_b), str(soon)}
    # ledger_b's deadline (2024-07-30) has passed; the new item's has not.
    assert "已逾期" in rows[str(world.ledger_b)][6] and "已逾期" not in rows[str(soon)][6]
    assert [r[0] for r in table(auditor.get("/ledger?overdue=1").text, "ledger-table")] == [str(world.ledger_b)]
    of_a = table(auditor.get(f"/ledger?department={world.dept['a']}").text, "ledger-table")
    assert [r[1] for r in of_a] == [DEPT_A]
    assert table(auditor.get("/ledger?status=已销号").text, "ledger-table")[0][0] == "没有符合条件的整改事项。"
    # Reported rectified, the item waits for the checker and is no longer the department's overdue.
    post(client_for(world.app, "dept_b"), f"/ledger/{world.ledger_b}/advance",
         {"to_status": "已整改待核查", "note": "完成"})
    [row] = table(auditor.get("/ledger?status=已整改待核查").text, "ledger-table")
    assert row[0] == str(world.ledger_b) and "已逾期" not in row[6]
    # A department user sees its own items only, and has no department filter to choose.
    clerk = client_for(world.app, "dept_a").get("/ledger").text
    assert [r[1] for r in table(clerk, "ledger-table")] == [DEPT_A] and 'name="department"' not in clerk


def test_an_item_of_a_removed_device_shows_closed_for_that_reason_and_cannot_be_reopened(world):
    item, url = world.ledger_b, f"/ledger/{world.ledger_b}"
    with database_session(world.app) as db:
        decisions.remove(db, db.get(LedgerItem, item).device_id, user="auditor", reason="道路改造，设备撤除")
        db.commit()
    auditor = client_for(world.app, "auditor")
    [row] = [r for r in table(auditor.get("/ledger").text, "ledger-table") if r[0] == str(item)]
    assert row[8].startswith("已销号（设备已拆除）") and "已逾期" not in row[6]
    assert row[9] == "设备已拆除"  # the removal resolved its problem: the 复查 says so before any audit
    page = auditor.get(url).text
    assert "设备已拆除，未经整改核查" in " ".join(page.split()) and 'id="reopen-form"' not in page
    with database_session(world.app) as db:
        device_id = db.get(LedgerItem, item).device_id
    device_page = " ".join(auditor.get(f"/devices/{device_id}").text.split())
    assert f"已消除：设备已拆除（{dt.date.today().isoformat()}）" in device_page


def test_the_ledger_is_compared_with_the_latest_audit_run(world):
    signs = rectify(world.app, "JA-002", "SGN01", dt.date.today() + dt.timedelta(days=30))
    auditor = client_for(world.app, "auditor")

    def results() -> dict[str, str]:
        return {r[0]: r[9] for r in table(auditor.get("/ledger").text, "ledger-table")}

    # The only run predates both items: it cannot tell whether they were fixed.
    assert results() == {str(world.ledger_b): "复查未能判断", str(signs): "复查未能判断"}
    # The sign is put up; JB-001's verification is still overdue. A new run tells them apart.
    with database_session(world.app) as db:
        db.get(Device, world.device["JA-002"]).signage = True
        db.commit()
        run, _, _ = audit_and_record(db, as_of=AS_OF, user="auditor")
        db.commit()
        run_id = run.id
    assert results() == {str(world.ledger_b): "复查仍存在", str(signs): "复查已整改"}
    page = auditor.get(f"/ledger/{signs}").text
    assert "复查已整改" in page and f"第 {run_id} 次审查" in page
    # A later run of department B alone is B's latest; A's item keeps the comparison with the full run.
    with database_session(world.app) as db:
        run_b, _, _ = audit_and_record(db, as_of=AS_OF, department=DEPT_B, user="auditor")
        db.commit()
        run_b_id = run_b.id
    assert results() == {str(world.ledger_b): "复查仍存在", str(signs): "复查已整改"}
    summary = " ".join(auditor.get("/ledger").text.split())
    assert f"依据第 {run_id} 次审查（基准日 2024-06-30）：{DEPT_A}" in summary
    assert f"依据第 {run_b_id} 次审查（基准日 2024-06-30）：{DEPT_B}" in summary
    # The latest run, as of a day before the devices went into use, examined neither problem: each item keeps the
    # result of the latest run that examined its problem.
    with database_session(world.app) as db:
        audit_and_record(db, as_of=dt.date(2021, 6, 30), user="auditor")
        db.commit()
    assert results() == {str(world.ledger_b): "复查仍存在", str(signs): "复查已整改"}
    assert summary == " ".join(auditor.get("/ledger").text.split())
    page = auditor.get(f"/ledger/{world.ledger_b}").text
    assert "复查仍存在" in page and f"第 {run_b_id} 次审查（基准日 2024-06-30）" in page


def test_ledger_text_is_escaped(world):
    item = rectify(world.app, "JA-002", "SGN01", dt.date.today(), problem=XSS_NAME)
    auditor = client_for(world.app, "auditor")
    for url in ("/ledger", f"/ledger/{item}"):
        page = auditor.get(url).text
        assert XSS_NAME not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page, url
