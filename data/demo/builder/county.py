"""The demo county: its departments and constants, the invented road network over the real 将乐县 township map,
and the County that places devices on the roads."""
from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, Point

HERE = Path(__file__).resolve().parents[1]  # data/demo: where the files are written
ROOT = HERE.parents[1]

SEED = 350428
BOUNDARY = ROOT / "data" / "boundaries" / "jiangle_350428_townships.geojson"
PERIOD_START, PERIOD_END = dt.date(2025, 1, 1), dt.date(2025, 6, 30)
FILED_ON = dt.date(2025, 7, 3)
METRIC_EPSG = 4548  # CGCS2000 3-degree Gauss-Kruger, central meridian 117°E
TO_M = Transformer.from_crs("EPSG:4326", f"EPSG:{METRIC_EPSG}", always_xy=True)
TO_DEG = Transformer.from_crs(f"EPSG:{METRIC_EPSG}", "EPSG:4326", always_xy=True)

JJ = "将乐县公安局交通管理大队"
JT = "将乐县交通运输局"
CG = "将乐县城市管理和综合执法局"
HB = "三明市将乐生态环境局"
DEPARTMENTS = {JJ: "JJ", JT: "JT", CG: "CG", HB: "HB"}
FILES = {JJ: "jiangle_jj_devices.xlsx", JT: "jiangle_jt_devices.xlsx", CG: "jiangle_cg_devices.csv",
         HB: "jiangle_hb_devices.xlsx"}

SPEED = ("固定测速", "移动测速", "区间测速")
NEEDS_VERIFICATION = SPEED + ("超限超载",)
# Straight-line minimum distance between normal devices of one type on one road (the defects break it).
MIN_GAP_M = {"固定测速": 700, "移动测速": 700, "区间测速": 1500, "违法停车": 150, "超限超载": 3000,
             "尾气遥感": 700, "城市管理": 120, "闯红灯": 100}
VIOLATION_KIND = {"固定测速": "超速行驶", "移动测速": "超速行驶", "区间测速": "区间超速行驶",
                  "闯红灯": "机动车违反信号灯通行", "违法停车": "机动车违法停车", "超限超载": "货车超限超载运输",
                  "尾气遥感": "机动车排放污染物超标", "城市管理": "占道经营、乱堆乱放"}
BASE_RATE = {"固定测速": 4.0, "区间测速": 6.0, "移动测速": 3.0, "闯红灯": 2.5, "违法停车": 3.0,  # per day
             "超限超载": 1.5, "尾气遥感": 3.0, "城市管理": 2.0}
FINE = {"固定测速": 200, "区间测速": 200, "移动测速": 200, "闯红灯": 200, "违法停车": 150, "尾气遥感": 200,
        "城市管理": 100}
SEVERE_SPEED_FINE = 1000
OVERLOAD_FINES = (1000, 1500, 2000)

# --- the invented road network (WGS-84 lon/lat) --------------------------------------------------------------------

