"""geo.density: devices per township."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely

from geo.boundary import load_areas
from geo.density import count_in_areas

JIANGLE = Path(__file__).resolve().parents[2] / "data" / "boundaries" / "jiangle_350428_townships.geojson"


@pytest.fixture(scope="module")
def townships():
    return load_areas(JIANGLE)


def test_counts_match_point_in_polygon(townships):
    rng = np.random.default_rng(11)
    lon = rng.uniform(117.0, 117.75, 3000)  # the box is larger than the county: some points fall outside
    lat = rng.uniform(26.35, 27.15, 3000)
    lon[:5] = np.nan
    got = count_in_areas(lon, lat, townships)
    want = [int(shapely.contains_xy(g, lon, lat).sum()) for g in townships.geometry]
    assert got["count"].tolist() == want
    assert 0 < got["count"].sum() < 3000
    assert list(got.columns) == ["name", "count", "area_km2", "per_km2", "geometry"]
    np.testing.assert_allclose(got["per_km2"], got["count"] / got["area_km2"])


def test_areas_in_square_kilometres(townships):
    got = count_in_areas([], [], townships)
    assert (got["count"] == 0).all()
    # 将乐县 is officially 2 246.7 km²; the township polygons give the same to within 2 %
    assert got["area_km2"].sum() == pytest.approx(2246.7, rel=0.02)
    assert got.set_index("name").loc["水南镇", "area_km2"] < got["area_km2"].median()


def test_a_point_is_counted_once_on_a_shared_border(townships):
    shared = townships.geometry.iloc[0].boundary.intersection(townships.geometry.iloc[5].boundary)
    point = shapely.get_coordinates(shared)[0]
    got = count_in_areas([point[0]], [point[1]], townships)
    assert got["count"].sum() == 1


def test_areas_without_a_geographic_crs_are_refused(townships):
    with pytest.raises(ValueError, match="不是经纬度坐标系"):
        count_in_areas([117.4], [26.7], townships.to_crs(4548))
    with pytest.raises(ValueError, match="没有声明坐标系"):
        count_in_areas([117.4], [26.7], townships.set_crs(None, allow_override=True))
