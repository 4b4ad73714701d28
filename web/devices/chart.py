"""An inline SVG chart of a device's violations per day (no JavaScript, no CDN): the counts, the count model's
expected count and normal band (computed in audit.rules.band), spike days marked, rises and outages shaded."""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Sequence

WIDTH, HEIGHT = 900, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 28


@dataclass
class Point:
    x: float
    y: float
    day: dt.date
    count: int


@dataclass
class Period:
    """A shaded stretch of days: kind 'rise' (VIO04) or 'outage' (VIO05)."""

    x: float
    width: float
    kind: str
    start: dt.date
    end: dt.date


@dataclass
class Chart:
    width: int
    height: int
    path: str
    spikes: list[Point]
    y_ticks: list[tuple[float, int]]
    x_ticks: list[tuple[float, str]]
    baseline: float
    band: str = ""       # polygon points of the normal band
    expected: str = ""   # path of the expected count
    periods: list[Period] = field(default_factory=list)
    left: int = LEFT
    right: float = WIDTH - RIGHT
    top: int = TOP


def _finite(value: float | None) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def build(series: list[tuple[dt.date, int]], spikes: set[dt.date],
          band: Sequence[tuple[dt.date, float, float, float]] = (),
          periods: Sequence[tuple[str, dt.date, dt.date]] = ()) -> Chart | None:
    """series: (day, count) pairs; spikes: the days to mark; band: (day, expected, lower, upper) of the days the
    model scores; periods: (kind, first day, last day). None when there is nothing to draw."""
    if not series:
        return None
    series = sorted(series)
    band = [b for b in band if all(_finite(v) for v in b[1:])]
    first = min([series[0][0], *(b[0] for b in band)])
    last = max([series[-1][0], *(b[0] for b in band)])
    span = max((last - first).days, 1)
    top = max([max(c for _, c in series), *(b[3] for b in band), 1])
    top = _nice(math.ceil(top))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(day: dt.date) -> float:
        return round(LEFT + plot_w * (day - first).days / span, 1)

    def y(count: float) -> float:
        return round(TOP + plot_h * (1 - count / top), 1)

    points = [Point(x(d), y(c), d, c) for d, c in series]
    path = "M" + " L".join(f"{p.x},{p.y}" for p in points)
    y_ticks = [(y(v), v) for v in (0, top // 2, top)]
    n_ticks = min(6, len(series))
    x_ticks = []
    for i in range(n_ticks):
        day = first + dt.timedelta(days=round(span * i / max(n_ticks - 1, 1)))
        x_ticks.append((x(day), day.isoformat()))
    chart = Chart(WIDTH, HEIGHT, path, [p for p in points if p.day in spikes], y_ticks, x_ticks, y(0))
    if band:
        upper = " ".join(f"{x(d)},{y(hi)}" for d, _, _, hi in band)
        lower = " ".join(f"{x(d)},{y(lo)}" for d, _, lo, _ in reversed(band))
        chart.band = f"{upper} {lower}"
        chart.expected = "M" + " L".join(f"{x(d)},{y(e)}" for d, e, _, _ in band)
    day_width = plot_w / span
    chart.periods = [Period(round(x(a) - day_width / 2, 1), round(x(b) - x(a) + day_width, 1), kind, a, b)
                     for kind, a, b in periods if b >= first and a <= last]
    return chart


def _nice(value: int) -> int:
    """The smallest 1/2/5 × 10^k not below value."""
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if step * magnitude >= value:
                return step * magnitude
        magnitude *= 10
