"""Spot checks (双随机一公开): a reproducible random draw, two inspectors per device, results on the record."""
from __future__ import annotations

import click
import openpyxl
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from audit.casework.decisions import DecisionError
from audit.registry.models import SpotCheck
from audit.casework.spotcheck import digest, draw, draw_codes, record_result
from audit.exports.data import ExportError
from audit.exports.spot_check import export_spot_check
from audit.cli.casework import read_roster, spot_check_cmd
from audit.registry.db import init_db, make_engine, session_factory
from audit.registry.models import ChangeLog, Department, Device
from tests.audit.exports import world

ROSTER = ["张三", "李四", "王五", "赵六", "钱七", "孙八"]


def add_devices(session, n=30):
    world.create_tables(session)
    dept = Department(name=world.POLICE)
    session.add(dept)
    session.flush()
    for i in range(n):
        session.add(Device(device_code=f"JL-{i:03d}", department_id=dept.id, device_type="闯红灯",
                           status="在用" if i % 5 else "停用", road=f"路{i}", address=f"地点{i}"))
    session.commit()


def test_the_same_registry_and_seed_give_the_same_draw(session):
    add_devices(session)
    first = draw(session, devices=5, inspectors=ROSTER, seed=20240630, user="张三", team_size=4)
    again = draw(session, devices=5, inspectors=list(reversed(ROSTER)), seed=20240630, user="李四", team_size=4)
    session.commit()
    assert [i.device_code for i in first.items] == [i.device_code for i in again.items]
    assert first.assignment == again.assignment and first.inspectors == again.inspectors
    assert first.candidate_digest == again.candidate_digest == digest([f"JL-{i:03d}" for i in range(30) if i % 5])
    assert first.candidate_count == 24
    others = {tuple(i.device_code for i in draw(session, devices=5, inspectors=ROSTER, seed=s, user="x",
                                                 team_size=4).items) for s in range(1, 6)}
    assert len(others) > 1  # another seed, another draw


def test_the_draw_is_a_pure_function_of_contents_and_seed():
    codes = [f"D{i}" for i in range(50)]
    a = draw_codes(codes, ROSTER, devices=10, team_size=3, seed=7)
    b = draw_codes(list(reversed(codes)), sorted(ROSTER, reverse=True), devices=10, team_size=3, seed=7)
    assert a == b
    chosen, team, assignment = a
    assert len(set(chosen)) == 10 and set(chosen) <= set(codes)
    assert len(team) == 3 and set(team) <= set(ROSTER)
    for pair in assignment.values():
        assert len(set(pair)) == 2 and set(pair) <= set(team)
    # work is shared: 10 devices × 2 inspectors over a team of 3 gives each 6 or 7
    load = {name: sum(name in pair for pair in assignment.values()) for name in team}
    assert sorted(load.values()) == [6, 7, 7]


def test_only_devices_in_use_are_drawn(session):
    add_devices(session)
    check = draw(session, devices=24, inspectors=ROSTER, seed=1, user="张三", team_size=2)
    assert all(i.device.status == "在用" for i in check.items) and len(check.items) == 24


def test_a_seed_is_chosen_and_recorded_when_none_is_given(session):
    add_devices(session)
    check = draw(session, devices=3, inspectors=ROSTER, seed=None, user="张三", team_size=2)
    session.commit()
    assert isinstance(check.seed, int)
    again = draw_codes([d.device_code for d in session.scalars(select(Device).where(Device.status == "在用"))],
                       check.roster, devices=3, team_size=2, seed=check.seed)
    assert again[0] == [i.device_code for i in check.items]
    log = session.scalar(select(ChangeLog).where(ChangeLog.entity == "spot_check"))
    assert f"seed={check.seed}" in log.after


@pytest.mark.parametrize("kwargs, message", [
    ({"devices": 25}, "在用设备只有 24 台，不能抽取 25 台"),
    ({"devices": 0}, "至少为 1"),
    ({"team_size": 1}, "至少 2 名执法检查人员"),
    ({"team_size": 7}, "名录只有 6 人"),
    ({"department": "无此单位"}, "没有名为“无此单位”的单位"),
])
def test_impossible_draws_are_refused(session, kwargs, message):
    add_devices(session)
    args = {"devices": 3, "inspectors": ROSTER, "seed": 1, "user": "张三", "team_size": 2} | kwargs
    with pytest.raises(DecisionError, match=message):
        draw(session, **args)
    assert session.scalar(select(SpotCheck)) is None


