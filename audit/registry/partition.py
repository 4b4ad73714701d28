"""The daily counts (violation_stat) partitioned by month, on PostgreSQL: the operator's `camaudit db partition`.

The table becomes a declaratively partitioned one, RANGE of period_start, one partition a month
(violation_stat_2025_01: from the 1st to the 1st of the next month; a month's row, period 'month', falls in its
month too) and a DEFAULT partition (violation_stat_default) for rows of a month that has none. The primary key
(device_id, period, period_start) already holds the partition key, so it stays the key of every partition.

All in one transaction under the database's write lock and an exclusive lock of the table: rename the table,
create the partitioned one of the same columns and its partitions for the months present, copy the rows, build
the key (one sorted build per partition instead of a B-tree grown row by row), check that every row arrived, drop
the old table. An error anywhere rolls it all back: the table stays as it was.

Run again on a partitioned table, the command moves the rows the DEFAULT partition holds into partitions of their
months. An import does not need it: the months it brings that have no partition (`fresh_months`) it loads into
partitions of their own (`load_month`), so a new month lands in its own partition; only rows written otherwise
(by hand, or of a month the DEFAULT partition already held) stay in DEFAULT until the command is run again.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Iterable

from sqlalchemy import Connection, text

from .db import WRITE_LOCK

TABLE = "violation_stat"
DEFAULT = f"{TABLE}_default"
OLD = f"{TABLE}_unpartitioned"
KEY = "device_id, period, period_start"
COLUMNS = "device_id, period, period_start, count, fine_yuan, batch_id"


class PartitionError(RuntimeError):
    """Why the daily counts cannot be partitioned (a message for the operator)."""


@dataclass
class PartitionReport:
    converted: bool  # the table was a plain one and is now partitioned
    rows: int  # rows in violation_stat after the command
    months: list[dt.date] = field(default_factory=list)  # partitions created
    moved: int = 0  # rows moved out of the DEFAULT partition


def partition_name(month: dt.date) -> str:
    return f"{TABLE}_{month:%Y_%m}"


def next_month(month: dt.date) -> dt.date:
    return dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


def is_partitioned(conn: Connection) -> bool:
    """Whether violation_stat is a partitioned table (never on SQLite)."""
    if conn.dialect.name != "postgresql":
        return False
    return conn.execute(text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:t)"), {"t": TABLE}).scalar() == "p"


def partitions(conn: Connection) -> dict[str, str]:
    """The partitions of violation_stat: name → bound (FOR VALUES FROM … TO …, or DEFAULT)."""
    rows = conn.execute(text(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass(:t) ORDER BY c.relname"), {"t": TABLE})
    return {name: bound for name, bound in rows}


def partition_counts(conn: Connection) -> PartitionReport:
    """Partition violation_stat by month, or split out of DEFAULT the months it holds (in the caller's
    transaction: the caller commits, or rolls back on any error)."""
    if conn.dialect.name != "postgresql":
        raise PartitionError("按月分区只适用于 PostgreSQL 数据库；当前数据库是 SQLite，无需也不能分区。"
                             "如需分区，请先将数据迁移到 PostgreSQL（设置 CAMAUDIT_DATABASE_URL）。")
    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK})
    if conn.execute(text("SELECT to_regclass(:t)"), {"t": TABLE}).scalar() is None:
        raise PartitionError(f"数据库中没有 {TABLE} 表：请先运行 camaudit init-db。")
    conn.execute(text(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE"))
    if is_partitioned(conn):
        return _split_default(conn)
    return _convert(conn)


def _months(conn: Connection, table: str) -> list[dt.date]:
    return list(conn.execute(text(f"SELECT DISTINCT date_trunc('month', period_start)::date AS m FROM {table} "
                                  "ORDER BY m")).scalars())


def _create_partition(conn: Connection, month: dt.date) -> None:
    conn.execute(text(f"CREATE TABLE {partition_name(month)} PARTITION OF {TABLE} "
                      f"FOR VALUES FROM ('{month.isoformat()}') TO ('{next_month(month).isoformat()}')"))


def _convert(conn: Connection) -> PartitionReport:
    if conn.execute(text("SELECT to_regclass(:t)"), {"t": OLD}).scalar() is not None:
        raise PartitionError(f"数据库中已有 {OLD} 表（上次分区未完成时留下的？）：请核对并删除后再运行。")
    before = int(conn.execute(text(f"SELECT count(*) FROM {TABLE}")).scalar() or 0)
    indexes = _other_indexes(conn)
    key = conn.execute(text("SELECT conname FROM pg_constraint WHERE conrelid = to_regclass(:t) AND contype = 'p'"),
                       {"t": TABLE}).scalar()
    conn.execute(text(f"ALTER TABLE {TABLE} RENAME TO {OLD}"))
    if key:
        conn.execute(text(f'ALTER TABLE {OLD} RENAME CONSTRAINT "{key}" TO {OLD}_pkey'))
    conn.execute(text(f"CREATE TABLE {TABLE} (LIKE {OLD} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) "
                      "PARTITION BY RANGE (period_start)"))
    months = _months(conn, OLD)
    for month in months:
        _create_partition(conn, month)
    conn.execute(text(f"CREATE TABLE {DEFAULT} PARTITION OF {TABLE} DEFAULT"))
    conn.execute(text(f"INSERT INTO {TABLE} ({COLUMNS}) SELECT {COLUMNS} FROM {OLD}"))
    conn.execute(text(f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY ({KEY})"))
    for name, definition in indexes:
        conn.execute(text(f'DROP INDEX "{name}"'))
        conn.execute(text(definition))
    after = int(conn.execute(text(f"SELECT count(*) FROM {TABLE}")).scalar() or 0)
    if after != before:
        raise PartitionError(f"分区后的记录数 {after} 与原表的 {before} 不一致，已全部撤销。")
    conn.execute(text(f"DROP TABLE {OLD}"))
    conn.execute(text(f"ANALYZE {TABLE}"))
    return PartitionReport(converted=True, rows=after, months=months)


def _other_indexes(conn: Connection) -> list[tuple[str, str]]:
    """The table's indexes besides its key (none in this release; an operator's own), to build on the
    partitioned table under the same names (their definitions name the table, which is the new one by then)."""
    rows = conn.execute(text(
        "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "WHERE x.indrelid = to_regclass(:t) AND NOT x.indisprimary ORDER BY i.relname"), {"t": TABLE}).all()
    return [(name, definition) for name, definition in rows]


def _split_default(conn: Connection) -> PartitionReport:
    months = _months(conn, DEFAULT)
    if months:
        held = f"{DEFAULT}_split"
        conn.execute(text(f"ALTER TABLE {TABLE} DETACH PARTITION {DEFAULT}"))
        conn.execute(text(f"ALTER TABLE {DEFAULT} RENAME TO {held}"))
        conn.execute(text(f"ALTER INDEX IF EXISTS {DEFAULT}_pkey RENAME TO {held}_pkey"))
        conn.execute(text(f"CREATE TABLE {DEFAULT} PARTITION OF {TABLE} DEFAULT"))
        for month in months:
            _create_partition(conn, month)
        moved = conn.execute(text(f"INSERT INTO {TABLE} ({COLUMNS}) SELECT {COLUMNS} FROM {held}")).rowcount
        conn.execute(text(f"DROP TABLE {held}"))
        conn.execute(text(f"ANALYZE {TABLE}"))
    else:
        moved = 0
    rows = int(conn.execute(text(f"SELECT count(*) FROM {TABLE}")).scalar() or 0)
    return PartitionReport(converted=False, rows=rows, months=months, moved=int(moved))


def fresh_months(conn: Connection, months: Iterable[dt.date]) -> list[dt.date]:
    """The months (first days) of an import's rows that it loads into partitions of their own (`load_month`):
    those with no partition, whose rows the DEFAULT partition does not hold either (PostgreSQL would refuse the
    partition; such a month's rows go to DEFAULT until `camaudit db partition` splits it out). None where
    violation_stat is not partitioned. No row of a fresh month is stored, so every staged row of it is new."""
    if not is_partitioned(conn):
        return []
    existing = set(partitions(conn))
    return [m for m in sorted(months) if partition_name(m) not in existing
            and not conn.execute(text(f"SELECT EXISTS (SELECT 1 FROM {DEFAULT} WHERE period_start >= :lo "
                                      "AND period_start < :hi)"), {"lo": m, "hi": next_month(m)}).scalar()]


def month_range(month: dt.date, column: str = "period_start") -> str:
    """SQL: `column` within the month (literal dates: the bounds of a partition)."""
    return f"({column} >= DATE '{month.isoformat()}' AND {column} < DATE '{next_month(month).isoformat()}')"


def load_month(conn: Connection, month: dt.date, fill: str, params: dict) -> int:
    """A fresh month's partition, loaded before it is attached (the rows inserted; `fill` is an INSERT whose
    `{table}` is the new table): a plain table of violation_stat's columns filled without a key, its key built
    once over the sorted rows (about a quarter less CPU than inserting them into a keyed partition), a CHECK of
    the month's bounds so that ATTACH need not scan the rows, the partition attached and the CHECK dropped: the
    partition is then as `CREATE TABLE … PARTITION OF` makes it. In the caller's transaction: rolled back, no
    table is left. ATTACH locks violation_stat less than creating a partition of it does (readers go on)."""
    name, lo, hi = partition_name(month), month.isoformat(), next_month(month).isoformat()
    conn.execute(text(f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"))
    rows = conn.execute(text(fill.format(table=name)), params).rowcount
    conn.execute(text(f"ALTER TABLE {name} ADD CONSTRAINT {name}_pkey PRIMARY KEY ({KEY})"))
    conn.execute(text(f"ALTER TABLE {name} ADD CONSTRAINT {name}_bounds CHECK {month_range(month)}"))
    conn.execute(text(f"ALTER TABLE {TABLE} ATTACH PARTITION {name} FOR VALUES FROM ('{lo}') TO ('{hi}')"))
    conn.execute(text(f"ALTER TABLE {name} DROP CONSTRAINT {name}_bounds"))
    return int(rows)


__all__ = ["PartitionError", "PartitionReport", "partition_counts", "fresh_months", "load_month", "month_range",
           "is_partitioned", "partitions", "partition_name"]