URBAN = {  # county seat streets: name -> polyline
    "北山路": [(117.450, 26.750), (117.465, 26.7505), (117.480, 26.751)],
    "三华路": [(117.448, 26.742), (117.462, 26.7415), (117.476, 26.742), (117.490, 26.7412), (117.505, 26.741)],
    "府前路": [(117.450, 26.735), (117.461, 26.7352), (117.472, 26.735)],
    "解放路": [(117.452, 26.728), (117.460, 26.7276), (117.468, 26.727)],
    "水南大道": [(117.478, 26.731), (117.495, 26.7312), (117.512, 26.731)],
    "龙池路": [(117.482, 26.7225), (117.495, 26.722), (117.508, 26.722)],
    "新城路": [(117.484, 26.715), (117.495, 26.7155), (117.505, 26.716)],
    "金溪路": [(117.455, 26.716), (117.4552, 26.734), (117.455, 26.752)],
    "玉华路": [(117.463, 26.720), (117.4632, 26.736), (117.463, 26.752)],
    "南门街": [(117.470, 26.729), (117.4702, 26.740), (117.470, 26.752)],
    "积善路": [(117.488, 26.712), (117.4882, 26.728), (117.488, 26.744)],
    "城东大道": [(117.500, 26.714), (117.5002, 26.728), (117.500, 26.742)],
    "滨江路": [(117.458, 26.705), (117.462, 26.718), (117.469, 26.729), (117.477, 26.739), (117.479, 26.748)],
}
HIGHWAYS = {  # id -> polyline (extends beyond the county; devices are kept inside unless planted outside)
    "G205": [(117.700, 26.870), (117.650, 26.845), (117.620, 26.830), (117.590, 26.812), (117.560, 26.800),
             (117.530, 26.785), (117.500, 26.765), (117.478, 26.752), (117.450, 26.742), (117.420, 26.722),
             (117.390, 26.705), (117.360, 26.690), (117.330, 26.667), (117.300, 26.650), (117.250, 26.640),
             (117.200, 26.650)],
    "S217": [(117.488, 26.712), (117.480, 26.690), (117.460, 26.660), (117.440, 26.620), (117.430, 26.600),
             (117.400, 26.560), (117.370, 26.530), (117.340, 26.500), (117.320, 26.450), (117.310, 26.380)],
    "S306": [(117.465, 26.752), (117.460, 26.780), (117.450, 26.810), (117.440, 26.840), (117.435, 26.867),
             (117.450, 26.900), (117.465, 26.940), (117.476, 26.980)],
    "X708": [(117.505, 26.716), (117.520, 26.700), (117.535, 26.670), (117.546, 26.643)],
}
HIGHWAY_NAMES = {  # how each department writes the road
    "G205": {JJ: "G205", JT: "205国道", HB: "G205"},
    "S217": {JJ: "S217", JT: "省道217线", HB: "S217"},
    "S306": {JJ: "S306", JT: "省道306线", HB: "S306"},
    "X708": {JJ: "X708漠源线", JT: "县道708线", HB: "X708漠源线"},
}
HIGHWAY_KM0 = {"G205": 2108.0, "S217": 61.0, "S306": 18.0, "X708": 0.0}
LANDMARKS = ("县医院", "第一中学", "城关小学", "农贸市场", "汽车站", "人民广场", "体育中心", "金溪大桥", "县政府",
             "龙池公园", "步行街", "水南小学", "城南市场", "实验幼儿园", "中医院", "图书馆", "文化广场", "水南派出所")
COMPASS = ("北", "东北", "东", "东南", "南", "西南", "西", "西北")
OPPOSITE = dict(zip(COMPASS, COMPASS[4:] + COMPASS[:4]))


# --- geometry helpers -----------------------------------------------------------------------------------------------

def to_metric(coords) -> LineString:
    xs, ys = TO_M.transform([c[0] for c in coords], [c[1] for c in coords])
    return LineString(list(zip(xs, ys)))


def to_lonlat(point: Point) -> tuple[float, float]:
    lon, lat = TO_DEG.transform(point.x, point.y)
    return round(float(lon), 6), round(float(lat), 6)


def heading(line: LineString, d: float) -> float:
    """Compass bearing (degrees, 0 = north) of the line at distance d, in the drawing direction."""
    a, b = line.interpolate(max(d - 10, 0)), line.interpolate(min(d + 10, line.length))
    return math.degrees(math.atan2(b.x - a.x, b.y - a.y)) % 360


