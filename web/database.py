"""One engine per app (config DATABASE_URL) and one session per request."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from flask import Flask, current_app, flash, g
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from audit.casework.decisions import DecisionError
from audit.registry.db import begin_exclusive, database_url, init_db, make_engine, session_factory

EXTENSION = "camaudit.db"


@dataclass
class Database:
    engine: Engine
    sessions: sessionmaker[Session]
    # Serialises the requests of one process that write (its threads); the database's own lock serialises the
    # processes (several web workers, the command line): see writing().
    write_lock: threading.Lock = field(default_factory=threading.Lock)


def init_app(app: Flask) -> None:
    url = app.config.get("DATABASE_URL") or database_url()
    engine = make_engine(url)
    init_db(engine)
    app.extensions[EXTENSION] = Database(engine, session_factory(engine))
    app.teardown_appcontext(_close_session)


def database() -> Database:
    return current_app.extensions[EXTENSION]


def get_session() -> Session:
    """The request's session, opened on first use and closed when the request ends."""
    if "db_session" not in g:
        g.db_session = database().sessions()
    return g.db_session


@contextmanager
def writing() -> Iterator[Session]:
    """The request's session for a change: one writer at a time, on a fresh transaction.

    Earlier reads of the request ended their transaction first: on SQLite a transaction that read before another
    writer committed cannot write any more ("database is locked"). The transaction starts holding the database's
    write lock (audit.registry.db.begin_exclusive), so that writers in other worker processes wait their turn
    too; it is released when the caller commits or the request ends.
    """
    session = get_session()
    with database().write_lock:
        session.rollback()
        begin_exclusive(session)
        yield session


def apply_decision(action: Callable[[Session], Any], success: str) -> bool:
    """Run one audit decision or ledger function in a transaction. Its refusal (DecisionError) becomes the message
    shown and nothing is written; success is flashed. True when it was applied."""
    with writing() as db:
        try:
            action(db)
        except DecisionError as exc:
            db.rollback()
            flash(str(exc), "error")
            return False
        except (IntegrityError, OperationalError):
            db.rollback()
            current_app.logger.exception("a decision lost a race with another writer")
            flash("另一操作正在同时修改同一记录，本次未作任何改动；请刷新页面后重试。", "error")
            return False
        db.commit()
        flash(success, "success")
        return True


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
