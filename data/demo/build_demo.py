"""Build the demo county 将乐县 (Jiangle, Sanming, Fujian; adcode 350428): synthetic devices on the real township map.

Everything written here is synthetic except the township polygons (data/boundaries/jiangle_350428_townships.geojson).
Streets and highways are invented polylines drawn over the real county; devices are placed along them, mostly in the
county seat (古镛镇, 水南镇). The generator is deterministic (one seeded RNG) and rewrites every file:

  jiangle_jj_devices.xlsx   将乐县公安局交通管理大队: the template layout (title, 填报单位, header), Chinese headers
  jiangle_jt_devices.xlsx   将乐县交通运输局: a system export, English alias headers in row 1, dates as text
  jiangle_cg_devices.csv    将乐县城市管理和综合执法局: GBK CSV with two title rows, Chinese headers without '*'
  jiangle_hb_devices.xlsx   三明市将乐生态环境局: one title row, GCJ02 coordinates (高德) stated in 坐标系
  verifications.xlsx        the verification history of the speed and weigh-in-motion devices (template layout)
  violations.csv            daily violation counts and fines of every device in use, 2025-01-01 … 2025-06-30
  defects.csv               the defects planted for the audit to find: device_code, defect, detail
  rejected_example.csv      a small upload with typical mistakes, to show the validation report
  manifest.toml             what `camaudit demo` loads, in order

Run: .venv/bin/python data/demo/build_demo.py
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from openpyxl import Workbook, load_workbook
from pyproj import Transformer
from shapely.geometry import LineString, Point

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from audit.intake.columns import DEVICE_COLUMNS, TABLES  # noqa: E402
from audit.intake.template import FIRST_DATA_ROW, TITLE_ROW, UNIT_ROW, write_template  # noqa: E402
from audit.intake.xlsxsafe import set_cell  # noqa: E402
from geo.crs import wgs84_to_gcj02  # noqa: E402

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
    spike: tuple[dt.date, int] | None = None
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


# --- descriptive fields ---------------------------------------------------------------------------------------------

def road_name(dev: Device) -> str:
    if dev.road.urban:
        return dev.road.rid
    return HIGHWAY_NAMES[dev.road.rid].get(dev.dept, dev.road.rid)


def direction(dev: Device) -> str:
    bearing = heading(dev.road.line, dev.at)
    return travel(bearing if dev.forward else (bearing + 180) % 360)


def address(county: County, dev: Device, rng: np.random.Generator) -> str:
    name = road_name(dev)
    if not dev.road.urban:
        km = HIGHWAY_KM0[dev.road.rid] + dev.at / 1000
        return f"{name}K{int(km)}+{int(round((km % 1) * 1000)) % 1000:03d}（{county.township(dev.point)}路段）"
    near = min(dev.road.crossings, key=lambda c: abs(c[0] - dev.at), default=None)
    if near is None or abs(near[0] - dev.at) > 450:
        return f"{name}{int(dev.at // 12) * 2 + 1}号{rng.choice(LANDMARKS)}附近"
    offset = dev.at - near[0]
    if abs(offset) < 15:
        return f"{name}与{near[1]}交叉口"
    bearing = heading(dev.road.line, dev.at)
    side = compass(bearing if offset > 0 else (bearing + 180) % 360)
    return f"{name}与{near[1]}交叉口{side}{int(round(abs(offset), -1))}米"


JUSTIFICATIONS = {
    "speed": ("{y}年该路段发生超速引发的交通事故{n}起，死亡{k}人", "群众反映该路段车速过快，{y}年投诉{n}件次",
              "长下坡、急弯路段，{y}年发生交通事故{n}起", "学校周边路段，上下学时段人车混行，{y}年超速投诉{n}件次"),
    "redlight": ("该路口{y}年发生闯红灯引发的交通事故{n}起", "路口车流量大，{y}年群众反映闯红灯问题{n}件次",
                 "学校、医院周边路口，行人过街需求大"),
    "parking": ("{y}年群众投诉违法停车堵塞交通{n}件次", "医院、学校周边，违法停车导致拥堵，{y}年接警{n}起",
                "消防通道、公交站台周边，需保持畅通"),
    "overload": ("超限车辆集中通行，{y}年路面病害修复{n}处", "矿产、木材运输车辆集中，{y}年查处超限车辆{n}辆",
                 "桥梁限载路段，{y}年查处超限运输{n}起"),
    "emission": ("柴油货车通行集中，大气污染防治重点路段", "{y}年该路段黑烟车投诉{n}件次",
                 "国省道入城口，重型柴油车排放监管需要"),
    "urban": ("{y}年群众投诉占道经营{n}件次", "农贸市场周边，占道经营、乱堆乱放问题突出，{y}年投诉{n}件次",
              "商业街区，市容秩序管理需要"),
}
JUST_GROUP = {"固定测速": "speed", "移动测速": "speed", "区间测速": "speed", "闯红灯": "redlight",
              "违法停车": "parking", "超限超载": "overload", "尾气遥感": "emission", "城市管理": "urban"}
REVIEW_PREFIX = {JJ: "将公交法审", JT: "将交法审", CG: "将城执法审", HB: "明将环法审"}
CHANNELS = {JJ: ("将乐县人民政府门户网站", "“将乐交警”微信公众号", "将乐县人民政府门户网站、“将乐交警”微信公众号",
                 "《三明日报》、将乐县人民政府门户网站"),
            JT: ("将乐县人民政府门户网站", "将乐县交通运输局政务公开栏"),
            CG: ("“将乐城管”微信公众号", "将乐县人民政府门户网站"),
            HB: ("三明市生态环境局网站", "将乐县人民政府门户网站")}
NAME_SUFFIX = {"固定测速": "固定测速点", "移动测速": "流动测速点", "区间测速": "区间测速", "闯红灯": "闯红灯抓拍",
               "违法停车": "违停抓拍", "超限超载": "不停车超限检测点", "尾气遥感": "尾气遥感监测点",
               "城市管理": "城管监控抓拍"}


def describe(county: County, dev: Device, rng: np.random.Generator, seq: dict) -> None:
    """Fill the inventory fields of a normal, compliant device."""
    f = dev.fields
    road = road_name(dev)
    year_in = int(rng.choice([2019, 2020, 2021, 2022, 2023, 2024], p=[.08, .12, .18, .22, .22, .18]))
    in_service = dt.date(year_in, 1, 1) + dt.timedelta(days=int(rng.integers(30, 330)))
    if dev.status == "拟建":
        in_service = None
    group = JUST_GROUP[dev.type]
    template = str(rng.choice(JUSTIFICATIONS[group]))
    ref_year = (in_service or FILED_ON).year - 1
    f["justification"] = template.format(y=ref_year, n=int(rng.integers(4, 30)), k=int(rng.integers(1, 3)))
    f["device_type"] = dev.type
    f["violation_kinds"] = VIOLATION_KIND[dev.type]
    f["road"] = road
    f["direction"] = direction(dev) if dev.type not in ("违法停车", "城市管理") else "双向"
    f["address"] = address(county, dev, rng)
    if not dev.road.urban:
        f["name"] = f["address"].split("（")[0] + NAME_SUFFIX[dev.type] + dev.fields.get("_role", "")
    elif "交叉口" in f["address"] and dev.type == "闯红灯":
        f["name"] = f["address"].split("交叉口")[0] + f"路口{NAME_SUFFIX[dev.type]}（{f['direction']}）"
    else:
        f["name"] = f"{road}{rng.choice(LANDMARKS)}段{NAME_SUFFIX[dev.type]}"
    f["status"] = dev.status
    f["signage"] = "是"
    if dev.type in SPEED:
        f["sign_distance_m"] = float(rng.choice([250, 300, 400, 500]))
        f["speed_limit_kmh"] = (int(rng.choice([40, 50])) if dev.road.urban else
                                int(rng.choice([60, 70, 80])) if dev.type != "区间测速" else 80)
    if in_service is None:  # planned: reviewed, nothing else yet
        f["legal_review_on"] = FILED_ON - dt.timedelta(days=int(rng.integers(20, 60)))
    else:
        f["legal_review_on"] = in_service - dt.timedelta(days=int(rng.integers(25, 70)))
    key = (dev.dept, f["legal_review_on"].year)
    seq[key] = seq.get(key, 0) + 1
    f["legal_review_no"] = f"{REVIEW_PREFIX[dev.dept]}〔{key[1]}〕{seq[key]}号"
    if in_service is None:
        return
    f["installed_on"] = in_service - dt.timedelta(days=int(rng.integers(10, 41)))
    f["in_service_on"] = in_service
    f["tech_review_on"] = in_service - dt.timedelta(days=int(rng.integers(3, 9)))
    f["published_on"] = in_service - dt.timedelta(days=int(rng.integers(3, 26)))
    f["publication_channel"] = str(rng.choice(CHANNELS[dev.dept]))


# --- verification history ---------------------------------------------------------------------------------------------

AGENCIES = {"speed": "三明市计量所", "wim": "福建省计量科学研究院"}


def certificate(agency: str, day: dt.date, n: int) -> str:
    if agency == AGENCIES["wim"]:
        return f"FJJL{day.year}-{n:05d}"
    return f"明计检字〔{day.year}〕第{n:04d}号"


def add_years(day: dt.date, n: int) -> dt.date:
    try:
        return day.replace(year=day.year + n)
    except ValueError:  # 29 February
        return day.replace(year=day.year + n, day=28)


def record(dev: Device, day: dt.date, counter: dict, result: str = "合格") -> dict:
    """One annual verification; a failed one (检定结果通知书) grants no validity beyond its own day.
    counter numbers the certificates per agency, year and kind."""
    agency = AGENCIES["wim"] if dev.type == "超限超载" else AGENCIES["speed"]
    key = (agency, day.year, result)
    counter[key] = counter.get(key, 0) + 1
    if result != "合格":
        return {"verified_on": day, "valid_until": day, "result": result, "agency": agency,
                "certificate_no": f"明计通字〔{day.year}〕第{counter[key]:04d}号"}
    return {"verified_on": day, "valid_until": add_years(day, 1) - dt.timedelta(days=1), "result": result,
            "certificate_no": certificate(agency, day, counter[key]), "agency": agency}


def verification_history(dev: Device, rng: np.random.Generator, counter: dict,
                         until: dt.date = PERIOD_END) -> list[dict]:
    """Annual verifications from before going into service up to `until`, each renewed before it expires;
    the last 2-4 are kept (older certificates are not in the department's ledger)."""
    day = dev.fields["in_service_on"] - dt.timedelta(days=int(rng.integers(5, 20)))
    records = []
    while day <= until:
        records.append(record(dev, day, counter))
        day = records[-1]["valid_until"] - dt.timedelta(days=int(rng.integers(3, 25)))
    return records[-int(rng.integers(2, 5)):]


def chain(dev: Device, rng: np.random.Generator, counter: dict, last: dt.date, n: int) -> list[dict]:
    """n consecutive annual verifications, the last on day `last`, each renewed a few days before expiry."""
    days = [last]
    for _ in range(n - 1):
        days.append(add_years(days[-1], -1) + dt.timedelta(days=int(rng.integers(3, 25))))
    return [record(dev, d, counter) for d in reversed(days)]


def sync_inventory(dev: Device) -> None:
    """The inventory's verification columns show the latest record (empty when there is none)."""
    for key in ("verified_on", "verification_valid_until", "verification_result", "certificate_no"):
        dev.fields.pop(key, None)
    if dev.verifications:
        last = dev.verifications[-1]
        dev.fields |= {"verified_on": last["verified_on"], "verification_valid_until": last["valid_until"],
                       "verification_result": last["result"], "certificate_no": last["certificate_no"]}


# --- building the county ----------------------------------------------------------------------------------------------

def build_devices(county: County) -> list[Device]:
    rng = county.rng
    urban = list(URBAN)
    # the parking cluster goes first so that regular parking cameras keep their distance from it
    cluster_road = county.roads["府前路"]
    start = cluster_road.line.length * 0.45
    cluster = [county.add_at(JJ, "违法停车", cluster_road, start + 40 * i, True, 6.0) for i in range(8)]

    # 将乐县公安局交通管理大队
    for road, n in (("三华路", 3), ("水南大道", 3), ("滨江路", 2), ("积善路", 2), ("城东大道", 2), ("金溪路", 2),
                    ("G205", 14), ("S217", 8), ("S306", 6), ("X708", 2)):
        for _ in range(n):
            county.place(JJ, "固定测速", road)
    for road, lo, hi in (("G205", 0.22, 0.34), ("G205", 0.55, 0.75), ("S217", 0.25, 0.55)):
        line = county.roads[road].line
        for _ in range(2000):
            a = float(rng.uniform(lo, hi - 0.05)) * line.length
            b = a + float(rng.uniform(3000, 5000))
            pa, pb = county.position(county.roads[road], a), county.position(county.roads[road], b)
            if b < hi * line.length and county.inside(pa) and county.inside(pb) \
                    and county.clear("区间测速", county.roads[road], pa) and county.clear("区间测速", county.roads[road], pb):
                fwd = bool(rng.random() < 0.5)
                first, last = (a, b) if fwd else (b, a)
                county.add_at(JJ, "区间测速", county.roads[road], first, fwd).fields["_role"] = "起点"
                county.add_at(JJ, "区间测速", county.roads[road], last, fwd).fields["_role"] = "终点"
                break
        else:
            raise RuntimeError(f"no room for an average-speed section on {road}")
    for road in ("G205", "S217", "S306"):
        county.place(JJ, "移动测速", road, lo=0.1, hi=0.9)
    for dev in redlight_approaches(county, 14):
        county.devices.append(dev)
    for _ in range(87):
        county.place(JJ, "违法停车", urban)

    # 将乐县交通运输局
    for road, n in (("G205", 6), ("S217", 4), ("S306", 4), ("X708", 2)):
        for _ in range(n):
            county.place(JT, "超限超载", road, lo=0.05, hi=0.95)
    for road, n in (("G205", 4), ("S217", 2), ("S306", 2)):
        for _ in range(n):
            county.place(JT, "固定测速", road)

    # 将乐县城市管理和综合执法局
    for _ in range(36):
        county.place(CG, "城市管理", urban)
    for _ in range(20):
        county.place(CG, "违法停车", urban)

    # 三明市将乐生态环境局
    for road, n in (("G205", 4), ("S217", 3), ("S306", 2), ("水南大道", 1), ("三华路", 1), ("X708", 1)):
        for _ in range(n):
            county.place(HB, "尾气遥感", road)
    return cluster


def redlight_approaches(county: County, n: int) -> list[Device]:
    """Red-light cameras on every approach of n urban junctions at least 300 m apart, 30 m before the stop line."""
    rng = county.rng
    junctions = []
    for rid in URBAN:
        road = county.roads[rid]
        for at, other in road.crossings:
            if other in URBAN and rid < other:
                junctions.append((road.line.interpolate(at), rid, other))
    order = rng.permutation(len(junctions))
    chosen: list[tuple[Point, str, str]] = []
    for i in order:
        p = junctions[i][0]
        if all(p.distance(q[0]) >= 300 for q in chosen):
            chosen.append(junctions[i])
        if len(chosen) == n:
            break
    devices = []
    for p, a, b in chosen:
        for rid in (a, b):
            road = county.roads[rid]
            at = road.line.project(p)
            for before, forward in ((at - 30, True), (at + 30, False)):
                if 0 <= before <= road.line.length:
                    devices.append(Device(JJ, "闯红灯", road, before, forward, county.position(road, before, 4.0)))
    return devices


def assign_codes(county: County) -> None:
    """Codes in a stable order: department, then type, then west to east."""
    type_order = {t: i for i, t in enumerate(("固定测速", "区间测速", "移动测速", "闯红灯", "违法停车", "超限超载",
                                              "尾气遥感", "城市管理"))}
    counters: dict[str, int] = {}
    for dev in sorted(county.devices, key=lambda d: (list(DEPARTMENTS).index(d.dept), type_order[d.type],
                                                     round(d.point.x), round(d.point.y))):
        prefix = DEPARTMENTS[dev.dept]
        counters[prefix] = counters.get(prefix, 0) + 1
        dev.code = f"JL-{prefix}-{counters[prefix]:04d}"
    county.devices.sort(key=lambda d: d.code)


# --- defects ----------------------------------------------------------------------------------------------------------

def plant_defects(county: County, cluster: list[Device], counter: dict) -> list[tuple[str, str, str]]:
    """Break the law on purpose, several times per kind; returns (device_code, defect, detail)."""
    rng = county.rng
    special = [d for d in county.devices if "_partner" in d.fields or "_outside" in d.fields]
    special += [d.fields["_partner"] for d in special if "_partner" in d.fields]
    used: set[str] = {d.code for d in cluster + special}
    out: list[tuple[str, str, str]] = [(d.code, "parking_cluster", "府前路同一路段8台违停抓拍设备间距约40米")
                                       for d in cluster]

    def pick(n: int, types: tuple[str, ...] | None = None, old: bool = False) -> list[Device]:
        """n in-use devices without a planted defect yet; old: in service before mid-2023."""
        pool = [d for d in county.devices if d.status == "在用" and d.code not in used
                and (types is None or d.type in types) and d.type not in ("移动测速", "区间测速")
                and (not old or d.fields["in_service_on"] < dt.date(2023, 6, 1))]
        chosen = [pool[i] for i in sorted(rng.choice(len(pool), n, replace=False))]
        used.update(d.code for d in chosen)
        return chosen

    for dev in pick(4):
        dev.fields.pop("legal_review_on"), dev.fields.pop("legal_review_no")
        out.append((dev.code, "no_legal_review", "未经法制审核"))
    for dev in pick(3):
        dev.fields["legal_review_on"] = dev.fields["in_service_on"] + dt.timedelta(days=int(rng.integers(20, 200)))
        out.append((dev.code, "legal_review_after_service",
                    f"法制审核{dev.fields['legal_review_on']}晚于启用{dev.fields['in_service_on']}"))
    for dev in pick(3):
        dev.fields.pop("tech_review_on")
        out.append((dev.code, "no_tech_review", "未经技术审核"))
    for dev in pick(4):
        dev.fields.pop("published_on"), dev.fields.pop("publication_channel")
        out.append((dev.code, "not_published", "设置地点未向社会公布"))
    for dev in pick(3):
        dev.fields["published_on"] = dev.fields["in_service_on"] + dt.timedelta(days=int(rng.integers(15, 300)))
        out.append((dev.code, "published_after_service",
                    f"公布{dev.fields['published_on']}晚于启用{dev.fields['in_service_on']}"))
    for dev in pick(4):
        dev.fields["signage"] = "否"
        dev.fields.pop("sign_distance_m", None)
        out.append((dev.code, "no_sign", "设置地点无明显标识"))
    for dev, dist, kind in zip(pick(4, ("固定测速",)), (50.0, 50.0, 3000.0, 3000.0),
                               ("sign_too_close", "sign_too_close", "sign_too_far", "sign_too_far")):
        dev.fields["sign_distance_m"] = dist
        out.append((dev.code, kind, f"测速警告标志距设备{int(dist)}米"))
    for dev in pick(4):
        dev.fields["justification"] = None
        out.append((dev.code, "no_justification", "未填写设置依据"))

    for dev in pick(3, ("固定测速",)):
        dev.verifications = []
        out.append((dev.code, "no_verification", "测速设备无检定记录"))
    for dev in pick(2, ("固定测速",), old=True) + pick(1, ("超限超载",), old=True):
        end = dt.date(2025, 1, 15) + dt.timedelta(days=int(rng.integers(0, 120)))
        dev.verifications = chain(dev, rng, counter, add_years(end + dt.timedelta(days=1), -1), 3)
        out.append((dev.code, "verification_expired", f"检定有效期至{end}，此后未再检定"))
    for dev in pick(2, ("固定测速",), old=True) + pick(1, ("超限超载",), old=True):
        day = dt.date(2025, 2, 10) + dt.timedelta(days=int(rng.integers(0, 90)))
        dev.verifications = chain(dev, rng, counter, add_years(day, -1), 2) + [record(dev, day, counter, "不合格")]
        out.append((dev.code, "verification_failed", f"{day}检定不合格，仍在使用"))
    for dev in pick(2, ("固定测速",), old=True) + pick(1, ("超限超载",), old=True):
        # a late renewal: the certificate ran out weeks before the next verification; the consequence is listed
        # as violations_without_valid_verification
        gap_start = dt.date(2025, 1, 20) + dt.timedelta(days=int(rng.integers(0, 80)))
        renewal = gap_start + dt.timedelta(days=int(rng.integers(20, 45)))
        dev.verifications = chain(dev, rng, counter, add_years(gap_start, -1), 2) + [record(dev, renewal, counter)]

    # captures and fines
    for dev in pick(3, ("违法停车", "闯红灯", "固定测速")):
        dev.rate_mult = 0.02 / BASE_RATE[dev.type]
        out.append((dev.code, "near_zero_captures", "在用但半年内几乎无抓拍"))
    for dev in pick(3, ("违法停车", "闯红灯", "固定测速")):
        dev.rate_mult = float(rng.uniform(6, 9))
        out.append((dev.code, "high_captures", f"日均抓拍约为同类设备的{dev.rate_mult:.0f}倍"))
    for dev in pick(3, ("违法停车", "闯红灯", "固定测速")):
        dev.rate_mult = 5.0 / BASE_RATE[dev.type]
        first = dt.date(2025, 3, 1) + dt.timedelta(days=int(rng.integers(0, 90)))
        dev.spike = (first, 7)
        out.append((dev.code, "capture_spike", f"{first}起连续7天日抓拍约55起，平时约5起"))
    for dev in pick(3, ("违法停车", "闯红灯", "固定测速")):
        dev.fine_mult = float(rng.uniform(5, 8))
        out.append((dev.code, "high_fine_per_violation", f"每起罚款约为同类设备的{dev.fine_mult:.0f}倍"))
    return out


def plant_spacing_pairs(county: County) -> None:
    """A second device of the same type 80-150 m from an existing one, same road and direction."""
    rng = county.rng
    for dept, dtype, road in ((JJ, "固定测速", "G205"), (JJ, "固定测速", "水南大道"), (JT, "固定测速", "G205")):
        pool = [d for d in county.devices if d.dept == dept and d.type == dtype and d.road.rid == road
                and d.status == "在用"]
        for partner in (pool[i] for i in rng.permutation(len(pool))):
            for _ in range(200):
                at = partner.at + float(rng.choice([-1, 1]) * rng.uniform(90, 140))
                point = county.position(partner.road, at)
                dist = point.distance(partner.point)
                if 0 <= at <= partner.road.line.length and 80 <= dist <= 150 and county.inside(point) and \
                        county.clear(dtype, partner.road, point, 80):
                    dev = county.add_at(dept, dtype, partner.road, at, partner.forward)
                    dev.fields["_partner"] = partner
                    break
            else:
                continue
            break


def plant_outside(county: County) -> None:
    """Two devices 2-6 km beyond the county boundary on the roads leaving it."""
    for dept, dtype, road_id in ((JJ, "固定测速", "S217"), (JT, "超限超载", "G205")):
        road = county.roads[road_id]
        ats = np.linspace(0, road.line.length, 400)
        for at in (ats if road_id == "G205" else ats[::-1]):
            p = county.position(road, float(at))
            if not county.inside(p) and 2500 <= county.area.boundary.distance(p) <= 6000:
                dev = county.add_at(dept, dtype, road, float(at), True)
                dev.fields["_outside"] = True
                break


# --- violations -------------------------------------------------------------------------------------------------------

WEEKDAY = {"speed": (0.95, 0.95, 0.95, 1.0, 1.1, 1.2, 1.15), "redlight": (1.05, 1.05, 1.05, 1.05, 1.1, 0.9, 0.85),
           "town": (1.1, 1.1, 1.1, 1.1, 1.1, 0.8, 0.7), "truck": (1.1, 1.1, 1.1, 1.1, 1.0, 0.85, 0.75)}
WEEKDAY_GROUP = {"固定测速": "speed", "移动测速": "speed", "区间测速": "speed", "闯红灯": "redlight",
                 "违法停车": "town", "城市管理": "town", "超限超载": "truck", "尾气遥感": "truck"}
HOLIDAYS = [  # (first, last, factor per weekday group)
    (dt.date(2025, 1, 25), dt.date(2025, 2, 6), {"speed": 1.4, "redlight": 1.1, "town": 1.25, "truck": 0.45}),
    (dt.date(2025, 4, 4), dt.date(2025, 4, 6), {"speed": 1.2, "redlight": 1.0, "town": 0.9, "truck": 0.8}),
    (dt.date(2025, 5, 1), dt.date(2025, 5, 5), {"speed": 1.25, "redlight": 1.05, "town": 1.2, "truck": 0.8}),
    (dt.date(2025, 5, 31), dt.date(2025, 6, 2), {"speed": 1.15, "redlight": 1.0, "town": 1.1, "truck": 0.9}),
]


def day_factors(days: pd.DatetimeIndex) -> dict[str, np.ndarray]:
    out = {}
    doy = days.day_of_year.to_numpy()
    for group, weekly in WEEKDAY.items():
        f = np.asarray(weekly)[days.day_of_week.to_numpy()] * (1 + 0.06 * np.sin(2 * np.pi * (doy - 60) / 365))
        for first, last, factors in HOLIDAYS:
            mask = (days >= pd.Timestamp(first)) & (days <= pd.Timestamp(last))
            f = np.where(mask, f * factors[group], f)
        out[group] = f
    return out


def violations(county: County) -> pd.DataFrame:
    rng = county.rng
    days = pd.date_range(PERIOD_START, PERIOD_END, freq="D")
    factors = day_factors(days)
    frames = []
    for dev in county.devices:
        if dev.status != "在用":
            continue
        lam = BASE_RATE[dev.type] * dev.rate_mult * factors[WEEKDAY_GROUP[dev.type]]
        counts = rng.poisson(lam)
        if dev.spike:
            first, n = dev.spike
            i = (first - PERIOD_START).days
            counts[i:i + n] = rng.poisson(55, n)
        warned = rng.binomial(counts, dev.warn_share)
        paid = counts - warned
        if dev.type == "超限超载":
            cases = rng.multinomial(paid, rng.dirichlet((4, 3, 2)))  # per day: cases fined 1,000/1,500/2,000
            fines = cases @ np.asarray(OVERLOAD_FINES, dtype=float)
        else:
            severe = rng.binomial(paid, dev.severe_share) if dev.severe_share else np.zeros_like(paid)
            fines = (paid - severe) * FINE[dev.type] + severe * SEVERE_SPEED_FINE
        fines = np.round(fines * dev.fine_mult / 10) * 10 if dev.fine_mult != 1 else fines.astype(float)
        frames.append(pd.DataFrame({"设备编号": dev.code, "日期": days.strftime("%Y-%m-%d"), "违法数量": counts,
                                    "罚款金额": fines}))
    return pd.concat(frames, ignore_index=True)


def uncovered_violations(county: County, table: pd.DataFrame) -> list[tuple[str, str, str]]:
    """Every device needing verification that recorded violations on days without a valid 合格 certificate."""
    out = []
    by_device = dict(tuple(table.groupby("设备编号", sort=False)))
    for dev in county.devices:
        if dev.type not in NEEDS_VERIFICATION or dev.code not in by_device:
            continue
        rows = by_device[dev.code]
        day = pd.to_datetime(rows["日期"]).dt.date
        covered = np.zeros(len(rows), dtype=bool)
        for r in dev.verifications:
            if r["result"] == "合格":
                covered |= ((day >= r["verified_on"]) & (day <= r["valid_until"])).to_numpy()
        bad = ~covered & (rows["违法数量"].to_numpy() > 0)
        if bad.any():
            out.append((dev.code, "violations_without_valid_verification",
                        f"{int(bad.sum())}天无有效检定仍有抓拍，共{int(rows['违法数量'].to_numpy()[bad].sum())}起、"
                        f"罚款{rows['罚款金额'].to_numpy()[bad].sum():.2f}元"))
    return out


# --- writers ----------------------------------------------------------------------------------------------------------

KEYS = [c.key for c in DEVICE_COLUMNS]
DATE_KEYS = {c.key for c in DEVICE_COLUMNS if c.kind == "date"}


def rows_of(county: County, dept: str, crs: str) -> list[dict]:
    rows = []
    for dev in county.devices:
        if dev.dept != dept:
            continue
        lon, lat = dev.lonlat
        if crs == "GCJ02":
            glon, glat = wgs84_to_gcj02(lon, lat)
            lon, lat = round(float(glon), 6), round(float(glat), 6)
        row = {k: v for k, v in dev.fields.items() if not k.startswith("_")}
        row |= {"device_code": dev.code, "department": dept, "lon": lon, "lat": lat, "crs": crs}
        rows.append({k: row.get(k) for k in KEYS})
    return rows


def save_stable(wb: Workbook, path: Path) -> None:
    """Save with fixed document and zip timestamps, so that rebuilding gives byte-identical files."""
    stamp = dt.datetime(FILED_ON.year, FILED_ON.month, FILED_ON.day)
    wb.properties.created = stamp
    buf = io.BytesIO()
    wb.save(buf)
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + stamp.isoformat().encode() + b"Z", data)
            dst.writestr(zipfile.ZipInfo(item.filename, stamp.timetuple()[:6]), data, zipfile.ZIP_DEFLATED)
    path.write_bytes(out.getvalue())


