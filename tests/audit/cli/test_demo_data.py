"""The shipped demo data (data/demo, synthetic) and the real Chicago sample (data/chicago).

The demo must import without errors, look like four real departments' files, and carry exactly the defects that
data/demo/defects.csv lists, so that the audit rules can be checked against it. The Chicago sample must hold only
what the City of Chicago published.
"""
from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from openpyxl import load_workbook
from pyproj import Transformer

from audit.intake.columns import DEVICE_COLUMNS
from audit.intake.upload import parse_upload

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "data"
DEMO = DATA / "demo"
CHICAGO = DATA / "chicago"
REAL_CHICAGO = ROOT / ".." / "shared" / "data" / "real" / "chicago"
MANIFEST = tomllib.loads((DEMO / "manifest.toml").read_text(encoding="utf-8"))
CDOT = "Chicago Department of Transportation (CDOT)"
DEMO_DEVICE_FILES = {item["file"]: item["department"] for item in MANIFEST["import"]
                     if item["kind"] == "devices" and item["file"].startswith("demo/")}
PERIOD = pd.date_range("2025-01-01", "2025-06-30", freq="D")
AS_OF = pd.Timestamp("2025-06-30")
NEEDS_VERIFICATION = ("固定测速", "移动测速", "区间测速", "超限超载")
KINDS = {"no_legal_review", "legal_review_after_service", "no_tech_review", "not_published", "published_after_service",
         "no_sign", "sign_too_close", "sign_too_far", "no_verification", "verification_expired",
         "verification_failed", "spacing_too_close", "parking_cluster", "outside_boundary", "no_justification",
         "near_zero_captures", "high_captures", "capture_spike", "high_fine_per_violation",
         "violations_without_valid_verification", "capture_rise", "capture_outage", "captures_out_of_service",
         "captures_before_service"}
TO_METRES = Transformer.from_crs("EPSG:4326", "EPSG:4548", always_xy=True)  # CGCS2000 GK zone CM 117°E


@pytest.fixture(scope="module")
def devices() -> pd.DataFrame:
    """All demo devices, parsed by the importer, with the department of their upload."""
    frames = []
    for name, department in DEMO_DEVICE_FILES.items():
        result = parse_upload(DATA / name, "devices")
        assert result.report.errors == [], result.report.format_text(limit=10)
        frames.append(result.frame.assign(upload_department=department, file=name))
    frame = pd.concat(frames, ignore_index=True)
    x, y = TO_METRES.transform(frame["lon"].to_numpy(), frame["lat"].to_numpy())
    return frame.assign(x=x, y=y)


@pytest.fixture(scope="module")
def defects() -> pd.DataFrame:
    return pd.read_csv(DEMO / "defects.csv", dtype=str)


@pytest.fixture(scope="module")
def violations() -> pd.DataFrame:
    result = parse_upload(DEMO / "violations.csv", "violations")
    assert result.report.errors == []
    return result.frame


@pytest.fixture(scope="module")
def verifications() -> pd.DataFrame:
    result = parse_upload(DEMO / "verifications.xlsx", "verifications")
    assert result.report.errors == []
    return result.frame


@pytest.fixture(scope="module")
def county() -> shapely.Geometry:
    data = json.loads((DATA / "boundaries" / "jiangle_350428_townships.geojson").read_text(encoding="utf-8"))
    area = shapely.union_all([shapely.from_geojson(json.dumps(f["geometry"])) for f in data["features"]])
    return shapely.transform(area, lambda xy: np.column_stack(TO_METRES.transform(xy[:, 0], xy[:, 1])))


def _listed(defects: pd.DataFrame, kind: str) -> set[str]:
    return set(defects.loc[defects["defect"] == kind, "device_code"])


# --- files --------------------------------------------------------------------------------------------------------

def test_every_file_the_demo_loads_is_shipped():
    items = MANIFEST["boundary"] + MANIFEST["import"] + MANIFEST["rejected"]
    files = [item["file"] for item in items] + [MANIFEST["audit"]["areas"], MANIFEST["audit"]["roads"]]
    missing = [f for f in files if not (DATA / f).is_file()]
    assert missing == []
    assert {item["kind"] for item in MANIFEST["import"]} == {"devices", "violations", "verifications"}


def test_demo_folder_stays_small():
    size = sum(p.stat().st_size for p in DEMO.iterdir() if p.is_file())
    assert size < 6 * 2**20


# --- the four departments -----------------------------------------------------------------------------------------

def test_about_300_devices_in_four_departments(devices):
    assert 280 <= len(devices) <= 320
    assert devices["device_code"].is_unique
    counts = devices["upload_department"].value_counts()
    assert set(counts.index) == set(DEMO_DEVICE_FILES.values())
    assert counts.idxmax() == "将乐县公安局交通管理大队" and 190 <= counts.max() <= 220
    types = devices.groupby("upload_department")["device_type"].agg(set)
    assert types["将乐县交通运输局"] >= {"超限超载", "固定测速"}
    assert types["三明市将乐生态环境局"] == {"尾气遥感"}
    assert types["将乐县公安局交通管理大队"] >= {"固定测速", "闯红灯", "违法停车"}


