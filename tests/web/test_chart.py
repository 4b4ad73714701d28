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


def test_band_and_periods():
    start = dt.date(2024, 1, 1)
    days = [start + dt.timedelta(days=i) for i in range(10)]
    series = [(d, 5) for d in days]
    band = [(d, 5.0, 2.0, 9.0) for d in days[2:]] + [(days[0], float("nan"), float("nan"), float("nan"))]
    chart = build(series, set(), band, [("rise", days[3], days[5]), ("outage", days[8], days[9]),
                                        ("rise", dt.date(2023, 1, 1), dt.date(2023, 1, 9))])
    # the band is a closed polygon: upper edge left to right, lower edge back; the day without a level is left out
    corners = [tuple(map(float, p.split(","))) for p in chart.band.split()]
    assert len(corners) == 2 * 8 and corners[0][0] < corners[7][0] and corners[8][0] > corners[15][0]
    assert all(upper[1] < lower[1] for upper, lower in zip(corners[:8], reversed(corners[8:])))
    assert chart.expected.count("L") == 7
    # periods outside the series are dropped; the others cover their days
    assert [(p.kind, p.start, p.end) for p in chart.periods] == [("rise", days[3], days[5]), ("outage", days[8], days[9])]
    rise = chart.periods[0]
    assert rise.x < float(chart.path.split(" L")[3].split(",")[0]) < rise.x + rise.width
    # the axis reaches above the band's upper edge
    assert chart.y_ticks[-1][1] >= 9


def test_no_band_without_a_model():
    chart = build([(dt.date(2024, 1, 1), 3)], set(), [], [])
    assert chart.band == "" and chart.expected == "" and chart.periods == []
