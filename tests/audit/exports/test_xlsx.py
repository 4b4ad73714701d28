"""The xlsx documents: government layout, the rows and headers a clerk expects, inert dangerous text."""
from __future__ import annotations

import datetime as dt
import zipfile

import openpyxl
import pytest
from sqlalchemy import select

from audit.casework import decisions as D
from audit.registry.models import Finding
from tests.audit.exports import world

XLSX_KINDS = ["suspension-list", "self-inspection", "ledger", "public-notice"]
TITLES = {"suspension-list": "非现场执法设备停用清单", "self-inspection": "罚款实施专项监督突出问题清单",
          "ledger": "罚款实施专项监督问题整改台账", "public-notice": "电子技术监控设备设置地点公告"}


def sheet(filed, kind, tmp_path, **kwargs):
    path = filed.export(kind, tmp_path / f"{kind}.xlsx", **kwargs)
    wb = openpyxl.load_workbook(path)
    return wb.worksheets[0], path


def headers(ws):
    """Lower-level headers: row 5, or row 4 where a column's header spans both rows."""
    return [ws.cell(5, c).value or ws.cell(4, c).value for c in range(1, ws.max_column + 1)]


def data_rows(ws):
    rows = []
    for r in range(6, ws.max_row + 1):
        values = [ws.cell(r, c).value for c in range(1, ws.max_column + 1)]
        if isinstance(values[0], int):
            rows.append(values)
    return rows


@pytest.mark.parametrize("kind", XLSX_KINDS)
def test_government_layout(filed, tmp_path, kind):
    ws, _ = sheet(filed, kind, tmp_path, department=world.POLICE)
    last = openpyxl.utils.get_column_letter(ws.max_column)
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert ws["A1"].value == ("附件1" if kind == "suspension-list" else "附件")
    assert ws["A2"].value == TITLES[kind] and f"A2:{last}2" in merged
    assert ws["A3"].value == f"填报单位（盖章）：{world.POLICE}"
    assert any(ws.cell(3, c).value == "填报日期：2024-09-01" for c in range(2, ws.max_column + 1))
    assert "A4:A5" in merged  # 序号 spans both header rows
    assert any(r.min_row == r.max_row == 4 and r.max_col > r.min_col for r in ws.merged_cells.ranges)
    assert ws.freeze_panes == "A6"
    assert ws.print_title_rows == "$4:$5"
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9
    assert ws.page_setup.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws["A2"].font.name == "方正小标宋简体" and ws["A4"].font.name == "黑体"
    assert ws["B6"].font.name == "仿宋_GB2312"


def test_self_inspection_rows(filed, tmp_path):
    ws, _ = sheet(filed, "self-inspection", tmp_path, department=world.POLICE)
    assert [ws.cell(4, c).value for c in (1, 2, 3, 7)] == ["序号", "单位", "问题情况", "整改情况"]
    assert headers(ws) == ["序号", "单位", "问题类别", "问题描述", "涉及设备", "发现方式", "整改措施", "整改时限",
                           "责任人", "整改状态"]
    rows = {r[4]: r for r in data_rows(ws)}
    assert set(rows) == {"JL-001", "JL-002", "JL-003"}
    rev = rows["JL-001"]
    assert rev[1:4] == [world.POLICE, "未经法制和技术审核", "在用设备未经法制审核：" + filed.rev01.message]
    assert rev[5:] == ["系统审查（REV01）", "补办法制审核", rev[7], "王五", "待整改"]
    assert rev[7].date().isoformat() == "2024-07-31"
    assert rows["JL-002"][9] == "已销号 2024-08-20"
    assert rows["JL-003"][3] == "=cmd|' /C calc'!A0" and rows["JL-003"][5] == f"整改台账第 {filed.manual.id} 项"
    unassessed = [f for f in filed.session.scalars(select(Finding).where(Finding.run_id == filed.run.id,
                                                                         Finding.department == world.POLICE))
                  if f.evidence.get("cannot_assess")]
    assert "JL-003" in {f.device_code for f in unassessed}  # its signage is not recorded
    notes = [ws.cell(r, 1).value for r in range(1, ws.max_row + 1) if isinstance(ws.cell(r, 1).value, str)]
    assert f"3. 另有 {len(unassessed)} 项因登记数据缺失无法审查，未列入本表，请补充数据后重新审查。" in notes


