"""Several `camaudit` processes at once against one PostgreSQL server: no check can be passed twice; on one
SQLite file, writers take turns.

Each race starts the processes together (they wait on a barrier file) and expects one winner; the others end
with the clear refusal and exit code 2, never a traceback.
"""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from audit.registry.models import ChangeLog, Decision, Device, LedgerItem, Problem

PROCESSES = 6
DEPT = "将乐县公安局交通管理大队"
DEVICES = ("设备编号,设备名称,设备类型,道路名称,经度,纬度,坐标系,启用日期,状态,标识设置\n"
           "JL-001,水南大道闯红灯,闯红灯,水南大道,117.4731,26.7285,WGS84,2023-07-01,在用,否\n"
           "JL-002,府前路闯红灯,闯红灯,府前路,117.4702,26.7301,WGS84,2023-07-01,在用,否\n")
# Imports the CLI, says it is ready, and runs the command once the barrier file exists: every process begins its
# transaction at the same moment.
LAUNCH = ("import os, sys, time\n"
          "from audit.cli import main\n"
          "open(sys.argv[1] + '.ready.' + str(os.getpid()), 'w').close()\n"
          "while not os.path.exists(sys.argv[1]): time.sleep(0.001)\n"
          "sys.argv = ['camaudit', *sys.argv[2:]]\n"
          "main()\n")


@pytest.fixture
def pg(db_engine, tmp_path):
    if db_engine.dialect.name != "postgresql":
        pytest.skip("a race between processes needs the PostgreSQL server")
    env = os.environ | {"CAMAUDIT_DATABASE_URL": db_engine.url.render_as_string(hide_password=False),
                        "CAMAUDIT_INSTANCE_PATH": str(tmp_path / "instance")}
    _registered(env, tmp_path)
    return db_engine, env, tmp_path


def _registered(env: dict, tmp_path: Path) -> None:
    (tmp_path / "devices.csv").write_text(DEVICES, encoding="utf-8")
    for args in (["import", "devices", tmp_path / "devices.csv", "--department", DEPT],
                 ["audit", "--as-of", "2024-06-30"]):
        done = subprocess.run([sys.executable, "-m", "audit.cli", *map(str, args)], env=env, capture_output=True,
                              text=True)
        assert done.returncode == 0, done.stderr


@pytest.fixture
def sqlite_file(tmp_path):
    env = os.environ | {"CAMAUDIT_DATABASE_URL": f"sqlite:///{tmp_path / 'camaudit.sqlite3'}",
                        "CAMAUDIT_INSTANCE_PATH": str(tmp_path / "instance")}
    _registered(env, tmp_path)
    return env, tmp_path


def race(env, tmp_path: Path, *commands: list[str]) -> list[subprocess.CompletedProcess]:
    barrier = tmp_path / f"go-{time.monotonic_ns()}"
    procs = [subprocess.Popen([sys.executable, "-c", LAUNCH, str(barrier), *map(str, c)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for c in commands]
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob(barrier.name + ".ready.*"))) < len(procs) and time.monotonic() < deadline:
        time.sleep(0.05)
    barrier.touch()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    for r in results:
        assert r.returncode in (0, 2), r.stderr
        assert "Traceback" not in r.stderr, r.stderr
    return results


def count(engine, query) -> int:
    with engine.connect() as conn:
        return conn.execute(query).scalar_one()


def problem_id(engine, code, rule) -> int:
    with engine.connect() as conn:
        return conn.execute(select(Problem.id).where(Problem.device_code == code, Problem.rule == rule)).scalar_one()


@pytest.mark.postgres
def test_concurrent_rectify_orders_make_one_ledger_item(pg):
    engine, env, tmp = pg
    pid = problem_id(engine, "JL-001", "SGN01")
    cmd = ["decide", "rectify", "JL-001", "--problem", pid, "--measure", "设置标识", "--requirement", "设置标识牌",
           "--deadline", "2099-08-31", "--responsible", "李四", "--user", "auditor"]
    results = race(env, tmp, *[cmd] * PROCESSES)
    assert sum(r.returncode == 0 for r in results) == 1
    assert all("不能重复立项" in r.stderr or "另一操作" in r.stderr for r in results if r.returncode == 2)
    assert count(engine, select(func.count()).select_from(LedgerItem)) == 1
    assert count(engine, select(func.count()).select_from(Decision)) == 1


@pytest.mark.postgres
def test_concurrent_suspensions_make_one_decision_and_one_status_change(pg):
    engine, env, tmp = pg
    cmd = ["decide", "suspend", "JL-002", "--reason", "无标识", "--user", "auditor"]
    results = race(env, tmp, *[cmd] * PROCESSES)
    assert sum(r.returncode == 0 for r in results) == 1
    assert count(engine, select(func.count()).select_from(Decision).where(Decision.kind == "suspend")) == 1
    assert count(engine, select(func.count()).select_from(ChangeLog).where(
        ChangeLog.device_code == "JL-002", ChangeLog.field == "status")) == 1


@pytest.mark.postgres
def test_concurrent_identical_dismissals_make_one_review(pg):
    engine, env, tmp = pg
    from audit.registry.models import ProblemReview

    pid = problem_id(engine, "JL-002", "SGN01")
    cmd = ["decide", "review", pid, "--dismiss", "--reason", "现场已有标识", "--user", "auditor"]
    results = race(env, tmp, *[cmd] * PROCESSES)
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    assert count(engine, select(func.count()).select_from(ProblemReview)) == 1


@pytest.mark.postgres
def test_concurrent_imports_of_the_same_new_devices_end_cleanly(pg):
    engine, env, tmp = pg
    new = tmp / "new.csv"
    new.write_text("设备编号,设备类型,经度,纬度,启用日期,状态\n"
                   + "".join(f"NEW-{i:03d},违法停车,117.46,26.72,2024-01-01,在用\n" for i in range(50)),
                   encoding="utf-8")
    cmd = ["import", "devices", new, "--department", "将乐县城市管理和综合执法局", "--partial"]
    results = race(env, tmp, *[cmd] * PROCESSES)
    assert any(r.returncode == 0 for r in results)
    assert count(engine, select(func.count()).select_from(Device).where(Device.device_code.like("NEW-%"))) == 50


def test_imports_and_an_audit_at_once_on_one_sqlite_file_take_turns(sqlite_file):
    """The command line takes the database's write lock before it writes: an audit started with two imports
    waits its turn (it failed with "database is locked" and a traceback, and an import was refused as if its
    file held bad data)."""
    env, tmp = sqlite_file
    counts = tmp / "violations.csv"
    days = [dt.date(2024, 5, 1) + dt.timedelta(days=d) for d in range(60)]
    counts.write_text("设备编号,日期,违法数量,罚款金额\n" + "".join(
        f"{code},{day},{day.day % 7},{day.day % 7 * 200}\n" for day in days for code in ("JL-001", "JL-002")),
        encoding="utf-8")
    moved = tmp / "moved.csv"
    moved.write_text(DEVICES.replace("117.4702", "117.4710"), encoding="utf-8")
    results = race(env, tmp, ["audit", "--as-of", "2024-06-30"], ["import", "violations", counts],
                   ["import", "devices", moved, "--department", DEPT])
    assert [r.returncode for r in results] == [0, 0, 0], [r.stdout + r.stderr for r in results]
    assert not any("DATABASE_ERROR" in r.stdout for r in results)
