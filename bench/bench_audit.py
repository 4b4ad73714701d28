"""Benchmark of the full audit: synthetic registry and daily violations, every rule, time and peak memory.

    .venv/bin/python bench/bench_audit.py                      # 100,000 devices × 100 days = 10,000,000 rows
    .venv/bin/python bench/bench_audit.py --devices 20000 --days 50
    .venv/bin/python bench/bench_audit.py --with-db --devices 20000 --days 100   # also through SQLite + run_audit

The main figure is the rules on in-memory frames (audit.engine.run_rules): loading the frames from the database
is excluded unless --with-db is given, which stores the same data in a temporary SQLite file and times
audit.engine.run_audit (loading, rules, storing the findings). Also compares the spacing rule (PLC01) with a bare
shapely STRtree dwithin query on the same projected points, and times PLC01/PLC02 with a road network (a grid of
named streets in segments, half of the devices moved onto it) against PLC01 without one.
"""
from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import box

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audit.rules import get_rule  # noqa: E402
from audit.rules.engine import AuditContext, devices_frame, run_rules  # noqa: E402
from audit.rules.profiles import load_profile  # noqa: E402
from geo.metric import metric_crs_for, to_metric  # noqa: E402

AS_OF = dt.date(2024, 6, 30)
TYPES = ["固定测速", "移动测速", "区间测速", "闯红灯", "违法停车", "超限超载", "尾气遥感", "城市管理", "其他"]
TYPE_WEIGHTS = [0.25, 0.05, 0.05, 0.25, 0.2, 0.03, 0.02, 0.1, 0.05]
# A province-sized area (about the size of Guangdong: 7° × 5°).
LON0, LON1, LAT0, LAT1 = 110.0, 117.0, 20.5, 25.5
DEPARTMENTS = 120


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_devices(n: int, rng: np.random.Generator) -> pd.DataFrame:
    day0 = np.datetime64("2019-01-01")
    start = day0 + rng.integers(0, 1800, n).astype("timedelta64[D]")
    verified = np.datetime64("2023-07-01") + rng.integers(0, 365, n).astype("timedelta64[D]")
    dept = rng.integers(0, DEPARTMENTS, n)
    # Departments sit on a 12 × 10 grid of the area; their devices cluster inside their cell.
    cx, cy = dept % 12, dept // 12
    lon = LON0 + (cx + rng.random(n)) * (LON1 - LON0) / 12
    lat = LAT0 + (cy + rng.random(n)) * (LAT1 - LAT0) / 10
    lon[rng.random(n) < 0.01] += 0.3  # a few outside their jurisdiction
    dup = rng.random(n) < 0.005        # a few duplicates of the previous device
    idx = np.flatnonzero(dup[1:]) + 1
    lon[idx], lat[idx] = lon[idx - 1], lat[idx - 1]
    missing = lambda p: rng.random(n) < p  # noqa: E731
    frame = pd.DataFrame({
        "device_code": [f"D{k:07d}" for k in range(n)],
        "department": [f"第{d:03d}执法单位" for d in dept],
        "device_type": rng.choice(TYPES, n, p=TYPE_WEIGHTS),
        # Nearby devices share a road name (one per ~5 km cell), so that the spacing rule has pairs to check.
        "road": [f"道路{int(x / 0.05)}-{int(y / 0.05)}" for x, y in zip(lon, lat)],
        "direction": rng.choice(["由东向西", "由西向东", "双向", None], n),
        "lon": lon, "lat": lat,
        "status": rng.choice(["在用", "在用", "在用", "在用", "停用", "拟建", None], n),
        "installed_on": start - np.timedelta64(30, "D"),
        "in_service_on": start,
        "legal_review_on": np.where(missing(0.03), np.datetime64("NaT"), start - np.timedelta64(20, "D")),
        "tech_review_on": np.where(missing(0.03), np.datetime64("NaT"), start - np.timedelta64(10, "D")),
        "signage": np.where(missing(0.02), False, True),
        "sign_distance_m": rng.uniform(100, 1200, n),
        "published_on": np.where(missing(0.03), np.datetime64("NaT"),
                                 start - rng.integers(-5, 60, n).astype("timedelta64[D]")),
        "justification": np.where(missing(0.05), None, "事故多发路段"),
        "verified_on": np.where(missing(0.02), np.datetime64("NaT"), verified),
        "verification_valid_until": verified + np.timedelta64(364, "D"),
        "verification_result": np.where(missing(0.01), "不合格", "合格"),
    })
    return frame


