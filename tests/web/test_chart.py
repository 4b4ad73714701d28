"""The daily violations chart: one point per day, spike days marked where they are."""
from __future__ import annotations

import datetime as dt

from web.devices.chart import HEIGHT, WIDTH, build


def test_no_data_no_chart():
    assert build([], set()) is None


def test_points_and_spikes():
    start = dt.date(2024, 1, 1)
    series = [(start + dt.timedelta(days=i), c) for i, c in enumerate([2, 4, 40, 3])]
    chart = build(series, {start + dt.timedelta(days=2)})
    assert chart.path.count("L") == 3
    (spike,) = chart.spikes
    assert spike.count == 40 and spike.day == dt.date(2024, 1, 3)
    assert 0 < spike.x < WIDTH and 0 <= spike.y < chart.baseline < HEIGHT
    # the spike is the highest point; the axis top is a round number above it
    assert spike.y == min(float(p.split(",")[1]) for p in chart.path[1:].split(" L"))
    assert chart.y_ticks[-1][1] == 50
    assert chart.x_ticks[0][1] == "2024-01-01" and chart.x_ticks[-1][1] == "2024-01-04"


def test_a_single_day():
    chart = build([(dt.date(2024, 5, 1), 0)], set())
    assert chart.path.startswith("M") and chart.spikes == []
