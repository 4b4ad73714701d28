"""Hostile files given to `camaudit import` in a child process: each is refused (exit 2, a Chinese message naming
the limit) or read within bounds, the child's peak memory (os.wait4) and wall time stay under the bounds below,
and the database is unchanged. Every file is built here, in the test."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest

from audit.registry.db import init_db, make_engine, session_factory
from audit.registry.store import import_file
from tests.audit.conftest import patch_sheet_xml

ROOT = Path(__file__).resolve().parents[3]
DEPT = "将乐县公安局交通管理大队"
# The child imports pandas, pyproj and calamine (about 200 MB); a file that made it lay out its cells would pass
# these bounds many times over (the far cell alone asks for 512 GiB).
PEAK_MB = 600
WALL_S = 30
DEVICES = "设备编号,设备类型,经度,纬度,坐标系\nJL-001,固定测速,117.4731,26.7285,WGS84\n"
VIOLATIONS = [["设备编号", "日期", "违法数量"], ["JL-001", "2024-06-01", 3]]


@dataclass
class Run:
    code: int
    output: str
    peak_mb: float
    seconds: float


# A small launcher forks the CLI and reports os.wait4's figures: a child forked straight from pytest would carry
# pytest's own peak RSS in its ru_maxrss (Linux keeps the larger of the pre-exec and post-exec peaks).
LAUNCHER = """
import os, sys, time
out = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
start = time.monotonic()
pid = os.fork()
if pid == 0:
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss, time.monotonic() - start)
"""


def run_cli(*args: str, env: dict[str, str]) -> Run:
    """`python -m audit.cli ARGS` in a child process; its exit code, output, peak RSS and wall time."""
    out = Path(env["CAMAUDIT_INSTANCE_PATH"]) / "out.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([sys.executable, "-c", LAUNCHER, str(out), sys.executable, "-m", "audit.cli", *args],
                            env=env, cwd=ROOT, capture_output=True, text=True, timeout=WALL_S * 4,
                            start_new_session=True)
    code, peak_kb, seconds = result.stdout.split()
    return Run(int(code), out.read_text(encoding="utf-8", errors="replace"), int(peak_kb) / 1024, float(seconds))


@pytest.fixture
def world(tmp_path):
    """A database holding one department's device, and the environment of a child `camaudit`."""
    db = tmp_path / "cli.sqlite3"
    engine = make_engine(f"sqlite:///{db}")
    init_db(engine)
    (tmp_path / "devices.csv").write_text(DEVICES, encoding="utf-8")
    with session_factory(engine)() as session:
        assert import_file(session, tmp_path / "devices.csv", "devices", department=DEPT).applied
        session.commit()
    engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMAUDIT_")}
    env |= {"CAMAUDIT_DATABASE_URL": f"sqlite:///{db}", "CAMAUDIT_INSTANCE_PATH": str(tmp_path / "instance"),
            "PYTHONPATH": str(ROOT)}
    return db, env