def make_violations(devices: pd.DataFrame, days: int, rng: np.random.Generator) -> pd.DataFrame:
    n = len(devices)
    lam = np.exp(rng.normal(2.0, 0.8, n))
    lam[rng.random(n) < 0.002] *= 20                 # a few devices with abnormal volumes
    dev = np.repeat(np.arange(n, dtype=np.int32), days)
    counts = rng.poisson(np.repeat(lam, days)).astype(np.int64)
    spikes = rng.random(len(counts)) < 2e-5
    counts[spikes] += 200                              # a few spike days
    start = np.datetime64(AS_OF) - np.timedelta64(days, "D")
    day = start + np.tile(np.arange(days), n).astype("timedelta64[D]")
    return pd.DataFrame({
        "device_code": pd.Categorical.from_codes(dev, categories=devices["device_code"]),
        "period": pd.Categorical.from_codes(np.zeros(len(dev), dtype=np.int8), categories=["day"]),
        "period_start": day.astype("datetime64[ns]"),
        "count": counts,
        "fine_yuan": counts * 200.0,
    })


def make_areas(step: float = 0.1):
    """Township-like squares (~10 km × 11 km) over the area, for the density rule."""
    import geopandas as gpd
    xs, ys = np.arange(LON0, LON1 + 0.31, step), np.arange(LAT0, LAT1, step)
    geoms = [box(x, y, x + step, y + step) for x in xs for y in ys]
    return gpd.GeoDataFrame({"name": [f"乡镇{k}" for k in range(len(geoms))]}, geometry=geoms, crs="EPSG:4326")


def make_road_grid(devices: pd.DataFrame, rng: np.random.Generator, step: float = 0.05):
    """A grid of streets every `step` degrees, each cut into `step`-long segments (as road files come), and a copy
    of `devices` with half of them moved onto the nearest street, named as it is."""
    import geopandas as gpd
    lats, lons = np.arange(LAT0, LAT1 + step / 2, step), np.arange(LON0, LON1 + 0.3 + step / 2, step)
    names, lines = [], []
    for k, y in enumerate(lats):
        names += [f"东西{k}路"] * (len(lons) - 1)
        lines += [shapely.LineString([(a, y), (b, y)]) for a, b in zip(lons[:-1], lons[1:])]
    for k, x in enumerate(lons):
        names += [f"南北{k}路"] * (len(lats) - 1)
        lines += [shapely.LineString([(x, a), (x, b)]) for a, b in zip(lats[:-1], lats[1:])]
    segments = gpd.GeoDataFrame({"name": names}, geometry=lines, crs="EPSG:4326")
    moved = devices.copy()
    on = rng.random(len(moved)) < 0.5
    east_west = rng.random(len(moved)) < 0.5
    row = np.clip(np.rint((moved["lat"].to_numpy() - LAT0) / step).astype(int), 0, len(lats) - 1)
    col = np.clip(np.rint((moved["lon"].to_numpy() - LON0) / step).astype(int), 0, len(lons) - 1)
    ew, ns = on & east_west, on & ~east_west
    moved.loc[ew, "lat"] = lats[row[ew]]
    moved.loc[ns, "lon"] = lons[col[ns]]
    road = moved["road"].to_numpy(dtype=object, copy=True)
    road[ew] = [f"东西{k}路" for k in row[ew]]
    road[ns] = [f"南北{k}路" for k in col[ns]]
    moved["road"] = road
    return segments, moved


