"""The bulk paths: COPY (PostgreSQL) and executemany give the same registry, history and batch reports; a file
applied by chunks gives the same registry as one applied whole; an error half-way through a load leaves nothing."""
from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from audit.intake.upload import parse_upload
from audit.registry import bulk, violations
from audit.registry.db import init_db, make_engine, session_factory
from audit.registry.models import Base, Decision, Department, Device
from audit.registry.store import import_file

A, B = "将乐县公安局交通管理大队", "将乐县城市管理和综合执法局"
HEADER = ("设备编号,设备名称,设备类型,所属单位,道路名称,经度,纬度,坐标系,启用日期,状态,法制审核日期,标识设置,标识距离米,"
          "限速值,最近检定日期,检定有效期至,检定结果,检定证书编号")
TABLES = ("department", "import_batch", "device", "verification_record", "violation_stat", "change_log")
CLOCKS = {"created_at", "at"}  # when a row was written differs between runs


def device_rows(prefix, n, department, *, name="设备", lon_shift=0.0, status="在用", verified="2024-05-20"):
    return [f"{prefix}-{i:04d},{name}{i},{'固定测速' if i % 2 else '闯红灯'},{department},路{i % 7},"
            f"{117.4 + i / 1000 + lon_shift:.9f},{26.7 + i / 1000:.6f},{'GCJ02' if i % 3 == 0 else 'WGS84'},"
            f"2023-07-{1 + i % 28:02d},{status if i % 5 else '停用'},{'' if i % 4 == 0 else '2023-06-01'},"
            f"{'是' if i % 2 else '否'},{'' if i % 6 == 0 else 50 + i},{60 if i % 2 else ''},"
            f"{verified if i % 3 else ''},2025-05-19,合格,JD{i}" for i in range(n)]


