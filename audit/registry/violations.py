"""A violations upload applied set-based: each chunk of rows is checked against the registry (a registered device,
of the filing department when there is one) and staged in a temporary table by the bulk loader (COPY or
executemany); then one statement each records the history of the rows that change, updates them and inserts the
new ones, in the import's transaction. Memory is bounded by the chunk and the file's devices, never by its rows.

A file whose devices have no stored row in its range of dates (the first upload of a month) is inserted without
the probe of what exists: one seek per device and period of the file instead of one per row. Where violation_stat
is partitioned (PostgreSQL), the rows of a month that has no partition yet are loaded into a new partition before
its key is built and it is attached (partition.load_month), not inserted into a keyed one.
"""
from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np
import pandas as pd
from sqlalchemy import Date, DateTime, bindparam, text

from .bulk import Col, Loader
from .lookup import KnownDevices
from .models import utcnow
from .partition import fresh_months, load_month, month_range

STAGE = "camaudit_stage_violation"
MATCH = "camaudit_stage_violation_match"
DEVICES = "camaudit_stage_violation_device"
COLUMNS = [Col("seq", "bigint"), Col("device_id", "int"), Col("monthly", "int"), Col("period_start", "date"),
           Col("count", "bigint"), Col("fine", "float")]


class ViolationsImport:
    """Stage the file's checked chunks (`add`), then `apply` once no row was refused."""

    def __init__(self, loader: Loader, checks: KnownDevices):
        self.loader, self.checks = loader, checks
        self.device_ids: set[int] = set()
        self.rows = 0
        self.first_day: np.datetime64 | None = None
        self.last_day: np.datetime64 | None = None
        self.months: set[dt.date] = set()  # the first days of the rows' months
        loader.stage(STAGE, COLUMNS)

    def add(self, frame: pd.DataFrame) -> None:
        ids = self.checks.check(frame)
        if self.checks.refused:
            return  # nothing will be written: the rest of the file is only checked
        n = len(frame)
        fines = frame["fine_yuan"].to_numpy(dtype=np.float64) if "fine_yuan" in frame.columns else np.full(n, np.nan)
        days = frame["period_start"].to_numpy(dtype="datetime64[D]")
        self.loader.append(STAGE, COLUMNS, {
            "seq": np.arange(self.rows, self.rows + n, dtype=np.int64), "device_id": ids,
            "monthly": (frame["period"] == "month").to_numpy(dtype=np.int64), "period_start": days,
            "count": frame["count"].to_numpy(dtype=np.int64), "fine": np.round(fines, 2)})
        self.device_ids.update(np.unique(ids).tolist())
        self.rows += n
        if n:
            first, last = days.min(), days.max()
            self.first_day = first if self.first_day is None else min(self.first_day, first)
            self.last_day = last if self.last_day is None else max(self.last_day, last)
            self.months.update(np.unique(days.astype("datetime64[M]")).astype("datetime64[D]").astype(object).tolist())

    def _stored(self, conn: Any) -> bool:
        """Whether any device of the file has a stored row (day or month) within the file's range of dates."""
        if not self.rows:
            return False
        with self.loader.staged(DEVICES, [Col("id", "int")], {"id": sorted(self.device_ids)}):
            found = conn.execute(text(
                f"SELECT 1 FROM {DEVICES} d WHERE EXISTS (SELECT 1 FROM violation_stat v WHERE v.device_id = d.id "
                "AND v.period IN ('day', 'month') AND v.period_start >= :lo AND v.period_start <= :hi) LIMIT 1"
            ).bindparams(bindparam("lo", type_=Date()), bindparam("hi", type_=Date())),
                {"lo": self.first_day.astype(object), "hi": self.last_day.astype(object)}).first() is not None
        return found

    def apply(self, batch_id: int, user: str) -> dict[str, int]:
        """History, updates and inserts from the staged rows; the counts for the batch's report.

        The rows already stored are found once (MATCH: one probe of the key per staged row), unless no device of
        the file has a row in its range of dates (`_stored`); the history and the updates read only those, the
        insert takes the others."""
        conn, sqlite = self.loader.conn, self.loader.sqlite
        self.loader.analyze(STAGE)
        period = "CASE s.monthly WHEN 1 THEN 'month' ELSE 'day' END"
        if sqlite:
            fine, day, as_text = "round(s.fine, 2)", "s.period_start", "CAST({} AS TEXT)"
            money = "CASE WHEN {0} IS NULL THEN '-' ELSE printf('%.2f', {0}) END"
            differs = "m.count <> s.count OR round(m.fine_yuan, 2) IS NOT round(s.fine, 2)"
        else:
            fine, day, as_text = "round(s.fine::numeric, 2)", "to_char(s.period_start, 'YYYY-MM-DD')", "{}::text"
            money = "COALESCE({0}::text, '-')"
            differs = "m.count <> s.count OR m.fine_yuan IS DISTINCT FROM round(s.fine::numeric, 2)"
        same_key = f"v.device_id = s.device_id AND v.period = {period} AND v.period_start = s.period_start"
        params: dict[str, Any] = {"batch": batch_id, "user": user, "at": utcnow()}
        fresh = fresh_months(conn, self.months)  # partitioned (PostgreSQL): months loaded into partitions of their own
        self.loader.drop(MATCH)
        with _probing(conn, sqlite):
            stored = self._stored(conn)
            if stored:
                conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {MATCH} AS SELECT s.seq, v.count, v.fine_yuan "
                                     f"FROM {STAGE} s JOIN violation_stat v ON {same_key}")
        matched = conn.exec_driver_sql(f"SELECT count(*) FROM {MATCH}").scalar() if stored else 0
        changed = 0
        if matched:
            self.loader.index(MATCH, "seq")
            self.loader.analyze(MATCH)
            rows = f"{STAGE} s JOIN {MATCH} m ON m.seq = s.seq"
            logged = conn.execute(text(
                'INSERT INTO change_log (at, "user", batch_id, entity, entity_id, device_code, action, field, before, '
                f"after) SELECT :at, :user, :batch, 'violation_stat', s.device_id, d.device_code, 'update', "
                f"{day} || ' 违法数量/罚款金额', "
                f"{as_text.format('m.count')} || ' / ' || {money.format('m.fine_yuan')}, "
                f"{as_text.format('s.count')} || ' / ' || {money.format(fine)} "
                f"FROM {rows} JOIN device d ON d.id = s.device_id WHERE {differs} ORDER BY s.seq"
            ).bindparams(bindparam("at", type_=DateTime())), params).rowcount
            # one history row per changed row: nothing to update when none was written
            changed = 0 if not logged else conn.execute(text(
                f"UPDATE violation_stat AS v SET count = c.count, fine_yuan = c.fine, batch_id = :batch FROM "
                f"(SELECT s.device_id, {period} AS period, s.period_start, s.count, {fine} AS fine FROM {rows} "
                f"WHERE {differs}) AS c WHERE v.device_id = c.device_id AND v.period = c.period "
                "AND v.period_start = c.period_start"), params).rowcount
        insert = ("INSERT INTO {table} (device_id, period, period_start, count, fine_yuan, batch_id) "
                  f"SELECT s.device_id, {period}, s.period_start, s.count, {fine}, :batch FROM {STAGE} s WHERE ")
        others = [f"NOT EXISTS (SELECT 1 FROM {MATCH} m WHERE m.seq = s.seq)"] if matched else []
        others += [f"NOT {month_range(m, 's.period_start')}" for m in fresh]
        new = 0 if set(fresh) == self.months else conn.execute(text(insert.format(table="violation_stat")
                                                  + (" AND ".join(others) or "1 = 1")), params).rowcount
        for month in fresh:  # none of their rows is stored (fresh_months): all of them new
            new += load_month(conn, month, insert + month_range(month, "s.period_start"), params)
        self.loader.drop(MATCH)
        self.loader.drop(STAGE)
        return {"新增记录": int(new), "更新记录": int(changed), "未变记录": int(self.rows - new - changed),
                "涉及设备": len(self.device_ids)}


@contextmanager
def _probing(conn: Any, sqlite: bool) -> Iterator[None]:
    """On PostgreSQL, the staged rows looked up in the primary key one by one (a nested loop): the planner would
    rather hash the whole table, which costs as much as the table grows (7 s at 36 million rows against 3.5 s for
    3 million probes, and growing with every month)."""
    if sqlite:
        yield
        return
    before = {name: conn.exec_driver_sql(f"SELECT current_setting('{name}')").scalar()
              for name in ("enable_hashjoin", "enable_mergejoin")}
    for name in before:
        conn.exec_driver_sql(f"SELECT set_config('{name}', 'off', true)")
    yield  # on an error the settings go with the rolled back transaction
    for name, value in before.items():
        conn.exec_driver_sql(f"SELECT set_config('{name}', '{value}', true)")
