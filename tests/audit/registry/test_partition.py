"""The daily counts partitioned by month (`camaudit db partition`, PostgreSQL): a registry partitioned half-way
through its life ends exactly as one never partitioned (registry, history, batch reports, findings); a new
month's import gets its own partition; a one-month query reads one partition; an error half-way through
partitioning leaves the table as it was; SQLite is refused."""
from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from audit.casework.problems import audit_and_record
from audit.cli import main
from audit.registry import partition as P
from audit.registry.models import AuditRun
from audit.registry.store import import_file
from audit.rules.findings import findings_frame

from .test_bulk import HEADER, A, B, device_rows, dump, fresh, pg_engine, write  # noqa: F401 (pg_engine: fixture)

MONTHS = [dt.date(2025, 1, 1), dt.date(2025, 2, 1), dt.date(2025, 3, 1)]
APRIL, MAY = dt.date(2025, 4, 1), dt.date(2025, 5, 1)


def counts(month: dt.date, days: int, bump: int = 0) -> list[str]:
    """Daily counts of every device for the first days of a month, and a monthly total of the city's."""
    lines = ["设备编号,日期,违法数量,罚款金额"]
    lines += [f"JL-{i:04d},{month.replace(day=d)},{(i + d) % 9 + bump},{((i + d) % 9 + bump) * 200}"
              for i in range(40) for d in range(1, days + 1)]
    lines += [f"CG-{i:04d},{month:%Y-%m},{i * 3 + bump}," for i in range(10)]
    return lines


def load(session, folder, name, lines, kind="violations", **kw):
    result = import_file(session, write(folder / name, lines), kind, bulk="copy", user="clerk", **kw)
    assert result.applied, result.report.format_text(5)
    session.commit()
    return result.summary()


def life(engine, folder, partition_after_months: bool):
    """Three months of counts, (partitioned here or not), a new month, a re-upload of February, an audit."""
    from audit.registry.db import session_factory

    fresh(engine)
    folder.mkdir()
    summaries = []
    with session_factory(engine)() as session:
        load(session, folder, "a.csv", [HEADER] + device_rows("JL", 40, A), "devices", department=A)
        load(session, folder, "b.csv", [HEADER] + device_rows("CG", 10, B), "devices", department=B)
        for month in MONTHS:
            summaries.append(load(session, folder, f"{month:%m}.csv", counts(month, 20)))
        if partition_after_months:
            with engine.begin() as conn:
                report = P.partition_counts(conn)
            assert (report.converted, report.months, report.rows) == (True, MONTHS, 3 * (40 * 20 + 10))
        summaries.append(load(session, folder, "04.csv", counts(APRIL, 15)))
        summaries.append(load(session, folder, "02-again.csv", counts(MONTHS[1], 25, bump=1)))
        # March changed (history) and May new in one file: May's rows loaded into a partition of their own
        summaries.append(load(session, folder, "03-05.csv", counts(MONTHS[2], 20, bump=2) + counts(MAY, 10)[1:]))
        run, _, _ = audit_and_record(session, as_of=dt.date(2025, 5, 31), user="auditor")
        session.commit()
        findings = findings_frame(session, run.id).drop(columns=["message"]).to_dict("records")
        messages = findings_frame(session, run.id)["message"].tolist()
        return summaries, dump(session), findings, messages, session.scalar(select(AuditRun.finding_count))


