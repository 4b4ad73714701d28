"""Rows written the way each database loads in bulk: PostgreSQL's COPY (psycopg), elsewhere one prepared statement
executed over many rows (executemany). Both write in the caller's transaction, so an import stays whole or absent.

A Loader takes typed columns (numpy arrays or lists, None/NaN/NaT for NULL) and either appends them to a table or
fills a temporary staging table that set-based SQL then merges (`stage`). COPY sends rows of fixed-width columns in
PostgreSQL's binary format built by numpy (no Python object per value), and rows with text in the text format;
executemany binds plain Python values. `loader_for(session)` picks COPY on PostgreSQL; `method="executemany"`
forces the other path (the tests compare the two).

On SQLite a bulk import also runs with a larger page cache (`bulk_pragmas`), restored afterwards.
"""
from __future__ import annotations

import re
import struct
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

METHODS = ("copy", "executemany")
KINDS = ("int", "bigint", "float", "bool", "date", "datetime", "text", "json")
_PG_TYPES = {"int": "INTEGER", "bigint": "BIGINT", "float": "DOUBLE PRECISION", "bool": "BOOLEAN", "date": "DATE",
             "datetime": "TIMESTAMP", "text": "TEXT", "json": "TEXT"}
_SQLITE_TYPES = {"int": "INTEGER", "bigint": "INTEGER", "float": "REAL", "bool": "INTEGER", "date": "TEXT",
                 "datetime": "TEXT", "text": "TEXT", "json": "TEXT"}
# SQLAlchemy's storage of a DateTime on SQLite
_SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"
_BINARY = {"int": (">i4", 4), "bigint": (">i8", 8), "float": (">f8", 8), "bool": ("u1", 1), "date": (">i4", 4)}
_PG_EPOCH = np.datetime64("2000-01-01", "D").astype(np.int64)
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_BLOCK_ROWS = 200_000
SQLITE_BULK_CACHE_KIB = 262_144  # 256 MiB of page cache while a bulk import runs (make_engine sets 64 MiB)


@dataclass(frozen=True)
class Col:
    name: str
    kind: str  # one of KINDS


def _nulls(kind: str, values: np.ndarray) -> np.ndarray:
    if kind == "float":
        return ~np.isfinite(values.astype(np.float64))
    if kind == "date":
        return np.isnat(values)
    return pd.isna(values)


def _typed(kind: str, values: Any) -> np.ndarray:
    """The column as a numpy array of its kind: float64 (NaN for NULL), datetime64[D] (NaT), else as given
    (object arrays hold None or pd.NA for NULL)."""
    if kind == "float":
        return pd.array(values, dtype="Float64").to_numpy(dtype=np.float64, na_value=np.nan)
    if kind == "date":
        array = np.asarray(values)
        if array.dtype.kind != "M":
            array = pd.to_datetime(pd.Series(array, dtype=object)).to_numpy(dtype="datetime64[ns]")
        return array.astype("datetime64[D]")
    return np.asarray(values, dtype=object if kind in ("text", "json", "datetime") else None)


def _python(kind: str, values: np.ndarray, nulls: np.ndarray, sqlite: bool) -> list[Any]:
    """Plain Python values for a driver (None for NULL); dates as ISO text on SQLite (SQLAlchemy's storage)."""
    some_null = bool(nulls.any())
    if kind == "float":
        out = values.astype(np.float64).tolist()
    elif kind == "date":
        # each distinct day converted once (a column of a million rows holds a few hundred days)
        codes, days = pd.factorize(np.where(nulls, np.datetime64("1970-01-01", "D"), values.astype("datetime64[D]")))
        days = np.asarray(days, dtype="datetime64[D]")
        table = np.datetime_as_string(days).tolist() if sqlite else days.astype(object).tolist()
        out = np.array(table, dtype=object)[codes].tolist()
    elif kind in ("int", "bigint", "bool"):
        if some_null:
            values = np.where(nulls, 0, values)
        out = values.astype(np.int64 if kind != "bool" or sqlite else bool).tolist()
    elif kind == "datetime" and sqlite:
        texts = {v: v.strftime(_SQLITE_DATETIME) for v in set(values[~nulls].tolist())}  # each distinct time once
        out = [None if n else texts[v] for v, n in zip(values.tolist(), nulls.tolist())]
    else:
        out = values.tolist()
    if some_null:
        for i in np.flatnonzero(nulls).tolist():
            out[i] = None
    return out