def test_files_differ_the_way_real_ones_do():
    by_department = {department: DATA / name for name, department in DEMO_DEVICE_FILES.items()}
    # traffic police: the template layout, title and 填报单位 rows above the header
    jj = parse_upload(by_department["将乐县公安局交通管理大队"], "devices").report
    assert (jj.sheet, jj.header_row) == ("设备登记表", 3)
    # urban management: a GBK CSV with two title rows
    cg_path = by_department["将乐县城市管理和综合执法局"]
    raw = cg_path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert raw.decode("gbk").splitlines()[2].startswith("设备编号,")
    assert parse_upload(cg_path, "devices").report.header_row == 3
    # transport: a system export with English alias headers
    jt = load_workbook(by_department["将乐县交通运输局"]).worksheets[0]
    assert [c.value for c in jt[1]] == [c.key for c in DEVICE_COLUMNS]
    # ecology and environment: GCJ-02 coordinates from 高德, converted to WGS-84 on import
    hb = parse_upload(by_department["三明市将乐生态环境局"], "devices").frame
    assert set(hb["crs"]) == {"GCJ02"}
    shift = np.hypot(hb["raw_lon"] - hb["lon"], hb["raw_lat"] - hb["lat"])
    assert (shift > 0.003).all() and (shift < 0.01).all()


def test_devices_lie_in_the_county_except_those_listed_outside(devices, defects, county):
    outside = _listed(defects, "outside_boundary")
    assert len(outside) >= 2
    points = shapely.points(devices["x"], devices["y"])
    inside = shapely.contains(county, points)
    assert set(devices.loc[~inside, "device_code"]) == outside
    distance_km = shapely.distance(county.boundary, points[~inside]) / 1000
    assert ((distance_km > 2) & (distance_km < 6)).all()


def test_most_devices_are_in_the_county_seat(devices):
    # 古镛镇/水南镇 around the county seat (117.45–117.52 E, 26.70–26.76 N)
    seat = devices["lon"].between(117.44, 117.52) & devices["lat"].between(26.70, 26.76)
    assert seat.mean() > 0.6


def test_rejected_example_is_rejected():
    (item,) = MANIFEST["rejected"]
    assert parse_upload(DATA / item["file"], item["kind"]).report.errors


# --- the planted defects ------------------------------------------------------------------------------------------

def test_defects_cover_every_kind_and_refer_to_real_devices(devices, defects):
    assert set(defects["defect"]) == KINDS
    assert defects.groupby("defect").size().drop("captures_before_service").min() >= 2
    assert set(defects["device_code"]) <= set(devices["device_code"])
    share = defects["device_code"].nunique() / len(devices)
    assert 0.15 <= share <= 0.25


FIELD_DEFECTS = {
    "no_legal_review": lambda d: d["legal_review_on"].isna(),
    "legal_review_after_service": lambda d: d["legal_review_on"] > d["in_service_on"],
    "no_tech_review": lambda d: d["tech_review_on"].isna(),
    "not_published": lambda d: d["published_on"].isna(),
    "published_after_service": lambda d: d["published_on"] > d["in_service_on"],
    "no_sign": lambda d: d["signage"].eq(False),
    "sign_too_close": lambda d: d["sign_distance_m"] < 200,
    "sign_too_far": lambda d: d["sign_distance_m"] > 1000,
    "no_justification": lambda d: d["justification"].isna(),
    "no_verification": lambda d: d["device_type"].isin(NEEDS_VERIFICATION) & d["verified_on"].isna(),
    "verification_expired": lambda d: d["verification_result"].eq("合格") & (d["verification_valid_until"] < AS_OF),
    "verification_failed": lambda d: d["verification_result"].eq("不合格"),
}


@pytest.mark.parametrize("kind", sorted(FIELD_DEFECTS))
def test_inventory_defects_are_exactly_those_listed(devices, defects, kind):
    in_use = devices[devices["status"] == "在用"]
    found = set(in_use.loc[FIELD_DEFECTS[kind](in_use).fillna(False).astype(bool), "device_code"])
    assert found == _listed(defects, kind)


# Minimum distances of the national profile (data/profiles/national.toml, min_spacing_m), default 50 m.
MIN_SPACING_M = {"固定测速": 500, "移动测速": 500, "区间测速": 1000, "闯红灯": 100, "超限超载": 2000, "尾气遥感": 500}