def test_a_registry_partitioned_half_way_ends_as_one_never_partitioned(pg_engine, tmp_path):
    plain = life(pg_engine, tmp_path / "plain", partition_after_months=False)
    with pg_engine.connect() as conn:
        assert not P.is_partitioned(conn)
    split = life(pg_engine, tmp_path / "split", partition_after_months=True)
    assert split[0] == plain[0]  # the batch reports: new, changed, unchanged rows
    assert [(r["新增记录"], r["更新记录"]) for r in (s["counts"] for s in plain[0][3:])] == [
        (40 * 15 + 10, 0), (40 * 5, 40 * 20 + 10), (40 * 10 + 10, 40 * 20 + 10)]
    assert split[1] == plain[1]  # registry, history, batches, every daily count
    assert split[2:] == plain[2:] and plain[4] > 0  # the findings of the audit
    with pg_engine.connect() as conn:
        assert P.is_partitioned(conn)
        # April and May, months imported after partitioning, got their own partitions from the import; DEFAULT
        # is empty
        assert P.partitions(conn) == {
            **{P.partition_name(m): f"FOR VALUES FROM ('{m}') TO ('{P.next_month(m)}')"
               for m in MONTHS + [APRIL, MAY]}, "violation_stat_default": "DEFAULT"}
        assert conn.execute(text("SELECT count(*) FROM violation_stat_default")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM violation_stat_2025_05")).scalar() == 40 * 10 + 10
        assert conn.execute(text("SELECT count(*) FROM violation_stat_2025_02")).scalar() == 40 * 25 + 10
        # the key holds the partition key and still refuses a second row of a device's day
        with pytest.raises(Exception, match="duplicate key"), conn.begin_nested():
            conn.execute(text("INSERT INTO violation_stat (device_id, period, period_start, count) "
                              "SELECT device_id, period, period_start, count FROM violation_stat LIMIT 1"))


def shape(conn, table):
    """A partition's definition, its name left out: columns, constraints, indexes."""
    columns = conn.execute(text("SELECT column_name, data_type, is_nullable, column_default FROM "
                                "information_schema.columns WHERE table_name = :t ORDER BY ordinal_position"),
                           {"t": table}).all()
    constraints = conn.execute(text("SELECT replace(conname, :t, 'T'), contype, pg_get_constraintdef(oid) FROM "
                                    "pg_constraint WHERE conrelid = to_regclass(:t) ORDER BY 1"), {"t": table}).all()
    indexes = conn.execute(text("SELECT replace(indexname, :t, 'T'), replace(indexdef, :t, 'T') FROM pg_indexes "
                                "WHERE tablename = :t ORDER BY 1"), {"t": table}).all()
    attached = conn.execute(text("SELECT i.relname FROM pg_inherits h JOIN pg_class i ON i.oid = h.inhparent "
                                 "JOIN pg_class c ON c.oid = h.inhrelid WHERE c.relname = :t || '_pkey'"),
                            {"t": table}).scalars().all()
    return columns, constraints, indexes, attached


def test_a_month_loaded_by_an_import_is_a_partition_like_the_command_makes(pg_engine, tmp_path):
    life(pg_engine, tmp_path / "split", partition_after_months=True)
    with pg_engine.connect() as conn:
        made = shape(conn, "violation_stat_2025_01")  # by `camaudit db partition`
        assert made[1] == [("T_pkey", "p", "PRIMARY KEY (device_id, period, period_start)")]
        assert made[3] == ["violation_stat_pkey"]  # its key is a part of the table's key
        assert shape(conn, "violation_stat_2025_04") == made == shape(conn, "violation_stat_2025_05")


def test_an_import_that_fails_after_loading_a_new_month_leaves_no_partition(pg_engine, tmp_path, monkeypatch):
    from audit.registry import violations
    from audit.registry.db import session_factory

    life(pg_engine, tmp_path / "split", partition_after_months=True)
    with pg_engine.connect() as conn:
        before = state(conn), P.partitions(conn)
    real = violations.load_month
    loaded = []

    def second_fails(conn, month, fill, params):
        loaded.append(month)  # June is loaded and attached; July's rows then meet an error of the database
        return real(conn, month, fill if len(loaded) == 1 else fill + " AND s.no_such_column = 1", params)

    monkeypatch.setattr(violations, "load_month", second_fails)
    lines = counts(MONTHS[0], 20, bump=3) + counts(dt.date(2025, 6, 1), 5)[1:] + counts(dt.date(2025, 7, 1), 5)[1:]
    with session_factory(pg_engine)() as session:
        result = import_file(session, write(tmp_path / "06-07.csv", lines), "violations", bulk="copy", user="clerk")
        session.commit()
    assert not result.applied and result.report.errors[0].code == "DATABASE_ERROR"
    assert loaded == [dt.date(2025, 6, 1), dt.date(2025, 7, 1)]
    with pg_engine.connect() as conn:
        assert (state(conn), P.partitions(conn)) == before  # no June partition, January's rows as they were
    monkeypatch.setattr(violations, "load_month", real)
    with session_factory(pg_engine)() as session:
        load(session, tmp_path, "06-07-again.csv", lines)
    with pg_engine.connect() as conn:
        assert {"violation_stat_2025_06", "violation_stat_2025_07"} <= set(P.partitions(conn))
        assert conn.execute(text("SELECT count(*) FROM violation_stat_2025_06")).scalar() == 40 * 5 + 10


def test_a_one_month_query_reads_that_month_s_partition_only(pg_engine, tmp_path):
    life(pg_engine, tmp_path / "split", partition_after_months=True)
    with pg_engine.connect() as conn:
        plan = "\n".join(conn.execute(text(
            "EXPLAIN SELECT device_id, sum(count) FROM violation_stat WHERE period_start >= DATE '2025-02-01' "
            "AND period_start < DATE '2025-03-01' GROUP BY device_id")).scalars())
        assert "violation_stat_2025_02" in plan
        for other in ("violation_stat_2025_01", "violation_stat_2025_03", "violation_stat_2025_04",
                      "violation_stat_default"):
            assert other not in plan, plan
        # a parameter (as the pages send it) is pruned when the query runs
        device = conn.execute(text("SELECT min(device_id) FROM violation_stat")).scalar()
        plan = "\n".join(conn.execute(text(
            "EXPLAIN (ANALYZE, COSTS OFF) SELECT count FROM violation_stat WHERE device_id = :d "
            "AND period_start = :day"), {"d": device, "day": dt.date(2025, 3, 5)}).scalars())
        assert "violation_stat_2025_03" in plan and "violation_stat_2025_01" not in plan, plan


def test_rows_in_default_are_split_into_their_months_by_running_the_command_again(pg_engine, tmp_path):
    life(pg_engine, tmp_path / "split", partition_after_months=True)
    with pg_engine.begin() as conn:  # written by hand, past the import: a month with no partition
        conn.execute(text("INSERT INTO violation_stat (device_id, period, period_start, count) "
                          "SELECT device_id, period, period_start + 365, count FROM violation_stat_2025_01"))
        held = conn.execute(text("SELECT count(*) FROM violation_stat_default")).scalar()
        assert held == 40 * 20 + 10
        total = conn.execute(text("SELECT count(*) FROM violation_stat")).scalar()
    runner = CliRunner()
    out = runner.invoke(main, ["db", "partition"], env={"CAMAUDIT_DATABASE_URL": pg_engine.url.render_as_string(
        hide_password=False)})
    assert out.exit_code == 0, out.output
    assert f"已从默认分区移出 {held} 条记录" in out.output and "2026-01" in out.output
    with pg_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM violation_stat_default")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM violation_stat_2026_01")).scalar() == held
        assert conn.execute(text("SELECT count(*) FROM violation_stat")).scalar() == total
    again = runner.invoke(main, ["db", "partition"], env={"CAMAUDIT_DATABASE_URL": pg_engine.url.render_as_string(
        hide_password=False)})
    assert again.exit_code == 0 and "无需处理" in again.output


