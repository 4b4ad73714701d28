"""A bulk device import indexes its new devices for the text search by one statement after the insert instead of
the insert trigger row by row (audit.registry.search.appended): the registry, change log and search results are
those of the trigger's path, and a failure in the last chunk leaves the devices, the index and the log as they were.
"""
from __future__ import annotations

from contextlib import nullcontext

import pytest
from sqlalchemy import text

from audit.intake.upload import parse_upload
from audit.registry import bulk, search
from audit.registry.db import session_factory
from audit.registry.store import import_file
from tests.audit.registry.test_bulk import HEADER, A, device_rows, dump, fresh, run, write

QUERIES = ["JL-00", "CG-0001", "设备1", "新设备", "按列0", "补充2", '"甲"', "不存在", "改名1"]  # a trigram or more


def searched(session, q, indexed):
    where = " OR ".join(f"{c} LIKE :q" for c in search.COLUMNS)
    if indexed:
        where = f"({where}) AND id IN (SELECT rowid FROM {search.TABLE} WHERE {search.TABLE} MATCH :phrase)"
    return session.execute(text(f"SELECT device_code FROM device WHERE {where} ORDER BY device_code"),
                           {"q": f"%{q}%", "phrase": '"' + q.replace('"', '""') + '"'}).scalars().all()


def index_state(session):
    """The devices LIKE finds for each query, which on SQLite the FTS5 index finds too (and its integrity check
    agrees with the device table, its triggers all there); on PostgreSQL the trigram indexes are there."""
    found = {q: searched(session, q, indexed=False) for q in QUERIES}
    if session.bind.dialect.name == "sqlite":
        assert {q: searched(session, q, indexed=True) for q in QUERIES} == found
        session.execute(text(f"INSERT INTO {search.TABLE}({search.TABLE}, rank) VALUES ('integrity-check', 1)"))
        triggers = set(session.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
        assert set(search.TRIGGERS) <= triggers
    else:
        indexes = set(session.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'device'")).scalars())
        assert set(search.PG_INDEXES) <= indexes
    return found


def life(engine, tmp_path):
    tmp_path.mkdir()
    summaries, tables = run(engine, tmp_path, None, chunk_rows=7)
    with session_factory(engine)() as session:
        return summaries, tables, index_state(session)


def test_the_bulk_index_gives_what_the_insert_trigger_gives(db_engine, tmp_path, monkeypatch):
    """The uploads of test_bulk's scenario (new devices in chunks of 7, re-uploads, renames, devices missing,
    hostile text) with the index written after each chunk's insert, then with the trigger doing it row by row."""
    calls = []
    real = search.appended
    monkeypatch.setattr(search, "appended", lambda conn, a, b: calls.append((a, b)) or real(conn, a, b))
    bulk_path = life(db_engine, tmp_path / "bulk")
    assert len(calls) > 3 and all(a <= b for a, b in calls)
    monkeypatch.setattr(search, "appended", lambda conn, a, b: nullcontext())
    trigger_path = life(db_engine, tmp_path / "trigger")
    assert bulk_path == trigger_path
    found = bulk_path[2]
    assert found["CG-0001"] == ["CG-0001"] and len(found["JL-00"]) == 60 and found['"甲"'] == ["CG-HOST"]
    assert found["不存在"] == [] and len(found["新设备"]) == 45 and found["补充2"] == ["JL-0002"]


def test_a_failure_in_the_last_chunk_leaves_devices_index_and_log_unchanged(db_engine, tmp_path, monkeypatch):
    fresh(db_engine)
    with session_factory(db_engine)() as session:
        assert import_file_ok(session, write(tmp_path / "a.csv", [HEADER] + device_rows("JL", 20, A)))
        session.commit()
        before, found = dump(session), index_state(session)
        # 20 devices renamed and 100 new ones, in chunks of 30: the failure while the last chunk's devices are sent
        path = write(tmp_path / "b.csv", [HEADER] + device_rows("JL", 120, A, name="改名"))
        parsed = parse_upload(path, "devices", chunk_rows=30, spool_dir=tmp_path)
        chunks = sum(1 for _ in parsed.frames())
        sent = []
        real = bulk.Loader.append

        def failing(self, table, columns, data):
            if table == "device":
                sent.append(list(data["device_code"]))
                if "JL-0119" in sent[-1]:  # the file's last row
                    raise OSError("connection reset while loading the last chunk")
            return real(self, table, columns, data)

        monkeypatch.setattr(bulk.Loader, "append", failing)
        with pytest.raises(OSError):
            import_file(session, path, "devices", department=A, parsed=parsed)
        parsed.discard()
        session.rollback()
        monkeypatch.undo()
        assert chunks > 3 and len(sent) > 2 and len(sent[-1]) < 30
        assert dump(session) == before and index_state(session) == found
        # the trigger is back: a device written another way is found
        session.execute(text("UPDATE device SET name = '事后改名' WHERE device_code = 'JL-0003'"))
        session.commit()
        assert searched(session, "事后改名", indexed=session.bind.dialect.name == "sqlite") == ["JL-0003"]


def import_file_ok(session, path):
    return import_file(session, path, "devices", department=A).applied


def test_a_first_import_that_fails_leaves_an_empty_registry_with_its_index(db_engine, tmp_path, monkeypatch):
    """Into an empty device table: a failure after the devices were sent leaves no device and the index whole (its
    insert trigger back on SQLite, the trigram indexes on PostgreSQL); the import made again is found."""
    fresh(db_engine)
    with session_factory(db_engine)() as session:
        path = write(tmp_path / "a.csv", [HEADER] + device_rows("JL", 90, A))
        real = bulk.Loader.append

        def failing(self, table, columns, data):
            if table == "change_log":
                raise OSError("connection reset after the devices were sent")
            return real(self, table, columns, data)

        monkeypatch.setattr(bulk.Loader, "append", failing)
        parsed = parse_upload(path, "devices", chunk_rows=40, spool_dir=tmp_path)
        with pytest.raises(OSError):
            import_file(session, path, "devices", department=A, parsed=parsed)
        parsed.discard()
        session.rollback()
        monkeypatch.undo()
        assert session.execute(text("SELECT count(*) FROM device")).scalar() == 0
        assert all(v == [] for v in index_state(session).values())
        assert import_file_ok(session, path)
        session.commit()
        assert len(index_state(session)["JL-00"]) == 90
