"""The daily (and monthly) counts as the audit reads them: typed numpy columns, 25 bytes a row, instead of a frame
of Python objects (about 450 bytes a row), read in batches so that no batch of driver rows is held whole.

PostgreSQL sends the rows by COPY in its binary format, parsed by numpy; SQLite sends a range of device ids at a
time, each column as one text that numpy parses. One department's rows are chosen by a join in SQL (no IN list);
the rows of a set of devices (a chunk of the audit: audit.rules.chunks) by one array parameter on PostgreSQL and
by a temporary table of their ids on SQLite.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, fields

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from .bulk import Col, Loader

BATCH = 1_000_000  # rows of a PostgreSQL batch
SQLITE_DEVICES = 5_000  # device ids of an SQLite batch (a year of theirs: 1.8M rows, about 60 MB of text)
CHOSEN = "camaudit_chosen_device"  # SQLite: the temporary table of the devices whose rows are read
_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_COPY_HEADER = 19  # signature, flags, header extension length
# One row of the COPY below: field count, then (length, value) for device_id, monthly, day, count, fine. The
# SELECT casts every field to the width given here and none is NULL, so every row has this fixed layout.
_ROW = np.dtype([("n", ">i2"), ("l0", ">i4"), ("device_id", ">i4"), ("l1", ">i4"), ("monthly", "u1"),
                 ("l2", ">i4"), ("day", ">i4"), ("l3", ">i4"), ("count", ">i4"), ("l4", ">i4"), ("fine", ">f8")])
_LENGTHS = {"n": 5, "l0": 4, "l1": 1, "l2": 4, "l3": 4, "l4": 8}
_PG_EPOCH = int(np.datetime64("2000-01-01", "D").astype(np.int64))


@dataclass
class DailyRows:
    """device_id, day (days since 1970-01-01 of the period's first day), monthly, count, fine (NaN if unknown)."""

    device_id: np.ndarray
    day: np.ndarray
    monthly: np.ndarray
    count: np.ndarray
    fine: np.ndarray

    def __len__(self) -> int:
        return len(self.device_id)

    @classmethod
    def empty(cls) -> DailyRows:
        return cls(**{name: np.zeros(0, dtype) for name, dtype in _DTYPES.items()})


_FIELDS = [f.name for f in fields(DailyRows)]
_DTYPES = {"device_id": np.int32, "day": np.int32, "monthly": bool, "count": np.int64, "fine": np.float64}


class _Batches:
    """The columns of the batches read so far, joined column by column at the end (each batch's column is released
    once joined, so the join needs one column's room, not the rows' twice)."""

    def __init__(self) -> None:
        self.columns: dict[str, list[np.ndarray]] = {name: [] for name in _FIELDS}

    def add(self, **columns: np.ndarray) -> None:
        for name in _FIELDS:
            self.columns[name].append(np.asarray(columns[name], dtype=_DTYPES[name]))

    def rows(self) -> DailyRows:
        joined = {}
        for name in _FIELDS:
            parts = self.columns.pop(name)
            joined[name] = (parts.pop() if len(parts) == 1 else
                            np.concatenate(parts) if parts else np.zeros(0, _DTYPES[name]))
            del parts
        return DailyRows(**joined)


def _where(department: str | None) -> tuple[str, dict[str, str]]:
    if department is None:
        return "", {}
    return (" JOIN device d ON d.id = v.device_id JOIN department p ON p.id = d.department_id "
            "WHERE p.name = %(department)s"), {"department": department}


def load_daily_rows(session: Session, department: str | None = None,
                    device_ids: np.ndarray | None = None) -> DailyRows:
    """Every stored count (of one department's devices, or of the devices `device_ids`, when given)."""
    conn = session.connection()
    if device_ids is not None:
        ids = np.unique(np.asarray(device_ids, dtype=np.int64))
        if conn.dialect.name == "postgresql":
            return _copy_rows(conn, " WHERE v.device_id = ANY(%(ids)s)", {"ids": ids.tolist()})
        return _sqlite_chosen(conn, ids)
    join, params = _where(department)
    if conn.dialect.name == "postgresql":
        return _copy_rows(conn, join, params)
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        low, high = cursor.execute("SELECT min(device_id), max(device_id) FROM violation_stat").fetchone()
    finally:
        cursor.close()
    bounds = [(start, start + SQLITE_DEVICES) for start in range(low or 0, (high or -1) + 1, SQLITE_DEVICES)]
    return _sqlite_rows(conn, join.replace("%(department)s", "?") + (" AND" if join else " WHERE")
                        + " v.device_id >= ? AND v.device_id < ?", tuple(params.values()), bounds)


def any_daily_rows(session: Session, department: str | None = None) -> bool:
    """Whether any count is stored (for one department's devices, when given)."""
    join, params = _where(department)
    sql = f"SELECT EXISTS (SELECT 1 FROM violation_stat v{join.replace('%(department)s', ':department')})"
    return bool(session.execute(text(sql), params).scalar())


def _sqlite_chosen(conn, ids: np.ndarray) -> DailyRows:  # type: ignore[no-untyped-def]
    """The rows of the devices `ids` (sorted): the ids staged in a temporary table, read SQLITE_DEVICES of them at
    a time by the clustered key."""
    loader = Loader(conn)
    loader.stage(CHOSEN, [Col("id", "bigint")])
    try:
        loader.append(CHOSEN, [Col("id", "bigint")], {"id": ids})
        bounds = [(int(ids[i]), int(ids[min(i + SQLITE_DEVICES, len(ids)) - 1]) + 1)
                  for i in range(0, len(ids), SQLITE_DEVICES)]
        return _sqlite_rows(conn, f" WHERE v.device_id IN (SELECT id FROM {CHOSEN} WHERE id >= ? AND id < ?)", (),
                            bounds)
    finally:
        loader.drop(CHOSEN)


def _sqlite_rows(conn, where: str, params: tuple,  # type: ignore[no-untyped-def]
                 bounds: list[tuple[int, int]]) -> DailyRows:
    """SQLite's rows a range of device ids at a time (the table is clustered on device_id; `where` ends with the
    two bounds of a range), each column joined to text by group_concat and parsed by numpy: a seventh of the time
    of one Python tuple a row."""
    sql = ("SELECT group_concat(v.device_id), group_concat(v.period = 'month'), "
           "group_concat(CAST(julianday(v.period_start) - 2440587.5 AS INTEGER)), group_concat(v.count), "
           f"group_concat(ifnull(v.fine_yuan, 'nan')) FROM violation_stat v{where}")
    cursor = conn.connection.dbapi_connection.cursor()
    batches = _Batches()
    try:
        for start, stop in bounds:
            texts = cursor.execute(sql, (*params, start, stop)).fetchone()
            if texts[0] is None:
                continue
            columns = {name: np.fromstring(joined, sep=",", dtype=_DTYPES[name])
                       for name, joined in zip(("device_id", "monthly", "day", "count", "fine"), texts)}
            if len({len(c) for c in columns.values()}) != 1:
                raise RuntimeError(f"SQLite: the columns of devices {start}… do not have one length each")
            batches.add(**columns)
    finally:
        cursor.close()
    return batches.rows()


def _copy_rows(conn, join: str, params: dict[str, str]) -> DailyRows:  # type: ignore[no-untyped-def]
    sql = ("COPY (SELECT v.device_id::int4, v.period = 'month', v.period_start::date, v.count::int4, "
           f"COALESCE(v.fine_yuan::float8, 'NaN'::float8) FROM violation_stat v{join}) TO STDOUT (FORMAT binary)")
    cursor = conn.connection.dbapi_connection.cursor()
    batches = _Batches()
    pending = bytearray()
    header = True
    try:
        with cursor.copy(sql, params or None) as copy:
            for block in copy:
                pending += block
                if header and len(pending) >= _COPY_HEADER:
                    if bytes(pending[:len(_SIGNATURE)]) != _SIGNATURE:
                        raise RuntimeError("PostgreSQL COPY: not a binary COPY stream")
                    extension = struct.unpack(">i", bytes(pending[15:19]))[0]
                    del pending[:_COPY_HEADER + extension]
                    header = False
                if len(pending) >= _ROW.itemsize * BATCH:
                    _take(pending, batches)
    finally:
        cursor.close()
    _take(pending, batches)
    if bytes(pending) != b"\xff\xff":  # the trailer (-1) is all that is left after the last row
        raise RuntimeError(f"PostgreSQL COPY: {len(pending)} bytes left after the last whole row")
    return batches.rows()


def _take(pending: bytearray, batches: _Batches) -> None:
    """The whole rows at the start of `pending`, parsed into `batches` and removed from it."""
    whole = len(pending) // _ROW.itemsize * _ROW.itemsize
    rows = np.frombuffer(bytes(pending[:whole]), dtype=_ROW)
    del pending[:whole]
    for name, length in _LENGTHS.items():
        if len(rows) and not (rows[name] == length).all():
            raise RuntimeError(f"PostgreSQL COPY: a row whose field {name} is not {length} (layout changed?)")
    batches.add(device_id=rows["device_id"], day=rows["day"] + _PG_EPOCH, monthly=rows["monthly"],
                count=rows["count"], fine=rows["fine"])
