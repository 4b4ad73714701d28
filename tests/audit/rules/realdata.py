"""Real open data as audit frames: Chicago speed cameras with daily violations, the Korean national camera list.

Both are foreign data used to exercise the rules on real distributions; the type mapping of the Korean
enforcement codes (단속구분) is our reading, not the published codebook (see the data READMEs).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from audit.rules.engine import devices_frame

REAL = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "real"
CHICAGO_VIOLATIONS = REAL / "chicago" / "Speed_Camera_Violations_2019-01-01_2019-04-17.csv"
CHICAGO_LOCATIONS = REAL / "chicago" / "Speed_Camera_Locations_snapshot2023-12.csv"
KOREA_CAMERAS = REAL / "korea_national_cameras" / "kr_unmanned_traffic_enforcement_cameras_standard_utf8.csv"
CHICAGO_AS_OF = pd.Timestamp("2019-04-17").date()

# 단속구분 → device type (our reading: 01 speed, 02 signal, 04 parking, 99 other; 01+02 counted as speed).
KOREA_TYPES = {"1": "固定测速", "01": "固定测速", "01+02": "固定测速", "1+2": "固定测速", "2": "闯红灯", "02": "闯红灯",
               "4": "违法停车", "04": "违法停车", "3": "其他", "03": "其他", "99": "其他"}
KOREA_DIRECTIONS = {"1": "上行", "01": "上行", "2": "下行", "02": "下行", "3": "双向", "03": "双向"}


def chicago_frames():
    """(devices, violations) of the 156 Chicago speed cameras, 2019-01-01 … 2019-04-17.

    Devices: 固定测速, 在用, 启用日期 from the 2023-12 location snapshot's GO-LIVE DATE where the camera is listed.
    """
    raw = pd.read_csv(CHICAGO_VIOLATIONS)
    raw["day"] = pd.to_datetime(raw["VIOLATION DATE"], format="%m/%d/%Y")
    locations = pd.read_csv(CHICAGO_LOCATIONS)
    go_live = dict(zip(locations["LOCATION ID"], pd.to_datetime(locations["GO-LIVE DATE"], format="%m/%d/%Y")))
    first = raw.sort_values("day").groupby("CAMERA_ID").first()
    devices = devices_frame(pd.DataFrame({
        "device_code": first.index, "department": "Chicago DOT", "name": first["ADDRESS"],
        "device_type": "固定测速", "status": "在用", "address": first["ADDRESS"],
        "lon": first["LONGITUDE"], "lat": first["LATITUDE"],
        "in_service_on": [go_live.get(c, pd.NaT) for c in first.index]}))
    violations = pd.DataFrame({"device_code": raw["CAMERA_ID"], "period": "day", "period_start": raw["day"],
                               "count": raw["VIOLATIONS"].astype("int64"), "fine_yuan": np.nan})
    return devices, violations


def korea_devices():
    """The 12,295 Korean unmanned enforcement cameras, one device per row (ids are reused, so codes are rows)."""
    raw = pd.read_csv(KOREA_CAMERAS, dtype=str)
    kind = raw["단속구분"].str.strip().map(KOREA_TYPES).fillna("其他")
    section = raw["단속구간위치구분"].notna() & (kind == "固定测速")
    return devices_frame(pd.DataFrame({
        "device_code": [f"KR{k:05d}" for k in range(len(raw))],
        "department": raw["관리기관명"].fillna("未知").str.strip(),
        "device_type": kind.where(~section, "区间测速"),
        "road": raw["도로노선명"].str.strip(),
        "direction": raw["도로노선방향"].str.strip().map(KOREA_DIRECTIONS),
        "status": "在用",
        "lon": pd.to_numeric(raw["경도"], errors="coerce"), "lat": pd.to_numeric(raw["위도"], errors="coerce"),
        "address": raw["소재지도로명주소"].fillna(raw["소재지지번주소"])}))


def profile_with(folder: Path, name: str, **values) -> Path:
    """An auditor's profile file extending national with the given setting values (for rankings and what-ifs)."""
    lines = [f'name = "{name}"', 'extends = "national"']
    for key, value in values.items():
        lines += [f"[settings.{key}]", f"value = {value!r}".replace("'", '"'), 'source = "审查试算"']
    path = Path(folder) / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
