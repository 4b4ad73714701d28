"""Scale benchmark (make bench-scale): a province's registry and a year of daily counts, imported and audited.

    .venv/bin/python bench/bench_scale.py                                # 10k, 100k, 300k devices × 365 days
    .venv/bin/python bench/bench_scale.py --sizes 10000,100000 --days 100 --backends sqlite

For each size, generated files (cached under bench/out/scale/): one devices CSV and one violations CSV per month
(how departments send them). Each step runs in its own process, whose peak memory (max RSS) is read when it ends
(and, where it starts processes of its own, the audit's rule workers, the sum of all their PSS, sampled):
the plain read (pandas.read_csv of the same files: the reference), the floor (the database's own write of the same
rows into bare tables keyed as the registry's are: the devices as text keyed by code, the daily counts as
violation_stat's columns and primary key, their device ids already known; COPY on PostgreSQL, executemany on SQLite,
committed after each file; the rows prepared in memory, as tuples or CSV text, before the clock starts; nothing
validated, looked up, logged or indexed for search), the device import, the violation imports (the
months one after the other), the audit (audit_and_record, as `camaudit audit` runs it). SQLite always, PostgreSQL
when CAMAUDIT_BENCH_PG_URL is set (its tables are dropped and created anew for each size). Targets (issue 15):
device import ≤ 3x the plain read, violations import ≤ 3x on PostgreSQL and ≤ 5x on SQLite, the audit of
100k × 100 days ≤ 30 s, 300k × 365 days on PostgreSQL ≤ 10 min at ≤ 6 GB.

The audit reads the daily rows a chunk of whole departments at a time (audit.rules.chunks; --chunk-devices sets
the chunk, the audit's default otherwise), so its memory grows with the chunk, not with the rows; the chunks'
rules run in CAMAUDIT_AUDIT_WORKERS processes (audit.rules.parallel: 2 on a machine of two cores unless set).
An audit whose rows exceed --max-audit-rows is not run, and an audit's process (each of its workers too) is capped
at --audit-memory-gb of address space.
--reuse audits the databases an earlier run of the same size imported (no reset, no import): after a run with
--max-audit-rows 0, say, to audit with several chunk sizes. --partitioned runs `camaudit db partition` on
PostgreSQL after the device import, so that each month's file is loaded into a partition of its own.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OUT = ROOT / "bench" / "out" / "scale"
YEAR = 2024
TYPES = np.array(["固定测速", "闯红灯", "违法停车", "区间测速", "城市管理", "超限超载"])
DEPARTMENTS = 100


def department_names() -> list[str]:
    return [f"基准市{d // 10:02d}区县{d % 10}公安局交通管理大队" for d in range(DEPARTMENTS)]


def generate(folder: Path, devices: int, days: int) -> dict:
    """The devices CSV and the monthly violations CSVs (kept for the next run of the same size)."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = folder / "files.json"
    if stamp.exists():
        return json.loads(stamp.read_text())
    rng = np.random.default_rng(devices)
    names = department_names()
    dept = rng.integers(0, DEPARTMENTS, devices)
    start = pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 1500, devices), unit="D")
    codes = np.array([f"BM{d:03d}-{i:07d}" for i, d in enumerate(dept)], dtype=object)
    frame = pd.DataFrame({
        "设备编号": codes, "设备名称": [f"测试设备{i}" for i in range(devices)], "设备类型": rng.choice(TYPES, devices),
        "所属单位": np.array(names, dtype=object)[dept], "道路名称": [f"测试路{i % 997}" for i in range(devices)],
        "设置地点": [f"测试路{i % 997}第{i}号" for i in range(devices)],
        "经度": np.round(110 + (dept % 10 + rng.random(devices)) * 0.7, 6),
        "纬度": np.round(20.5 + (dept // 10 + rng.random(devices)) * 0.5, 6), "坐标系": "WGS84",
        "安装日期": (start - pd.Timedelta(days=30)).strftime("%Y-%m-%d"), "启用日期": start.strftime("%Y-%m-%d"),
        "状态": np.where(rng.random(devices) < 0.95, "在用", "停用"),
        "法制审核日期": np.where(rng.random(devices) < 0.9, (start - pd.Timedelta(days=20)).strftime("%Y-%m-%d"), ""),
        "技术审核日期": (start - pd.Timedelta(days=15)).strftime("%Y-%m-%d"),
        "标识设置": rng.choice(["是", "否"], devices, p=[0.9, 0.1]), "标识距离米": rng.integers(50, 800, devices),
        "社会公布日期": (start - pd.Timedelta(days=10)).strftime("%Y-%m-%d"), "公布渠道": "门户网站",
        "限速值": rng.choice([40, 60, 80], devices), "设置依据": "事故多发",
        "最近检定日期": f"{YEAR - 1}-06-01", "检定有效期至": f"{YEAR}-05-31", "检定结果": "合格",
        "检定证书编号": [f"JD{i}" for i in range(devices)]})
    frame.to_csv(folder / "devices.csv", index=False)
    months = []
    level = rng.gamma(2.0, 6.0, devices)
    calendar = pd.date_range(f"{YEAR}-01-01", periods=days)
    for month in sorted(set(calendar.month)):
        dates = calendar[calendar.month == month].strftime("%Y-%m-%d").to_numpy()
        path = folder / f"violations-{month:02d}.csv"
        with path.open("w", encoding="utf-8") as fh:
            fh.write("设备编号,日期,违法数量,罚款金额\n")
            for block in range(0, devices, 20_000):
                part = slice(block, min(devices, block + 20_000))
                counts = rng.poisson(np.repeat(level[part], len(dates)))
                out = pd.DataFrame({"c": np.repeat(codes[part], len(dates)), "d": np.tile(dates, part.stop - part.start),
                                    "n": counts, "f": counts * 200})
                out.to_csv(fh, index=False, header=False)
        months.append(path.name)
    files = {"devices": "devices.csv", "violations": months, "rows": int(devices * days)}
    stamp.write_text(json.dumps(files))
    return files


# ---- the steps, each in a child process ----------------------------------------------------------------------

def _limits():
    from audit.intake.limits import ReadLimits

    return ReadLimits(max_rows=50_000_000, max_cells=1_000_000_000)


def step_read(folder: Path, files: dict) -> dict:
    t = time.perf_counter()
    pd.read_csv(folder / files["devices"])
    devices = time.perf_counter() - t
    t = time.perf_counter()
    for name in files["violations"]:
        pd.read_csv(folder / name)
    return {"devices": devices, "violations": time.perf_counter() - t}


_FLOOR_VIOLATIONS = "bench_floor_violation"
_FLOOR_DEVICES = "bench_floor_device"


def _remove_sqlite(path: Path) -> None:
    """An SQLite database file and its WAL files, where they exist."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def step_floor(folder: Path, files: dict, url: str) -> dict:
    """The database's own write of the files' rows: the lower bound of an import's write (see the docstring)."""
    devices = pd.read_csv(folder / files["devices"], dtype=str, keep_default_na=False)
    ids = pd.Series(np.arange(1, len(devices) + 1), index=devices.iloc[:, 0])
    device_cols = ", ".join(f"c{i} TEXT" for i in range(devices.shape[1]))
    stat = ("device_id INTEGER, period TEXT, period_start {date}, count BIGINT, fine_yuan {money}, batch_id INTEGER, "
            "PRIMARY KEY (device_id, period, period_start)")

    def rows(name: str) -> pd.DataFrame:
        frame = pd.read_csv(folder / name)
        return pd.DataFrame({"device_id": ids.loc[frame.iloc[:, 0]].to_numpy(), "period": "day",
                             "period_start": frame.iloc[:, 1], "count": frame.iloc[:, 2],
                             "fine_yuan": frame.iloc[:, 3].astype(float), "batch_id": 1})

    sqlite = url.startswith("sqlite")
    if sqlite:
        import sqlite3

        path = folder / "floor.sqlite3"
        _remove_sqlite(path)
        conn = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-262144"):
            conn.execute(f"PRAGMA {pragma}")
        conn.execute(f"CREATE TABLE {_FLOOR_DEVICES} ({device_cols}, PRIMARY KEY (c0))")
        conn.execute(f"CREATE TABLE {_FLOOR_VIOLATIONS} ({stat.format(date='TEXT', money='REAL')}) WITHOUT ROWID")

        def prepare(frame: pd.DataFrame) -> list[tuple]:
            return list(zip(*(frame[c].tolist() for c in frame.columns)))

        def load(table: str, prepared: list[tuple]) -> None:
            conn.execute("BEGIN")
            conn.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(prepared[0]))})", prepared)
            conn.execute("COMMIT")
    else:
        import io

        from audit.registry.db import make_engine

        conn = make_engine(url).raw_connection()
        with conn.cursor() as cur:
            for table in (_FLOOR_DEVICES, _FLOOR_VIOLATIONS):
                cur.execute(f"DROP TABLE IF EXISTS {table}")
            cur.execute(f"CREATE TABLE {_FLOOR_DEVICES} ({device_cols}, PRIMARY KEY (c0))")
            cur.execute(f"CREATE TABLE {_FLOOR_VIOLATIONS} ({stat.format(date='DATE', money='NUMERIC(12, 2)')})")
        conn.commit()

        def prepare(frame: pd.DataFrame) -> bytes:
            buffer = io.StringIO()
            frame.to_csv(buffer, index=False, header=False)
            return buffer.getvalue().encode()

        def load(table: str, prepared: bytes) -> None:
            with conn.cursor() as cur, cur.copy(f"COPY {table} FROM STDIN (FORMAT csv)") as copy:
                for start in range(0, len(prepared), 1 << 20):
                    copy.write(prepared[start:start + (1 << 20)])
            conn.commit()
    prepared = prepare(devices)
    t = time.perf_counter()
    load(_FLOOR_DEVICES, prepared)
    seconds = {"devices": time.perf_counter() - t, "violations": 0.0}
    for name in files["violations"]:
        prepared = prepare(rows(name))
        t = time.perf_counter()
        load(_FLOOR_VIOLATIONS, prepared)
        seconds["violations"] += time.perf_counter() - t
    if sqlite:
        conn.close()
        _remove_sqlite(path)
    else:
        with conn.cursor() as cur:
            for table in (_FLOOR_DEVICES, _FLOOR_VIOLATIONS):
                cur.execute(f"DROP TABLE {table}")
        conn.commit()
        conn.close()
    return seconds


