"""geo.spacing: close pairs and nearest neighbours against brute-force geodesic computations."""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pyproj
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.spacing import close_pairs, nearest_neighbour

GEOD = pyproj.Geod(ellps="WGS84")
BOX_DEG = 0.18  # ≈ 20 km in latitude
CENTRES = [(117.40, 26.65), (87.55, 43.75), (-87.75, 41.80)]  # Jiangle, Urumqi, Chicago


def _d(lon, lat, i, j) -> float:
    return GEOD.inv(lon[i], lat[i], lon[j], lat[j])[2]


@st.composite
def point_sets(draw):
    n = draw(st.integers(2, 200))
    cx, cy = draw(st.sampled_from(CENTRES))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    lon = cx + rng.uniform(0, BOX_DEG, n)
    lat = cy + rng.uniform(0, BOX_DEG, n)
    if draw(st.booleans()):  # some duplicates and some missing coordinates
        k = rng.integers(0, n, n // 10)
        lon[k[: len(k) // 2]] = lon[0]
        lat[k[: len(k) // 2]] = lat[0]
        lon[k[len(k) // 2:]] = np.nan
    groups = None
    if draw(st.booleans()):
        groups = rng.choice(np.array(["a", "b", 3, None], dtype=object), n)
    max_m = draw(st.sampled_from([50.0, 500.0, 2000.0, 8000.0]))
    return lon, lat, groups, max_m


@settings(max_examples=60, deadline=None)
@given(point_sets())
def test_close_pairs_equal_brute_force(case):
    lon, lat, groups, max_m = case
    got = close_pairs(lon, lat, max_m, groups=groups)
    assert (got["i"] < got["j"]).all()
    found = {(i, j): d for i, j, d in got.itertuples(index=False)}
    for i, j in itertools.combinations(range(len(lon)), 2):
        if np.isnan(lon[i]) or np.isnan(lon[j]):
            assert (i, j) not in found
            continue
        if groups is not None and (groups[i] is None or groups[i] != groups[j]):
            assert (i, j) not in found
            continue
        d = _d(lon, lat, i, j)
        if abs(d - max_m) < 0.005 * max_m:
            continue  # borderline: either answer is acceptable
        assert ((i, j) in found) == (d < max_m), (i, j, d)
        if (i, j) in found:
            assert found[(i, j)] == pytest.approx(d, rel=0.005, abs=0.01)


def test_close_pairs_reports_input_positions_and_distances():
    # 100 m spacing along a parallel at Jiangle, plus a NaN row in between
    step = 100 / (111_320 * np.cos(np.radians(26.7)))
    lon = np.array([117.4, np.nan, 117.4 + step, 117.4 + 2 * step])
    lat = np.full(4, 26.7)
    got = close_pairs(pd.Series(lon), pd.Series(lat), 150)
    assert got[["i", "j"]].values.tolist() == [[0, 2], [2, 3]]
    assert got["distance_m"].to_numpy() == pytest.approx([100, 100], rel=0.01)
    assert got.dtypes.to_dict() == {"i": np.int64, "j": np.int64, "distance_m": np.float64}


def test_close_pairs_per_point_threshold_uses_the_smaller():
    step = 100 / (111_320 * np.cos(np.radians(26.7)))
    lon = 117.4 + step * np.arange(3)
    lat = np.full(3, 26.7)
    got = close_pairs(lon, lat, np.array([250.0, 50.0, 250.0]))
    assert got[["i", "j"]].values.tolist() == [[0, 2]]  # 0–1 and 1–2 fail on point 1's 50 m
    nan_threshold = close_pairs(lon, lat, np.array([250.0, np.nan, 250.0]))
    assert nan_threshold[["i", "j"]].values.tolist() == [[0, 2]]


def test_close_pairs_edge_cases():
    assert close_pairs([117.4], [26.7], 100).empty
    assert close_pairs([117.4, 117.4], [26.7, 26.7], 100, groups=[None, None]).empty
    assert close_pairs([117.4, 117.4], [26.7, 26.7], 100, groups=["x", "x"])[["i", "j"]].values.tolist() == [[0, 1]]
    with pytest.raises(ValueError, match="阈值"):
        close_pairs([117.4, 117.5], [26.7, 26.7], 0)
    with pytest.raises(ValueError, match="分组数量"):
        close_pairs([117.4, 117.5], [26.7, 26.7], 100, groups=["x"])


def test_close_pairs_across_a_wide_area_keep_exact_distances():
    # points ~20° from the chosen zone's central meridian, where Gauss-Kruger stretches distances by several %
    rng = np.random.default_rng(5)
    lon = np.r_[117.4 + rng.uniform(0, 0.01, 50), 97.0 + rng.uniform(0, 0.01, 10)]
    lat = np.r_[26.7 + rng.uniform(0, 0.01, 50), 36.0 + rng.uniform(0, 0.01, 10)]
    got = close_pairs(lon, lat, 600)
    far = got[got["i"] >= 50]
    brute = [[i, j] for i, j in itertools.combinations(range(50, 60), 2) if _d(lon, lat, i, j) < 600]
    assert far[["i", "j"]].values.tolist() == brute
    np.testing.assert_allclose(far["distance_m"], [_d(lon, lat, i, j) for i, j in brute], rtol=1e-9)


@settings(max_examples=40, deadline=None)
@given(point_sets())
def test_nearest_neighbour_equals_brute_force(case):
    lon, lat, groups, _ = case
    got = nearest_neighbour(lon, lat, groups=groups)
    assert len(got) == len(lon)
    for i in range(len(lon)):
        candidates = [
            j for j in range(len(lon))
            if j != i and not np.isnan(lon[i]) and not np.isnan(lon[j])
            and (groups is None or (groups[i] is not None and groups[i] == groups[j]))
        ]
        if not candidates:
            assert pd.isna(got["neighbour"].iloc[i]) and np.isnan(got["distance_m"].iloc[i])
            continue
        best = min(_d(lon, lat, i, j) for j in candidates)
        assert got["neighbour"].iloc[i] in candidates
        assert got["distance_m"].iloc[i] == pytest.approx(best, rel=0.005, abs=0.01)


def test_nearest_neighbour_of_duplicates_is_at_zero():
    got = nearest_neighbour([117.4, 117.4, 117.4, 117.41], [26.7, 26.7, 26.7, 26.7])
    assert got["neighbour"].tolist()[:3] == [1, 0, 0]
    assert got["distance_m"].tolist()[:3] == [0, 0, 0]
    assert got["neighbour"].iloc[3] in (0, 1, 2)
