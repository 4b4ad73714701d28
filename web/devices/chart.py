"""An inline SVG line chart of a device's violations per day, with spike days marked (no JavaScript, no CDN)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

WIDTH, HEIGHT = 900, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 28


@dataclass
class Point:
    x: float
    y: float
    day: dt.date
    count: int


@dataclass
class Chart:
    width: int
    height: int
    path: str
    spikes: list[Point]
    y_ticks: list[tuple[float, int]]
    x_ticks: list[tuple[float, str]]
    baseline: float
    left: int = LEFT
    right: float = WIDTH - RIGHT


def build(series: list[tuple[dt.date, int]], spikes: set[dt.date]) -> Chart | None:
    """series: (day, count) pairs; spikes: the days to mark. None when there is nothing to draw."""
    if not series:
        return None
    series = sorted(series)
    first, last = series[0][0], series[-1][0]
    span = max((last - first).days, 1)
    top = max(max(c for _, c in series), 1)
    top = _nice(top)
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
    return Chart(WIDTH, HEIGHT, path, [p for p in points if p.day in spikes], y_ticks, x_ticks, y(0))


def _nice(value: int) -> int:
    """The smallest 1/2/5 × 10^k not below value."""
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if step * magnitude >= value:
                return step * magnitude
        magnitude *= 10