def compass(bearing: float) -> str:
    return COMPASS[int(((bearing + 22.5) % 360) // 45)]


def travel(bearing: float) -> str:
    """'由西向东' for a vehicle heading east."""
    to = compass(bearing)
    return f"由{OPPOSITE[to]}向{to}"


@dataclass
class Road:
    rid: str
    line: LineString
    urban: bool
    crossings: list[tuple[float, str]] = field(default_factory=list)  # (distance along, crossing road)


@dataclass(eq=False)
class Device:
    dept: str
    type: str
    road: Road
    at: float  # distance along the road (m)
    forward: bool  # travelling in the drawing direction of the road
    point: Point  # metric position
    status: str = "在用"
    fields: dict = field(default_factory=dict)
    code: str = ""
    rate_mult: float = 1.0
    warn_share: float = 0.1
    severe_share: float = 0.0
    fine_mult: float = 1.0
    dispersion: float = 0.05  # negative binomial: Var = μ + dispersion·μ² (real cameras are overdispersed)
    spike: tuple[dt.date, int] | None = None  # (day, count)
    rise: tuple[dt.date, int, float] | None = None  # (first day, days, multiple)
    outage: tuple[dt.date, int, bool] | None = None  # (first day, days, rows left out rather than 0)
    records_out_of_service: bool = False  # a device not in use (拟建) that records violations all the same
    verifications: list[dict] = field(default_factory=list)

    @property
    def lonlat(self) -> tuple[float, float]:
        return to_lonlat(self.point)


class County:
    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        data = json.loads(BOUNDARY.read_text(encoding="utf-8"))
        names, geoms = [], []
        for f in data["features"]:
            geom = shapely.from_geojson(json.dumps(f["geometry"]))
            xs, ys = TO_M.transform(*np.asarray(geom.exterior.coords).T)
            names.append(f["properties"]["name"])
            geoms.append(shapely.Polygon(list(zip(xs, ys))))
        self.townships = list(zip(names, geoms))
        self.area = shapely.union_all(geoms)
        shapely.prepare(self.area)
        self.roads = {n: Road(n, to_metric(c), True) for n, c in URBAN.items()}
        self.roads |= {n: Road(n, to_metric(c), False) for n, c in HIGHWAYS.items()}
        names = sorted(self.roads)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                hit = self.roads[a].line.intersection(self.roads[b].line)
                for p in getattr(hit, "geoms", [hit]):
                    if isinstance(p, Point):
                        self.roads[a].crossings.append((self.roads[a].line.project(p), b))
                        self.roads[b].crossings.append((self.roads[b].line.project(p), a))
        for road in self.roads.values():
            road.crossings.sort()
        self.devices: list[Device] = []

    def township(self, point: Point) -> str:
        """The township containing the point, or the nearest one (as a clerk would name a site past the border)."""
        return min(self.townships, key=lambda t: t[1].distance(point))[0]

    def inside(self, point: Point) -> bool:
        return self.area.contains(point)

    def clear(self, dtype: str, road: Road, point: Point, gap: float | None = None) -> bool:
        gap = MIN_GAP_M[dtype] if gap is None else gap
        return all(d.point.distance(point) >= gap for d in self.devices if d.type == dtype and d.road is road)

    def position(self, road: Road, at: float, lateral: float = 0.0) -> Point:
        p = road.line.interpolate(at)
        if lateral:
            h = math.radians(heading(road.line, at))
            p = Point(p.x + lateral * math.cos(h), p.y - lateral * math.sin(h))
        return p

    def place(self, dept: str, dtype: str, road_ids: str | list[str], *, lo: float = 0.0, hi: float = 1.0,
              forward: bool | None = None) -> Device:
        """A device at a random spot of road[lo..hi] (fractions) of one of road_ids, inside the county and clear
        of its peers."""
        choices = [road_ids] if isinstance(road_ids, str) else road_ids
        for _ in range(2000):
            road = self.roads[choices[int(self.rng.integers(len(choices)))]]
            at = float(self.rng.uniform(lo, hi) * road.line.length)
            point = self.position(road, at, float(self.rng.uniform(-8, 8)))
            if self.inside(point) and self.clear(dtype, road, point):
                fwd = bool(self.rng.random() < 0.5) if forward is None else forward
                dev = Device(dept, dtype, road, at, fwd, point)
                self.devices.append(dev)
                return dev
        raise RuntimeError(f"no room for another {dtype} on {road_ids}")

    def add_at(self, dept: str, dtype: str, road: Road, at: float, forward: bool, lateral: float = 0.0) -> Device:
        dev = Device(dept, dtype, road, at, forward, self.position(road, at, lateral))
        self.devices.append(dev)
        return dev
