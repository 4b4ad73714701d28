"""The daily (and monthly) counts as the audit reads them: typed numpy columns, 25 bytes a row, instead of a frame
of Python objects (about 450 bytes a row), read in batches so that no batch of driver rows is held whole.

PostgreSQL sends the rows by COPY in its binary format, one COPY row per device with its rows as arrays, parsed by
numpy; SQLite sends a range of device ids at a time, each column as one text that numpy parses. One department's
rows are chosen by a join in SQL (no IN list); the rows of a set of devices (a chunk of the audit:
audit.rules.chunks) by one array parameter on PostgreSQL and by a temporary table of their ids on SQLite.
"""
from __future__ import annotations

import io
import struct
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from .bulk import Col, Loader

BATCH = 1_000_000  # rows of a PostgreSQL batch (about: the batch ends at a whole device)
SQLITE_DEVICES = 5_000  # device ids of an SQLite batch (a year of theirs: 1.8M rows, about 60 MB of text)
CHOSEN = "camaudit_chosen_device"  # SQLite: the temporary table of the devices whose rows are read
_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_COPY_HEADER = 19  # signature, flags, header extension length
# A device's COPY row in _copy_rows: the arrays of monthly, day, count and fine in cents (_NO_FINE if unknown):
# exact for numeric(14, 2), and cents / 100 is the double the decimal's ::float8 is (both correctly rounded).
_ARRAYS = [("monthly", 16, 1, "u1"), ("day", 1082, 4, ">i4"), ("count", 23, 4, ">i4"), ("fine", 20, 8, ">i8")]
_ROW_FIXED = 2 + 8 + 4 * 24  # field count, device id, each array's length word and header
_ROW_BYTES = sum(4 + width for _, _, width, _ in _ARRAYS)  # a row's bytes in the four arrays
_NO_FINE = -2**63  # no fine of numeric(14, 2) in cents is near it
_COUNT = struct.Struct(">i")
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
        return rows_of_devices(conn, device_ids)
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


def rows_of_devices(conn: Connection, device_ids: np.ndarray) -> DailyRows:
    """Every stored count of the devices `device_ids`, on the session's connection `conn`. On PostgreSQL this
    touches only the driver's connection, whose lock makes each statement wait for the other's, so it may run on a
    second thread while the first goes on with the session (audit.rules.chunks.rows_in_turn): the same
    transaction, the same snapshot."""
    ids = np.unique(np.asarray(device_ids, dtype=np.int64))
    if conn.dialect.name == "postgresql":
        return _copy_rows(conn, " WHERE v.device_id = ANY(%(ids)s)", {"ids": ids.tolist()})
    return _sqlite_chosen(conn, ids)


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
            columns = {name: _parse_joined(name, joined)
                       for name, joined in zip(("device_id", "monthly", "day", "count", "fine"), texts)}
            if len({len(c) for c in columns.values()}) != 1:
                raise RuntimeError(f"SQLite: the columns of devices {start}… do not have one length each")
            batches.add(**columns)
    finally:
        cursor.close()
    return batches.rows()


def _parse_joined(name: str, joined: str) -> np.ndarray:
    """One column of `_sqlite_rows`: numpy parses integers at about 15 ns a value but booleans and floats at about
    200 ns, so the flags are parsed as small integers and the fines by pandas' C parser (45 ns a value, the same
    doubles; 'nan' for an unknown fine)."""
    if name == "fine":
        return pd.read_csv(io.StringIO(joined), header=None, lineterminator=",", dtype=np.float64,
                           engine="c").iloc[:, 0].to_numpy()
    if name == "monthly":
        return np.fromstring(joined, sep=",", dtype=np.int8).astype(bool)
    return np.fromstring(joined, sep=",", dtype=_DTYPES[name])


# The planner settings of `_copy_rows`, for its transaction only (restored after it; an error rolls them back)
_PLAIN_PLAN = {"max_parallel_workers_per_gather": "0", "enable_hashagg": "off", "enable_bitmapscan": "off"}


