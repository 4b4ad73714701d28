"""Rule case files (tests/audit/rules/cases/<CODE>.toml): devices, data and expectations, run via run_rules.

A file holds one or more [[cases]]. A case lists only what differs from a compliant device (CLEAN_DEVICE); ""
stands for an empty cell. Keys of a case: name, as_of, profile, [defaults], [[devices]], [[violations]],
[[series]] (daily counts generated from a repeating pattern, with spikes), [[verifications]], [[status_changes]]
(device_code, since, status, source: the dated status changes of the registry's history), [boundaries]
(department → WKT), [[areas]] (name, wkt), [[roads]] (name, wkt: the road network, as geo.roads.as_roads reads
it) and [expect] with flagged, not_flagged, cannot_assess (device codes),
department_cannot_assess (departments), [[expect.evidence]] (a finding of that device/department whose evidence
contains the given values) and [[expect.absent]] (no such finding).
"""
from __future__ import annotations

import datetime as dt
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from audit.rules.engine import AuditContext, devices_frame, run_rules
from audit.rules.profiles import load_profile
from geo.roads import as_roads

CASE_DIR = Path(__file__).resolve().parent / "cases"
DEPARTMENT = "测试县公安局交警大队"

# A device that passes every rule on 2024-06-30 under the national and the Guangdong profile.
CLEAN_DEVICE: dict[str, Any] = {
    "department": DEPARTMENT, "name": "测试设备", "device_type": "固定测速", "violation_kinds": "超速行驶",
    "road": None, "direction": None, "address": "测试路口", "crs": "WGS84", "installed_on": dt.date(2023, 5, 1),
    "in_service_on": dt.date(2023, 7, 1), "status": "在用", "legal_review_on": dt.date(2023, 6, 1),
    "legal_review_no": "测法审〔2023〕1号", "tech_review_on": dt.date(2023, 6, 10), "signage": True,
    "sign_distance_m": 300.0, "published_on": dt.date(2023, 5, 20), "publication_channel": "县政府门户网站",
    "speed_limit_kmh": 60, "justification": "2022年该路段发生超速事故7起", "verified_on": dt.date(2024, 1, 10),
    "verification_valid_until": dt.date(2025, 1, 9), "verification_result": "合格", "certificate_no": "JD2024-0001",
}


@dataclass
class Case:
    code: str
    name: str
    path: Path
    description: str
    devices: gpd.GeoDataFrame
    ctx: AuditContext
    expect: dict[str, Any]

    def run(self) -> pd.DataFrame:
        return run_rules(self.devices, self.ctx, rules=[self.code])


def _cells(record: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if v == "" else v) for k, v in record.items()}


def _series_rows(spec: dict[str, Any]) -> list[dict[str, Any]]:
    start, days = spec["start"], int(spec["days"])
    counts = spec["counts"] if isinstance(spec["counts"], list) else [spec["counts"]]
    spikes = {dt.date.fromisoformat(k): v for k, v in spec.get("spikes", {}).items()}
    fine = spec.get("fine_per_violation")
    rows = []
    for k in range(days):
        day = start + dt.timedelta(days=k)
        count = int(spikes.get(day, counts[k % len(counts)]))
        rows.append({"device_code": spec["device_code"], "period": "day", "period_start": day, "count": count,
                     "fine_yuan": math.nan if fine is None else count * float(fine)})
    return rows


def _profile(name: str):
    """A profile by name, or a profile file relative to the cases folder (an auditor's own profile)."""
    return load_profile(CASE_DIR / name if name.endswith(".toml") else name)


def build_case(code: str, path: Path, data: dict[str, Any]) -> Case:
    defaults = CLEAN_DEVICE | _cells(data.get("defaults", {}))
    records = []
    for i, dev in enumerate(data["devices"]):
        records.append(defaults | {"lon": 117.0 + 0.05 * i, "lat": 26.5} | _cells(dev))
    violations = [_cells(v) for v in data.get("violations", [])]
    for spec in data.get("series", []):
        violations += _series_rows(spec)
    for v in violations:
        v.setdefault("period", "day")
        v.setdefault("fine_yuan", math.nan)
    areas = None
    if data.get("areas"):
        areas = gpd.GeoDataFrame({"name": [a["name"] for a in data["areas"]]},
                                 geometry=[shapely.from_wkt(a["wkt"]) for a in data["areas"]], crs="EPSG:4326")
    roads = None
    if data.get("roads"):
        lines = [shapely.from_wkt(r["wkt"]) for r in data["roads"]]
        roads = as_roads(gpd.GeoDataFrame({"name": [r.get("name", "") for r in data["roads"]]}, geometry=lines,
                                          crs="EPSG:4326"))
    verifications = [_cells(v) for v in data.get("verifications", [])]
    status_changes = [_cells(v) for v in data.get("status_changes", [])]
    ctx = AuditContext(
        as_of=data.get("as_of", dt.date(2024, 6, 30)), profile=_profile(data.get("profile", "national")),
        violations=pd.DataFrame(violations) if violations else None,
        verifications=pd.DataFrame(verifications) if verifications else None,
        status_history=pd.DataFrame(status_changes) if status_changes else None,
        boundaries={k: shapely.from_wkt(v) for k, v in data.get("boundaries", {}).items()}, areas=areas,
        roads=roads)
    return Case(code=code, name=data.get("name", ""), path=path, description=data.get("description", ""),
                devices=devices_frame(records), ctx=ctx, expect=data.get("expect", {}))


def load_cases(path: Path) -> list[Case]:
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    return [build_case(path.stem, path, case) for case in data["cases"]]


def case_paths() -> list[Path]:
    return sorted(CASE_DIR.glob("*.toml"))


def case_ids() -> list[tuple[str, int]]:
    """(code, index) of every case in every file, for parametrisation without building the cases."""
    out = []
    for path in case_paths():
        with open(path, "rb") as fh:
            out += [(path.stem, i) for i in range(len(tomllib.load(fh)["cases"]))]
    return out