def write_template_file(path: Path, kind: str, title: str, unit: str, rows: list[dict]) -> None:
    """Fill the blank form: the clerk's title and unit line, then one row per record."""
    write_template(kind, path)
    wb = load_workbook(path)
    ws = wb.worksheets[0]
    ws.cell(TITLE_ROW, 1).value = title
    ws.cell(UNIT_ROW, 1).value = unit
    keys = [c.key for c in TABLES[kind].columns]
    for r, row in enumerate(rows, start=FIRST_DATA_ROW):
        for c, key in enumerate(keys, start=1):
            value = row.get(key)
            if value is not None:
                set_cell(ws.cell(r, c), value)
    save_stable(wb, path)


def unit_line(dept: str) -> str:
    return f"填报单位（盖章）：{dept}        填报日期：{FILED_ON.year}年{FILED_ON.month}月{FILED_ON.day}日"


def write_jj(county: County, path: Path) -> None:
    write_template_file(path, "devices", f"{JJ}非现场执法设备登记表", unit_line(JJ), rows_of(county, JJ, "CGCS2000"))


def write_jt(county: County, path: Path) -> None:
    """A system export: English alias headers in row 1, dates and numbers as text, no title."""
    wb = Workbook()
    ws = wb.active
    ws.title = "devices"
    ws.append(KEYS)
    for row in rows_of(county, JT, "WGS84"):
        ws.append([_text_date(row[k]) if k in DATE_KEYS else row[k] for k in KEYS])
    save_stable(wb, path)