def write(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def scenario(session, tmp_path, method, chunk_rows):
    """Uploads in the life of a registry, each through `method`; the results' summaries."""
    summaries = []

    def load(lines, kind, name, **kw):
        path = write(tmp_path / name, lines)
        parsed = parse_upload(path, kind, chunk_rows=chunk_rows, spool_dir=tmp_path)
        try:
            result = import_file(session, path, kind, parsed=parsed, bulk=method, user="clerk", **kw)
        finally:
            parsed.discard()
        assert result.applied, result.report.format_text(5)
        session.commit()
        summaries.append((result.summary(), result.report.to_dict()))
        return result

    load([HEADER] + device_rows("JL", 60, A), "devices", "a1.csv", department=A)
    # hostile cells: quotes, a backslash and COPY's own NULL marker (\N) in the text of a row
    load([HEADER] + device_rows("CG", 20, B) + [f'CG-HOST,"设备""甲""\\乙/丙",闯红灯,{B},"中山路\\N",117.5,26.8,WGS84,'
                                             "2023-07-01,在用,2023-06-01,是,50,,,,"], "devices", "b1.csv", department=B)
    held = session.scalar(select(Device).where(Device.device_code == "JL-0007"))
    session.add(Decision(device_id=held.id, kind="suspend", decided_on=dt.date(2025, 6, 1), reason="未经法制审核",
                         decided_by="auditor"))
    session.commit()
    counts = ["设备编号,日期,违法数量,罚款金额"] + [f"JL-{i:04d},2025-03-{d:02d},{(i + d) % 9},{(i + d) % 9 * 200}"
                                              for i in range(60) for d in range(1, 6)]
    counts += [f"CG-{i:04d},2025-03,{i * 3}," for i in range(20)]
    load(counts, "violations", "v1.csv")
    # a re-upload: names changed, longitudes moved within and beyond 1e-9, a status against a standing decision,
    # devices missing (JL-0050…), one new device, the sign distance column left out
    again = [r for r in device_rows("JL", 50, A, name="新设备", lon_shift=1e-10, status="拆除")]
    again[3] = again[3].replace("117.403", "117.503")
    columns = HEADER.split(",")
    drop = columns.index("标识距离米")
    again = [",".join(c for j, c in enumerate(r.split(",")) if j != drop) for r in again]
    header = ",".join(c for j, c in enumerate(columns) if j != drop)
    load([header] + again + [f"JL-9999,新增,闯红灯,{A},新路,117.6,26.8,WGS84,2024-01-01,在用,2023-12-01,是,60,,,,"],
         "devices", "a2.csv", department=A)
    changed = ["设备编号,日期,违法数量,罚款金额"] + [f"JL-{i:04d},2025-03-{d:02d},{(i + d) % 9 + (i % 2)},"
                                               f"{(i + d) % 9 * 200 + (0.5 if i % 3 == 0 else 0)}"
                                               for i in range(0, 60, 2) for d in range(3, 8)]
    load(changed, "violations", "v2.csv", department=A)
    checks = ["设备编号,检定日期,有效期至,检定结果,证书编号,检定机构"] + [
        f"JL-{i:04d},2024-05-20,2025-05-1{i % 2},{'合格' if i % 4 else '不合格'},JD{i},三明市计量所" for i in range(1, 30)]
    checks += [f"CG-{i:04d},2023-01-0{1 + i % 9},2024-01-01,合格,X{i}," for i in range(20)]
    load(checks, "verifications", "c1.csv")
    load([HEADER] + device_rows("JL", 5, A, name="补充"), "devices", "a3.csv", department=A, partial=True)
    load([HEADER] + device_rows("CG", 3, B, name="按列") + device_rows("JL", 2, A, name="按列"), "devices", "ab.csv",
         department=A, department_from_column=True)
    return summaries


def plain(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def dump(session, ordered=True):
    """Every row of the registry's tables (the writing times left out); JSON cells as parsed values."""
    out = {}
    for name in TABLES:
        table = Base.metadata.tables[name]
        cols = [c for c in table.columns if c.name not in CLOCKS]
        rows = [tuple(plain(v) for v in row) for row in session.execute(select(*cols).order_by(*table.primary_key))]
        out[name] = rows if ordered else sorted(rows[i][1:] if name == "change_log" else rows[i]
                                                for i in range(len(rows)))
    return out


def fresh(engine):
    with engine.begin() as conn:
        conn.execute(text("DROP VIEW IF EXISTS device_geom"))
        conn.execute(text("DROP TABLE IF EXISTS violation_stat"))
    Base.metadata.drop_all(engine)
    init_db(engine)


def run(engine, tmp_path, method, chunk_rows=None, ordered=True):
    fresh(engine)
    folder = tmp_path / f"{method}-{chunk_rows}"
    folder.mkdir()
    with session_factory(engine)() as session:
        summaries = scenario(session, folder, method, chunk_rows)
        return summaries, dump(session, ordered)


@pytest.fixture
def pg_engine():
    url = os.environ.get("CAMAUDIT_TEST_PG_URL")
    if not url:
        pytest.skip("no PostgreSQL server (set CAMAUDIT_TEST_PG_URL)")
    engine = make_engine(url)
    yield engine
    engine.dispose()


def test_copy_and_executemany_give_the_same_registry(pg_engine, tmp_path):
    copied = run(pg_engine, tmp_path, "copy", chunk_rows=40)
    executed = run(pg_engine, tmp_path, "executemany", chunk_rows=40)
    assert copied[0] == executed[0]  # the batch reports: new, changed, unchanged, missing, held, counts, warnings
    for table in TABLES:
        assert copied[1][table] == executed[1][table], table
    summary = {s["batch_id"]: s for s, _ in copied[0]}
    reupload = summary[4]
    assert reupload["new"] == ["JL-9999"] and reupload["held"] == ["JL-0007"]
    assert reupload["missing"] == [f"JL-{i:04d}" for i in range(50, 60)]
    assert "JL-0003" in reupload["changed"] and "lon" in reupload["changed"]["JL-0003"]
    assert all("lon" not in fields for code, fields in reupload["changed"].items() if code != "JL-0003")
    assert summary[5]["counts"] == {"新增记录": 60, "更新记录": 30, "未变记录": 60, "涉及设备": 30}
    host = copied[1]["device"][[r[1] for r in copied[1]["device"]].index("CG-HOST")]
    assert '设备"甲"\\乙/丙' in host and "中山路\\N" in host


def test_sqlite_gives_the_registry_postgresql_gives(pg_engine, tmp_path):
    """The set-based SQL writes the same history texts on both databases (money, dates, counts)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'r.sqlite3'}")
    init_db(engine)
    with session_factory(engine)() as session:
        folder = tmp_path / "sqlite"
        folder.mkdir()
        summaries = scenario(session, folder, "executemany", 40)
        lite = dump(session)
    engine.dispose()
    copied = run(pg_engine, tmp_path, "copy", chunk_rows=40)
    assert summaries == copied[0]
    for table in TABLES:
        assert lite[table] == copied[1][table], table


def test_chunks_and_whole_files_give_the_same_registry(db_engine, tmp_path):
    whole = run(db_engine, tmp_path, None, chunk_rows=None, ordered=False)
    chunked = run(db_engine, tmp_path, None, chunk_rows=7, ordered=False)
    assert [s for s, _ in whole[0]] == [s for s, _ in chunked[0]]
    assert whole[1] == chunked[1]


def table_counts(session):
    return {t: session.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in TABLES}


def test_a_value_the_database_refuses_after_the_copy_leaves_nothing(pg_engine, tmp_path):
    """A rule validation does not know (here a CHECK an administrator added) refuses row 153 of a copied file: the
    message names the database's reason and the row it refused, and nothing of the file is left behind."""
    fresh(pg_engine)
    with pg_engine.begin() as conn:
        conn.execute(text("ALTER TABLE device ADD CONSTRAINT speed_plausible CHECK (speed_limit_kmh <= 150)"))
    with session_factory(pg_engine)() as session:
        first = write(tmp_path / "a.csv", [HEADER] + device_rows("JL", 10, A))
        assert import_file(session, first, "devices", department=A).applied
        session.commit()
        before = table_counts(session)
        rows = device_rows("JL", 200, A, name="改")
        rows[151] = rows[151].replace(",60,", ",160,")  # a warning for the clerk, refused by the database
        path = write(tmp_path / "b.csv", [HEADER] + rows)
        parsed = parse_upload(path, "devices", chunk_rows=30, spool_dir=tmp_path)
        result = import_file(session, path, "devices", department=A, parsed=parsed)
        parsed.discard()
        assert not result.applied and [p.code for p in result.report.errors] == ["DATABASE_ERROR"]
        message = result.report.errors[0].message
        assert "CheckViolation" in message and "speed_plausible" in message and "JL-0151" in message
        session.commit()
        assert table_counts(session) == before
        assert session.execute(text("SELECT count(*) FROM pg_class WHERE relname LIKE 'camaudit_stage%'")).scalar() == 0
        assert import_file(session, write(tmp_path / "c.csv", [HEADER] + device_rows("JL", 12, A)), "devices",
                           department=A).applied


def test_a_load_that_stops_half_way_leaves_nothing(db_engine, tmp_path, monkeypatch):
    """The rows sent before the failure are rolled back with the rest (COPY on PostgreSQL, executemany on SQLite)."""
    fresh(db_engine)
    with session_factory(db_engine)() as session:
        assert import_file(session, write(tmp_path / "a.csv", [HEADER] + device_rows("JL", 80, A)), "devices",
                           department=A).applied
        session.commit()
        before = table_counts(session)
        counts = ["设备编号,日期,违法数量"] + [f"JL-{i:04d},2025-04-{d:02d},{d}" for i in range(80) for d in range(1, 29)]
        path = write(tmp_path / "v.csv", counts)
        calls = []
        real = bulk.Loader.append

        def failing(self, table, columns, data):
            calls.append(table)
            if len(calls) == 3:
                raise OSError("connection reset while loading")
            return real(self, table, columns, data)

        monkeypatch.setattr(bulk.Loader, "append", failing)
        parsed = parse_upload(path, "violations", chunk_rows=500, spool_dir=tmp_path)
        with pytest.raises(OSError):
            import_file(session, path, "violations", parsed=parsed)
        parsed.discard()
        session.rollback()
        assert len(calls) == 3 and table_counts(session) == before
        monkeypatch.undo()
        assert import_file(session, path, "violations").counts["新增记录"] == 80 * 28
        session.commit()
        assert session.scalar(select(Department.name)) == A


def test_a_first_upload_of_a_month_skips_the_probe_and_gives_what_the_probe_gives(db_engine, tmp_path, monkeypatch):
    """A file whose devices have no row in its dates is inserted without the probe of what exists; the registry,
    history and batch reports are those of the probe (forced on every file), with overlaps of one device's day,
    of a month row, and of rows of other devices in the same dates."""

    def months(session, folder):
        def load(lines, name):
            result = import_file(session, write(folder / name, lines), "violations", user="clerk")
            assert result.applied, result.report.format_text(5)
            session.commit()
            return result.counts

        assert import_file(session, write(folder / "d.csv", [HEADER] + device_rows("JL", 20, A)), "devices",
                           department=A).applied
        session.commit()
        counts = [load(["设备编号,日期,违法数量,罚款金额"] + [f"JL-{i:04d},2025-04-{d:02d},{i + d},{(i + d) * 100}"
                                                       for i in range(10) for d in (1, 2, 3)], "v1.csv")]
        changed = ["设备编号,日期,违法数量,罚款金额"] + [f"JL-{i:04d},2025-04-{d:02d},{i + d + (i == 5)},{(i + d) * 100}"
                                                 for i in range(20) for d in (3, 4, 5)]
        counts.append(load(changed, "v2.csv"))  # JL-0000…0009 stored on 04-03: one of them changed
        counts.append(load(["设备编号,日期,违法数量"] + [f"JL-{i:04d},2025-05,{i}" for i in range(15, 20)], "m1.csv"))
        counts.append(load(["设备编号,日期,违法数量"] + [f"JL-{i:04d},2025-05-0{d},{d}" for i in range(15, 20)
                                                 for d in (1, 2)], "m2.csv"))  # days beside the month's row
        counts.append(load(["设备编号,日期,违法数量"] + [f"JL-{i:04d},2025-05,{i + 1}" for i in range(14, 20)], "m3.csv"))
        return counts, dump(session)

    fresh(db_engine)
    folder = tmp_path / "fast"
    folder.mkdir()
    probed = []
    real = violations.ViolationsImport._stored
    monkeypatch.setattr(violations.ViolationsImport, "_stored", lambda self, conn: probed.append(real(self, conn))
                        or probed[-1])
    with session_factory(db_engine)() as session:
        fast = months(session, folder)
    assert probed == [False, True, False, True, True]
    assert fast[0] == [{"新增记录": 30, "更新记录": 0, "未变记录": 0, "涉及设备": 10},
                       {"新增记录": 50, "更新记录": 1, "未变记录": 9, "涉及设备": 20},
                       {"新增记录": 5, "更新记录": 0, "未变记录": 0, "涉及设备": 5},
                       {"新增记录": 10, "更新记录": 0, "未变记录": 0, "涉及设备": 5},
                       {"新增记录": 1, "更新记录": 5, "未变记录": 0, "涉及设备": 6}]
    monkeypatch.setattr(violations.ViolationsImport, "_stored", lambda self, conn: True)
    fresh(db_engine)
    folder = tmp_path / "probe"
    folder.mkdir()
    with session_factory(db_engine)() as session:
        assert months(session, folder) == fast


def test_an_error_in_the_last_chunk_leaves_the_database_exactly_as_before(db_engine, tmp_path, monkeypatch):
    """Devices and a month of counts stored; a file of new and changed rows fails while its last chunk is staged
    (a first upload of its month, and one overlapping stored rows): every table is as it was, row for row."""
    fresh(db_engine)
    with session_factory(db_engine)() as session:
        assert import_file(session, write(tmp_path / "a.csv", [HEADER] + device_rows("JL", 40, A)), "devices",
                           department=A).applied
        stored = ["设备编号,日期,违法数量"] + [f"JL-{i:04d},2025-04-{d:02d},{d}" for i in range(40) for d in range(1, 11)]
        assert import_file(session, write(tmp_path / "v.csv", stored), "violations").applied
        session.commit()
        before = dump(session)
        for name, days in (("new.csv", range(11, 31)), ("overlap.csv", range(5, 16))):
            lines = ["设备编号,日期,违法数量"] + [f"JL-{i:04d},2025-04-{d:02d},{d + 1}" for i in range(40) for d in days]
            path = write(tmp_path / name, lines)
            parsed = parse_upload(path, "violations", chunk_rows=100, spool_dir=tmp_path)
            chunks = sum(1 for _ in parsed.frames())
            staged = []
            real = bulk.Loader.append

            def failing(self, table, columns, data):
                if table == violations.STAGE:
                    staged.append(table)
                    if len(staged) == chunks:
                        raise OSError("connection reset while loading the last chunk")
                return real(self, table, columns, data)

            monkeypatch.setattr(bulk.Loader, "append", failing)
            with pytest.raises(OSError):
                import_file(session, path, "violations", parsed=parsed)
            parsed.discard()
            session.rollback()
            monkeypatch.undo()
            assert chunks > 2 and len(staged) == chunks
            assert dump(session) == before, name
