"""The audit context: everything a rule reads besides the registry frame, with the frames in the shapes the rules
expect (violation statistics, verification history)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Iterable

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.metric import require_geographic

from ..registry.daily import DailyRows
from .profiles import Profile, load_profile


@dataclass
class AuditContext:
    """Everything a rule reads besides the registry frame.

    violations: device_code, period ('day'|'month'), period_start, count, fine_yuan (NaN if unknown); or, as the
    audit loads them from the database, the same rows as typed columns by device id (audit.registry.daily).
    verifications: device_code, verified_on, valid_until, result (合格/不合格), certificate_no (the history;
    the registry frame's verification columns are the latest record as reported, and both are combined).
    boundaries: department name → shapely geometry (WGS-84) of its jurisdiction, where loaded.
    areas: township/area polygons (GeoDataFrame with a `name` column) for the density rule, or None.
    roads: the road network (GeoDataFrame with `name` and LineString/MultiLineString geometries, e.g. from
    geo.roads.load_roads), or None. When given, PLC01 measures along the road between devices on the same road
    and PLC02 also counts devices per km of road; without it PLC01 measures straight-line distances.
    status_history: device_code, since, status, source (变更记录 | 处理决定 | 登记): the dated status changes (the
    day each status took effect), for the periods a device was out of service (SRV01, the peer rules), and per
    changed device the status it was registered with (登记, no date).
    assessments: the annual site review (年度评估): device_code, assessed_on, outcome (keep/relocate/remove), one
    row per assessment (ASR01 reads the latest on or before the as-of date).
    counts_imported: whether any counts were imported for the audit, where `violations` holds only some devices'
    rows (a chunk of the audit: audit.rules.chunks); None: whether `violations` holds any row (`has_counts`).
    """

    as_of: dt.date
    profile: Profile
    violations: pd.DataFrame | DailyRows = field(default_factory=lambda: empty_violations())
    verifications: pd.DataFrame = field(default_factory=lambda: empty_verifications())
    boundaries: dict[str, Any] = field(default_factory=dict)
    areas: gpd.GeoDataFrame | None = None
    roads: gpd.GeoDataFrame | None = None
    status_history: pd.DataFrame = field(default_factory=lambda: empty_status_history())
    assessments: pd.DataFrame = field(default_factory=lambda: empty_assessments())
    counts_imported: bool | None = None
    cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.as_of, (pd.Timestamp, dt.datetime)):
            self.as_of = self.as_of.date()
        if isinstance(self.profile, str):
            self.profile = load_profile(self.profile)
        if not isinstance(self.violations, DailyRows):
            self.violations = violations_frame(self.violations)
        self.verifications = verifications_frame(self.verifications)
        self.status_history = status_history_frame(self.status_history)
        self.assessments = assessments_frame(self.assessments)
        if self.roads is not None:
            self.roads = require_geographic(self.roads, "路网图层")

    def has_counts(self) -> bool:
        """Whether any counts were imported (the rules that read them say so once per department when not)."""
        return len(self.violations) > 0 if self.counts_imported is None else self.counts_imported


def empty_violations() -> pd.DataFrame:
    return pd.DataFrame({"device_code": pd.Series(dtype=object), "period": pd.Series(dtype=object),
                         "period_start": pd.Series(dtype="datetime64[ns]"), "count": pd.Series(dtype="int64"),
                         "fine_yuan": pd.Series(dtype="float64")})


def empty_verifications() -> pd.DataFrame:
    return pd.DataFrame({"device_code": pd.Series(dtype=object), "verified_on": pd.Series(dtype="datetime64[ns]"),
                         "valid_until": pd.Series(dtype="datetime64[ns]"), "result": pd.Series(dtype=object),
                         "certificate_no": pd.Series(dtype=object)})


def empty_status_history() -> pd.DataFrame:
    return pd.DataFrame({"device_code": pd.Series(dtype=object), "since": pd.Series(dtype="datetime64[ns]"),
                         "status": pd.Series(dtype=object), "source": pd.Series(dtype=object)})
def empty_assessments() -> pd.DataFrame:
    return pd.DataFrame({"device_code": pd.Series(dtype=object), "assessed_on": pd.Series(dtype="datetime64[ns]"),
                         "outcome": pd.Series(dtype=object)})


def dates(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series).astype("datetime64[ns]")


def _given(frame: pd.DataFrame | Iterable[dict[str, Any]] | None, required: set[str], what: str) -> pd.DataFrame | None:
    """The rows given as a frame, None when there are none; ValueError naming the required columns it lacks."""
    if frame is None:
        return None
    frame = pd.DataFrame(frame)
    if frame.empty:
        return None
    missing = sorted(required - set(frame.columns))
    if missing:
        raise ValueError(f"{what} frame lacks columns {missing}")
    return frame


def violations_frame(frame: pd.DataFrame | Iterable[dict[str, Any]] | None) -> pd.DataFrame:
    """A violations table with the expected columns and dtypes (period defaults to 'day')."""
    frame = _given(frame, {"device_code", "period_start", "count"}, "violations")
    if frame is None:
        return empty_violations()
    keep = (lambda s: s if isinstance(s.dtype, pd.CategoricalDtype) else s.astype(object))
    out = pd.DataFrame({
        "device_code": keep(frame["device_code"]),
        "period": keep(frame["period"]) if "period" in frame.columns else "day",
        "period_start": dates(frame["period_start"]),
        "count": pd.to_numeric(frame["count"]).astype("int64"),
        "fine_yuan": (pd.to_numeric(frame["fine_yuan"], errors="coerce").astype("float64")
                      if "fine_yuan" in frame.columns else np.nan),
    })
    return out


def verifications_frame(frame: pd.DataFrame | Iterable[dict[str, Any]] | None) -> pd.DataFrame:
    frame = _given(frame, {"device_code", "verified_on"}, "verifications")
    if frame is None:
        return empty_verifications()
    out = pd.DataFrame({"device_code": frame["device_code"].astype(object),
                        "verified_on": dates(frame["verified_on"])})
    out["valid_until"] = dates(frame["valid_until"]) if "valid_until" in frame.columns else pd.NaT
    for key in ("result", "certificate_no"):
        out[key] = frame[key].astype(object) if key in frame.columns else None
    return out


def status_history_frame(frame: pd.DataFrame | Iterable[dict[str, Any]] | None) -> pd.DataFrame:
    """Dated status changes with the expected columns (source defaults to 变更记录)."""
    frame = _given(frame, {"device_code", "since", "status"}, "status history")
    if frame is None:
        return empty_status_history()
    return pd.DataFrame({"device_code": frame["device_code"].astype(object), "since": dates(frame["since"]),
                         "status": frame["status"].astype(object),
                         "source": frame["source"].astype(object) if "source" in frame.columns else "变更记录"})


def assessments_frame(frame: pd.DataFrame | Iterable[dict[str, Any]] | None) -> pd.DataFrame:
    frame = _given(frame, {"device_code", "assessed_on"}, "assessments")
    if frame is None:
        return empty_assessments()
    return pd.DataFrame({"device_code": frame["device_code"].astype(object), "assessed_on": dates(frame["assessed_on"]),
                         "outcome": frame["outcome"].astype(object) if "outcome" in frame.columns else None})