def test_devices_sharing_a_problem_share_a_row(filed, tmp_path):
    session, devices = filed.session, filed.devices
    for code in ("CG-001", "CG-002"):
        devices[code].status, devices[code].signage = "在用", False
    session.commit()
    run = world.run(session)
    ws, _ = sheet(filed, "self-inspection", tmp_path, run_id=run.id, department=world.CITY)
    [row] = [r for r in data_rows(ws) if r[3] == "设置地点无明显可见标识"]
    assert row[1:3] == [world.CITY, "设置地点无明显可见标识"]
    assert row[4] == "CG-001、CG-002（共 2 台）" and row[9] == "未整改"


def test_suspension_list_rows(filed, tmp_path):
    ws, _ = sheet(filed, "suspension-list", tmp_path)
    rows = {r[2]: r for r in data_rows(ws)}
    assert set(rows) == {"JL-001", "CG-001"}
    jl = rows["JL-001"]
    assert jl[8].date().isoformat() == "2024-07-01" and jl[9] == "未经法制审核即投入使用"
    assert jl[10] == "REV01 在用设备未经法制审核" and jl[11] == "张三" and jl[12] == "待整改"
    assert rows["CG-001"][9].startswith("单位登记为停用") and rows["CG-001"][12] == "未列入整改台账"


def test_ledger_rows_show_closing_date_checker_and_overdue(filed, tmp_path):
    ws, _ = sheet(filed, "ledger", tmp_path)
    assert headers(ws)[12:] == ["销号日期", "核查人", "核查情况", "整改佐证材料"]
    rows = {r[2]: r for r in data_rows(ws)}
    closed, open_item = rows["JL-002"], rows["JL-001"]
    assert closed[9] == "已销号" and closed[10] == "否"
    assert closed[12].date().isoformat() == "2024-08-20" and closed[13:15] == ["赵六", "现场照片 3 张"]
    assert closed[15] in (None, "")  # no file given (tests/audit/casework/test_attachments.py lists them)
    assert open_item[9] == "待整改" and open_item[10] == "逾期" and open_item[12] is None


def test_the_ledger_shows_an_item_of_a_removed_device_closed_for_that_reason_not_as_checked(filed, tmp_path):
    decision = D.remove(filed.session, filed.devices["JL-001"].id, user="张三", reason="道路改造，设备撤除",
                        on=dt.date(2024, 8, 25))
    filed.session.commit()
    ws, _ = sheet(filed, "ledger", tmp_path)
    removed, closed = (next(r for r in data_rows(ws) if r[2] == code) for code in ("JL-001", "JL-002"))
    assert removed[9:11] == ["已销号（设备已拆除）", "否"]  # not overdue
    assert removed[12].date() == dt.date(2024, 8, 25) and removed[13] in (None, "")  # no checker: nothing checked
    assert removed[14] == f"拆除决定第 {decision.id} 号：道路改造，设备撤除"
    assert closed[9] == "已销号" and closed[13:15] == ["赵六", "现场照片 3 张"]


def test_public_notice_lists_devices_in_use_without_internal_fields(filed, tmp_path):
    ws, _ = sheet(filed, "public-notice", tmp_path)
    assert headers(ws) == ["序号", "执法单位", "道路名称", "具体位置", "方向", "设备类型", "抓拍违法行为"]
    rows = data_rows(ws)
    assert sorted(r[2] for r in rows) == ["+1+2", "府前路", "新街"]  # JL-001 suspended, JL-004 planned, CG-001 off
    text = " ".join(str(v) for r in rows for v in r)
    for internal in ("JL-00", "CG-00", "117.", "将公法审"):
        assert internal not in text


@pytest.mark.parametrize("kind", ["public-notice", "self-inspection", "ledger"])
def test_dangerous_text_is_inert(filed, tmp_path, kind):
    ws, path = sheet(filed, kind, tmp_path)
    risky = [c for row in ws.iter_rows() for c in row if isinstance(c.value, str) and c.value[:1] in "=+-@"]
    assert risky, "the fixture has text beginning with = + - @"
    assert all(c.data_type == "s" for c in risky)
    with zipfile.ZipFile(path) as zf:
        xml = zf.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and "<f " not in xml