def _text_date(value) -> str | None:
    return None if value is None else value.strftime("%Y/%m/%d")


def write_cg(county: County, path: Path) -> None:
    """GBK CSV saved from Excel: two title rows, Chinese headers without '*', dates as 2022/3/5."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    width = len(DEVICE_COLUMNS)
    w.writerow([f"{CG}非现场执法设备清单"] + [""] * (width - 1))
    w.writerow([f"填报单位：{CG}", "", "", f"填报日期：{FILED_ON.isoformat()}"] + [""] * (width - 4))
    w.writerow([c.header for c in DEVICE_COLUMNS])
    for row in rows_of(county, CG, "WGS84"):
        w.writerow(["" if row[k] is None else
                    f"{row[k].year}/{row[k].month}/{row[k].day}" if k in DATE_KEYS else
                    _num(row[k]) for k in KEYS])
    path.write_bytes(buf.getvalue().encode("gbk"))


def _num(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def write_hb(county: County, path: Path) -> None:
    """One title row, header in row 2, GCJ02 coordinates copied from 高德地图 (stated in 坐标系)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "尾气遥感设备"
    ws.append([f"{HB}机动车尾气遥感监测设备登记表"])
    ws.append([c.label for c in DEVICE_COLUMNS])
    for row in rows_of(county, HB, "GCJ02"):
        ws.append([row[k] for k in KEYS])
    for cells in ws.iter_rows(min_row=3):
        for cell in cells:
            if isinstance(cell.value, dt.date):
                cell.number_format = "yyyy-mm-dd"
    save_stable(wb, path)


