"""geo.crs: naming coordinate systems, GCJ-02 / BD-09 / Gauss-Kruger conversion, China and swapped columns."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyproj
import pytest

from geo.crs import (
    CrsSpec,
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    in_china,
    looks_swapped,
    parse_crs,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

MM_DEG = 1e-8  # ≈ 1 mm in degrees


def _geod_m(lon1, lat1, lon2, lat2):
    return pyproj.Geod(ellps="WGS84").inv(lon1, lat1, lon2, lat2)[2]


@pytest.mark.parametrize(
    ("text", "kind", "epsg", "label"),
    [
        ("WGS84", "wgs84", 4326, "WGS84"),
        ("wgs-84", "wgs84", 4326, "WGS84"),
        ("EPSG:4326", "wgs84", 4326, "WGS84"),
        (" gps ", "wgs84", 4326, "WGS84"),
        ("ＷＧＳ８４", "wgs84", 4326, "WGS84"),
        ("CGCS2000", "cgcs2000", 4490, "CGCS2000"),
        ("epsg 4490", "cgcs2000", 4490, "CGCS2000"),
        ("国家2000", "cgcs2000", 4490, "CGCS2000"),
        ("2000国家大地坐标系", "cgcs2000", 4490, "CGCS2000"),
        ("天地图", "cgcs2000", 4490, "CGCS2000"),
        ("GCJ02", "gcj02", None, "GCJ02"),
        ("gcj-02", "gcj02", None, "GCJ02"),
        ("火星坐标", "gcj02", None, "GCJ02"),
        ("高德", "gcj02", None, "GCJ02"),
        ("高德坐标系", "gcj02", None, "GCJ02"),
        ("腾讯", "gcj02", None, "GCJ02"),
        ("BD09", "bd09", None, "BD09"),
        ("BD-09", "bd09", None, "BD09"),
        ("百度", "bd09", None, "BD09"),
        ("CGCS2000-3度带-39", "gk", 4527, "CGCS2000-3度带-39"),
        ("CGCS2000 GK3 39", "gk", 4527, "CGCS2000-3度带-39"),
        ("GK3:39", "gk", 4527, "CGCS2000-3度带-39"),
        ("EPSG:4527", "gk", 4527, "CGCS2000-3度带-39"),
        ("EPSG:4548", "gk", 4548, "CGCS2000-3度带-39"),
        ("EPSG:4513", "gk", 4513, "CGCS2000-3度带-25"),
        ("EPSG:4554", "gk", 4554, "CGCS2000-3度带-45"),
    ],
)
def test_parse_crs_accepts_the_names_departments_use(text, kind, epsg, label):
    assert parse_crs(text) == CrsSpec(kind, epsg, label)


def test_parse_crs_gk_zone_matches_the_epsg_definition():
    for text in ("GK3:39", "EPSG:4527", "EPSG:4548"):
        spec = parse_crs(text)
        assert spec.zone == 39
        params = pyproj.CRS.from_epsg(spec.epsg).coordinate_operation.params
        assert next(p.value for p in params if p.name == "Longitude of natural origin") == 117


@pytest.mark.parametrize("empty", [None, "", "   ", float("nan"), pd.NA])
def test_parse_crs_empty_uses_the_default(empty):
    assert parse_crs(empty).kind == "wgs84"
    assert parse_crs(empty, default="百度").kind == "bd09"


@pytest.mark.parametrize("text", ["EPSG:3857", "北京54", "GK3:50", "UTM50N", "wgs", "gk6:20"])
def test_parse_crs_refuses_unknown_systems_with_the_accepted_list(text):
    with pytest.raises(ValueError, match="无法识别的坐标系|超出范围") as err:
        parse_crs(text)
    assert "GCJ02" in str(err.value) and "CGCS2000-3度带-39" in str(err.value)


def test_wgs84_to_gcj02_matches_the_published_reference():
    # wandergis/coordtransform README/test: wgs84togcj02(116.404, 39.915), gcj02tobd09(116.404, 39.915)
    lon, lat = wgs84_to_gcj02(116.404, 39.915)
    assert lon == pytest.approx(116.41024449916938, abs=1e-9)
    assert lat == pytest.approx(39.91640428150164, abs=1e-9)
    lon, lat = gcj02_to_bd09(116.404, 39.915)
    assert lon == pytest.approx(116.41036949371029, abs=1e-9)
    assert lat == pytest.approx(39.92133699351021, abs=1e-9)


def test_gcj02_offset_in_china_is_a_few_hundred_metres():
    lon, lat = np.array([116.397428, 117.47, 87.62, 126.63]), np.array([39.90923, 26.73, 43.83, 45.75])
    glon, glat = wgs84_to_gcj02(lon, lat)
    offset = _geod_m(lon, lat, glon, glat)
    assert np.all((offset > 100) & (offset < 1000))


def _china_sample():
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(75, 134, 5000), rng.uniform(18, 53, 5000)
    # far from the outline: the GCJ offset (< 1 km) cannot move them across it
    inside = in_china(lon, lat) & in_china(lon + 0.05, lat) & in_china(lon - 0.05, lat)
    inside &= in_china(lon, lat + 0.05) & in_china(lon, lat - 0.05)
    return lon[inside], lat[inside]


def test_gcj02_round_trips_below_a_millimetre():
    lon, lat = _china_sample()
    assert lon.size > 1000
    back = wgs84_to_gcj02(*gcj02_to_wgs84(lon, lat))
    assert np.abs(back[0] - lon).max() < MM_DEG and np.abs(back[1] - lat).max() < MM_DEG
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert np.abs(back[0] - lon).max() < MM_DEG and np.abs(back[1] - lat).max() < MM_DEG


def test_bd09_round_trips_below_a_millimetre():
    lon, lat = _china_sample()
    back = gcj02_to_bd09(*bd09_to_gcj02(lon, lat))
    assert np.abs(back[0] - lon).max() < MM_DEG and np.abs(back[1] - lat).max() < MM_DEG
    back = bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    assert np.abs(back[0] - lon).max() < MM_DEG and np.abs(back[1] - lat).max() < MM_DEG


def test_gcj02_leaves_points_outside_china_unchanged():
    lon, lat = np.array([126.98, -87.63]), np.array([37.57, 41.88])  # Seoul, Chicago
    for convert in (wgs84_to_gcj02, gcj02_to_wgs84):
        out = convert(lon, lat)
        np.testing.assert_array_equal(out[0], lon)
        np.testing.assert_array_equal(out[1], lat)


def test_to_wgs84_dispatches_on_the_declared_system():
    glon, glat = wgs84_to_gcj02(117.47, 26.73)
    assert np.allclose(to_wgs84(glon, glat, "高德"), (117.47, 26.73), atol=MM_DEG)
    blon, blat = wgs84_to_bd09(117.47, 26.73)
    assert np.allclose(to_wgs84(blon, blat, parse_crs("百度")), (117.47, 26.73), atol=MM_DEG)
    assert np.allclose(to_wgs84(117.47, 26.73, "天地图"), (117.47, 26.73), atol=0)


def test_to_wgs84_takes_nullable_pandas_columns():
    lon = pd.Series([117.47, None], dtype="Float64")
    lat = pd.Series([26.73, 26.8], dtype="Float64")
    out_lon, out_lat = to_wgs84(lon, lat, "GCJ02")
    assert np.isfinite(out_lon[0]) and np.isnan(out_lon[1])


def test_gauss_kruger_both_easting_forms_of_zone_39():
    lon, lat = np.array([117.47, 116.2, 118.4]), np.array([26.73, 40.1, 24.5])
    east, north = pyproj.Transformer.from_crs(4490, 4527, always_xy=True).transform(lon, lat)
    assert np.all((east > 39e6) & (east < 40e6))
    for spec in ("CGCS2000-3度带-39", "EPSG:4527", "EPSG:4548"):
        for easting in (east, east - 39e6):
            got_lon, got_lat = to_wgs84(easting, north, spec)
            assert np.allclose(got_lon, lon, atol=1e-9) and np.allclose(got_lat, lat, atol=1e-9)


def test_gauss_kruger_central_meridian_point():
    # on the central meridian the easting is the false easting and the northing the meridian arc (3 320 113.4 m
    # from the equator to 30°N on the GRS80/WGS-84 ellipsoid)
    lon, lat = to_wgs84([39500000.0, 500000.0], [3320113.398, 3320113.398], "GK3:39")
    assert np.allclose(lon, 117.0, atol=1e-9) and np.allclose(lat, 30.0, atol=1e-8)


def test_gauss_kruger_inconsistent_easting_gives_nan():
    # zone prefix 40 under a zone-39 declaration; a northing entered as easting (7 digits)
    lon, lat = to_wgs84([40500000.0, 2957800.0], [2957800.0, 39546761.0], "GK3:39")
    assert np.isnan(lon).all() and np.isnan(lat).all()


@pytest.mark.parametrize(
    ("place", "lon", "lat", "expected"),
    [
        ("Beijing", 116.40, 39.90, True),
        ("Urumqi", 87.62, 43.83, True),
        ("Sanya", 109.51, 18.25, True),
        ("Harbin", 126.63, 45.75, True),
        ("Lhasa", 91.11, 29.65, True),
        ("Taipei", 121.56, 25.04, True),
        ("Hong Kong", 114.17, 22.30, True),
        ("Jiangle", 117.47, 26.73, True),
        ("Seoul", 126.98, 37.57, False),
        ("Pyongyang", 125.75, 39.03, False),
        ("Hanoi", 105.85, 21.03, False),
        ("Ulaanbaatar", 106.90, 47.90, False),
        ("Chicago", -87.63, 41.88, False),
    ],
)
def test_in_china(place, lon, lat, expected):
    assert bool(in_china(lon, lat)) is expected, place


def test_in_china_is_vectorised_and_nan_is_outside():
    got = in_china([116.4, np.nan, -87.63], [39.9, 39.9, 41.88])
    assert got.dtype == bool and got.tolist() == [True, False, False]


def test_looks_swapped():
    lon = np.array([26.7, 117.4, 116.4, 45.0, np.nan, -87.63])
    lat = np.array([117.4, 26.7, 95.0, 45.0, 26.7, 41.88])
    # swapped Jiangle; correct Jiangle; impossible latitude; Caucasus (both outside China); NaN; Chicago
    assert looks_swapped(lon, lat).tolist() == [True, False, True, False, False, False]
