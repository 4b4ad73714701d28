"""The defects planted for the audit to find: missing reviews, signs and publication, verification lapses, spacing,
sites outside the county, abnormal captures and fines, spikes, rises, outages and captures out of service."""
from __future__ import annotations

import datetime as dt

import numpy as np

from .county import BASE_RATE, JJ, JT, PERIOD_END, County, Device
from .devices import add_years, chain, record

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
        dev.fields.pop("tech_review_on"), dev.fields.pop("tech_review_no")
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
    busy = pick(3, ("违法停车", "闯红灯", "固定测速"))
    for dev in busy:
        dev.rate_mult = float(rng.uniform(6, 9))
        out.append((dev.code, "high_captures", f"日均抓拍约为同类设备的{dev.rate_mult:.0f}倍"))
    spiked = pick(3, ("违法停车", "闯红灯", "固定测速"))
    spike_days = [PERIOD_END] + [dt.date(2025, 3, 1) + dt.timedelta(days=int(rng.integers(0, 90))) for _ in range(2)]
    for dev in pick(3, ("违法停车", "闯红灯", "固定测速")):
        dev.fine_mult = float(rng.uniform(5, 8))
        out.append((dev.code, "high_fine_per_violation", f"每起罚款约为同类设备的{dev.fine_mult:.0f}倍"))
    return out + plant_count_anomalies(county, spiked, spike_days, busy[:2], pick, used)


def plant_count_anomalies(county: County, spiked: list[Device], spike_days: list[dt.date], busy: list[Device],
                          pick, used: set[str]) -> list[tuple[str, str, str]]:
    """One-day spikes (one on the last day of the data), sustained rises, outages (on busy devices: an outage is
    improbable only where there are captures to miss) and captures out of service."""
    rng = county.rng
    out = []
    for dev, day in zip(spiked, spike_days):
        dev.rate_mult = 5.0 / BASE_RATE[dev.type]
        count = int(rng.integers(50, 60))
        dev.spike = (day, count)
        out.append((dev.code, "capture_spike", f"{day}单日抓拍{count}起，平时约5起"
                    + ("（数据最后一天）" if day == PERIOD_END else "")))
    for k, dev in enumerate(pick(2, ("违法停车", "闯红灯", "固定测速"))):
        dev.rate_mult = 6.0 / BASE_RATE[dev.type]
        first = PERIOD_END - dt.timedelta(days=13) if k == 0 else \
            dt.date(2025, 2, 20) + dt.timedelta(days=int(rng.integers(0, 60)))
        dev.rise = (first, 14, 3.0)
        out.append((dev.code, "capture_rise", f"{first}起连续14天日抓拍约18起，平时约6起"
                    + ("（持续至数据最后一天）" if k == 0 else "")))
    for k, dev in enumerate(busy):
        first = dt.date(2025, 2, 10) + dt.timedelta(days=int(rng.integers(0, 90)))
        dev.outage = (first, 12, k == 1)
        out.append((dev.code, "capture_outage", f"{first}起连续12天无违法记录（" + ("未报送" if k else "报送为0")
                    + f"），平时日均约{BASE_RATE[dev.type] * dev.rate_mult:.0f}起"))
    for dev in [d for d in county.devices if d.status == "拟建" and d.code not in used][:2]:
        used.add(dev.code)
        dev.records_out_of_service = True
        out.append((dev.code, "captures_out_of_service", "状态为拟建（未投入使用），但每日有违法记录"))
    for dev in pick(1, ("违法停车", "闯红灯")):
        dev.fields["in_service_on"] = dt.date(2025, 4, 1)
        out.append((dev.code, "captures_before_service", "启用日期为2025-04-01，此前已有违法记录"))
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
