"""Writers in several processes take turns: begin_exclusive holds the database's write lock (SQLite BEGIN IMMEDIATE,
a PostgreSQL advisory lock) until the transaction ends."""
from __future__ import annotations

import multiprocessing
import time

from sqlalchemy import select, text

from audit.registry.db import begin_exclusive, make_engine, session_factory
from audit.registry.models import Department


def _writer(url: str, name: str, hold: float, started, times) -> None:
    engine = make_engine(url)
    with session_factory(engine)() as session:
        started.set()
        begin_exclusive(session)
        times[f"{name}:locked"] = time.time()
        count = session.scalar(text("SELECT count(*) FROM department"))
        time.sleep(hold)
        session.add(Department(name=f"{name}{count}", key=f"{name}{count}"))
        session.commit()
        times[f"{name}:committed"] = time.time()
    engine.dispose()


def test_a_second_process_waits_for_the_first_writer(db_engine):
    url = db_engine.url.render_as_string(hide_password=False)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        times = manager.dict()
        first_started, second_started = manager.Event(), manager.Event()
        first = ctx.Process(target=_writer, args=(url, "A", 1.5, first_started, times))
        first.start()
        first_started.wait(30)
        while "A:locked" not in times:
            time.sleep(0.05)
        second = ctx.Process(target=_writer, args=(url, "B", 0, second_started, times))
        second.start()
        first.join(60)
        second.join(60)
        assert first.exitcode == 0 and second.exitcode == 0
        assert times["B:locked"] >= times["A:committed"] - 0.05
    with session_factory(db_engine)() as session:
        # B counted the department A added: it read after A's commit, not before
        assert sorted(session.scalars(select(Department.name))) == ["A0", "B1"]
