"""The device list's text search (code, name, road or site containing the text) from an index instead of a scan of
every device.

SQLite: an FTS5 table of trigrams (`device_fts`, its content the device table's four columns) kept by triggers on
`device`, so that every write path (imports of every kind, edits, the demo) keeps it without knowing of it. It
finds the devices whose columns hold every trigram of the text, case folded: a superset of what `LIKE` finds, which
the search then applies to those devices only, so the results are exactly `LIKE`'s. A text of fewer than three
characters has no trigram: it is searched by `LIKE` alone.

PostgreSQL: pg_trgm GIN indexes on the four columns, which the `LIKE` itself uses (the query is unchanged); where
the extension cannot be installed, the search scans as before.

A bulk import of new devices (`appended`) indexes them by one INSERT … SELECT after the insert instead of by the
insert trigger row by row (which was three quarters of SQLite's insert of 100,000 devices).

install() is idempotent (init_db on every start, migration 0010_search).
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from sqlalchemy import Connection, ColumnElement, literal, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

COLUMNS = ("device_code", "name", "road", "address")
MIN_CHARS = 3  # a trigram
TABLE = "device_fts"
_LIST = ", ".join(COLUMNS)
_NEW = ", ".join(f"new.{c}" for c in COLUMNS)
_OLD = ", ".join(f"old.{c}" for c in COLUMNS)
TRIGGERS = {
    f"{TABLE}_insert": f"AFTER INSERT ON device BEGIN INSERT INTO {TABLE}(rowid, {_LIST}) VALUES (new.id, {_NEW}); END",
    f"{TABLE}_delete": (f"AFTER DELETE ON device BEGIN INSERT INTO {TABLE}({TABLE}, rowid, {_LIST}) "
                        f"VALUES ('delete', old.id, {_OLD}); END"),
    f"{TABLE}_update": (f"AFTER UPDATE OF id, {_LIST} ON device BEGIN "
                        f"INSERT INTO {TABLE}({TABLE}, rowid, {_LIST}) VALUES ('delete', old.id, {_OLD}); "
                        f"INSERT INTO {TABLE}(rowid, {_LIST}) VALUES (new.id, {_NEW}); END"),
}
INSERT_TRIGGER = f"{TABLE}_insert"
PG_INDEXES = {f"ix_device_{c}_trgm": c for c in COLUMNS}


def install(connection: Connection) -> None:
    """The search index of the device table, where it is missing (no catalogue change when it is there)."""
    if connection.dialect.name == "postgresql":
        _install_pg(connection)
        return
    present = set(connection.execute(text("SELECT name FROM sqlite_master WHERE name = :t OR tbl_name = 'device'"),
                                     {"t": TABLE}).scalars())
    if TABLE in present and set(TRIGGERS) <= present:
        return
    # Missing, or its triggers gone with a device table dropped and made again: (re)built from the devices.
    connection.execute(text(f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5({_LIST}, content='device', "
                            "content_rowid='id', tokenize='trigram')"))
    for name, body in TRIGGERS.items():
        connection.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
        connection.execute(text(f"CREATE TRIGGER {name} {body}"))
    connection.execute(text(f"INSERT INTO {TABLE}({TABLE}) VALUES ('rebuild')"))


@contextmanager
def appended(connection: Connection, first_id: int, last_id: int) -> Iterator[None]:
    """Devices first_id..last_id (every id of the range new) inserted within the block, indexed after it by one
    statement (SQLite; PostgreSQL's indexes keep themselves). The insert trigger is dropped and made again inside
    the caller's transaction, so no other connection sees the table without it, and every other write keeps the
    index by the triggers; after an error the caller's rollback takes back the rows and the trigger's drop alike."""
    if connection.dialect.name != "sqlite" or connection.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = ?", (INSERT_TRIGGER,)).first() is None:
        yield
        return
    connection.exec_driver_sql(f"DROP TRIGGER {INSERT_TRIGGER}")
    try:
        yield
        connection.exec_driver_sql(f"INSERT INTO {TABLE}(rowid, {_LIST}) SELECT id, {_LIST} FROM device "
                                   "WHERE id BETWEEN ? AND ?", (int(first_id), int(last_id)))
    finally:
        # IF NOT EXISTS: where SQLite itself rolled the transaction back (a full disk), the drop is undone already
        connection.exec_driver_sql(f"CREATE TRIGGER IF NOT EXISTS {INSERT_TRIGGER} {TRIGGERS[INSERT_TRIGGER]}")


def _install_pg(connection: Connection) -> None:
    present = set(connection.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'device'")).scalars())
    if set(PG_INDEXES) <= present:
        return
    try:
        with connection.begin_nested():
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except DBAPIError:
        return  # not installed on the server, or not this user's to create: the search scans
    for name, column in PG_INDEXES.items():
        connection.execute(text(f"CREATE INDEX IF NOT EXISTS {name} ON device USING gin ({column} gin_trgm_ops)"))


class _Candidates(FunctionElement[bool]):
    """device id IN the FTS5 table's match of a phrase (SQLite); true elsewhere (PostgreSQL's LIKE uses its
    indexes itself). Untyped: a Boolean would be compared with 1 on SQLite, which then cannot read the match."""

    inherit_cache = True
    name = "device_text_candidates"


@compiles(_Candidates)
def _anywhere(element: _Candidates, compiler: Any, **kw: Any) -> str:
    return "1 = 1"


@compiles(_Candidates, "sqlite")
def _sqlite(element: _Candidates, compiler: Any, **kw: Any) -> str:
    device_id, phrase = element.clauses.clauses
    return (f"{compiler.process(device_id, **kw)} IN (SELECT rowid FROM {TABLE} WHERE {TABLE} MATCH "
            f"{compiler.process(phrase, **kw)})")


def candidates(device_id: ColumnElement[Any], q: str) -> ColumnElement[bool] | None:
    """The devices the index finds for the text (a superset of LIKE's), or None for a text too short for it."""
    if len(q) < MIN_CHARS:
        return None
    phrase = '"' + q.replace('"', '""') + '"'  # one FTS5 string: every character literal
    return _Candidates(device_id, literal(phrase))  # type: ignore[return-value]
