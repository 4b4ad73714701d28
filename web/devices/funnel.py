"""The funnel plot as inline SVG: each device's violations per day in service against its days in service, with
the peers' centre and control limits (computed in audit.rules.capture.capture_funnel; here only placed)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .chart import _nice

WIDTH, HEIGHT = 900, 360
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 36


@dataclass
class Dot:
    x: float
    y: float
    point: dict[str, Any]


@dataclass
class Funnel:
    width: int
    height: int
    dots: list[Dot]
    centre: str = ""
    upper: str = ""
    lower: str = ""
    flag: str = ""
    x_ticks: list[tuple[float, int]] = field(default_factory=list)
    y_ticks: list[tuple[float, int]] = field(default_factory=list)
    left: int = LEFT
    right: int = WIDTH - RIGHT
    baseline: float = HEIGHT - BOTTOM


def build(data: dict[str, Any]) -> Funnel | None:
    """None when there is no comparable device to draw."""
    points, limits = data["points"], data["limits"]
    if not points:
        return None
    days = [p["days"] for p in points] + (limits["days"] if limits else [])
    rates = [p["per_day"] for p in points] + (limits["flag"] if limits else [])
    x_hi = _nice(max(max(days), 1))
    y_hi = _nice(max(int(max(rates)) + 1, 1))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(value: float) -> float:
        return round(LEFT + plot_w * value / x_hi, 1)

    def y(value: float) -> float:
        return round(TOP + plot_h * (1 - min(value, y_hi) / y_hi), 1)

    chart = Funnel(WIDTH, HEIGHT, [Dot(x(p["days"]), y(p["per_day"]), p) for p in points],
                   x_ticks=[(x(v), v) for v in (0, x_hi // 2, x_hi)], y_ticks=[(y(v), v) for v in (0, y_hi // 2, y_hi)])
    if limits:
        line = (lambda values: "M" + " L".join(f"{x(d)},{y(v)}" for d, v in zip(limits["days"], values)))
        chart.centre = line([limits["centre"]] * len(limits["days"]))
        chart.upper, chart.lower, chart.flag = line(limits["upper"]), line(limits["lower"]), line(limits["flag"])
    return chart