class Loader:
    """Appends typed columns to tables of one connection (see the module's docstring)."""

    method = "executemany"

    def __init__(self, conn: Connection):
        self.conn = conn
        self.sqlite = conn.dialect.name == "sqlite"

    def sql_type(self, kind: str) -> str:
        return (_SQLITE_TYPES if self.sqlite else _PG_TYPES)[kind]

    def stage(self, name: str, columns: Sequence[Col]) -> str:
        """A new, empty temporary table `name` with these columns (dropped first if a previous import left it)."""
        self.conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
        self.conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {name} ("
                                  + ", ".join(f"{c.name} {self.sql_type(c.kind)}" for c in columns) + ")")
        return name

    def drop(self, name: str) -> None:
        self.conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")

    @contextmanager
    def staged(self, name: str, columns: Sequence[Col], data: dict[str, Any]) -> Iterator[str]:
        """A staging table `name` holding `data`, with the planner's statistics, for the statements of the block;
        dropped after it (after an error the transaction is rolled back, and the temporary table with it)."""
        self.stage(name, columns)
        self.append(name, columns, data)
        self.analyze(name)
        yield name
        self.drop(name)

    def index(self, name: str, columns: str) -> None:
        """An index on a staging table that a set-based statement looks rows up in."""
        self.conn.exec_driver_sql(f"CREATE INDEX {name}_key ON {name} ({columns})")

    def analyze(self, name: str) -> None:
        """Statistics for the planner on a filled staging table (PostgreSQL plans joins on them)."""
        if not self.sqlite:
            self.conn.exec_driver_sql(f"ANALYZE {name}")

    def append(self, table: str, columns: Sequence[Col], data: dict[str, Any]) -> int:
        """Append the rows (data: column name -> values, all of one length); the number of rows."""
        arrays = {c.name: _typed(c.kind, data[c.name]) for c in columns}
        n = len(next(iter(arrays.values()))) if arrays else 0
        if n:
            self._write(table, columns, arrays, {c.name: _nulls(c.kind, arrays[c.name]) for c in columns}, n)
        return n

    def _write(self, table: str, columns: Sequence[Col], arrays: dict[str, np.ndarray],
               nulls: dict[str, np.ndarray], n: int) -> None:
        names = ", ".join(_quoted(c.name) for c in columns)
        marker = "?" if self.conn.dialect.paramstyle == "qmark" else "%s"
        sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join([marker] * len(columns))})"
        with self._cursor(sql) as cursor:
            for start in range(0, n, _BLOCK_ROWS):
                part = slice(start, min(n, start + _BLOCK_ROWS))
                values = [_python(c.kind, arrays[c.name][part], nulls[c.name][part], self.sqlite) for c in columns]
                cursor.executemany(sql, zip(*values))

    @contextmanager
    def _cursor(self, sql: str) -> Iterator[Any]:
        """A driver cursor on the connection; the driver's errors raised as SQLAlchemy's (as Core would)."""
        dbapi = self.conn.dialect.loaded_dbapi
        cursor = self.conn.connection.dbapi_connection.cursor()
        try:
            yield cursor
        except dbapi.Error as exc:
            raise DBAPIError.instance(sql, None, exc, dbapi.Error, dialect=self.conn.dialect) from exc
        finally:
            cursor.close()


class CopyLoader(Loader):
    """PostgreSQL: COPY … FROM STDIN through psycopg, binary for fixed-width columns, text otherwise."""

    method = "copy"

    def _write(self, table: str, columns: Sequence[Col], arrays: dict[str, np.ndarray],
               nulls: dict[str, np.ndarray], n: int) -> None:
        names = ", ".join(_quoted(c.name) for c in columns)
        binary = all(c.kind in _BINARY for c in columns)
        sql = f"COPY {table} ({names}) FROM STDIN" + (" (FORMAT binary)" if binary else "")
        with self._cursor(sql) as cursor, cursor.copy(sql) as copy:
            for block in _binary_blocks(columns, arrays, nulls, n) if binary else _text_blocks(columns, arrays, nulls, n):
                copy.write(block)


