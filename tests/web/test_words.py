"""Chinese words for what people read: the change log as field: before → after, the upload summary, profile titles,
and messages that name devices by code and name instead of database ids."""
from __future__ import annotations

import re

import lxml.html
from sqlalchemy import select

from audit.registry.models import Finding

from .support import ROWS_A, client_for, confirm, database_session, post, token_of, upload
from .test_upload import csv_bytes

INTERNAL = re.compile(r"\b(create|update|missing|reappear|missing_since_batch_id|dry-run|national|guangdong)\b|\{\"")


def table_rows(html: str, table_id: str) -> list[list[str]]:
    page = lxml.html.fromstring(html)
    return [[td.text_content().strip() for td in tr.findall("td")]
            for tr in page.get_element_by_id(table_id).iterfind("tbody/tr")]


def flashes(html: str) -> list[str]:
    return [e.text_content().strip() for e in lxml.html.fromstring(html).find_class("flash")]


def test_the_change_log_is_a_table_of_fields_with_chinese_headers(world):
    clerk = client_for(world.app, "dept_a")
    # JA-001 renamed and JA-003 left out of the next upload, then uploaded again.
    renamed = ROWS_A[1].replace("府前路闯红灯", "府前路口闯红灯")
    for rows in ([ROWS_A[0], renamed], [ROWS_A[0], renamed, ROWS_A[2]]):
        token = token_of(upload(clerk, "设备登记表.csv", csv_bytes(*rows)))
        confirm(clerk, token)
    auditor = client_for(world.app, "auditor")
    page = auditor.get(f"/devices/{world.device['JA-002']}").text
    rows = table_rows(page, "change-table")
    edit = next(r for r in rows if "修改登记信息" in r)
    assert edit[4:] == ["设备名称", "府前路闯红灯", "→", "府前路口闯红灯"] and edit[1] == "clerk_a"
    created = next(i for i, r in enumerate(rows) if "新增设备" in r)
    assert rows[created][4:] == ["设备编号", "", "", "JA-002"]  # the new device's fields, one per row
    assert rows[created + 1] == ["设备名称", "", "", "府前路闯红灯"] and ["标识设置", "", "", "否"] in rows
    history = table_rows(auditor.get(f"/devices/{world.device['JA-003']}").text, "change-table")
    gone = next(r for r in history if "未出现在上传的登记表中（待核实）" in r)
    back = next(r for r in history if "重新出现在上传的登记表中" in r)
    assert gone[4] == back[4] == "登记表上传" and "没有该设备" in gone[-1] and back[-1] == "已重新上传"
    section = lxml.html.fromstring(page).get_element_by_id("change-table").text_content()
    assert not INTERNAL.search(section), INTERNAL.search(section)


def test_the_upload_report_names_fields_in_chinese_and_no_command_line_option(world):
    clerk = client_for(world.app, "dept_a")
    token = token_of(upload(clerk, "a.csv", csv_bytes(ROWS_A[0])))
    confirm(clerk, token)  # JA-002 and JA-003 are now missing (待核实)
    again = ROWS_A[1].replace("府前路闯红灯", "府前路口闯红灯")
    token = token_of(upload(clerk, "b.csv", csv_bytes(ROWS_A[0], again)))
    page = clerk.get(f"/upload/{token}").text
    summary = lxml.html.fromstring(page).find_class("import-summary")[0].text_content()
    assert "变更 1 台" in summary and "JA-002（设备名称、重新上传（原待核实））" in summary
    assert "本次文件中缺少 1 台（未删除，已标记待核实）：JA-003" in summary
    assert "--dry-run" not in page and "试导入" not in page and not INTERNAL.search(summary)


def test_messages_and_citations_name_the_device_and_the_rule(world):
    auditor = client_for(world.app, "auditor")
    with database_session(world.app) as db:
        finding = db.scalar(select(Finding).where(Finding.device_code == "JA-002", Finding.rule == "SGN01"))
        finding_id = finding.id
    device_page = f"/devices/{world.device['JA-002']}"
    labels = [e.text_content().strip() for e in lxml.html.fromstring(auditor.get(device_page).text).find_class("cite")]
    assert "SGN01 设置地点无明显可见标识 · 较重" in labels
    assert not any("#" in label for label in labels)
    post(auditor, f"/review/problems/{finding.problem_id}", {"decision": "confirm", "next": device_page})
    shown = flashes(auditor.get(device_page).text)
    assert shown == ["已确认问题：JA-002 府前路闯红灯 · SGN01 设置地点无明显可见标识。"]
    assert str(finding_id) not in shown[0] and str(finding.problem_id) not in shown[0]
    post(auditor, f"/review/devices/{world.device['JA-002']}/suspend", {"reason": "无标识", "next": device_page})
    assert flashes(auditor.get(device_page).text) == ["已停用设备 JA-002 府前路闯红灯。"]
    decisions = table_rows(auditor.get(device_page).text, "decision-table")
    assert decisions[0][1:4] == ["停用", "无标识", ""]
    post(auditor, f"/ledger/{world.ledger_b}/advance", {"to_status": "整改中"})
    assert flashes(auditor.get(f"/ledger/{world.ledger_b}").text) == [
        "整改台账第 1 项（JB-001 乙县超限检测站）已改为“整改中”。"]


def test_profiles_are_shown_by_their_titles(world):
    auditor = client_for(world.app, "auditor")
    page = lxml.html.fromstring(auditor.get("/").text)
    options = {o.get("value"): o.text for o in page.xpath("//select[@name='profile']/option")}
    assert options == {"national": "全国通用", "guangdong": "广东省"}
    runs = page.get_element_by_id("run-audit").text_content()
    assert "全国通用" in runs and "national" not in runs
    review = auditor.get("/review").text
    assert "审查配置 全国通用" in review and "national" not in review


def test_a_refused_document_does_not_mention_command_line_options(shared_world):
    auditor = client_for(shared_world.app, "auditor")
    page = auditor.get("/documents/file?document=opinion-letter.docx").text
    assert "监督意见书须指明一个单位" in page and "--department" not in page and "命令行" not in page