def road_network(devices: pd.DataFrame, profile, rng: np.random.Generator) -> None:
    """PLC01 and PLC02 with a road network, against PLC01 without one on the same devices."""
    from audit.rules.findings import is_cannot_assess
    from geo.roads import as_roads

    segments, moved = make_road_grid(devices, rng)
    t = time.perf_counter()
    roads = as_roads(segments)
    join_s = time.perf_counter() - t
    print(f"road network: {len(segments):,} segments joined into {len(roads):,} named roads in {join_s:.2f} s; "
          f"half of the devices moved onto them")
    spacing, density = get_rule("PLC01"), get_rule("PLC02")
    best: dict[str, float] = {}
    found: dict[str, int] = {}
    for _ in range(3):  # best of three
        for name, rule, network in (("PLC01 straight-line", spacing, None), ("PLC01 along roads", spacing, roads),
                                    ("PLC02 per road", density, roads)):
            ctx = AuditContext(as_of=AS_OF, profile=profile, roads=network)  # a fresh context: snapping included
            t = time.perf_counter()
            out = rule.run(moved, ctx)
            best[name] = min(best.get(name, float("inf")), time.perf_counter() - t)
            found[name] = int((~is_cannot_assess(out)).sum())
    print("  " + ", ".join(f"{k} {v:.2f} s ({found[k]:,} findings)" for k, v in best.items())
          + f"; along roads / straight-line ratio {best['PLC01 along roads'] / best['PLC01 straight-line']:.2f}")


def boundaries() -> dict:
    out = {}
    for d in range(DEPARTMENTS):
        cx, cy = d % 12, d // 12
        w, h = (LON1 - LON0) / 12, (LAT1 - LAT0) / 10
        out[f"第{d:03d}执法单位"] = box(LON0 + cx * w, LAT0 + cy * h, LON0 + (cx + 1) * w, LAT0 + (cy + 1) * h)
    return out


def bare_spacing_query(devices: pd.DataFrame, profile) -> float:
    """Seconds for a bare STRtree dwithin query on the projected points the spacing rule uses."""
    active = devices[~devices["status"].isin(["停用", "拆除"]) & devices["lon"].notna()]
    limit = profile.values["min_spacing_m"].for_types(active["device_type"]).to_numpy(dtype=float)
    lon, lat = active["lon"].to_numpy(), active["lat"].to_numpy()
    x, y = to_metric(lon, lat, metric_crs_for(lon, lat))
    points = shapely.points(x, y)
    t = time.perf_counter()
    tree = shapely.STRtree(points)
    tree.query(points, predicate="dwithin", distance=limit)
    return time.perf_counter() - t


