"""The device list's text search from the index (audit.registry.search) lists exactly what LIKE over the code,
name, road and site lists, for whatever a user types, and stays in step with every write of the devices."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete, or_, select, text, update

from audit.casework.devicelist import DeviceCriteria, device_page
from audit.registry import search
from audit.registry.models import Department, Device
from audit.registry.store import import_file
from tests.audit.exports import world

NAMES = ["测试设备01", "水南大道闯红灯西口", "100%达标路段", "a_b 路口", 'say "hi" 测速', "Road A", "road a 停车", None,
         "５０号路口", "测试路1第12号", "ＡＢＣ全角"]
QUERIES = ["", " ", "测", "测试", "测试设备", "测试设备0", "设备01", "GX-0", "gx-0", "GX-010", "第1", "号", "100%",
           "%", "0%达", "_", "a_b", "a%b", "axb", 'say "hi"', '"', '""', "水南大道", "不存在的路", "Road", "road",
           "ROAD A", "oad", "５０号", "50号", "ａｂｃ", "ＡＢＣ", "'; DROP TABLE device; --", "*", "NEAR(测试 设备)",
           "测试 OR 水南", "^测试"]


@pytest.fixture
def registry(session):
    world.build(session)
    depts = list(session.scalars(select(Department).order_by(Department.id)))
    for i, name in enumerate(NAMES):
        session.add(Device(device_code=f"GX-{i:03d}", department_id=depts[i % 2].id, device_type="闯红灯", name=name,
                           road=None if i % 4 == 0 else f"测试路{i % 3}", address=f"测试路{i % 3}第{i}号",
                           status="在用"))
    session.commit()
    return session


def listed(session, q: str) -> list[str]:
    page = device_page(session, DeviceCriteria(q=q), scope=None, per_page=1000)
    assert page.total == len(page.rows)
    return [r.device_code for r in page.rows]


def by_like(session, q: str) -> list[str]:
    """The search as it was, a LIKE of the text over the four columns (no index)."""
    like = {"autoescape": True}
    where = [or_(*(getattr(Device, c).contains(q, **like) for c in search.COLUMNS))] if q else []
    return list(session.scalars(select(Device.device_code).where(*where).order_by(Device.device_code)))


def agree(session) -> None:
    for q in QUERIES:
        assert listed(session, q) == by_like(session, q), q


def test_every_text_lists_what_like_lists(registry):
    agree(registry)
    assert listed(registry, "测试设备0") == ["GX-000"] and listed(registry, "100%") == ["GX-002"]
    assert listed(registry, "a_b") == ["GX-003"] and listed(registry, 'say "hi"') == ["GX-004"]
    assert listed(registry, "_") == ["GX-003"] and len(listed(registry, "测试路1")) > 1


def test_the_index_follows_edits_deletions_and_imports(registry, tmp_path: Path):
    session = registry
    session.execute(update(Device).where(Device.device_code == "GX-001").values(name="金溪路新名称"))
    session.execute(update(Device).where(Device.device_code == "GX-002").values(device_code="GX-902"))
    session.execute(delete(Device).where(Device.device_code == "GX-000"))
    device = session.scalar(select(Device).where(Device.device_code == "GX-005"))
    device.road = "三华北路"  # an edit through the ORM
    session.commit()
    assert listed(session, "金溪路新名称") == ["GX-001"] and listed(session, "水南大道闯红灯西口") == []
    assert listed(session, "GX-902") == ["GX-902"] and listed(session, "GX-002") == []
    assert listed(session, "测试设备01") == [] and listed(session, "三华北路") == ["GX-005"]
    csv = tmp_path / "more.csv"
    csv.write_text("设备编号,设备名称,设备类型,道路名称,设置地点,经度,纬度,坐标系,启用日期,状态\n"
                   "IM-001,导入的新设备,固定测速,导入大道,导入大道东段,117.47,26.72,WGS84,2024-01-01,在用\n",
                   encoding="utf-8")
    assert import_file(session, csv, "devices", department=world.CITY, partial=True).applied
    session.commit()
    assert listed(session, "导入的新设备") == ["IM-001"] and listed(session, "导入大道东") == ["IM-001"]
    agree(session)


def test_the_search_reads_the_index(registry):
    session = registry
    if session.get_bind().dialect.name == "postgresql":
        indexes = set(session.scalars(text("SELECT indexname FROM pg_indexes WHERE tablename = 'device'")))
        assert set(search.PG_INDEXES) <= indexes
        return
    sql = str(select(Device.id).where(*DeviceCriteria(q="测试设备").registry_conditions())
              .compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
    plan = " ".join(str(r[-1]) for r in session.execute(text("EXPLAIN QUERY PLAN " + sql)))
    assert "device_fts VIRTUAL TABLE INDEX" in plan, plan
    short = str(select(Device.id).where(*DeviceCriteria(q="测试").registry_conditions()).compile(session.get_bind()))
    assert "device_fts" not in short  # two characters hold no trigram: LIKE alone
