"""The registry: uploads applied whole or not at all, re-uploads reconciled, history kept. Runs on every backend."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from audit.registry import inventory
from audit.registry import store as registry
from audit.registry.models import (
    AppendOnlyError,
    ChangeLog,
    Department,
    Device,
    ImportBatch,
    VerificationRecord,
    ViolationStat,
)
from audit.registry.store import RegistryError, import_file

DEPT = "将乐县公安局交通管理大队"
HEADER = "设备编号,设备名称,设备类型,道路名称,方向,设置地点,经度,纬度,坐标系,启用日期,状态,法制审核日期,标识设置,检定有效期至,最近检定日期,检定结果\n"


def device_csv(tmp_path, rows, name="devices.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_text(HEADER + "".join(r + "\n" for r in rows), encoding=encoding)
    return path


ROWS = [
    "JL-001,水南大道测速,固定测速,水南大道,由东向西,水南大道与三华路口,117.4731,26.7285,WGS84,2023-07-01,在用,2023-06-01,是,2025-05-19,2024-05-20,合格",
    "JL-002,府前路闯红灯,闯红灯,府前路,双向,府前路与金溪路口,117.4702,26.7301,WGS84,2023/7/1,在用,2023年6月1日,否,,,",
    "JL-003,三华路停车,违法停车,三华路,,三华路中段,117.4690,26.7260,WGS84,20230701,停用,,Y,,,",
]


def table_counts(session):
    return {m.__tablename__: session.scalar(select(func.count()).select_from(m))
            for m in (Department, Device, ImportBatch, VerificationRecord, ViolationStat, ChangeLog)}


def test_device_upload_is_stored_with_history(session, tmp_path):
    result = import_file(session, device_csv(tmp_path, ROWS), "devices", department=DEPT, user="clerk")
    session.commit()
    assert result.report.ok and result.applied
    assert sorted(result.new) == ["JL-001", "JL-002", "JL-003"]
    dev = session.scalar(select(Device).where(Device.device_code == "JL-002"))
    assert dev.department.name == DEPT
    assert dev.in_service_on == dt.date(2023, 7, 1) and dev.legal_review_on == dt.date(2023, 6, 1)
    assert dev.signage is False and dev.status == "在用"
    assert dev.lon == pytest.approx(117.4702) and dev.raw_lat == pytest.approx(26.7301)
    # the inventory's verification columns enter the verification history
    rec = session.scalar(select(VerificationRecord).join(Device).where(Device.device_code == "JL-001"))
    assert rec.valid_until == dt.date(2025, 5, 19) and rec.result == "合格"
    creates = session.scalars(select(ChangeLog).where(ChangeLog.action == "create")).all()
    assert {c.device_code for c in creates} == {"JL-001", "JL-002", "JL-003"}
    assert all(c.user == "clerk" and c.batch_id == result.batch_id for c in creates)
    assert json.loads(creates[0].after)["device_type"]


def test_upload_with_any_error_writes_nothing(session, tmp_path):
    import_file(session, device_csv(tmp_path, ROWS[:1]), "devices", department=DEPT)
    session.commit()
    before = table_counts(session)
    bad = ROWS[1:] + ["JL-009,坏行,无人机,某路,,,abc,26.7,WGS84,,在用,,,,,"]
    result = import_file(session, device_csv(tmp_path, bad, "bad.csv"), "devices", department=DEPT)
    session.commit()
    assert not result.report.ok and not result.applied and result.batch_id is None
    codes = {p.code for p in result.report.errors}
    assert "BAD_CHOICE" in codes and "COORD_NOT_NUMERIC" in codes
    row = next(p for p in result.report.errors if p.code == "BAD_CHOICE")
    assert row.row == 4 and row.value == "无人机" and row.column == "设备类型"
    assert table_counts(session) == before


def test_failure_while_applying_leaves_no_trace(session, tmp_path, monkeypatch):
    before = table_counts(session)

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    # after the devices and their change log rows of the chunk are written
    monkeypatch.setattr(inventory.InventoryImport, "_verifications", explode)
    with pytest.raises(RuntimeError):
        import_file(session, device_csv(tmp_path, ROWS), "devices", department=DEPT)
    session.commit()
    assert table_counts(session) == before


def test_reupload_reports_new_changed_unchanged_missing(session, tmp_path):
    import_file(session, device_csv(tmp_path, ROWS), "devices", department=DEPT)
    session.commit()
    second = [ROWS[0].replace("水南大道测速", "水南大道测速（新）"), ROWS[1],
              "JL-004,金溪路测速,固定测速,金溪路,,金溪路口,117.4800,26.7300,WGS84,2024-01-01,在用,2023-12-01,是,,,"]
    result = import_file(session, device_csv(tmp_path, second, "second.csv"), "devices", department=DEPT,
                         user="clerk2")
    session.commit()
    assert result.new == ["JL-004"]
    assert result.changed == {"JL-001": ["name"]}
    assert result.unchanged == ["JL-002"]
    assert result.missing == ["JL-003"]
    missing = session.scalar(select(Device).where(Device.device_code == "JL-003"))
    assert missing is not None and missing.missing_since_batch_id == result.batch_id
    log = session.scalar(select(ChangeLog).where(ChangeLog.device_code == "JL-001", ChangeLog.action == "update"))
    assert (log.field, log.before, log.after, log.user) == ("name", "水南大道测速", "水南大道测速（新）", "clerk2")
    # the device comes back in a later upload: no longer missing, and that is recorded too
    third = import_file(session, device_csv(tmp_path, second + [ROWS[2]], "third.csv"), "devices", department=DEPT)
    session.commit()
    assert "JL-003" in third.changed and session.get(Device, missing.id).missing_since_batch_id is None
    assert session.scalar(select(Device.name).where(Device.device_code == "JL-001")) == "水南大道测速（新）"


def test_dry_run_reports_but_writes_nothing(session, tmp_path):
    before = table_counts(session)
    result = import_file(session, device_csv(tmp_path, ROWS), "devices", department=DEPT, dry_run=True)
    session.commit()
    assert result.report.ok and not result.applied and len(result.new) == 3
    assert table_counts(session) == before


def test_device_code_of_another_department_is_refused(session, tmp_path):
    import_file(session, device_csv(tmp_path, ROWS[:1]), "devices", department=DEPT)
    session.commit()
    result = import_file(session, device_csv(tmp_path, ROWS[:1], "other.csv"), "devices", department="将乐县城管局")
    assert [p.code for p in result.report.errors] == ["CODE_OTHER_DEPARTMENT"]
    assert DEPT in result.report.errors[0].message


def test_devices_upload_needs_a_department(session, tmp_path):
    with pytest.raises(RegistryError, match="须指明填报单位"):
        import_file(session, device_csv(tmp_path, ROWS), "devices", department=None)


def test_gcj02_coordinates_are_stored_in_wgs84_with_raw_values_kept(session, tmp_path):
    row = ROWS[0].replace(",WGS84,", ",GCJ02,")
    import_file(session, device_csv(tmp_path, [row]), "devices", department=DEPT)
    session.commit()
    dev = session.scalar(select(Device))
    assert (dev.raw_lon, dev.raw_lat, dev.crs) == (pytest.approx(117.4731), pytest.approx(26.7285), "GCJ02")
    # GCJ-02 lies a few hundred metres off WGS-84 in China
    assert 0.001 < abs(dev.lon - dev.raw_lon) + abs(dev.lat - dev.raw_lat) < 0.02
    rec = registry.device_records(session)[0]
    assert rec["lon"] == pytest.approx(dev.lon) and rec["raw_lon"] == pytest.approx(117.4731)
    assert rec["crs"] == "GCJ02" and rec["in_service_on"] == "2023-07-01"


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def test_violations_for_unknown_devices_are_refused_whole(session, tmp_path):
    import_file(session, device_csv(tmp_path, ROWS), "devices", department=DEPT)
    session.commit()
    before = table_counts(session)
    path = write(tmp_path, "v.csv", "设备编号,日期,违法数量,罚款金额\nJL-001,2025-01-01,5,1000\nJL-999,2025-01-01,3,600\n")
    result = import_file(session, path, "violations")
    session.commit()
    assert [(p.code, p.row, p.value) for p in result.report.errors] == [("UNKNOWN_DEVICE", 3, "JL-999")]
    assert table_counts(session) == before


UNKNOWN_LINE = "第3行 “设备编号”列 值“JL-999”：设备编号未在设备登记表中登记；请先导入该设备，或核对编号。"


@pytest.mark.parametrize("chunk_rows", [None, 1])
def test_unknown_devices_are_reported_with_the_other_row_errors(session, tmp_path, chunk_rows):
    """One report lists every fix: the unregistered device beside the bad cells (it was only named once the
    cells were fixed), read whole or by chunks; an empty or faulty code is reported once, for what it is."""
    from audit.intake.upload import parse_upload

    import_file(session, device_csv(tmp_path, ROWS), "devices", department=DEPT)
    session.commit()
    before = table_counts(session)
    path = write(tmp_path, "v.csv", "设备编号,日期,违法数量\nJL-001,2025-01-01,x\nJL-999,2025-01-01,3\n"
                                    ",2025-01-01,4\nJL-002,2025-13-01,1\nJL-\x07003,2025-01-01,1\n")
    parsed = parse_upload(path, "violations", chunk_rows=chunk_rows, spool_dir=tmp_path)
    try:
        result = import_file(session, path, "violations", parsed=parsed)
    finally:
        parsed.discard()
    session.commit()
    assert [(p.code, p.row) for p in result.report.sorted_problems()] == [
        ("BAD_NUMBER", 2), ("UNKNOWN_DEVICE", 3), ("REQUIRED_EMPTY", 4), ("BAD_DATE", 5), ("CONTROL_CHARACTER", 6)]
    assert UNKNOWN_LINE in result.report.format_text()
    assert not result.applied and table_counts(session) == before
    checks = write(tmp_path, "c.csv", "设备编号,检定日期,有效期至,检定结果\nJL-001,2025-01-01,2025-12-31,合格\n"
                                      "JL-999,2025-01-01,2025-12-31,合格\nJL-002,2025-01-01,2025-12-31,待定\n")
    result = import_file(session, checks, "verifications", department=DEPT)
    assert [(p.code, p.row) for p in result.report.sorted_problems()] == [("UNKNOWN_DEVICE", 3), ("BAD_CHOICE", 4)]
    assert UNKNOWN_LINE in result.report.format_text()
    session.commit()
    assert table_counts(session) == before


def test_a_device_of_another_department_is_reported_with_the_other_row_errors(session, tmp_path):
    import_file(session, device_csv(tmp_path, ROWS[:1]), "devices", department=DEPT)
    session.commit()
    before = table_counts(session)
    rows = [ROWS[0], ROWS[1].replace(",117.4702,", ",abc,")]
    result = import_file(session, device_csv(tmp_path, rows, "other.csv"), "devices", department="将乐县城管局")
    assert [(p.code, p.row) for p in result.report.sorted_problems() if p.level == "error"] == [
        ("CODE_OTHER_DEPARTMENT", 2), ("COORD_NOT_NUMERIC", 3)]
    session.commit()
    assert table_counts(session) == before


CASE_LINE = "值“jl-jt-0001”：与已登记的设备编号“JL-JT-0001”仅大小写不同；请使用已登记的编号。"


def test_a_code_differing_only_by_case_from_a_registered_one_is_refused(session, tmp_path):
    """jl-jt-0001 beside the registered JL-JT-0001 once registered a second device, which escaped the first's
    suspension; counts and verifications for it were refused as unknown, with no word of the registered code."""
    registered = [ROWS[0].replace("JL-001", "JL-JT-0001"), ROWS[1], ROWS[2]]
    import_file(session, device_csv(tmp_path, registered), "devices", department=DEPT)
    session.commit()
    before = table_counts(session)
    upload = [ROWS[1], ROWS[2], ROWS[0].replace("JL-001", "jl-jt-0001")]
    for partial in (False, True):
        result = import_file(session, device_csv(tmp_path, upload, "case.csv"), "devices", department=DEPT,
                             partial=partial)
        assert [(p.code, p.row) for p in result.report.errors] == [("CODE_CASE_VARIANT", 4)]
        assert "第4行 “设备编号”列 " + CASE_LINE in result.report.format_text()
        session.commit()
        assert table_counts(session) == before
    counts = write(tmp_path, "v.csv", "设备编号,日期,违法数量\nJL-002,2025-01-01,5\nJL-999,2025-01-01,1\n"
                                      "jl-jt-0001,2025-01-01,3\n")
    result = import_file(session, counts, "violations", department=DEPT)
    assert [(p.code, p.row) for p in result.report.sorted_problems()] == [
        ("UNKNOWN_DEVICE", 3), ("CODE_CASE_VARIANT", 4)]
    assert "第4行 “设备编号”列 " + CASE_LINE in result.report.format_text()
    checks = write(tmp_path, "c.csv", "设备编号,检定日期,有效期至,检定结果\njl-jt-0001,2025-01-01,2025-12-31,合格\n")
    result = import_file(session, checks, "verifications")
    assert [p.code for p in result.report.errors] == ["CODE_CASE_VARIANT"]
    assert "第2行 “设备编号”列 " + CASE_LINE in result.report.format_text()
    session.commit()
    assert table_counts(session) == before


def test_a_department_files_counts_and_verifications_for_its_own_devices_only(session, tmp_path):
    other = "将乐县城市管理和综合执法局"
    import_file(session, device_csv(tmp_path, ROWS), "devices", department=DEPT)
    import_file(session, write(tmp_path, "cg.csv", "设备编号,设备名称,设备类型,经度,纬度\nCG-001,老街,城市管理,117.465,26.735\n"),
                "devices", department=other)
    session.commit()
    before = table_counts(session)
    counts = write(tmp_path, "v.csv", "设备编号,日期,违法数量\nJL-001,2025-01-01,5\nCG-001,2025-01-01,3\n"
                                      "JL-999,2025-01-01,1\n")
    result = import_file(session, counts, "violations", department=DEPT)
    assert [(p.code, p.row, p.column, p.value) for p in result.report.errors] == [
        ("UNKNOWN_DEVICE", 4, "设备编号", "JL-999"), ("NOT_OWN_DEVICE", 3, "设备编号", "CG-001")]
    assert DEPT in result.report.errors[1].message and other not in result.report.errors[1].message
    checks = write(tmp_path, "c.csv", "设备编号,检定日期,有效期至,检定结果\nCG-001,2025-01-01,2025-12-31,合格\n")
    assert [p.code for p in import_file(session, checks, "verifications", department=DEPT).report.errors] == [
        "NOT_OWN_DEVICE"]
    session.commit()
    assert table_counts(session) == before
    assert import_file(session, checks, "verifications", department=other).applied  # its own device
    assert import_file(session, counts, "violations").report.errors[0].code == "UNKNOWN_DEVICE"  # auditor: any
    with pytest.raises(RegistryError, match="没有名为“无此单位”的单位"):
        import_file(session, counts, "violations", department="无此单位")


def test_violations_import_and_update(session, tmp_path):
    import_file(session, device_csv(tmp_path, ROWS), "devices", department=DEPT)
    session.commit()
    path = write(tmp_path, "v.csv", "设备编号,日期,违法数量,罚款金额\nJL-001,2025-01-01,5,1000\n"
                                    "JL-001,2025-01-02,7,1400.5\nJL-002,2025-02,120,24000\n")
    first = import_file(session, path, "violations", user="clerk")
    session.commit()
    assert first.counts["新增记录"] == 3
    stats = session.execute(select(ViolationStat.period, ViolationStat.period_start, ViolationStat.count,
                                   ViolationStat.fine_yuan).order_by(ViolationStat.period_start)).all()
    assert [(s[0], s[1], s[2]) for s in stats] == [("day", dt.date(2025, 1, 1), 5), ("day", dt.date(2025, 1, 2), 7),
                                                   ("month", dt.date(2025, 2, 1), 120)]
    assert float(stats[1][3]) == pytest.approx(1400.5)
    path2 = write(tmp_path, "v2.csv", "设备编号,日期,违法数量,罚款金额\nJL-001,2025-01-01,6,1200\n"
                                      "JL-001,2025-01-02,7,1400.50\n")
    second = import_file(session, path2, "violations", user="clerk")
    session.commit()
    assert second.counts == {"新增记录": 0, "更新记录": 1, "未变记录": 1, "涉及设备": 1}
    assert session.scalar(select(func.count()).select_from(ViolationStat)) == 3
    log = session.scalar(select(ChangeLog).where(ChangeLog.entity == "violation_stat"))
    assert log.before == "5 / 1000.00" and log.after == "6 / 1200.00" and log.device_code == "JL-001"
    frame = registry.load_violations_frame(session)
    assert frame.loc[frame["period"] == "month", "count"].item() == 120


def test_numbers_beyond_what_the_database_holds_are_refused_by_cell_on_every_backend(session, tmp_path):
    """The largest count, fine and speed limit the columns hold are stored as written; one more is an error naming
    the cell (SQLite would have stored it, PostgreSQL refused the whole file without saying where)."""
    import_file(session, device_csv(tmp_path, ROWS), "devices", department=DEPT)
    session.commit()
    before = table_counts(session)
    too_large = write(tmp_path, "v.csv", "设备编号,日期,违法数量,罚款金额\nJL-001,2025-01-01,2147483648,10\n"
                                         "JL-002,2025-01-01,5,1000000000000\nJL-003,2025-01-01,-2147483648,0\n")
    result = import_file(session, too_large, "violations")
    session.commit()
    assert [(p.code, p.row, p.column, p.value) for p in result.report.errors] == [
        ("NUMBER_TOO_LARGE", 2, "违法数量", "2147483648"), ("NUMBER_TOO_LARGE", 4, "违法数量", "-2147483648"),
        ("NUMBER_TOO_LARGE", 3, "罚款金额", "1000000000000")]
    assert "±2,147,483,647" in result.report.errors[0].message and "±999,999,999,999.99" in result.report.errors[2].message
    speed = write(tmp_path, "d.csv", "设备编号,设备类型,经度,纬度,限速值\nJL-001,固定测速,117.4731,26.7285,99999999999\n")
    result = import_file(session, speed, "devices", department=DEPT)
    assert [(p.code, p.row, p.column, p.value) for p in result.report.errors] == [
        ("NUMBER_TOO_LARGE", 2, "限速值", "99999999999")]
    session.commit()
    assert table_counts(session) == before
    largest = write(tmp_path, "v2.csv", "设备编号,日期,违法数量,罚款金额\nJL-001,2025-01-01,2147483647,999999999999.99\n")
    assert import_file(session, largest, "violations").applied
    session.commit()
    assert session.execute(select(ViolationStat.count, ViolationStat.fine_yuan)).one() == (
        2147483647, Decimal("999999999999.99"))


def test_verifications_import(session, tmp_path):
    import_file(session, device_csv(tmp_path, ROWS), "devices", department=DEPT)
    session.commit()
    bad = write(tmp_path, "bad.csv", "设备编号,检定日期,有效期至,检定结果,证书编号\nJL-001,2024-05-20,2023-05-19,合格,X1\n")
    result = import_file(session, bad, "verifications")
    assert [p.code for p in result.report.errors] == ["VALID_UNTIL_BEFORE_VERIFIED"]
    good = write(tmp_path, "good.csv", "设备编号,检定日期,有效期至,检定结果,证书编号,检定机构\n"
                                       "JL-001,2023-05-20,2024-05-19,合格,X0,三明市计量所\n"
                                       "JL-001,2024-05-20,2025-05-19,不合格,X1,三明市计量所\n")
    result = import_file(session, good, "verifications")
    session.commit()
    assert result.counts == {"新增记录": 1, "更新记录": 1, "未变记录": 0}
    frame = registry.load_verifications_frame(session).sort_values("verified_on")
    assert frame["result"].tolist() == ["合格", "不合格"]
    assert frame["valid_until"].dt.year.tolist() == [2024, 2025]


def test_devices_frame_for_the_audit(session, tmp_path):
    import_file(session, device_csv(tmp_path, ROWS), "devices", department=DEPT)
    session.commit()
    gdf = registry.load_devices_frame(session, DEPT)
    assert gdf.crs.to_epsg() == 4326 and len(gdf) == 3
    assert str(gdf["in_service_on"].dtype).startswith("datetime64")
    assert gdf.loc[gdf["device_code"] == "JL-001", "geometry"].item().x == pytest.approx(117.4731)
    assert registry.load_devices_frame(session, "别的单位").empty


def test_change_log_is_append_only(session, tmp_path):
    import_file(session, device_csv(tmp_path, ROWS[:1]), "devices", department=DEPT)
    session.commit()
    entry = session.scalar(select(ChangeLog))
    entry.after = "tampered"
    with pytest.raises(AppendOnlyError):
        session.flush()
    session.rollback()
    session.delete(session.scalar(select(ChangeLog)))
    with pytest.raises(AppendOnlyError):
        session.flush()


def test_postgis_view_shows_device_points(session, tmp_path, db_engine):
    if db_engine.dialect.name != "postgresql":
        pytest.skip("PostGIS only")
    import_file(session, device_csv(tmp_path, ROWS), "devices", department=DEPT)
    session.commit()
    rows = session.execute(text("SELECT device_code, ST_X(geom), ST_Y(geom) FROM device_geom ORDER BY 1")).all()
    assert [r[0] for r in rows] == ["JL-001", "JL-002", "JL-003"]
    assert rows[0][1] == pytest.approx(117.4731)


def test_statistics_load_by_code_with_quotes_in_codes(session, tmp_path):
    rows = [ROWS[0].replace("JL-001", "JL'001"), ROWS[1]]
    import_file(session, device_csv(tmp_path, rows), "devices", department=DEPT)
    session.commit()
    path = write(tmp_path, "v.csv", "设备编号,日期,违法数量\nJL'001,2025-01-01,5\nJL-002,2025-01-01,9\n")
    assert import_file(session, path, "violations").report.ok
    session.commit()
    frame = registry.load_violations_frame(session, ["JL'001"])
    assert frame["device_code"].tolist() == ["JL'001"] and frame["count"].tolist() == [5]
    assert str(frame["period_start"].dtype) == "datetime64[ns]"


def test_status_history_comes_from_uploads_and_decisions(session, tmp_path, monkeypatch):
    """The dated status changes the audit reads (when a device left service): a device an upload set to 停用
    carries the upload's day, a suspension its decision date; the status a device was first registered with has
    no date. SRV01 then counts the cases recorded after the suspension took effect (the day after the decision)."""
    from audit.registry.models import Decision
    from audit.rules.engine import run_audit

    import_file(session, device_csv(tmp_path, ROWS), "devices", department=DEPT, user="clerk")
    session.commit()
    changed = [ROWS[0], ROWS[1].replace(",在用,", ",停用,"), ROWS[2]]
    import_file(session, device_csv(tmp_path, changed, name="again.csv"), "devices", department=DEPT, user="clerk")
    device = session.scalar(select(Device).where(Device.device_code == "JL-001"))
    session.add(Decision(device_id=device.id, kind="suspend", decided_on=dt.date(2024, 5, 1), reason="未公布",
                         decided_by="auditor"))
    device.status = "停用"
    session.commit()
    today = dt.datetime.now(dt.timezone.utc).date()
    history = registry.load_status_history(session)
    dated = history[history["since"].notna()]
    rows = set(zip(dated["device_code"], dated["since"].dt.date, dated["status"], dated["source"]))
    assert rows == {("JL-002", today, "停用", "变更记录"), ("JL-001", dt.date(2024, 5, 1), "停用", "处理决定")}
    # The status JL-002 was registered with, undated (the decision above was added without its change log row).
    registered = history[history["since"].isna()]
    assert list(zip(registered["device_code"], registered["status"], registered["source"])) == [("JL-002", "在用", "登记")]
    assert list(registry.load_status_history(session, ["JL-002"])["device_code"].unique()) == ["JL-002"]
    # More codes than one IN (...) list takes: read as all, filtered after the read, the same rows.
    one = registry.load_status_history(session, ["JL-002"])
    assert set(one["source"]) == {"变更记录", "登记"}
    monkeypatch.setattr(registry, "CODES_IN_QUERY", 0)
    assert registry.load_status_history(session, iter(["JL-002"])).equals(one)

    days = [dt.date(2024, 4, 20) + dt.timedelta(days=k) for k in range(30)]
    path = write(tmp_path, "v.csv", "设备编号,日期,违法数量,罚款金额\n"
                 + "".join(f"JL-001,{d},4,800\n" for d in days))
    assert import_file(session, path, "violations", user="clerk").applied
    session.commit()
    _, findings = run_audit(session, as_of=dt.date(2024, 6, 30))
    srv = findings[(findings["rule"] == "SRV01") & (findings["device_code"] == "JL-001")]
    (evidence,) = srv["evidence"].tolist()
    assert evidence["key"] == "停用:2024-05-01" and evidence["source"] == "处理决定"
    # From the day after the decision: the decision's own day holds captures from before it.
    assert evidence["cases"]["violations"] == 4 * 18 and evidence["cases"]["first_day"] == "2024-05-02"
    assert "决定作出当日的采集无法区分决定前后，自次日起计" in srv["message"].iloc[0]


def test_an_audit_of_an_earlier_day_reads_the_status_the_devices_had_then(session, tmp_path):
    """A status changed today (an upload, a decision) does not reach back: audited as of 2025-06-30, a device
    removed today was in use then and its lapsed verification is still found (CAL02), a device suspended today was
    in use, and one registered 停用 and put in use today was not in use. Audited as of today, today's statuses
    hold."""
    from audit.casework import decisions
    from audit.rules.engine import load_inputs, run_audit
    from audit.rules.profiles import load_profile

    import_file(session, device_csv(tmp_path, ROWS), "devices", department=DEPT, user="clerk")
    session.commit()
    day = dt.date(2025, 6, 30)
    _, before = run_audit(session, as_of=day)
    cal02 = set(before["device_code"][before["rule"] == "CAL02"])
    assert "JL-001" in cal02

    changed = [ROWS[0].replace(",在用,", ",拆除,"), ROWS[1], ROWS[2].replace(",停用,", ",在用,")]
    import_file(session, device_csv(tmp_path, changed, name="again.csv"), "devices", department=DEPT, user="clerk")
    jl2 = session.scalar(select(Device).where(Device.device_code == "JL-002"))
    decisions.suspend(session, jl2.id, reason="未设置标识", user="auditor")
    session.commit()
    today = dt.datetime.now(dt.timezone.utc).date()

    def statuses(as_of):
        devices, _ = load_inputs(session, as_of=as_of, profile=load_profile("national"), daily_rows=False)
        return dict(zip(devices["device_code"], devices["status"]))

    assert statuses(day) == {"JL-001": "在用", "JL-002": "在用", "JL-003": "停用"}
    assert statuses(today) == {"JL-001": "拆除", "JL-002": "停用", "JL-003": "在用"}
    _, again = run_audit(session, as_of=day)
    assert set(again["device_code"][again["rule"] == "CAL02"]) == cal02
    assert not again[(again["device_code"] == "JL-001") & (again["rule"] == "SRV01")].size
    _, now = run_audit(session, as_of=today)
    assert "JL-001" not in set(now["device_code"][now["rule"] == "CAL02"])


def test_the_same_file_uploaded_again_is_named_so_and_changes_nothing(session, tmp_path):
    """A clerk who uploads the same file twice is told it is the file of the earlier batch and that nothing
    changed (inventory and counts alike); a different file is not called the same."""
    devices = device_csv(tmp_path, ROWS)
    first = import_file(session, devices, "devices", department=DEPT, user="clerk")
    session.commit()
    assert first.same_as is None
    before = table_counts(session)
    again = import_file(session, devices, "devices", department=DEPT, user="clerk")
    session.commit()
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    assert again.same_as == (first.batch_id, today) and again.changes_nothing
    assert f"与第 {first.batch_id} 批（{today} 导入）的文件完全相同，没有新增或变更的设备。" in again.format_text()
    batch = session.get(ImportBatch, again.batch_id)
    assert batch.summary["same_as"] == {"batch_id": first.batch_id, "day": today, "unchanged": True}
    after = table_counts(session)
    assert {k: after[k] - before[k] for k in after} == {"department": 0, "device": 0, "import_batch": 1,
                                                        "verification_record": 0, "violation_stat": 0,
                                                        "change_log": 0}
    changed = import_file(session, device_csv(tmp_path, ROWS[:2], name="two.csv"), "devices", department=DEPT)
    assert changed.same_as is None and "完全相同" not in changed.format_text()
    session.rollback()

    counts = write(tmp_path, "v.csv", "设备编号,日期,违法数量,罚款金额\nJL-001,2025-01-01,5,1000\n")
    v1 = import_file(session, counts, "violations")
    session.commit()
    v2 = import_file(session, counts, "violations")
    session.commit()
    assert v2.same_as == (v1.batch_id, today) and v2.changes_nothing and v2.counts["未变记录"] == 1
    assert f"与第 {v1.batch_id} 批（{today} 导入）的文件完全相同，本次未改变任何数据。" in v2.format_text()
