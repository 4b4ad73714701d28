"""Web benchmark: the map page in headless Chromium, the device list and /api/devices under 20 clients.

    .venv/bin/python bench/bench_web.py                         # 10,000 devices, SQLite, one waitress process
    .venv/bin/python bench/bench_web.py --devices 50000 --workers 4 [--pg URL]

A generated registry (10 departments) is imported and audited into a temporary SQLite database (or the PostgreSQL
database given, whose tables are dropped first); the app is served by `camaudit serve` (--workers 1: waitress with
8 threads; more: gunicorn workers with 4 threads each) in its own process on loopback.
Targets: map page (HTML and every asset) under 5 MB and ready (markers clustered) under 3 s; device list and
/api/devices p95 under 300 ms with 20 concurrent clients (who accept gzip, as browsers do). /todo as the auditor
(every department's counts) is timed for one client.
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.cookiejar
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

N_DEVICES = 10_000
N_DEPARTMENTS = 10
CLIENTS = 20
REQUESTS_PER_CLIENT = 25
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
PASSWORD = "bench-password"
# What the clients ask for, in turn: plain pages, a severity filter, a type filter, a search, a sort by name.
MIX = ["", "", "&severity=%E4%B8%A5%E9%87%8D", "", "&type=%E9%97%AF%E7%BA%A2%E7%81%AF", "", "&q=%E6%B5%8B%E8%AF%95%E8%B7%AF1",
       "", "&sort=name", ""]


def build_database(folder: Path, pg: str | None = None) -> str:
    from sqlalchemy import text

    from audit.registry.db import init_db, make_engine, session_factory
    from audit.registry.models import Base
    from audit.registry.store import import_file
    from audit.registry.users import add_user
    from audit.casework.problems import audit_and_record

    url = pg or f"sqlite:///{folder / 'bench.sqlite3'}"
    engine = make_engine(url)
    if pg:
        with engine.begin() as conn:
            conn.execute(text("DROP VIEW IF EXISTS device_geom"))
            conn.execute(text("DROP TABLE IF EXISTS violation_stat"))
        Base.metadata.drop_all(engine)
        with engine.begin() as conn:  # no stamp of the schema another release left either
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    init_db(engine)
    rng = np.random.default_rng(11)
    per = N_DEVICES // N_DEPARTMENTS
    types = np.array(["固定测速", "闯红灯", "违法停车", "区间测速", "城市管理"])
    with session_factory(engine)() as session:
        for d in range(N_DEPARTMENTS):
            frame = pd.DataFrame({
                "设备编号": [f"WB-{d:02d}-{i:05d}" for i in range(per)],
                "设备名称": [f"测试设备{d}-{i}" for i in range(per)],
                "设备类型": rng.choice(types, per),
                "道路名称": [f"测试路{i % 200}" for i in range(per)],
                "设置地点": [f"测试路{i % 200}第{i}号" for i in range(per)],
                "经度": np.round(117.0 + rng.random(per) * 0.8, 6),
                "纬度": np.round(26.3 + rng.random(per) * 0.8, 6),
                "坐标系": "WGS84",
                "启用日期": "2023-07-01",
                "状态": rng.choice(["在用", "在用", "在用", "停用"], per),
                "法制审核日期": np.where(rng.random(per) < 0.8, "2023-06-01", ""),
                "标识设置": rng.choice(["是", "否"], per),
            })
            path = folder / f"dept{d}.csv"
            frame.to_csv(path, index=False)
            result = import_file(session, path, "devices", department=f"基准测试单位{d:02d}", user="bench")
            assert result.applied, result.report.format_text(limit=5)
            session.commit()
        add_user(session, "bench", "auditor", PASSWORD)
        session.commit()
        t0 = time.perf_counter()
        run, _, _ = audit_and_record(session, as_of=dt.date(2024, 6, 30), user="bench")
        session.commit()
        print(f"audit of {run.device_count} devices: {run.finding_count} findings in {time.perf_counter() - t0:.1f} s")
    if pg:  # what autovacuum does a minute after such a load: plans from statistics, index-only scans
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return url


def serve(url: str, instance: Path, workers: int = 1) -> tuple[subprocess.Popen, str]:
    """`camaudit serve` in its own process (clients in this one must not share its interpreter lock)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = os.environ | {"CAMAUDIT_DATABASE_URL": url, "CAMAUDIT_SECRET_KEY": "bench",
                        "CAMAUDIT_INSTANCE_PATH": str(instance), "PYTHONPATH": str(ROOT)}
    threads = ["--workers", str(workers), "--threads", "4"] if workers > 1 else []
    server = subprocess.Popen([sys.executable, "-c", "from web.cli import serve; serve()", "--port", str(port),
                               *threads], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(base + "/api/csrf", timeout=1).read()
            return server, base
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("the server did not start")


def bench_map(base: str) -> tuple[int, float]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1360, "height": 900})
        page.goto(base + "/login")
        page.fill("input[name=username]", "bench")
        page.fill("input[name=password]", PASSWORD)
        page.click("form.stack button[type=submit]")
        page.wait_for_url(base + "/")
        sizes: dict[str, int] = {}
        page.on("requestfinished", lambda req: sizes.__setitem__(req.url, req.sizes()["responseBodySize"]))
        best = None
        for _ in range(3):
            sizes.clear()
            start = time.perf_counter()
            page.goto(base + "/map")
            page.wait_for_function("document.querySelector('.folium-map') && "
                                   "document.querySelector('.folium-map').dataset.shownMarkers !== undefined "
                                   "&& document.querySelector('.cluster') !== null")
            elapsed = time.perf_counter() - start
            shown = int(page.eval_on_selector(".folium-map", "el => el.dataset.shownMarkers"))
            assert shown == N_DEVICES, shown
            best = elapsed if best is None else min(best, elapsed)
        total = sum(sizes.values())
        browser.close()
    return total, best