def test_results_are_recorded_and_exported(session, tmp_path):
    add_devices(session)
    check = draw(session, devices=3, inspectors=ROSTER, seed=5, user="张三", team_size=2)
    item = check.items[0]
    with pytest.raises(DecisionError, match="须写明情况"):
        record_result(session, check.id, item.device_id, result="不合格", note="", user="李四")
    with pytest.raises(DecisionError, match="没有抽到该设备"):
        outside = session.scalar(select(Device).where(Device.id.not_in(check.device_ids)))
        record_result(session, check.id, outside.id, result="合格", note=None, user="李四")
    record_result(session, check.id, item.device_id, result="合格", note=None, user="李四")
    record_result(session, check.id, item.device_id, result="不合格", note="标识被遮挡", user="李四")
    session.commit()
    logs = session.scalars(select(ChangeLog).where(ChangeLog.entity == "spot_check_item")
                           .order_by(ChangeLog.id)).all()
    assert [(g.before, g.after) for g in logs] == [(None, "合格"), ("合格", "不合格：标识被遮挡")]

    ws = openpyxl.load_workbook(export_spot_check(session, check.id, tmp_path / "spot.xlsx")).worksheets[0]
    assert ws["A2"].value == "非现场执法设备“双随机”抽查名单" and ws.freeze_panes == "A6"
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=6, max_row=8)]
    assert [r[1] for r in rows] == [i.device_code for i in check.items]
    assert rows[0][6] == "、".join(item.inspectors) and rows[0][7:10] == ["不合格", "标识被遮挡", "李四"]
    notes = " ".join(str(c.value) for c in ws["A"] if c.value)
    assert "随机种子 5" in notes and check.candidate_digest in notes
    with pytest.raises(ExportError, match="只能导出为 .xlsx"):
        export_spot_check(session, check.id, tmp_path / "spot.csv")


def test_roster_file_reading(tmp_path):
    (tmp_path / "r.csv").write_text("姓名,执法证号\n张三,35001\n李四,35002\n\n", encoding="utf-8-sig")
    (tmp_path / "r.txt").write_text("王五\n赵六\n", encoding="gb18030")
    assert read_roster(tmp_path / "r.csv") == ["张三", "李四"]
    assert read_roster(tmp_path / "r.txt") == ["王五", "赵六"]
    (tmp_path / "nul.txt").write_text("王五\n赵\x00六\n", encoding="utf-8")
    with pytest.raises(click.UsageError, match=r"nul.txt 第 2 行“赵\\x00六”中有不可见的控制字符（U\+0000"):
        read_roster(tmp_path / "nul.txt")


def test_spot_check_command(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    engine = make_engine(url)
    init_db(engine)
    with session_factory(engine)() as session:
        add_devices(session)
    engine.dispose()
    monkeypatch.setenv("CAMAUDIT_DATABASE_URL", url)
    (tmp_path / "roster.txt").write_text("\n".join(ROSTER), encoding="utf-8")
    runner = CliRunner()
    missing = runner.invoke(spot_check_cmd, ["--devices", "3", "--inspectors", "2"])
    assert missing.exit_code == 2 and "须用 --roster 指定检查人员名录文件" in missing.output
    args = ["--devices", "3", "--inspectors", "4", "--roster", str(tmp_path / "roster.txt"), "--seed", "99",
            "-o", str(tmp_path / "spot.xlsx")]
    first = runner.invoke(spot_check_cmd, args)
    second = runner.invoke(spot_check_cmd, args)
    assert first.exit_code == 0, first.output
    assert "随机种子 99" in first.output and (tmp_path / "spot.xlsx").exists()
    assert first.output.splitlines()[1:] == second.output.splitlines()[1:]  # same seed, same list
    too_many = runner.invoke(spot_check_cmd, ["--devices", "99", "--inspectors", "2", "--roster",
                                              str(tmp_path / "roster.txt")])
    assert too_many.exit_code == 2 and "不能抽取 99 台" in too_many.output


def test_seed_out_of_range_is_refused(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 's.sqlite3'}")
    init_db(engine)
    with session_factory(engine)() as session, pytest.raises(DecisionError, match="随机种子"):
        draw(session, devices=1, inspectors=["甲", "乙"], seed=-1, user="auditor")


def test_candidate_counts_are_the_devices_in_use_of_each_department(session):
    from audit.casework.spotcheck import candidate_counts, candidates
    from tests.audit.exports import world

    world.build(session)
    counts = candidate_counts(session)
    assert counts == {name: len(candidates(session, name)) for name in (world.POLICE, world.CITY)}
    assert counts == {world.POLICE: 3, world.CITY: 1}  # JL-004 planned and CG-001 suspended are not drawn
