"""Build the real Chicago sample (speed cameras) from ../shared/data/real/chicago in camaudit's upload format.

Sources (City of Chicago Data Portal, via third-party GitHub repositories; see README.md in this folder):
  Speed_Camera_Locations_snapshot2026-05.csv     the registry (brocksauvage/Surveillance-in-the-Shadow @ 5f9ce09)
  Speed_Camera_Locations_snapshot2023-12.csv     an older registry (karilop/Capstone @ e13e304)
  Speed_Camera_Violations_2019-01-01_2019-04-17.csv  daily violations per camera (mistersig/folium_workshop @ 22131b6)

Outputs (UTF-8, our English alias headers):
  chicago_speed_devices.csv        one row per camera; only the columns the sources give (the others are left out, so
                                   the audit reports what they would record as not assessable)
  chicago_speed_violations_2019.csv  device_code, date, count; fine_yuan empty (the source has no fines)

Nothing is invented: values are copied, dates reformatted (MM/DD/YYYY -> YYYY-MM-DD), the road is the address
without its house number, and cameras of 2019 missing from the 2026 registry are marked 拆除 (see README.md).
Run: .venv/bin/python data/chicago/build_chicago.py [path/to/shared/data/real/chicago]
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE.parents[1] / ".." / "shared" / "data" / "real" / "chicago"
REGISTRY_2026 = "Speed_Camera_Locations_snapshot2026-05.csv"
REGISTRY_2023 = "Speed_Camera_Locations_snapshot2023-12.csv"
VIOLATIONS_2019 = "Speed_Camera_Violations_2019-01-01_2019-04-17.csv"
DEPARTMENT = "Chicago Department of Transportation (CDOT)"

# Every device column of the upload table, in template order (audit.columns.DEVICE_COLUMNS keys).
DEVICE_KEYS = ["device_code", "name", "device_type", "violation_kinds", "department", "road", "direction", "address",
               "lon", "lat", "crs", "installed_on", "in_service_on", "status", "legal_review_on", "legal_review_no",
               "tech_review_on", "signage", "sign_distance_m", "published_on", "publication_channel",
               "speed_limit_kmh", "justification", "verified_on", "verification_valid_until", "verification_result",
               "certificate_no"]
FILLED = ["device_code", "name", "device_type", "department", "road", "direction", "address", "lon", "lat", "crs",
          "in_service_on", "status"]
VIOLATION_KEYS = ["device_code", "date", "count", "fine_yuan"]


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def iso(us_dates: pd.Series) -> pd.Series:
    return pd.to_datetime(us_dates, format="%m/%d/%Y").dt.strftime("%Y-%m-%d")


def road(address: str) -> str:
    """The street: the address without its leading house number, spaces collapsed; spelling kept as published."""
    return re.sub(r"\s+", " ", re.sub(r"^\d+\s+", "", address.strip()))


def approaches(first: str, second: str) -> str:
    return "/".join(a for a in (first.strip(), second.strip()) if a)


def from_registry(reg: pd.DataFrame, status: str) -> pd.DataFrame:
    return pd.DataFrame({
        "device_code": reg["LOCATION ID"], "name": reg["ADDRESS"], "address": reg["ADDRESS"],
        "road": reg["ADDRESS"].map(road),
        "direction": [approaches(a, b) for a, b in zip(reg["FIRST APPROACH"], reg["SECOND APPROACH"])],
        "lon": reg["LONGITUDE"], "lat": reg["LATITUDE"], "in_service_on": iso(reg["GO-LIVE DATE"]), "status": status,
    })


def build_devices(source: Path, violations: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    current = read(source / REGISTRY_2026)
    older = read(source / REGISTRY_2023)
    missing = sorted(set(violations["CAMERA_ID"]) - set(current["LOCATION ID"]))
    in_2023 = older[older["LOCATION ID"].isin(missing)]
    rest = sorted(set(missing) - set(in_2023["LOCATION ID"]))
    # the 2019 file repeats the same address and coordinates on every row of a camera: take the first
    own = violations[violations["CAMERA_ID"].isin(rest)].drop_duplicates("CAMERA_ID")
    from_violations = pd.DataFrame({
        "device_code": own["CAMERA_ID"], "name": own["ADDRESS"], "address": own["ADDRESS"],
        "road": own["ADDRESS"].map(road), "direction": "", "lon": own["LONGITUDE"], "lat": own["LATITUDE"],
        "in_service_on": "", "status": "拆除",
    })
    devices = pd.concat([from_registry(current, "在用"), from_registry(in_2023, "拆除"), from_violations],
                        ignore_index=True)
    devices["device_type"] = "固定测速"
    devices["crs"] = "WGS84"
    devices["department"] = DEPARTMENT
    # Only the published columns: an absent column tells the importer the department never supplied it.
    devices = devices.reindex(columns=[k for k in DEVICE_KEYS if k in FILLED], fill_value="") \
        .sort_values("device_code", ignore_index=True)
    counts = {"registry_2026": len(current), "missing_from_2026": len(missing), "from_2023": len(in_2023),
              "from_violations": len(from_violations), "total": len(devices)}
    return devices, counts


def build_violations(violations: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({"device_code": violations["CAMERA_ID"], "date": iso(violations["VIOLATION DATE"]),
                        "count": violations["VIOLATIONS"], "fine_yuan": ""})
    return out.sort_values(["device_code", "date"], ignore_index=True)


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SOURCE
    raw = read(source / VIOLATIONS_2019)
    devices, counts = build_devices(source, raw)
    table = build_violations(raw)
    devices.to_csv(HERE / "chicago_speed_devices.csv", index=False, encoding="utf-8", lineterminator="\n")
    table.to_csv(HERE / "chicago_speed_violations_2019.csv", index=False, encoding="utf-8", lineterminator="\n")
    print(f"devices: {counts}; violation rows: {len(table)} for {table['device_code'].nunique()} cameras")


if __name__ == "__main__":
    main()