def write_verifications(county: County, path: Path) -> None:
    rows = [{"device_code": dev.code} | r for dev in county.devices for r in dev.verifications]
    write_template_file(path, "verifications", "将乐县非现场执法设备计量检定记录表", unit_line("将乐县司法局（汇总）"),
                        rows)


def write_violations(table: pd.DataFrame, path: Path) -> None:
    out = table.copy()
    out["罚款金额"] = out["罚款金额"].map("{:.2f}".format)
    out.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")


def write_rejected(path: Path) -> None:
    """Six rows with the mistakes clerks make most, each of which the importer reports."""
    header = [c.label for c in DEVICE_COLUMNS]
    blank = dict.fromkeys(KEYS, "")
    rows = [
        blank | {"device_code": "JL-XX-0001", "device_type": "固定测速", "lon": "117.47312", "lat": "26.72851",
                 "in_service_on": "2023-13-05"},
        blank | {"device_code": "JL-XX-0001", "device_type": "闯红灯", "lon": "117.48012", "lat": "26.73102"},
        blank | {"device_code": "", "device_type": "违法停车", "lon": "117.46001", "lat": "26.74003"},
        blank | {"device_code": "JL-XX-0003", "device_type": "测速", "lon": "117.46", "lat": "26.74"},
        blank | {"device_code": "JL-XX-0004", "device_type": "违法停车", "lon": "", "lat": "26.74"},
        blank | {"device_code": "JL-XX-0005", "device_type": "违法停车", "lon": "117,46", "lat": "26.74",
                 "status": "正常"},
    ]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for row in rows:
        w.writerow([row[k] for k in KEYS])
    path.write_text(buf.getvalue(), encoding="utf-8")