def _settings(cursor, values: dict[str, str]) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Set these settings for the transaction; their values before."""
    names = list(values)
    cursor.execute("SELECT " + ", ".join(f"current_setting('{n}'), set_config('{n}', %s, true)" for n in names),
                   [values[n] for n in names])
    row = cursor.fetchone()
    return {n: row[2 * i] for i, n in enumerate(names)}


def _copy_rows(conn, join: str, params: dict[str, str]) -> DailyRows:  # type: ignore[no-untyped-def]
    """The rows by binary COPY, one COPY row per device with its rows as four arrays: a hundredth of the messages
    of one COPY row per row, parsed by numpy (`_Arrays`). The plan is the plain one, the key's index scanned in
    order and each device's rows aggregated as they come (`_PLAIN_PLAN`): parallel workers' sort and merge of the
    groups took twice its time on 2 cores, and for a chunk's devices (`= ANY`) the planner's choice, a bitmap
    scan hashed by device and spilled to disk, took twice its time too (see README, Deployment)."""
    sql = ("COPY (SELECT v.device_id, array_agg(v.period = 'month'), array_agg(v.period_start), array_agg(v.count), "
           f"array_agg(COALESCE((v.fine_yuan * 100)::int8, '{_NO_FINE}'::int8)) FROM violation_stat v{join} "
           "GROUP BY v.device_id) TO STDOUT (FORMAT binary)")
    cursor = conn.connection.dbapi_connection.cursor()
    arrays = _Arrays()
    pending = bytearray()
    header = True
    try:
        before = _settings(cursor, _PLAIN_PLAN)
        with cursor.copy(sql, params or None) as copy:
            for block in copy:
                pending += block
                if header and len(pending) >= _COPY_HEADER:
                    if bytes(pending[:len(_SIGNATURE)]) != _SIGNATURE:
                        raise RuntimeError("PostgreSQL COPY: not a binary COPY stream")
                    extension = struct.unpack(">i", bytes(pending[15:19]))[0]
                    del pending[:_COPY_HEADER + extension]
                    header = False
                if len(pending) >= _ROW_BYTES * BATCH:
                    arrays.take(pending)
        _settings(cursor, before)
    finally:
        cursor.close()
    arrays.take(pending)
    if bytes(pending) != b"\xff\xff":  # the trailer (-1) is all that is left after the last device
        raise RuntimeError(f"PostgreSQL COPY: {len(pending)} bytes left after the last whole device")
    return arrays.batches.rows()


class _Arrays:
    """Parses the COPY rows of `_copy_rows`: field count 5, (4, device_id), then four one-dimensional arrays without
    NULL, each (length, ndim 1, has-null 0, element type, n, lower bound 1, then n times (width, value)), all of the
    same n ≥ 1. Any other layout raises."""

    def __init__(self) -> None:
        self.batches = _Batches()

    def take(self, pending: bytearray) -> None:
        """The whole devices at the start of `pending`, parsed into the batches and removed from it."""
        data = bytes(pending)
        starts, counts = _walk(data)
        if not len(starts):
            return
        end = int(starts[-1] + _ROW_FIXED + _ROW_BYTES * counts[-1])
        del pending[:end]
        raw = np.frombuffer(data, np.uint8)
        n_fields = _gather(raw, starts, 2).view(">i2").ravel()
        head = _gather(raw, starts + 2, 8).view(">i4")  # the device id's field: length, value
        if not ((n_fields == 5).all() and (head[:, 0] == 4).all()):
            raise RuntimeError("PostgreSQL COPY: a device's row is not (device_id, four arrays) (layout changed?)")
        first = np.repeat(np.cumsum(counts) - counts, counts)
        within = np.arange(len(first), dtype=np.int64) - first
        at = starts + 10  # the length word of the first array
        values = {}
        for name, oid, width, dtype in _ARRAYS:
            stride = 4 + width
            header = _gather(raw, at, 24).view(">i4")
            expected = np.column_stack([20 + counts * stride, np.ones_like(counts), np.zeros_like(counts),
                                        np.full_like(counts, oid), counts, np.ones_like(counts)])
            if not (header == expected).all():
                raise RuntimeError(f"PostgreSQL COPY: an array of {name} is not one-dimensional of type {oid} "
                                   "without NULL, of the device's number of rows (layout changed?)")
            elements = _gather(raw, np.repeat(at + 24, counts) + within * stride, stride).view(
                np.dtype([("width", ">i4"), ("value", dtype)])).ravel()
            if not (elements["width"] == width).all():
                raise RuntimeError(f"PostgreSQL COPY: a value of {name} is not {width} bytes (layout changed?)")
            values[name] = elements["value"]
            at = at + 24 + counts * stride
        fine = values["fine"]
        self.batches.add(device_id=np.repeat(head[:, 1], counts), day=values["day"].astype(np.int32) + _PG_EPOCH,
                         monthly=values["monthly"], count=values["count"],
                         fine=np.where(fine == _NO_FINE, np.nan, fine / 100))


def _walk(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(start, number of rows) of each whole device's COPY row in `data`; a Python step a device, reading its n."""
    starts, counts = [], []
    pos, size = 0, len(data)
    read = _COUNT.unpack_from
    while pos + _ROW_FIXED <= size:
        n = read(data, pos + 26)[0]  # the first array's length of dimension 1
        if n < 1:
            raise RuntimeError(f"PostgreSQL COPY: a device with {n} rows (layout changed?)")
        if pos + _ROW_FIXED + _ROW_BYTES * n > size:
            break
        starts.append(pos)
        counts.append(n)
        pos += _ROW_FIXED + _ROW_BYTES * n
    return np.array(starts, dtype=np.int64), np.array(counts, dtype=np.int64)


def _gather(raw: np.ndarray, at: np.ndarray, width: int) -> np.ndarray:
    """The `width` bytes at each offset `at` of `raw`, one row each (a copy)."""
    windows = np.lib.stride_tricks.as_strided(raw, shape=(max(len(raw) - width + 1, 0), width), strides=(1, 1))
    return windows[at]