def with_db(devices: pd.DataFrame, violations: pd.DataFrame, areas) -> None:
    """Store the data in a temporary SQLite database and time run_audit (loading + rules + storing findings)."""
    import sqlite3

    from audit.registry.db import init_db, make_engine, session_factory
    from audit.rules.engine import run_audit

    folder = tempfile.mkdtemp(prefix="camaudit-bench-")
    path = Path(folder) / "bench.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    t = time.perf_counter()
    con = sqlite3.connect(path)
    names = sorted(devices["department"].unique())
    con.executemany("INSERT INTO department (id, name, created_at) VALUES (?, ?, ?)",
                    [(k + 1, n, "2024-01-01 00:00:00") for k, n in enumerate(names)])
    dept_id = {n: k + 1 for k, n in enumerate(names)}
    cols = [c for c in devices.columns if c not in ("department", "id", "geometry")]
    frame = devices[cols].copy()
    for c in cols:
        if str(frame[c].dtype).startswith("datetime"):
            frame[c] = frame[c].dt.strftime("%Y-%m-%d")
    frame["signage"] = frame["signage"].astype(object)
    frame = frame.astype(object).where(frame.notna(), None)
    frame.insert(0, "department_id", devices["department"].map(dept_id))
    frame.insert(0, "id", np.arange(1, len(frame) + 1))
    con.executemany(f"INSERT INTO device ({', '.join(frame.columns)}) VALUES ({', '.join('?' * len(frame.columns))})",
                    frame.itertuples(index=False, name=None))
    con.execute("INSERT INTO import_batch (id, kind, filename, sha256, user, created_at, row_count, warnings, summary) "
                "VALUES (1, 'violations', 'bench', '', 'bench', '2024-01-01', 0, '[]', '{}')")
    dev_id = violations["device_code"].cat.codes.to_numpy() + 1
    days = violations["period_start"].dt.strftime("%Y-%m-%d").to_numpy()
    chunk = 1_000_000
    for s in range(0, len(violations), chunk):
        rows = zip(dev_id[s:s + chunk].tolist(), ["day"] * len(dev_id[s:s + chunk]), days[s:s + chunk].tolist(),
                   violations["count"].to_numpy()[s:s + chunk].tolist(),
                   violations["fine_yuan"].to_numpy()[s:s + chunk].tolist())
        con.executemany("INSERT INTO violation_stat (device_id, period, period_start, count, fine_yuan, batch_id) "
                        "VALUES (?, ?, ?, ?, ?, 1)", rows)
    con.commit()
    con.close()
    print(f"  database written in {time.perf_counter() - t:.1f} s ({path.stat().st_size / 1e6:.0f} MB), "
          f"not timed below")
    from audit.registry import store as registry
    with session_factory(engine)() as session:
        parts = {}
        for name, load in (("devices", lambda: registry.load_devices_frame(session)),
                           ("violations", lambda: registry.load_violations_frame(session)),
                           ("verifications", lambda: registry.load_verifications_frame(session))):
            t = time.perf_counter()
            load()
            parts[name] = time.perf_counter() - t
        print("  registry loaders alone: " + ", ".join(f"{k} {v:.1f} s" for k, v in parts.items()))
        t = time.perf_counter()
        run, findings = run_audit(session, as_of=AS_OF, areas=areas, user="bench")
        session.commit()
        print(f"  run_audit (load frames + rules + store {len(findings):,} findings): {time.perf_counter() - t:.1f} s, "
              f"peak RSS {peak_rss_mb():,.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--with-db", action="store_true", help="also time run_audit through a SQLite database")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)

    t = time.perf_counter()
    devices = devices_frame(make_devices(args.devices, rng))
    violations = make_violations(devices, args.days, rng)
    areas = make_areas()
    profile = load_profile("national")
    print(f"inputs: {len(devices):,} devices, {len(violations):,} daily violation rows, {len(areas):,} areas "
          f"(generated in {time.perf_counter() - t:.1f} s; RSS so far {peak_rss_mb():,.0f} MB)")

    times: dict[str, float] = {}
    marks: list[tuple[str, float]] = []
    t0 = time.perf_counter()
    ctx = AuditContext(as_of=AS_OF, profile=profile, violations=violations, boundaries=boundaries(), areas=areas)
    times["context"] = time.perf_counter() - t0
    findings = run_rules(devices, ctx, progress=lambda code, i, n: marks.append((code, time.perf_counter())))
    total = time.perf_counter() - t0
    marks.append(("end", time.perf_counter()))
    for (code, a), (_, b) in zip(marks, marks[1:]):
        times[code] = b - a
    print(f"full audit (AuditContext + run_rules, all {len(marks) - 1} rules, frames in memory; DB loading excluded): "
          f"{total:.1f} s, "
          f"peak RSS of the process {peak_rss_mb():,.0f} MB")
    print("  per rule (s): " + ", ".join(f"{c} {s:.2f}" for c, s in times.items()))
    cannot = findings["evidence"].map(lambda e: bool(e.get("cannot_assess"))).astype(bool)
    counts = findings[~cannot].groupby("rule").size()
    print(f"  {len(findings):,} findings ({int(cannot.sum()):,} cannot-assess): "
          + ", ".join(f"{r} {n:,}" for r, n in counts.items()))

    spacing = get_rule("PLC01")
    rule_s = bare_s = float("inf")
    plain_ctx = AuditContext(as_of=AS_OF, profile=profile)
    for _ in range(5):  # best of five: the machine may be shared
        t = time.perf_counter()
        spacing.run(devices, plain_ctx)
        rule_s = min(rule_s, time.perf_counter() - t)
        bare_s = min(bare_s, bare_spacing_query(devices, profile))
    print(f"spacing: PLC01 {rule_s:.2f} s (projection, index, query, road/direction filter, findings) vs bare "
          f"STRtree build + dwithin query on the same projected points {bare_s:.2f} s: ratio {rule_s / bare_s:.2f}")
    road_network(devices, profile, rng)
    if args.with_db:
        with_db(devices, violations, areas)


if __name__ == "__main__":
    main()