def state(conn):
    """What the table is: its kind, its rows, its indexes, and any table the command makes."""
    return (conn.execute(text("SELECT relkind FROM pg_class WHERE oid = 'violation_stat'::regclass")).scalar(),
            conn.execute(text("SELECT device_id, period, period_start, count, fine_yuan, batch_id FROM violation_stat "
                              "ORDER BY 1, 2, 3")).all(),
            conn.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'violation_stat' "
                              "ORDER BY 1")).all(),
            conn.execute(text("SELECT relname FROM pg_class WHERE relname LIKE 'violation_stat_%' AND relkind IN "
                              "('r', 'p') ORDER BY 1")).scalars().all())


def test_an_error_half_way_through_leaves_the_table_as_it_was(pg_engine, tmp_path):
    from audit.registry.db import session_factory

    fresh(pg_engine)
    with session_factory(pg_engine)() as session:
        load(session, tmp_path, "a.csv", [HEADER] + device_rows("JL", 40, A), "devices", department=A)
        load(session, tmp_path, "b.csv", [HEADER] + device_rows("CG", 10, B), "devices", department=B)
        for month in MONTHS:
            load(session, tmp_path, f"{month:%m}.csv", counts(month, 5))
    with pg_engine.begin() as conn:
        # an operator's own unique index, which a partitioned table cannot hold (it lacks the partition column):
        # found once the rows are copied and the key is built
        conn.execute(text("CREATE UNIQUE INDEX operator_key ON violation_stat (device_id, period, (period_start + 0))"))
    with pg_engine.connect() as conn:
        before = state(conn)
    assert before[0] == "r" and len(before[1]) == 3 * (40 * 5 + 10) and before[3] == []
    out = CliRunner().invoke(main, ["db", "partition"], env={
        "CAMAUDIT_DATABASE_URL": pg_engine.url.render_as_string(hide_password=False)})
    assert out.exit_code == 1 and "分区未完成，数据库已全部撤销、保持原样" in out.output, out.output
    with pg_engine.connect() as conn:
        assert state(conn) == before


def test_sqlite_is_refused_with_a_clear_message(tmp_path):
    out = CliRunner().invoke(main, ["db", "partition"], env={
        "CAMAUDIT_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"})
    assert out.exit_code == 1 and "按月分区只适用于 PostgreSQL 数据库" in out.output