def _quoted(name: str) -> str:
    return f'"{name}"' if name == "user" else name


def _binary_blocks(columns: Sequence[Col], arrays: dict[str, np.ndarray], nulls: dict[str, np.ndarray],
                   n: int) -> Iterator[bytes]:
    """PostgreSQL's binary COPY format: rows grouped by which of their fields are NULL, each group one numpy
    structured array (the order of rows in a table does not matter; callers order by a column)."""
    yield _COPY_HEADER
    pattern = np.zeros(n, dtype=np.int64)
    for j, c in enumerate(columns):
        pattern |= nulls[c.name].astype(np.int64) << j
    for code in np.unique(pattern):
        rows = np.flatnonzero(pattern == code)
        fields: list[tuple[str, str]] = [("count", ">i2")]
        for j, c in enumerate(columns):
            fields.append((f"l{j}", ">i4"))
            if not (code >> j) & 1:
                fields.append((f"v{j}", _BINARY[c.kind][0]))
        for start in range(0, len(rows), _BLOCK_ROWS * 5):
            part = rows[start:start + _BLOCK_ROWS * 5]
            out = np.empty(len(part), dtype=fields)
            out["count"] = len(columns)
            for j, c in enumerate(columns):
                if (code >> j) & 1:
                    out[f"l{j}"] = -1
                    continue
                out[f"l{j}"] = _BINARY[c.kind][1]
                values = arrays[c.name][part]
                if c.kind == "date":
                    values = values.astype("datetime64[D]").astype(np.int64) - _PG_EPOCH
                elif c.kind == "bool":
                    values = values.astype(bool)
                out[f"v{j}"] = values
            yield out.tobytes()
    yield struct.pack(">h", -1)


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_SPECIAL = re.compile(r"[\\\t\n\r]")


def _text_cells(c: Col, values: np.ndarray, nulls: np.ndarray) -> np.ndarray:
    """A column as COPY text cells (\\N for NULL), each distinct value formatted once."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object if c.kind in ("text", "json", "datetime") else None),
                                  use_na_sentinel=True)
    if c.kind == "date":
        texts = [pd.Timestamp(u).date().isoformat() for u in uniques]
    elif c.kind == "float":
        texts = [repr(float(u)) for u in uniques]
    elif c.kind == "bool":
        texts = ["t" if u else "f" for u in uniques]
    elif c.kind in ("int", "bigint"):
        texts = [str(int(u)) for u in uniques]
    elif c.kind == "datetime":
        texts = [u.isoformat(" ") for u in uniques]
    else:
        texts = [str(u) for u in uniques]
        if _SPECIAL.search("".join(texts)):
            texts = [t.translate(_ESCAPES) if _SPECIAL.search(t) else t for t in texts]
    table = np.array(texts + ["\\N"], dtype=object)
    cells = table[codes]
    cells[nulls] = "\\N"
    return cells


def _text_blocks(columns: Sequence[Col], arrays: dict[str, np.ndarray], nulls: dict[str, np.ndarray],
                 n: int) -> Iterator[bytes]:
    cells = [_text_cells(c, arrays[c.name], nulls[c.name]).tolist() for c in columns]
    for start in range(0, n, _BLOCK_ROWS):
        rows = zip(*(col[start:start + _BLOCK_ROWS] for col in cells))
        yield ("".join("\t".join(r) + "\n" for r in rows)).encode("utf-8")


def loader_for(session: Session, method: str | None = None) -> Loader:
    """The session's bulk loader: COPY on PostgreSQL unless `method` says otherwise."""
    conn = session.connection()
    method = method or ("copy" if conn.dialect.name == "postgresql" else "executemany")
    if method not in METHODS:
        raise ValueError(f"unknown bulk method {method!r}")
    if method == "copy":
        if conn.dialect.name != "postgresql":
            raise ValueError("COPY needs PostgreSQL")
        return CopyLoader(conn)
    return Loader(conn)


@contextmanager
def bulk_pragmas(session: Session) -> Iterator[None]:
    """On SQLite, a page cache large enough for a bulk load's index pages while it runs (restored after)."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_BULK_CACHE_KIB}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={int(before)}")
