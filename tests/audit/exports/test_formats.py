"""findings as GeoJSON and CSV for GIS users; the format follows the suffix; refusals say why."""
from __future__ import annotations

import csv
import json

import pytest

from audit.exports import KINDS, ExportError, export
from audit.exports.data import latest_run
from audit.registry.models import Finding
from tests.audit.exports import world


def test_findings_geojson(filed, tmp_path):
    data = json.loads(filed.export("findings", tmp_path / "f.geojson").read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection"
    stored = filed.session.query(Finding).filter(Finding.run_id == filed.run.id).count()
    assert len(data["features"]) == stored
    [rev] = [f for f in data["features"] if f["properties"]["rule"] == "REV01"]
    assert rev["geometry"] == {"type": "Point", "coordinates": [117.4731, 26.7285]}
    props = rev["properties"]
    assert props["device_code"] == "JL-001" and props["severity"] == "严重" and props["action"] == "停用"
    assert props["evidence"] == {"legal_review_on": None, "in_service_on": "2023-07-01", "cases": {"imported": False}}
    assert props["handling"] == "待整改" and props["device_status"] == "停用" and props["as_of"] == "2024-06-30"
    department_level = [f for f in data["features"] if f["properties"]["device_code"] is None]
    assert all(f["geometry"] is None for f in department_level)


def test_findings_csv_is_excel_friendly_and_inert(filed, tmp_path):
    path = filed.export("findings", tmp_path / "f.csv", department=world.POLICE)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert {r["department"] for r in rows} == {world.POLICE}
    [sign] = [r for r in rows if r["device_code"] == "JL-003" and r["rule"] == "SGN01"]
    assert sign["road"] == "'+1+2"  # the road name "+1+2" cannot become a formula
    assert sign["handling"] == "无法审查" and json.loads(sign["evidence"])["cannot_assess"] is True
    assert (sign["lon"], sign["lat"]) == ("117.459", "26.716")


def test_every_kind_and_suffix_in_the_table_is_written(filed, tmp_path):
    for kind, (_, writers) in KINDS.items():
        for suffix in writers:
            extra = {"department": world.POLICE} if kind == "opinion-letter" else {}
            path = filed.export(kind, tmp_path / f"{kind}{suffix}", **extra)
            assert path.stat().st_size > 0


@pytest.mark.parametrize("kind, name, message", [
    ("ledger", "l.docx", "整改台账（ledger）只能导出为 .xlsx 文件，不支持“.docx”"),
    ("summary", "s.xlsx", "只能导出为 .docx 文件"),
    ("findings", "f.xlsx", "只能导出为 .geojson、.csv 文件"),
    ("public-notice", "p", "不支持“无扩展名”"),
    ("budget", "b.xlsx", "未知的导出类型“budget”"),
])
def test_unsupported_kind_or_suffix_is_refused(filed, tmp_path, kind, name, message):
    with pytest.raises(ExportError, match=message):
        filed.export(kind, tmp_path / name)
    assert not (tmp_path / name).exists()


def test_refusals_for_missing_data(session, tmp_path):
    world.build(session)
    with pytest.raises(ExportError, match="还没有审查记录"):
        export(session, "self-inspection", tmp_path / "s.xlsx")
    with pytest.raises(ExportError, match="没有名为“无此单位”的单位"):
        export(session, "public-notice", tmp_path / "p.xlsx", department="无此单位")
    with pytest.raises(ExportError, match="没有编号为 42 的审查记录"):
        export(session, "findings", tmp_path / "f.csv", run_id=42)
    # Documents that need no audit are made without one.
    assert export(session, "public-notice", tmp_path / "p.xlsx").exists()


def test_documents_of_all_departments_use_the_latest_run_of_all_departments(session, tmp_path):
    world.build(session)
    police_only = world.run(session, department=world.POLICE)
    with pytest.raises(ExportError, match="还没有覆盖全部单位的审查记录"):
        export(session, "findings", tmp_path / "none.csv")
    full = world.run(session)
    again = world.run(session, department=world.POLICE)  # re-audit of one department after the full run
    assert police_only.id < full.id < again.id

    def departments(path, **kwargs):
        export(session, "findings", path, as_of=world.AS_OF, **kwargs)
        with open(path, encoding="utf-8-sig", newline="") as fh:
            return {row["department"] for row in csv.DictReader(fh)} - {""}

    assert departments(tmp_path / "all.csv") == {world.POLICE, world.CITY}  # not the later police-only run
    assert departments(tmp_path / "police.csv", department=world.POLICE) == {world.POLICE}
    assert latest_run(session, world.POLICE).id == again.id and latest_run(session, world.CITY).id == full.id
    assert latest_run(session).id == full.id