def cpu_of(pids: set[int] | None = None, parent: int | None = None) -> dict[int, float]:
    """CPU seconds (user + system) used so far by each of these processes and the children of parent (/proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        if pid in (pids or ()) or pid == parent or int(fields[1]) == parent:  # fields[1]: the parent's pid
            out[pid] = (int(fields[11]) + int(fields[12])) / tick
    return out


def database_backends(url: str | None) -> set[int]:
    """The PostgreSQL processes serving the benchmark's connections (their CPU is the server's too; not autovacuum's,
    which the freshly loaded tables start)."""
    if url is None or not url.startswith("postgresql"):
        return set()
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        pids = set(conn.scalars(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                     "AND backend_type = 'client backend' AND pid <> pg_backend_pid()")))
    engine.dispose()
    return pids


def used(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(v - before.get(pid, 0.0) for pid, v in after.items())


def signed_in(base: str) -> http.cookiejar.CookieJar:
    """One login's session cookie, which every client sends (logins from one address are throttled)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    token = json.load(opener.open(base + "/api/csrf"))["csrf_token"]
    body = json.dumps({"username": "bench", "password": PASSWORD}).encode()
    opener.open(urllib.request.Request(base + "/login", data=body, headers={
        "Content-Type": "application/json", "X-CSRFToken": token}))
    return jar


def bench_list(base: str, clients: int, jar: http.cookiejar.CookieJar, api: bool = False,
               by_kind: dict[str, list[float]] | None = None) -> list[float]:
    """Each request's time; by_kind, when given, gets them by the MIX entry asked for."""
    timings: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)
    pages = N_DEVICES // 50

    def client(k: int) -> None:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        barrier.wait()
        mine = []
        for i in range(REQUESTS_PER_CLIENT):
            if api:
                url = f"{base}/api/devices?" + MIX[i % len(MIX)].lstrip("&")
            else:
                url = f"{base}/devices?page={(k * REQUESTS_PER_CLIENT + i) % pages + 1}" + MIX[i % len(MIX)]
            start = time.perf_counter()
            with opener.open(urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})) as response:
                response.read()
                assert response.status == 200
            mine.append(time.perf_counter() - start)
            if by_kind is not None:
                with lock:
                    by_kind.setdefault(urllib.parse.unquote(MIX[i % len(MIX)]) or "plain", []).append(mine[-1])
        with lock:
            timings.extend(mine)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return timings


def main() -> int:
    global N_DEVICES
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=N_DEVICES)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--pg", help="a PostgreSQL URL (its tables are dropped) instead of a temporary SQLite file")
    args = parser.parse_args()
    N_DEVICES = args.devices
    with tempfile.TemporaryDirectory(prefix="camaudit-bench-web-") as tmp:
        folder = Path(tmp)
        url = build_database(folder, args.pg)
        server, base = serve(url, folder / "instance", args.workers)
        backend = "PostgreSQL" if args.pg else "SQLite"
        print(f"{N_DEVICES:,} devices on {backend}, camaudit serve "
              + (f"--workers {args.workers} (gunicorn)" if args.workers > 1 else "(waitress, one process)"))
        ok = True
        if CHROMIUM.exists():
            size, load = bench_map(base)
            ok &= size < 5 * 2**20 and load < 3
            print(f"map page, {N_DEVICES} devices: {size / 2**20:.2f} MB (target < 5 MB), "
                  f"ready in {load:.2f} s (target < 3 s)")
        else:
            print("map page: skipped (no /usr/bin/chromium)")
        jar = signed_in(base)
        for name, api in (("device list", False), ("/api/devices", True)):
            single = bench_list(base, 1, jar, api)
            print(f"{name}, 1 client, {len(single)} requests: median {statistics.median(single) * 1000:.0f} ms")
            backends = database_backends(args.pg)  # the pool's connections, opened by the 1-client run
            cpu, db_cpu = cpu_of(parent=server.pid), cpu_of(backends)
            start, client_cpu = time.perf_counter(), time.process_time()
            kinds: dict[str, list[float]] = {}
            timings = bench_list(base, CLIENTS, jar, api, kinds)
            rate = len(timings) / (time.perf_counter() - start)
            client_cpu = (time.process_time() - client_cpu) / len(timings) * 1000
            cpu = used(cpu, cpu_of(parent=server.pid)) / len(timings) * 1000
            backends |= database_backends(args.pg)
            db_cpu = used(db_cpu, cpu_of(backends)) / len(timings) * 1000
            median = statistics.median(timings) * 1000
            p95 = float(np.percentile(timings, 95)) * 1000
            ok &= p95 < 300
            print(f"{name}, {CLIENTS} concurrent clients, {len(timings)} requests: median {median:.0f} ms, "
                  f"p95 {p95:.0f} ms (target < 300 ms), {rate:.0f} requests/s; CPU per request: server {cpu:.1f} ms"
                  + (f", PostgreSQL {db_cpu:.1f} ms" if args.pg else "") + f", clients {client_cpu:.1f} ms")
            print("    by request: " + ", ".join(f"{kind} median {statistics.median(t) * 1000:.0f} ms p95 "
                                              f"{float(np.percentile(t, 95)) * 1000:.0f} ms" for kind, t in kinds.items()))
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        todo = []
        for _ in range(5):
            start = time.perf_counter()
            opener.open(base + "/todo").read()
            todo.append(time.perf_counter() - start)
        print(f"/todo (every department's counts), 1 client, 5 requests: median {statistics.median(todo) * 1000:.0f} ms")
        print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        server.terminate()
        server.wait(timeout=30)
    print("all targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