MANIFEST = f"""# What `camaudit demo` loads, in order (paths relative to data/). Written by data/demo/build_demo.py.

[audit]
as_of = "{PERIOD_END.isoformat()}"
profile = "national"
areas = "boundaries/jiangle_350428_townships.geojson"
roads = "demo/roads.geojson"

# Demo logins for the web application (demo database only).
[users]
password = "camaudit-demo"
accounts = [
    ["admin", "admin", ""],
    ["auditor", "auditor", ""],
    ["jiaojing", "department", "{JJ}"],
    ["chengguan", "department", "{CG}"],
]

[[boundary]]
file = "boundaries/jiangle_350428_townships.geojson"
departments = ["{JJ}", "{JT}", "{CG}", "{HB}"]

[[import]]
kind = "devices"
file = "demo/{FILES[JJ]}"
department = "{JJ}"

[[import]]
kind = "devices"
file = "demo/{FILES[JT]}"
department = "{JT}"

[[import]]
kind = "devices"
file = "demo/{FILES[CG]}"
department = "{CG}"

[[import]]
kind = "devices"
file = "demo/{FILES[HB]}"
department = "{HB}"

[[import]]
kind = "verifications"
file = "demo/verifications.xlsx"

[[import]]
kind = "violations"
file = "demo/violations.csv"

[[import]]
kind = "devices"
file = "chicago/chicago_speed_devices.csv"
department = "Chicago Department of Transportation (CDOT)"

[[import]]
kind = "violations"
file = "chicago/chicago_speed_violations_2019.csv"

[[rejected]]
kind = "devices"
file = "demo/rejected_example.csv"
department = "示例单位"
note = "常见填报错误：日期不存在、编号重复或为空、设备类型不在列表中、缺少经度、经度用逗号、状态不在列表中"
"""