def _too_close(devices: pd.DataFrame) -> pd.DataFrame:
    """Pairs of in-use devices of one type on one road and direction closer than the type's minimum distance."""
    d = devices[devices["status"] == "在用"].reset_index(drop=True)
    pairs = d.merge(d, on=["device_type", "road", "direction"], suffixes=("", "_b"))
    pairs = pairs[pairs["device_code"] < pairs["device_code_b"]]
    pairs = pairs.assign(metres=np.hypot(pairs["x"] - pairs["x_b"], pairs["y"] - pairs["y_b"]))
    return pairs[pairs["metres"] < pairs["device_type"].map(MIN_SPACING_M).fillna(50)]


def test_spacing_defects(devices, defects):
    close = _too_close(devices)
    pairs = close[close["device_type"] != "违法停车"]
    assert pairs["metres"].between(80, 150).all()
    assert set(pairs["device_code"]) | set(pairs["device_code_b"]) == _listed(defects, "spacing_too_close")
    cluster = close[close["device_type"] == "违法停车"]
    members = set(cluster["device_code"]) | set(cluster["device_code_b"])
    assert members == _listed(defects, "parking_cluster")
    assert len(members) == 8 and cluster["road"].nunique() == 1


def test_capture_and_fine_defects(devices, violations, defects):
    v = violations.merge(devices[["device_code", "device_type"]], on="device_code")
    per = v.groupby(["device_type", "device_code"]).agg(mean=("count", "mean"), peak=("count", "max"),
                                                        count=("count", "sum"), fine=("fine_yuan", "sum"))
    per["median_type"] = per.groupby(level="device_type")["mean"].transform("median")
    per["fine_each"] = per["fine"] / per["count"]
    per["fine_type"] = per.groupby(level="device_type")["fine_each"].transform("median")
    per = per.reset_index().set_index("device_code")
    assert set(per.index[per["mean"] <= 0.1]) == _listed(defects, "near_zero_captures")
    assert set(per.index[per["mean"] >= 4 * per["median_type"]]) == _listed(defects, "high_captures")
    assert set(per.index[per["fine_each"] >= 3 * per["fine_type"]]) == _listed(defects, "high_fine_per_violation")
    spike = _listed(defects, "capture_spike")
    assert (per.loc[list(spike), "peak"] >= 35).all() and (per.loc[list(spike), "mean"] < 10).all()
    for code in spike:  # about 5 a day, then one day at about 55 (one of them on the last day)
        daily = violations.loc[violations["device_code"] == code, "count"].astype(float)
        assert (daily >= 35).sum() == 1 and daily.median() <= 8
    assert violations.loc[violations["device_code"].isin(spike) & (violations["count"] >= 35), "period_start"].max() \
        == PERIOD[-1]


def test_rises_outages_and_captures_out_of_service(devices, violations, defects):
    by_device = {code: rows.set_index("period_start")["count"] for code, rows in violations.groupby("device_code")}
    for code in _listed(defects, "capture_rise"):  # about 6 a day, 14 days at about 18 (one until the last day)
        daily = by_device[code].astype(float)
        assert daily.median() <= 9 and (daily.rolling(14).mean() >= 12).any()
    for code in _listed(defects, "capture_outage"):  # a busy device, then 12 days of zeros or of no rows at all
        daily = by_device[code].reindex(PERIOD)
        silent = daily.isna() | (daily == 0)
        assert daily.median() >= 12 and silent.rolling(12).sum().max() == 12
    planned = set(devices.loc[devices["status"] == "拟建", "device_code"])
    assert _listed(defects, "captures_out_of_service") == planned & set(by_device)
    (late,) = _listed(defects, "captures_before_service")
    start = devices.set_index("device_code").loc[late, "in_service_on"]
    assert (by_device[late].index < start).sum() > 60


def test_violations_without_valid_verification_are_exactly_those_listed(devices, violations, verifications,
                                                                         defects):
    checked = devices.loc[devices["device_type"].isin(NEEDS_VERIFICATION), "device_code"]
    v = violations[violations["device_code"].isin(checked) & (violations["count"] > 0)]
    valid = verifications[verifications["result"] == "合格"]
    joined = v.merge(valid, on="device_code", how="left")
    joined["covered"] = (joined["period_start"] >= joined["verified_on"]) & \
                        (joined["period_start"] <= joined["valid_until"])
    covered = joined.groupby(["device_code", "period_start"])["covered"].any()
    uncovered = set(covered[~covered].index.get_level_values("device_code"))
    assert uncovered == _listed(defects, "violations_without_valid_verification")


# --- violations and verifications ---------------------------------------------------------------------------------