def _session(url: str):
    from audit.registry.db import init_db, make_engine, session_factory

    engine = make_engine(url)
    init_db(engine)
    return session_factory(engine)()


def step_import_devices(folder: Path, files: dict, url: str) -> dict:
    from audit.registry.store import get_department, import_file

    with _session(url) as session:
        for name in department_names():
            get_department(session, name, create=True)
        session.commit()
        t = time.perf_counter()
        result = import_file(session, folder / files["devices"], "devices", department=department_names()[0],
                             department_from_column=True, limits=_limits(), user="bench")
        assert result.applied, result.report.format_text(5)
        session.commit()
        return {"seconds": time.perf_counter() - t, "new": len(result.new)}


def step_import_violations(folder: Path, files: dict, url: str) -> dict:
    from audit.registry.store import import_file

    with _session(url) as session:
        times = []
        for name in files["violations"]:
            t = time.perf_counter()
            result = import_file(session, folder / name, "violations", limits=_limits(), user="bench")
            assert result.applied, result.report.format_text(5)
            session.commit()
            times.append(time.perf_counter() - t)
        return {"seconds": sum(times), "per_file": times}


def step_audit(folder: Path, files: dict, url: str, chunk_devices: int | None = None) -> dict:
    from audit.casework.problems import audit_and_record

    with _session(url) as session:
        t = time.perf_counter()
        run, findings = audit_and_record(session, as_of=dt.date(YEAR, 12, 31), user="bench",
                                         chunk_devices=chunk_devices)[:2]
        session.commit()
        return {"seconds": time.perf_counter() - t, "findings": int(len(findings))}


