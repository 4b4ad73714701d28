"""PLC01 against a brute-force all-pairs computation on random devices (geodesic distances)."""
from __future__ import annotations

import datetime as dt

import pyproj
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.rules.engine import AuditContext, devices_frame, run_rules
from audit.rules.profiles import load_profile

from .casefiles import CLEAN_DEVICE

GEOD = pyproj.Geod(ellps="WGS84")
PROFILE = load_profile("national")
LIMIT = {t: PROFILE.values["min_spacing_m"].for_type(t) for t in ("固定测速", "闯红灯")}
BAND = 0.005  # pairs within 0.5 % of the threshold may fall either way (the stated geometric tolerance)

device = st.tuples(
    st.floats(117.0, 117.02), st.floats(26.5, 26.52),
    st.sampled_from(["固定测速", "闯红灯"]), st.sampled_from([None, "水南大道", "三华路"]),
    st.sampled_from([None, "由东向西", "由西向东", "双向"]))


def _compatible(a, b) -> bool:
    return a is None or b is None or a == b


@settings(max_examples=60, deadline=None)
@given(st.lists(device, min_size=2, max_size=60))
def test_plc01_pairs_equal_brute_force(points) -> None:
    records = [CLEAN_DEVICE | {"device_code": f"P{k:03d}", "lon": lon, "lat": lat, "device_type": t, "road": road,
                               "direction": way}
               for k, (lon, lat, t, road, way) in enumerate(points)]
    findings = run_rules(devices_frame(records), AuditContext(as_of=dt.date(2024, 6, 30), profile=PROFILE),
                         rules=["PLC01"])
    found = {}
    for code, ev in zip(findings["device_code"], findings["evidence"]):
        assert ev["neighbour_count"] == len(ev["neighbours"])  # at most 60 devices: never truncated
        found[code] = {n["device_code"]: n["distance_m"] for n in ev["neighbours"]}

    n = len(points)
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            (lon1, lat1, t1, r1, w1), (lon2, lat2, t2, r2, w2) = points[i], points[j]
            d = GEOD.inv(lon1, lat1, lon2, lat2)[2]
            same = t1 == t2 and _compatible(r1, r2) and (_compatible(w1, w2) or "双向" in (w1, w2))
            limit = LIMIT[t1]
            listed = f"P{j:03d}" in found.get(f"P{i:03d}", {})
            if same and d < limit * (1 - BAND):
                assert listed, f"P{i:03d}–P{j:03d} at {d:.1f} m should be too close"
                assert abs(found[f"P{i:03d}"][f"P{j:03d}"] - d) <= max(0.05, 0.005 * d)
            elif not same or d > limit * (1 + BAND):
                assert not listed, f"P{i:03d}–P{j:03d} at {d:.1f} m should not be a pair"
