"""geo.metric: choosing a metric CRS and measuring metres in it."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely

from geo.metric import metric_crs_for, require_geographic, require_metric, to_metric


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [
        (117.47, 26.73, 4548),  # Jiangle: zone 39, CM 117°E
        (116.40, 39.90, 4548),  # Beijing: CM 117°E too
        (87.62, 43.83, 4538),  # Urumqi: zone 29, CM 87°E
        (126.63, 45.75, 4551),  # Harbin: zone 42, CM 126°E
        (-87.63, 41.88, 32616),  # Chicago: UTM 16N
        (151.21, -33.87, 32756),  # Sydney: UTM 56S
    ],
)
def test_metric_crs_for_picks_the_local_zone(lon, lat, epsg):
    assert metric_crs_for([lon, lon + 0.01, np.nan], [lat, lat, np.nan]).to_epsg() == epsg


def test_metric_crs_for_uses_the_median_point():
    # three points in Jiangle and one stray point in Urumqi: the zone is Jiangle's
    assert metric_crs_for([117.4, 117.5, 117.45, 87.6], [26.7, 26.8, 26.75, 43.8]).to_epsg() == 4548


def test_metric_crs_for_without_valid_points_is_an_error():
    with pytest.raises(ValueError, match="没有有效坐标"):
        metric_crs_for([np.nan], [np.nan])


@pytest.mark.parametrize("centre", [(117.47, 26.73), (118.9, 26.1), (87.62, 43.83), (-87.63, 41.88), (-86.9, 41.6)])
def test_distances_in_the_metric_crs_match_geodesics(centre):
    """Within ~50 km of each other, planar distances agree with WGS-84 geodesics to 0.5 %."""
    rng = np.random.default_rng(3)
    lon = centre[0] + rng.uniform(-0.25, 0.25, 200)
    lat = centre[1] + rng.uniform(-0.2, 0.2, 200)
    crs = metric_crs_for(lon, lat)
    x, y = to_metric(lon, lat, crs)
    i, j = rng.integers(0, 200, (2, 500))
    i, j = i[i != j], j[i != j]
    planar = np.hypot(x[i] - x[j], y[i] - y[j])
    geodesic = pyproj.Geod(ellps="WGS84").inv(lon[i], lat[i], lon[j], lat[j])[2]
    assert geodesic.max() < 60_000
    np.testing.assert_allclose(planar, geodesic, rtol=0.005)


def test_to_metric_refuses_a_geographic_crs():
    with pytest.raises(ValueError, match="不是以米为单位的投影坐标系"):
        to_metric([117.0], [26.0], "EPSG:4326")
    assert require_metric("EPSG:4548").to_epsg() == 4548


def test_require_geographic_checks_the_crs_at_the_edge():
    frame = gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.box(117, 26, 118, 27)])
    with pytest.raises(ValueError, match="没有声明坐标系"):
        require_geographic(frame)
    with pytest.raises(ValueError, match="不是经纬度坐标系"):
        require_geographic(frame.set_crs(4326).to_crs(4548))
    assert require_geographic(frame.set_crs(4490)).crs.to_epsg() == 4326