STEPS = {"read": step_read, "floor": step_floor, "import-devices": step_import_devices,
         "import-violations": step_import_violations, "audit": step_audit}


def child(args: argparse.Namespace) -> None:
    if args.memory_gb:
        import resource

        limit = int(args.memory_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    folder = Path(args.folder)
    files = json.loads((folder / "files.json").read_text())
    fn = STEPS[args.child]
    result = (fn(folder, files) if args.child == "read" else fn(folder, files, args.url, args.chunk_devices)
              if args.child == "audit" else fn(folder, files, args.url))
    print(json.dumps(result))


def _tree_pss(root: int) -> int:
    """Proportional set size (bytes) of a process and all its descendants (the audit's rule workers are children
    of the forkserver it starts), from /proc; pages they share are counted once."""
    parent: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue
        parent[int(stat.parent.name)] = int(fields[1])
    tree, grown = {root}, True
    while grown:
        more = {pid for pid, ppid in parent.items() if ppid in tree} - tree
        tree |= more
        grown = bool(more)
    total = 0
    for pid in tree:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
                    break
        except OSError:
            continue
    return total


def run_step(step: str, folder: Path, url: str | None = None, memory_gb: float = 0,
             chunk_devices: int | None = None) -> dict:
    """The step in a child process: its result, wall time, CPU time (user and system), peak memory (MB) of that
    process (max RSS) and of it with all its descendants (the sum of their PSS, sampled every half second)."""
    cmd = [sys.executable, __file__, "--child", step, "--folder", str(folder), "--memory-gb", str(memory_gb)]
    if url:
        cmd += ["--url", url]
    if chunk_devices:
        cmd += ["--chunk-devices", str(chunk_devices)]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    tree_peak, done = [0], threading.Event()

    def sample() -> None:
        while not done.wait(0.5):
            tree_peak[0] = max(tree_peak[0], _tree_pss(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    done.set()
    sampler.join()
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.returncode = os.waitstatus_to_exitcode(status)
    result = {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024,
              "tree_peak_mb": tree_peak[0] / 2**20, "ok": proc.returncode == 0}
    if proc.returncode == 0:
        result |= json.loads(out.strip().splitlines()[-1])
    else:
        result["error"] = (err.strip().splitlines() or ["?"])[-1][:200]
    return result


def reset(url: str, folder: Path, keep: bool = False) -> str:
    """The database of the size's run, emptied unless `keep`."""
    if url.startswith("sqlite"):
        path = folder / "bench.sqlite3"
        if not keep:
            _remove_sqlite(path)
        return f"sqlite:///{path}"
    if keep:
        return url
    from sqlalchemy import text

    from audit.registry.db import make_engine
    from audit.registry.models import Base

    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP VIEW IF EXISTS device_geom"))
        conn.execute(text("DROP TABLE IF EXISTS violation_stat"))
    Base.metadata.drop_all(engine)
    engine.dispose()
    return url


def partition(url: str) -> None:
    """`camaudit db partition` on the (still empty) daily counts."""
    from audit.registry.db import make_engine
    from audit.registry.partition import partition_counts

    engine = make_engine(url)
    with engine.begin() as conn:
        partition_counts(conn)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,300000")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--max-audit-rows", type=int, help="no audit of more daily rows than this (default: any)")
    parser.add_argument("--audit-memory-gb", type=float, default=12)
    parser.add_argument("--chunk-devices", type=int, help="devices of a chunk of the audit")
    parser.add_argument("--reuse", action="store_true", help="audit the databases imported before (no import)")
    parser.add_argument("--partitioned", action="store_true",
                        help="PostgreSQL: the daily counts partitioned by month before the violation imports")
    parser.add_argument("--child")
    parser.add_argument("--folder")
    parser.add_argument("--url")
    parser.add_argument("--memory-gb", type=float, default=0)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    from audit.rules.parallel import audit_workers

    workers = audit_workers()
    pg = os.environ.get("CAMAUDIT_BENCH_PG_URL")
    print(f"scale benchmark ({dt.date.today()}, load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    for size in [int(s) for s in args.sizes.split(",")]:
        folder = OUT / f"{size}x{args.days}"
        t = time.perf_counter()
        files = generate(folder, size, args.days)
        print(f"\n{size:,} devices × {args.days} days = {files['rows']:,} rows "
              f"({len(files['violations'])} monthly files; generated in {time.perf_counter() - t:.0f} s)")
        if not args.reuse:
            read = run_step("read", folder)
            print(f"  plain read_csv: devices {read['devices']:.1f} s, violations {read['violations']:.1f} s, "
                  f"peak {read['peak_mb']:,.0f} MB")
        for backend in args.backends.split(","):
            if backend == "postgresql" and not pg:
                print("  postgresql: skipped (set CAMAUDIT_BENCH_PG_URL)")
                continue
            url = reset(pg if backend == "postgresql" else "sqlite", folder, keep=args.reuse)
            target = 3 if backend == "postgresql" else 5
            if not args.reuse:
                floor = run_step("floor", folder, url)
                if floor["ok"]:
                    print(f"  {backend:10s} {'bulk-load floor':18s} devices {floor['devices']:.1f} s "
                          f"({floor['devices'] / read['devices']:.1f}x the read), violations "
                          f"{floor['violations']:.1f} s ({floor['violations'] / read['violations']:.1f}x)")
                else:
                    _line(backend, "bulk-load floor", floor, None, None)
                    floor = {}
                dev = run_step("import-devices", folder, url)
                _line(backend, "import devices", dev, read["devices"], 3, floor.get("devices"))
                if args.partitioned and backend == "postgresql":
                    partition(url)
                vio = run_step("import-violations", folder, url)
                _line(backend, "import violations", vio, read["violations"], target, floor.get("violations"))
            if args.max_audit_rows is not None and files["rows"] > args.max_audit_rows:
                print(f"  {backend:10s} audit: not run ({files['rows']:,} rows > --max-audit-rows)")
                continue
            aud = run_step("audit", folder, url, memory_gb=args.audit_memory_gb, chunk_devices=args.chunk_devices)
            label = f"audit, {workers} worker{'s' if workers > 1 else ''}"
            _line(backend, label + (f" ({args.chunk_devices:,}/chunk)" if args.chunk_devices else ""), aud,
                  None, None)


def _line(backend: str, step: str, result: dict, reference: float | None, target: float | None,
          floor: float | None = None) -> None:
    if not result["ok"]:
        print(f"  {backend:10s} {step:18s} FAILED after {result['wall']:.0f} s, peak {result['peak_mb']:,.0f} MB: "
              f"{result['error']}")
        return
    ratio = f"  ratio {result['seconds'] / reference:5.1f}x (target {target}x)" if reference else ""
    ratio += f", {result['seconds'] / floor:4.1f}x the floor" if floor else ""
    tree = (f" (with its workers {result['tree_peak_mb']:,.0f} MB)"
            if result["tree_peak_mb"] > result["peak_mb"] * 1.05 else "")
    print(f"  {backend:10s} {step:18s} {result['seconds']:8.1f} s  (process CPU {result['cpu']:5.1f} s)  "
          f"peak {result['peak_mb']:7,.0f} MB{tree}{ratio}")


if __name__ == "__main__":
    main()
