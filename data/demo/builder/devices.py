"""The devices of the demo county: where each department puts them, how they are described (names, addresses,
reviews, publication) and their verification history."""
from __future__ import annotations

import datetime as dt

import numpy as np
from shapely.geometry import Point

from .county import (
    CG,
    DEPARTMENTS,
    FILED_ON,
    HB,
    HIGHWAY_KM0,
    HIGHWAY_NAMES,
    JJ,
    JT,
    LANDMARKS,
    PERIOD_END,
    SPEED,
    URBAN,
    VIOLATION_KIND,
    County,
    Device,
    compass,
    heading,
    travel,
)

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
TECH_REVIEW_PREFIX = {JJ: "将公交技审", JT: "将交技审", CG: "将城执技审", HB: "明将环技审"}
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
    tech = (dev.dept, "tech", f["tech_review_on"].year)  # numbered in turn, like the legal reviews (no draw)
    seq[tech] = seq.get(tech, 0) + 1
    f["tech_review_no"] = f"{TECH_REVIEW_PREFIX[dev.dept]}〔{tech[2]}〕{seq[tech]}号"
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