def write_roads(path: Path) -> None:
    """The invented road network as a GeoJSON line file (WGS-84), as a road export would give it."""
    features = [{"type": "Feature", "properties": {"name": name, "kind": kind},
                 "geometry": {"type": "LineString", "coordinates": [list(c) for c in coords]}}
                for kind, roads in (("城区道路", URBAN), ("公路", HIGHWAYS)) for name, coords in roads.items()]
    text = json.dumps({"type": "FeatureCollection", "name": "将乐县（虚构）路网", "features": features},
                      ensure_ascii=False, separators=(",", ":"))
    path.write_text(text + "\n", encoding="utf-8")


def main() -> None:
    rng = np.random.default_rng(SEED)
    county = County(rng)
    cluster = build_devices(county)
    plant_spacing_pairs(county)
    plant_outside(county)

    # statuses other than 在用, chosen among devices with no special role
    plain = [d for d in county.devices if d not in cluster and "_partner" not in d.fields
             and "_outside" not in d.fields and d.type not in ("区间测速", "移动测速")
             and not any(p.fields.get("_partner") is d for p in county.devices)]
    for dev, status in zip((plain[i] for i in rng.choice(len(plain), 12, replace=False)),
                           ["停用"] * 6 + ["拆除"] * 2 + ["拟建"] * 4):
        dev.status = status

    for dev in county.devices:
        dev.rate_mult = float(np.clip(rng.lognormal(0, 0.3), 0.55, 1.8))
        dev.warn_share = float(rng.uniform(0.3, 0.6) if dev.type == "城市管理" else rng.uniform(0.03, 0.2))
        dev.severe_share = float(rng.uniform(0.02, 0.12)) if dev.type in SPEED else 0.0
    seq: dict[tuple[str, int], int] = {}
    for dev in county.devices:
        describe(county, dev, rng, seq)
    assign_codes(county)
    counter: dict = {}
    for dev in county.devices:
        if dev.type in NEEDS_VERIFICATION and dev.status != "拟建":
            until = PERIOD_END if dev.status == "在用" else dt.date(2024, 6, 30)
            dev.verifications = verification_history(dev, rng, counter, until)

    defects = plant_defects(county, cluster, counter)
    for dev in county.devices:
        partner = dev.fields.get("_partner")
        if partner is not None:
            dist = dev.point.distance(partner.point)
            for d in (partner, dev):
                defects.append((d.code, "spacing_too_close",
                                f"{partner.code}与{dev.code}同路同向同类，相距{dist:.0f}米"))
        if dev.fields.get("_outside"):
            dist = county.area.boundary.distance(dev.point)
            defects.append((dev.code, "outside_boundary", f"位于将乐县界外约{dist / 1000:.1f}公里"))
        if dev.type in NEEDS_VERIFICATION:
            sync_inventory(dev)

    table = violations(county)
    defects += uncovered_violations(county, table)

    HERE.mkdir(exist_ok=True)
    write_jj(county, HERE / FILES[JJ])
    write_jt(county, HERE / FILES[JT])
    write_cg(county, HERE / FILES[CG])
    write_hb(county, HERE / FILES[HB])
    write_verifications(county, HERE / "verifications.xlsx")
    write_violations(table, HERE / "violations.csv")
    write_rejected(HERE / "rejected_example.csv")
    write_roads(HERE / "roads.geojson")
    (HERE / "manifest.toml").write_text(MANIFEST, encoding="utf-8")
    defects_frame = pd.DataFrame(defects, columns=["device_code", "defect", "detail"])
    defects_frame.sort_values(["defect", "device_code"]).to_csv(HERE / "defects.csv", index=False,
                                                               encoding="utf-8", lineterminator="\n")

    n = len(county.devices)
    flagged = defects_frame["device_code"].nunique()
    print(f"{n} devices ({', '.join(f'{d} {sum(x.dept == d for x in county.devices)}' for d in DEPARTMENTS)}); "
          f"{flagged} with defects ({flagged / n:.0%}); {len(table)} violation rows")
    print(defects_frame["defect"].value_counts().sort_index().to_string())


if __name__ == "__main__":
    main()