def test_violations_cover_every_in_use_device_every_day(devices, violations, defects):
    in_use = set(devices.loc[devices["status"] == "在用", "device_code"])
    assert set(violations["device_code"]) == in_use | _listed(defects, "captures_out_of_service")
    assert (violations["period"] == "day").all()
    days = violations.groupby("device_code")["period_start"].nunique()
    left_out = days[days < len(PERIOD)]  # the outage reported with no rows
    assert days.max() == len(PERIOD) and len(left_out) == 1 and left_out.item() == len(PERIOD) - 12
    assert violations["period_start"].min() == PERIOD[0] and violations["period_start"].max() == PERIOD[-1]
    assert (violations["count"] >= 0).all() and (violations["fine_yuan"] >= 0).all()
    # some violations are warnings without a fine
    assert ((violations["count"] > 0) & (violations["fine_yuan"] < violations["count"] * 100)).any()


def test_verification_history_of_speed_and_weighing_devices(devices, verifications):
    types = devices.set_index("device_code")["device_type"]
    assert set(types[verifications["device_code"]]) == set(NEEDS_VERIFICATION)
    assert (verifications["valid_until"] >= verifications["verified_on"]).all()
    assert set(verifications["agency"]) == {"三明市计量所", "福建省计量科学研究院"}
    per_device = verifications.groupby("device_code").size()
    assert per_device.between(1, 4).all() and per_device.median() >= 2


# --- the real Chicago sample --------------------------------------------------------------------------------------

CHICAGO_FILLED = ["device_code", "name", "device_type", "department", "road", "direction", "address", "lon", "lat",
                  "crs", "in_service_on", "status"]


def _read_plain(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def test_chicago_devices_hold_only_published_fields():
    frame = _read_plain(CHICAGO / "chicago_speed_devices.csv")
    # Only the published columns, in template order: the others are absent (never supplied), not empty.
    assert list(frame.columns) == [c.key for c in DEVICE_COLUMNS if c.key in CHICAGO_FILLED]
    assert set(frame["device_type"]) == {"固定测速"} and set(frame["department"]) == {CDOT}
    assert frame["status"].value_counts().to_dict() == {"在用": 212, "拆除": 21}
    result = parse_upload(CHICAGO / "chicago_speed_devices.csv", "devices")
    assert result.report.errors == [] and result.report.data_rows == 233


def test_chicago_violations_import_and_refer_to_known_cameras():
    frame = _read_plain(CHICAGO / "chicago_speed_violations_2019.csv")
    assert list(frame.columns) == ["device_code", "date", "count", "fine_yuan"]
    assert (frame["fine_yuan"] == "").all()
    cameras = set(_read_plain(CHICAGO / "chicago_speed_devices.csv")["device_code"])
    assert set(frame["device_code"]) <= cameras
    result = parse_upload(CHICAGO / "chicago_speed_violations_2019.csv", "violations")
    assert result.report.errors == [] and result.report.data_rows == 12_163


def _source(name: str) -> pd.DataFrame:
    path = REAL_CHICAGO / name
    if not path.exists():
        pytest.skip(f"real data not available: {path}")
    return _read_plain(path)


def test_chicago_sample_matches_the_published_files():
    registry = _source("Speed_Camera_Locations_snapshot2026-05.csv").set_index("LOCATION ID")
    older = _source("Speed_Camera_Locations_snapshot2023-12.csv").set_index("LOCATION ID")
    raw = _source("Speed_Camera_Violations_2019-01-01_2019-04-17.csv")
    ours = _read_plain(CHICAGO / "chicago_speed_devices.csv").set_index("device_code")
    current = ours[ours["status"] == "在用"]
    assert set(current.index) == set(registry.index)
    src = registry.loc[current.index]
    assert (current["address"] == src["ADDRESS"]).all() and (current["name"] == src["ADDRESS"]).all()
    assert (current["lat"] == src["LATITUDE"]).all() and (current["lon"] == src["LONGITUDE"]).all()
    go_live = pd.to_datetime(src["GO-LIVE DATE"], format="%m/%d/%Y").dt.strftime("%Y-%m-%d")
    assert (current["in_service_on"] == go_live).all()
    gone = ours[ours["status"] == "拆除"]
    assert set(gone.index) == set(raw["CAMERA_ID"]) - set(registry.index)
    from_2023 = gone[gone.index.isin(older.index)]
    assert len(from_2023) == 3 and (from_2023["lat"] == older.loc[from_2023.index, "LATITUDE"]).all()
    rest = gone[~gone.index.isin(older.index)]
    first = raw.drop_duplicates("CAMERA_ID").set_index("CAMERA_ID").loc[rest.index]
    assert (rest["address"] == first["ADDRESS"]).all() and (rest["lat"] == first["LATITUDE"]).all()
    assert (rest["in_service_on"] == "").all() and (rest["direction"] == "").all()
    counts = _read_plain(CHICAGO / "chicago_speed_violations_2019.csv")
    assert len(counts) == len(raw)
    assert counts["count"].astype(int).sum() == raw["VIOLATIONS"].astype(int).sum() == 236_920
