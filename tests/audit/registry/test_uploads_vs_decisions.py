"""What an upload may not undo, what a partial upload leaves alone, and one department however it is typed."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from audit.casework import decisions as D
from audit.exports import suspension_list
from audit.exports.data import Options
from audit.registry.models import ChangeLog, Department, Device
from audit.registry.store import import_file

DEPT = "将乐县公安局交通管理大队"
CITY = "将乐县城市管理和综合执法局"
HEADER = "设备编号,设备名称,设备类型,道路名称,经度,纬度,坐标系,启用日期,状态,法制审核日期,标识设置\n"
ROWS = [
    "JL-001,水南大道测速,固定测速,水南大道,117.4731,26.7285,WGS84,2023-07-01,在用,2023-06-01,是",
    "JL-002,府前路闯红灯,闯红灯,府前路,117.4702,26.7301,WGS84,2023-07-01,在用,2023-06-01,否",
    "JL-003,三华路停车,违法停车,三华路,117.4690,26.7260,WGS84,2023-07-01,在用,2023-06-01,是",
]


def csv(tmp_path, rows, name="devices.csv", header=HEADER):
    path = tmp_path / name
    path.write_text(header + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def device(session, code):
    return session.scalar(select(Device).where(Device.device_code == code))


@pytest.fixture
def registered(session, tmp_path):
    assert import_file(session, csv(tmp_path, ROWS), "devices", department=DEPT).applied
    session.commit()
    return session


def test_a_reupload_cannot_undo_a_suspension(registered, tmp_path):
    session = registered
    decision = D.suspend(session, device(session, "JL-002").id, reason="无标识", user="auditor",
                         on=dt.date(2024, 7, 1))
    session.commit()
    old = [r.replace("府前路闯红灯", "府前路口闯红灯") for r in ROWS]  # the brigade's old sheet, lightly edited
    result = import_file(session, csv(tmp_path, old, "old.csv"), "devices", department=DEPT, user="clerk")
    session.commit()
    assert result.applied and result.held == ["JL-002"]
    [warning] = [w for w in result.report.warnings if w.code == "DECISION_HOLDS"]
    assert (warning.row, warning.column, warning.value) == (3, "状态", "在用")
    assert "2024-07-01" in warning.message and "auditor" in warning.message and f"第 {decision.id} 号" in warning.message
    dev = device(session, "JL-002")
    assert dev.status == "停用" and dev.name == "府前路口闯红灯"  # the rest of the row applied
    status_changes = session.scalars(select(ChangeLog).where(ChangeLog.device_code == "JL-002",
                                                             ChangeLog.field == "status")).all()
    assert [(c.before, c.after) for c in status_changes] == [("在用", "停用")]
    assert "按审查机关的决定保持原状态：JL-002" in result.format_text()


def test_a_removal_holds_and_a_restore_gives_the_status_back_to_the_department(registered, tmp_path):
    session = registered
    D.remove(session, device(session, "JL-003").id, reason="撤并", user="auditor")
    session.commit()
    result = import_file(session, csv(tmp_path, ROWS, "again.csv"), "devices", department=DEPT)
    session.commit()
    assert device(session, "JL-003").status == "拆除" and result.held == ["JL-003"]
    # A device whose status no decision set follows the upload.
    edited = [ROWS[0].replace(",在用,", ",停用,"), *ROWS[1:]]
    result = import_file(session, csv(tmp_path, edited, "edited.csv"), "devices", department=DEPT)
    session.commit()
    assert device(session, "JL-001").status == "停用" and result.held == ["JL-003"]


def test_an_upload_removing_a_device_closes_its_open_items_and_one_putting_it_back_does_not_reopen_them(
        registered, tmp_path):
    """The department uploads JL-002 as 拆除: its open ledger item is closed for that reason (the upload named as
    the basis, the report says so), not as rectified. Uploaded back as 停用 later, the item stays closed, and it is
    no basis for restoring the device: that needs a rectification checked and closed."""
    session = registered
    jl2 = device(session, "JL-002")
    _, item = D.rectify(session, jl2.id, measure="设置标识", requirement="设置标识牌", deadline=dt.date(2024, 8, 31),
                        responsible="李四", user="auditor", problem="未设置标识", on=dt.date(2024, 7, 1))
    session.commit()
    removed = [ROWS[0], ROWS[1].replace(",在用,", ",拆除,"), ROWS[2]]
    result = import_file(session, csv(tmp_path, removed, "removed.csv"), "devices", department=DEPT, user="clerk")
    session.commit()
    assert result.applied and device(session, "JL-002").status == "拆除"
    session.refresh(item)
    basis = f"设备登记表导入（第 {result.batch_id} 批）登记为拆除"
    assert (item.status, item.closed_reason, item.closed_by, item.close_evidence) == \
        ("已销号", "设备已拆除", "clerk", basis)
    assert item.closed_on == dt.datetime.now(dt.timezone.utc).date()
    assert [(e.from_status, e.to_status, e.user, e.note) for e in item.events][-1] == \
        ("待整改", "已销号", "clerk", f"设备已拆除（{basis}）")
    [warning] = [w for w in result.report.warnings if w.code == "REMOVED_ITEM_CLOSED"]
    assert f"JL-002 登记为拆除，其未销号的整改台账第 {item.id} 项随之销号" in warning.message

    back = [ROWS[0], ROWS[1].replace(",在用,", ",停用,"), ROWS[2]]
    assert import_file(session, csv(tmp_path, back, "back.csv"), "devices", department=DEPT, user="clerk").applied
    session.commit()
    session.refresh(item)
    assert device(session, "JL-002").status == "停用"
    assert (item.status, item.closed_reason) == ("已销号", "设备已拆除") and len(item.events) == 2
    with pytest.raises(D.DecisionError, match="没有已销号的整改事项"):
        D.restore(session, jl2.id, user="auditor", reason="已重新安装")
    with pytest.raises(D.DecisionError, match=f"第 {item.id} 项因设备已拆除销号，未经整改核查"):
        D.restore(session, jl2.id, user="auditor", reason="已重新安装", ledger_item_id=item.id)
    assert device(session, "JL-002").status == "停用"
    # The suspension list does not offer it for a restore either.
    [row] = [r for r in suspension_list.build(session, Options()).rows if r[2] == "JL-002"]
    assert row[-1] == f"已销号（设备已拆除，{item.closed_on.isoformat()}），未经整改核查"


def test_an_upload_removing_many_devices_closes_the_items_of_each(registered, tmp_path, monkeypatch):
    """The items are looked up by chunks of devices (bound parameter limits): with chunks of one device, an upload
    removing two devices closes the items of both."""
    from audit.registry import removal

    monkeypatch.setattr(removal, "CHUNK", 1)
    session = registered
    items = []
    for code in ("JL-001", "JL-002"):
        _, item = D.rectify(session, device(session, code).id, measure="设置标识", requirement="设置标识牌",
                            deadline=dt.date(2024, 8, 31), responsible="李四", user="auditor", problem="未设置标识",
                            on=dt.date(2024, 7, 1))
        items.append(item)
    session.commit()
    removed = [ROWS[0].replace(",在用,", ",拆除,"), ROWS[1].replace(",在用,", ",拆除,"), ROWS[2]]
    result = import_file(session, csv(tmp_path, removed, "removed.csv"), "devices", department=DEPT, user="clerk")
    session.commit()
    assert result.applied
    for item in items:
        session.refresh(item)
    assert [(i.status, i.closed_reason) for i in items] == [("已销号", "设备已拆除")] * 2
    assert len([w for w in result.report.warnings if w.code == "REMOVED_ITEM_CLOSED"]) == 2


def test_an_upload_removing_a_device_resolves_its_problems_until_one_putting_it_back_is_audited(registered, tmp_path):
    """JL-002, without a sign, uploaded as 拆除: its problems are resolved by the upload, on its day, as an audit of a
    removed device would, and the next audit leaves them so. Uploaded back as 在用, they stay resolved until an
    audit finds them again: then they are open again (再次出现), awaiting a decision of their own."""
    from audit.casework.problems import audit_and_record, open_problems

    session = registered
    today = dt.datetime.now(dt.timezone.utc).date()
    audit_and_record(session, as_of=today, user="auditor")
    session.commit()
    jl2 = device(session, "JL-002")
    found = open_problems(session, device_ids=[jl2.id])
    assert found
    removed = [ROWS[0], ROWS[1].replace(",在用,", ",拆除,"), ROWS[2]]
    assert import_file(session, csv(tmp_path, removed, "removed.csv"), "devices", department=DEPT, user="clerk").applied
    session.commit()
    assert open_problems(session, device_ids=[jl2.id]) == []
    for p in found:
        session.refresh(p)
        assert (p.resolved_run_id, p.resolved_on, p.resolved_reason) == (None, today, "设备已拆除")
    audit_and_record(session, as_of=today, user="auditor")
    session.commit()
    assert open_problems(session, device_ids=[jl2.id]) == []

    assert import_file(session, csv(tmp_path, ROWS, "back.csv"), "devices", department=DEPT, user="clerk").applied
    session.commit()
    assert device(session, "JL-002").status == "在用" and open_problems(session, device_ids=[jl2.id]) == []
    _, _, outcome = audit_and_record(session, as_of=today, user="auditor")
    session.commit()
    assert outcome.reappeared == len(found)
    assert {p.id for p in open_problems(session, device_ids=[jl2.id])} == {p.id for p in found}


def test_a_partial_upload_changes_the_listed_devices_only(registered, tmp_path):
    session = registered
    extra = ["JL-004,新设测速,固定测速,金溪路,117.4600,26.7200,WGS84,2024-01-01,在用,2023-12-01,是",
             ROWS[0].replace("水南大道测速", "水南大道测速点")]
    result = import_file(session, csv(tmp_path, extra, "more.csv"), "devices", department=DEPT, partial=True)
    session.commit()
    assert (result.mode, result.new, list(result.changed), result.missing) == ("partial", ["JL-004"], ["JL-001"], [])
    assert "补充或更正部分设备" in result.format_text() and "缺少" not in result.format_text()
    assert session.scalar(select(func.count()).select_from(Device).where(Device.missing_since_batch_id.isnot(None))) == 0
    # The same file as the full inventory flags the two it does not list.
    full = import_file(session, csv(tmp_path, extra, "full.csv"), "devices", department=DEPT)
    session.commit()
    assert full.mode == "full" and sorted(full.missing) == ["JL-002", "JL-003"]
    assert "完整台账" in full.format_text()


@pytest.mark.parametrize("typed", ["将乐县公安局交通管理大队 ", "将乐县公安局　交通管理大队", " 将乐县公安局交通管理大队"])
def test_one_department_however_its_name_is_typed(registered, tmp_path, typed):
    session = registered
    result = import_file(session, csv(tmp_path, ROWS[:1], "one.csv"), "devices", department=typed, partial=True)
    session.commit()
    assert result.applied and session.scalar(select(func.count()).select_from(Department)) == 1
    if typed.strip() != DEPT:
        assert any(w.code == "DEPARTMENT_NAME_VARIANT" and DEPT in w.message for w in result.report.warnings)


def test_a_new_department_typed_with_spaces_is_registered_clean_and_the_clerk_told_so(session, tmp_path):
    result = import_file(session, csv(tmp_path, ROWS[:1], "one.csv"), "devices", department="将乐县　测试 局")
    session.commit()
    assert result.applied and session.scalars(select(Department.name)).all() == ["将乐县测试局"]
    [warning] = [w for w in result.report.warnings if w.code == "DEPARTMENT_NAME_VARIANT"]
    assert "填报单位“将乐县　测试 局”按“将乐县测试局”登记" in warning.message


def test_a_row_naming_another_department_is_an_error_naming_both(session, tmp_path):
    header = HEADER.replace("状态,", "状态,所属单位,")
    rows = [ROWS[0].replace(",在用,", ",在用,将乐县公安局　交通管理大队,"),
            ROWS[1].replace(",在用,", f",在用,{CITY},")]
    result = import_file(session, csv(tmp_path, rows, header=header), "devices", department=DEPT)
    assert not result.applied
    [error] = result.report.errors
    assert (error.code, error.row, error.column, error.value) == ("DEPARTMENT_MISMATCH", 3, "所属单位", CITY)
    assert CITY in error.message and DEPT in error.message
    assert session.scalar(select(func.count()).select_from(Device)) == 0


def test_a_bureau_wide_file_goes_to_the_departments_it_names(registered, tmp_path):
    session = registered
    session.add(Department(name=CITY, key=CITY))
    session.commit()
    header = HEADER.replace("状态,", "状态,所属单位,")
    rows = [ROWS[0].replace(",在用,", f",在用,{DEPT},"),
            "CG-001,老街抓拍,城市管理,老街,117.4650,26.7350,WGS84,2023-07-01,在用,将乐县城市管理和综合执法局 ,2023-06-01,是"]
    result = import_file(session, csv(tmp_path, rows, "all.csv", header=header), "devices",
                         department_from_column=True, partial=True)
    session.commit()
    assert result.applied, result.report.format_text()
    assert device(session, "CG-001").department.name == CITY and device(session, "JL-001").department.name == DEPT
    unknown = [rows[0].replace(DEPT, "将乐县交通运输局")]
    refused = import_file(session, csv(tmp_path, unknown, "unknown.csv", header=header), "devices",
                          department_from_column=True)
    [error] = refused.report.errors
    assert error.code == "DEPARTMENT_UNKNOWN" and "将乐县交通运输局" in error.message and CITY in error.message


def test_columns_a_file_never_had_are_recorded_per_device(session, tmp_path):
    header = "设备编号,设备类型,经度,纬度,启用日期,状态\n"
    assert import_file(session, csv(tmp_path, ["JL-001,固定测速,117.47,26.72,2023-07-01,在用"], header=header),
                       "devices", department=DEPT).applied
    session.commit()
    dev = device(session, "JL-001")
    assert {"legal_review_on", "signage", "published_on", "justification"} <= set(dev.unsupplied)
    assert "status" not in dev.unsupplied and "in_service_on" not in dev.unsupplied
    # A later file with the legal review column (left empty) supplies it: now an empty cell is a record.
    later = "设备编号,设备类型,经度,纬度,启用日期,状态,法制审核日期\n"
    assert import_file(session, csv(tmp_path, ["JL-001,固定测速,117.47,26.72,2023-07-01,在用,"], "later.csv",
                                    header=later), "devices", department=DEPT).applied
    session.commit()
    session.refresh(dev)
    assert "legal_review_on" not in dev.unsupplied and "signage" in dev.unsupplied