def dump(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return list(conn.iterdump())


def refused(world, path: Path, kind: str, code: str, *words: str, args: tuple[str, ...] = ()) -> Run:
    db, env = world
    before = dump(db)
    run = run_cli("import", kind, str(path), *args, env=env)
    assert run.code == 2, run.output
    assert code in run.output and "数据库未作任何改动" in run.output, run.output
    for word in words:
        assert word in run.output, run.output
    assert run.peak_mb < PEAK_MB and run.seconds < WALL_S, (run.peak_mb, run.seconds)
    assert dump(db) == before
    return run


def workbook(path: Path, rows: list[list], far: tuple[int, int] | None = None) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    if far:
        ws.cell(*far, "x")
    wb.save(path)
    return path


def test_one_cell_at_xfd1048576_is_refused_before_any_cell_is_laid_out(world, tmp_path):
    path = workbook(tmp_path / "far.xlsx", VIOLATIONS, far=(1048576, 16384))
    # The sheet claims to span A1:C2: only its cells tell where it really reaches.
    patch_sheet_xml(path, lambda xml: xml.replace('<dimension ref="A1:XFD1048576"/>', '<dimension ref="A1:C2"/>'))
    assert path.stat().st_size < 10_000
    refused(world, path, "violations", "SHEET_TOO_LARGE", "第 1,048,576 行、XFD 列", "171.8亿", "上限 2000万",
            "删除")


def test_a_sparse_sheet_reaching_zz200000_is_refused(world, tmp_path):
    path = workbook(tmp_path / "sparse.xlsx", VIOLATIONS, far=(200000, 702))
    patch_sheet_xml(path, lambda xml: xml.replace('<dimension ref="A1:ZZ200000"/>', ""))
    refused(world, path, "violations", "SHEET_TOO_LARGE", "第 200,000 行、ZZ 列", "1.4亿")


def test_a_declared_dimension_past_the_limits_is_refused(world, tmp_path):
    path = workbook(tmp_path / "declared.xlsx", VIOLATIONS)
    patch_sheet_xml(path, lambda xml: xml.replace('<dimension ref="A1:C2"/>', '<dimension ref="A1:XFD1048576"/>'))
    refused(world, path, "violations", "SHEET_TOO_LARGE", "A1:XFD1048576")


def test_a_zip_bomb_is_refused_by_its_unzipped_size(world, tmp_path):
    path = workbook(tmp_path / "bomb.xlsx", VIOLATIONS)
    with zipfile.ZipFile(path) as zf:
        parts = {name: zf.read(name) for name in zf.namelist()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, data in parts.items():
            if name != "xl/worksheets/sheet1.xml":
                zf.writestr(name, data)
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            fh.write(parts["xl/worksheets/sheet1.xml"].replace(b"</worksheet>", b""))
            for _ in range(600):
                fh.write(b" " * 2**20)
            fh.write(b"</worksheet>")
    assert path.stat().st_size < 2 * 2**20
    refused(world, path, "violations", "FILE_TOO_LARGE", "解压后", "600.0 MB", "512.0 MB")


def declare_size(path: Path, member: str, size: int) -> None:
    """Make the zip's local header and central directory declare `size` as the member's unzipped size."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        local = zf.getinfo(member).header_offset
    data[local + 22:local + 26] = size.to_bytes(4, "little")
    entry = data.find(b"PK\x01\x02")
    while data[entry + 46:entry + 46 + len(member)] != member.encode():
        entry = data.find(b"PK\x01\x02", entry + 4)
    data[entry + 24:entry + 28] = size.to_bytes(4, "little")
    path.write_bytes(bytes(data))


def test_a_zip_member_that_lies_about_its_size_is_corrupt(world, tmp_path):
    path = workbook(tmp_path / "liar.xlsx", VIOLATIONS)
    patch_sheet_xml(path, lambda xml: xml.replace("</sheetData>", "</sheetData>" + " " * 50_000_000))
    declare_size(path, "xl/worksheets/sheet1.xml", 50_000)
    refused(world, path, "violations", "FILE_CORRUPT", "已损坏")


def test_a_million_commas_in_the_header_are_not_split(world, tmp_path):
    db, env = world
    path = tmp_path / "wide.csv"
    path.write_text("设备编号,日期,违法数量" + "," * 1_000_000 + "\nJL-001,2024-06-01,3" + ",x" * 1200 + "\n",
                    encoding="utf-8")
    run = run_cli("import", "violations", str(path), env=env)
    assert run.code == 0, run.output
    assert "COLUMNS_NOT_READ" in run.output and "C列）右边" in run.output
    assert run.peak_mb < PEAK_MB and run.seconds < WALL_S, (run.peak_mb, run.seconds)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count FROM violation_stat").fetchall() == [(3,)]


def test_more_rows_than_the_limit_are_refused_with_the_setting_to_raise_it(world, tmp_path):
    db, env = world
    path = tmp_path / "rows.csv"
    path.write_text("设备编号,日期,违法数量\n" + "JL-001,2024-06-01,3\n" * 2000, encoding="utf-8")
    env = env | {"CAMAUDIT_READ_MAX_ROWS": "1000"}
    refused((db, env), path, "violations", "SHEET_TOO_LARGE", "2,001 行", "上限 1,000 行", "CAMAUDIT_READ_MAX_ROWS")


def test_a_file_over_max_mb_names_the_option(world, tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("设备编号,日期,违法数量\n" + "JL-001,2024-06-01,3\n" * 100_000, encoding="utf-8")
    refused(world, path, "violations", "FILE_TOO_LARGE", "上限 1 MB", "--max-mb", args=("--max-mb", "1"))


def test_control_characters_in_a_code_are_refused(world, tmp_path):
    path = tmp_path / "control.csv"
    path.write_text("设备编号,设备类型,经度,纬度,设备名称\nJL-0\x0702,固定测速,117.47,26.72,水南\x01大道\n",
                    encoding="utf-8")
    run = refused(world, path, "devices", "CONTROL_CHARACTER", "U+0007", "第5个字符", "JL-0\\x0702",
                  args=("--department", DEPT))
    assert "U+0001" in run.output and "已删除" in run.output  # the name's is only a warning


def test_an_over_long_code_is_refused_with_row_column_and_limit(world, tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("设备编号,设备类型,经度,纬度\n" + "J" * 150 + ",固定测速,117.47,26.72\n", encoding="utf-8")
    refused(world, path, "devices", "TOO_LONG", "第2行", "“设备编号”列", "150 个字符", "上限 100 个",
            args=("--department", DEPT))
