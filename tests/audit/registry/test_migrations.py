"""Upgrading: a database made by an earlier release keeps its data and gains the new columns (audit/migrations)."""
from __future__ import annotations

import datetime as dt

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Column, DateTime, ForeignKey, Integer, MetaData, String, Table, Text, inspect, select, text

from audit.registry.db import MIGRATIONS, init_db, session_factory
from audit.registry.models import AuditRun, Base, Decision, Department, Finding, Problem, ProblemReview

HEAD = ScriptDirectory(str(MIGRATIONS)).get_current_head()


def _one_device(conn, name: str | None = None) -> None:
    """The rows the upgrade tests keep: one department and its red-light camera JL-1 (named, when given)."""
    conn.execute(text("INSERT INTO department (id, name, created_at) VALUES (1, '将乐县公安局交通管理大队', '2025-01-01')"))
    conn.execute(text("INSERT INTO device (id, device_code, department_id, device_type, name) "
                      "VALUES (1, 'JL-1', 1, '闯红灯', :name)"), {"name": name})


def version(engine) -> str | None:
    with engine.connect() as conn:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def test_a_new_database_is_stamped_with_the_latest_migration(db_engine):
    assert version(db_engine) == HEAD
    assert "layers" in {c["name"] for c in inspect(db_engine).get_columns("audit_run")}
    init_db(db_engine)  # again: nothing to do
    assert version(db_engine) == HEAD


def test_a_database_from_before_migrations_is_upgraded_and_keeps_its_rows(db_engine):
    # What the releases before migrations left: every table but no audit_run.layers and no alembic_version.
    with db_engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
        conn.execute(text("ALTER TABLE audit_run DROP COLUMN layers"))
        conn.execute(text("INSERT INTO department (name, created_at) VALUES ('将乐县公安局交通管理大队', '2025-01-01')"))
        conn.execute(text("INSERT INTO audit_run (created_at, as_of, profile, ruleset_version, batch_ids, "
                          "device_count, finding_count, \"user\") VALUES ('2025-07-01', '2025-06-30', 'national', "
                          "'1', '[]', 3, 2, 'auditor')"))
    init_db(db_engine)
    assert version(db_engine) == HEAD
    with session_factory(db_engine)() as session:
        run = session.scalar(select(AuditRun))
        assert (run.as_of, run.device_count, run.user, run.layers) == (dt.date(2025, 6, 30), 3, "auditor", None)
        assert session.scalar(select(Department.name)) == "将乐县公安局交通管理大队"
        run.layers = {"roads": {"features": 17}}
        session.commit()
        assert session.scalar(select(AuditRun.layers)) == {"roads": {"features": 17}}


# The tables and columns migration 0003 adds, and the finding_review table it replaces.
ADDED_0003 = {"department": {"key"}, "device": {"unsupplied"}, "decision": {"problem_ids"}, "finding": {"problem_id"}}


def schema_0002() -> MetaData:
    """The schema as release 0002 left it: today's tables less what 0003 added, plus finding_review."""
    metadata = MetaData()
    for name, table in Base.metadata.tables.items():
        if name in ("problem", "problem_review"):
            continue
        columns = [c._copy() for c in table.columns if c.name not in ADDED_0003.get(name, ())]
        Table(name, metadata, *columns)
    Table("finding_review", metadata, Column("id", Integer, primary_key=True),
          Column("finding_id", Integer, ForeignKey("finding.id")), Column("status", String(10)),
          Column("reason", Text), Column("user", String(100)), Column("at", DateTime))
    return metadata


def test_0003_groups_findings_into_problems_and_moves_reviews_decisions_and_items(db_engine):
    with db_engine.begin() as conn:
        conn.execute(text("DROP VIEW IF EXISTS device_geom"))
    Base.metadata.drop_all(db_engine)
    with db_engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    old = schema_0002()
    old.create_all(db_engine)
    now = dt.datetime(2024, 7, 1)
    with db_engine.begin() as conn:
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
        conn.execute(text("INSERT INTO alembic_version VALUES ('0002')"))
        t = old.tables
        conn.execute(t["department"].insert(), [{"id": 1, "name": "将乐县公安局交通管理大队", "created_at": now},
                                                {"id": 2, "name": "将乐县　公安局交通管理大队", "created_at": now}])
        conn.execute(t["device"].insert(), [{"id": 1, "device_code": "JL-001", "department_id": 1,
                                             "device_type": "闯红灯", "status": "在用"},
                                            {"id": 2, "device_code": "JL-002", "department_id": 1,
                                             "device_type": "闯红灯", "status": "在用"}])
        run = {"as_of": dt.date(2024, 6, 30), "profile": "national", "ruleset_version": "2025.2", "batch_ids": [],
               "device_count": 2, "finding_count": 2, "user": "auditor", "created_at": now}
        conn.execute(t["audit_run"].insert(), [run | {"id": 1}, run | {"id": 2, "as_of": dt.date(2024, 7, 31)}])
        finding = {"department": "将乐县公安局交通管理大队", "severity": "较重", "action": "整改", "basis": "x",
                   "message": "无标识", "rule": "SGN01"}
        conn.execute(t["finding"].insert(), [
            finding | {"id": 1, "run_id": 1, "device_id": 1, "device_code": "JL-001", "evidence": {"signage": False}},
            finding | {"id": 2, "run_id": 1, "device_id": 2, "device_code": "JL-002", "evidence": {"signage": False}},
            finding | {"id": 3, "run_id": 2, "device_id": 1, "device_code": "JL-001", "evidence": {"signage": False}},
            finding | {"id": 4, "run_id": 2, "device_id": 2, "device_code": "JL-002", "rule": "REV01",
                       "evidence": {"cannot_assess": True}}])
        conn.execute(t["finding_review"].insert(), [
            {"id": 1, "finding_id": 1, "status": "confirmed", "reason": None, "user": "auditor", "at": now},
            {"id": 2, "finding_id": 1, "status": "dismissed", "reason": "已设标识", "user": "auditor", "at": now}])
        conn.execute(t["decision"].insert(), {"id": 1, "device_id": 2, "kind": "rectify", "decided_on": now.date(),
                                              "reason": "无标识", "decided_by": "auditor", "finding_ids": [2],
                                              "created_at": now})
        conn.execute(t["ledger_item"].insert(), {
            "id": 1, "device_id": 2, "decision_id": 1, "department": "将乐县公安局交通管理大队", "problem": "无标识",
            "category": "设置地点无明显可见标识", "rules": ["SGN01"], "measure": "设置标识", "requirement": "设置",
            "deadline": dt.date(2024, 8, 31), "responsible": "李四", "status": "待整改", "created_at": now})
    init_db(db_engine)
    assert version(db_engine) == HEAD
    assert "finding_review" not in inspect(db_engine).get_table_names()
    with session_factory(db_engine)() as session:
        problems = {p.device_code: p for p in session.scalars(select(Problem))}
        assert set(problems) == {"JL-001", "JL-002"}  # one problem per device and rule; cannot-assess none
        kept, fixed = problems["JL-001"], problems["JL-002"]
        assert (kept.first_run_id, kept.last_run_id, kept.last_check, kept.resolved_run_id) == (1, 2, "observed", None)
        assert (kept.verdict, kept.stale) == ("dismissed", False)
        assert [(r.status, r.reason, r.finding_id, r.material) for r in session.scalars(
            select(ProblemReview).order_by(ProblemReview.id))] == [("confirmed", None, 1, None),
                                                                    ("dismissed", "已设标识", 1, None)]
        assert (fixed.last_run_id, fixed.resolved_run_id, fixed.resolved_reason) == (1, 2, "复查未再发现")
        assert fixed.decision_id == 1 and fixed.open_item_id == 1
        assert session.get(Decision, 1).problem_ids == [fixed.id]
        assert [f.problem_id for f in session.scalars(select(Finding).order_by(Finding.id))] == \
            [kept.id, fixed.id, kept.id, None]
        keys = dict(session.execute(select(Department.id, Department.key)).all())
        assert keys == {1: "将乐县公安局交通管理大队", 2: None}  # the later spelling of the same name keeps no key

def test_a_database_at_0002_gains_sessions_throttling_user_names_and_the_append_only_triggers(db_engine):
    from sqlalchemy.exc import DatabaseError

    with db_engine.begin() as conn:
        conn.execute(text("DROP TABLE login_session"))
        conn.execute(text("DROP TABLE login_throttle"))
        for column in ("full_name", "title", "disabled_at"):
            conn.execute(text(f"ALTER TABLE app_user DROP COLUMN {column}"))
        for trigger in ("change_log_no_update", "change_log_no_delete", "change_log_append_only"):
            conn.execute(text(f"DROP TRIGGER IF EXISTS {trigger}" + (" ON change_log" if conn.dialect.name ==
                                                                    "postgresql" else "")))
        conn.execute(text("UPDATE alembic_version SET version_num = '0002'"))
        conn.execute(text("INSERT INTO app_user (name, role, password_hash, created_at, failed_logins) "
                          "VALUES ('auditor', 'auditor', 'x', '2025-01-01', 0)"))
        conn.execute(text("INSERT INTO change_log (at, \"user\", entity, action) VALUES ('2025-01-01', 'a', 'x', 'y')"))
    init_db(db_engine)
    assert version(db_engine) == HEAD
    tables = inspect(db_engine)
    assert {"login_session", "login_throttle"} <= set(tables.get_table_names())
    assert {"full_name", "title", "disabled_at"} <= {c["name"] for c in tables.get_columns("app_user")}
    with db_engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM app_user")).scalar() == "auditor"
    with pytest.raises(DatabaseError, match="append-only"):
        with db_engine.begin() as conn:
            conn.execute(text("UPDATE change_log SET \"user\" = 'b'"))

def test_0006_adds_the_dossier_tables_and_the_technical_review_number_to_a_database_at_0003(db_engine):
    with db_engine.begin() as conn:
        conn.execute(text("DROP VIEW IF EXISTS device_geom"))
    Base.metadata.drop_all(db_engine)
    old = MetaData()
    for name, table in Base.metadata.tables.items():
        if name in ("attachment", "problem_response"):
            continue
        Table(name, old, *[c._copy() for c in table.columns if (name, c.name) != ("device", "tech_review_no")])
    old.create_all(db_engine)
    with db_engine.begin() as conn:
        conn.execute(text("DELETE FROM alembic_version"))
        conn.execute(text("INSERT INTO alembic_version VALUES ('0003')"))
        conn.execute(old.tables["department"].insert(), {"id": 1, "name": "将乐县交通运输局",
                                                         "created_at": dt.datetime(2024, 7, 1)})
        conn.execute(old.tables["device"].insert(), {"id": 1, "device_code": "JT-001", "department_id": 1,
                                                     "device_type": "超限超载", "status": "在用",
                                                     "legal_review_no": "将交法审〔2023〕3号"})
    init_db(db_engine)
    assert version(db_engine) == HEAD
    tables = inspect(db_engine)
    assert {"attachment", "problem_response"} <= set(tables.get_table_names())
    assert "tech_review_no" in {c["name"] for c in tables.get_columns("device")}
    with session_factory(db_engine)() as session:
        from audit.registry.models import Attachment, Device

        device = session.get(Device, 1)
        assert (device.legal_review_no, device.tech_review_no) == ("将交法审〔2023〕3号", None)
        device.tech_review_no = "将交技审〔2023〕4号"
        session.add(Attachment(device_id=1, sha256="0" * 64, kind="pdf", mime="application/pdf", size=10,
                               filename="技术审核意见.pdf", purpose="审核文书", user="clerk"))
        session.commit()
        assert session.scalar(select(Attachment.filename)) == "技术审核意见.pdf"

ADDED_0007 = ("supervision_plan", "plan_phase", "plan_task", "filing", "report_draft", "issued_document",
              "issued_document_problem", "site_assessment")


def test_0007_adds_the_plan_the_register_and_the_site_review_to_a_database_of_0003(db_engine):
    with db_engine.begin() as conn:
        conn.execute(text("DROP VIEW IF EXISTS device_geom"))
    Base.metadata.drop_all(db_engine)
    with db_engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    old = MetaData()
    for name, table in Base.metadata.tables.items():
        if name not in ADDED_0007:
            Table(name, old, *[c._copy() for c in table.columns])
    old.create_all(db_engine)
    with db_engine.begin() as conn:
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
        conn.execute(text("INSERT INTO alembic_version VALUES ('0003')"))
        conn.execute(old.tables["department"].insert(), {"id": 1, "name": "将乐县交通运输局", "key": "将乐县交通运输局",
                                                         "created_at": dt.datetime(2024, 7, 1)})
        conn.execute(old.tables["device"].insert(), {"id": 1, "device_code": "JT-001", "department_id": 1,
                                                     "device_type": "超限超载", "status": "在用"})
    assert not set(ADDED_0007) & set(inspect(db_engine).get_table_names())
    init_db(db_engine)
    assert version(db_engine) == HEAD
    assert set(ADDED_0007) <= set(inspect(db_engine).get_table_names())
    from audit.registry.models import Filing, PlanTask, SiteAssessment, SupervisionPlan

    with session_factory(db_engine)() as session:
        assert session.scalar(select(Department.name)) == "将乐县交通运输局"
        plan = SupervisionPlan(title="罚款实施专项监督工作方案", issuer="将乐县司法局", created_by="admin")
        session.add(plan)
        session.flush()
        task = PlanTask(plan_id=plan.id, title="报送自查报告", deliverable="自查报告", deadline=dt.date(2024, 7, 25))
        session.add(task)
        session.flush()
        session.add(Filing(task_id=task.id, department_id=1, filed_on=dt.date(2024, 7, 20), filed_by="clerk",
                           method="upload", filename="自查报告.docx", content=b"PK\x03\x04", sha256="0" * 64, size=4))
        session.add(SiteAssessment(device_id=1, assessed_on=dt.date(2024, 12, 1), outcome="keep", reason="事故多发",
                                   assessed_by="auditor"))
        session.commit()
        assert session.scalar(select(Filing.content)) == b"PK\x03\x04"
    init_db(db_engine)  # again: nothing to do
    assert version(db_engine) == HEAD


def test_0008_keeps_the_daily_counts_without_their_foreign_keys(db_engine):
    """A database at 0004 whose violation_stat has its foreign keys (as every release before made it)."""
    with db_engine.begin() as conn:
        conn.execute(text("DROP TABLE violation_stat"))
        conn.execute(text(
            "CREATE TABLE violation_stat (device_id INTEGER NOT NULL REFERENCES device (id), period VARCHAR(5) NOT NULL, "
            "period_start DATE NOT NULL, count INTEGER NOT NULL, fine_yuan NUMERIC(14, 2), "
            "batch_id INTEGER REFERENCES import_batch (id), PRIMARY KEY (device_id, period, period_start))"
            + (" WITHOUT ROWID" if conn.dialect.name == "sqlite" else "")))
        conn.execute(text("UPDATE alembic_version SET version_num = '0004_hardening'"))
        _one_device(conn)
        conn.execute(text("INSERT INTO violation_stat VALUES (1, 'day', '2025-01-01', 5, 1000.50, NULL), "
                          "(1, 'month', '2025-02-01', 31, NULL, NULL)"))
    assert inspect(db_engine).get_foreign_keys("violation_stat")
    init_db(db_engine)
    assert version(db_engine) == HEAD
    assert inspect(db_engine).get_foreign_keys("violation_stat") == []
    assert {c["name"] for c in inspect(db_engine).get_columns("violation_stat")} == {
        "device_id", "period", "period_start", "count", "fine_yuan", "batch_id"}
    with db_engine.connect() as conn:
        rows = conn.execute(text("SELECT device_id, period, period_start, count, fine_yuan FROM violation_stat "
                                 "ORDER BY period")).all()
        assert [(r[0], r[1], str(r[2]), r[3], float(r[4]) if r[4] is not None else None) for r in rows] == [
            (1, "day", "2025-01-01", 5, 1000.5), (1, "month", "2025-02-01", 31, None)]
        if conn.dialect.name == "sqlite":
            assert "WITHOUT ROWID" in conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'violation_stat'")
                                                   ).scalar()
    init_db(db_engine)  # again: nothing to do



LIST_INDEXES = {"device": {"ix_device_type_code", "ix_device_name_code", "ix_device_road_code"}, "problem": {"ix_problem_verdict"},
                "finding": {"ix_finding_run_severity", "ix_finding_run_rule", "ix_finding_device_run"}}


def test_0009_gives_a_database_at_0008_the_device_list_s_indexes(db_engine):
    with db_engine.begin() as conn:
        for table, names in LIST_INDEXES.items():
            for name in names:
                conn.execute(text(f"DROP INDEX {name}"))
        conn.execute(text("UPDATE alembic_version SET version_num = '0008_scale'"))
        _one_device(conn)
    assert not LIST_INDEXES["device"] & {i["name"] for i in inspect(db_engine).get_indexes("device")}
    init_db(db_engine)
    assert version(db_engine) == HEAD
    for table, names in LIST_INDEXES.items():
        assert names <= {i["name"] for i in inspect(db_engine).get_indexes(table)}, table
    with db_engine.connect() as conn:
        assert conn.execute(text("SELECT device_code FROM device")).scalars().all() == ["JL-1"]
    init_db(db_engine)  # again: nothing to do
    assert version(db_engine) == HEAD


def test_0010_gives_a_database_at_0009_the_search_index_of_the_devices_it_holds(db_engine):
    from audit.casework.devicelist import DeviceCriteria, device_page
    from audit.registry import search

    with db_engine.begin() as conn:
        if db_engine.dialect.name == "postgresql":
            for name in search.PG_INDEXES:
                conn.execute(text(f"DROP INDEX {name}"))
        else:
            for name in search.TRIGGERS:
                conn.execute(text(f"DROP TRIGGER {name}"))
            conn.execute(text(f"DROP TABLE {search.TABLE}"))
        conn.execute(text("UPDATE alembic_version SET version_num = '0009_partition'"))
        _one_device(conn, name='水南大道闯红灯')
    init_db(db_engine)
    assert version(db_engine) == HEAD
    with db_engine.connect() as conn:
        if db_engine.dialect.name == "postgresql":
            indexes = set(conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'device'")).scalars())
            assert set(search.PG_INDEXES) <= indexes
        else:
            assert conn.execute(text(f"SELECT rowid FROM {search.TABLE} WHERE {search.TABLE} MATCH '\"南大道\"'")
                                ).scalars().all() == [1]
    with session_factory(db_engine)() as session:
        assert [r.device_code for r in device_page(session, DeviceCriteria(q="南大道闯"), scope=None).rows] == ["JL-1"]
    init_db(db_engine)  # again: nothing to do
    assert version(db_engine) == HEAD


SINGLE_FINDING_INDEXES = {"ix_finding_run_id": "run_id", "ix_finding_device_id": "device_id", "ix_finding_rule": "rule"}


def test_0011_drops_the_finding_indexes_the_device_list_s_indexes_make_redundant(db_engine):
    """A database at 0009, with the single-column indexes every release before made, upgraded through 0010_search
    and 0011_store: it keeps its findings and the device list's indexes, and loses the three that only slowed the
    writing of a run's findings."""
    with db_engine.begin() as conn:
        for name, column in SINGLE_FINDING_INDEXES.items():
            conn.execute(text(f"CREATE INDEX {name} ON finding ({column})"))
        conn.execute(text("UPDATE alembic_version SET version_num = '0009_partition'"))
        _one_device(conn)
        conn.execute(text("INSERT INTO audit_run (id, as_of, profile, ruleset_version, batch_ids, device_count, "
                          "finding_count, \"user\", layers, created_at) VALUES (1, '2025-01-31', 'national', '1', '[]', "
                          "1, 1, 'auditor', '{}', '2025-02-01')"))
        conn.execute(text("INSERT INTO finding (id, run_id, rule, device_id, device_code, severity, action, message, "
                          "evidence, basis) VALUES (1, 1, 'SGN01', 1, 'JL-1', '高', '整改', '未设置标识', '{}', '依据')"))
    assert set(SINGLE_FINDING_INDEXES) <= {i["name"] for i in inspect(db_engine).get_indexes("finding")}
    init_db(db_engine)
    assert version(db_engine) == HEAD
    names = {i["name"] for i in inspect(db_engine).get_indexes("finding")}
    assert not set(SINGLE_FINDING_INDEXES) & names
    assert LIST_INDEXES["finding"] | {"ix_finding_problem_id"} <= names
    with db_engine.connect() as conn:
        assert conn.execute(text("SELECT run_id, rule, device_code FROM finding")).all() == [(1, "SGN01", "JL-1")]
    init_db(db_engine)  # again: nothing to do
    assert version(db_engine) == HEAD


def test_0012_gives_the_ledger_items_of_a_database_at_0011_a_closing_reason(db_engine):
    """The items a database at 0011 holds stay as they were, closed ones as closed after a check (no reason); the
    open problems, those with no resolved_on, get an index on it."""
    with db_engine.begin() as conn:
        conn.execute(text("ALTER TABLE ledger_item DROP COLUMN closed_reason"))
        conn.execute(text("DROP INDEX ix_problem_resolved_on"))
        conn.execute(text("UPDATE alembic_version SET version_num = '0011_store'"))
        _one_device(conn)
        conn.execute(text("INSERT INTO decision (id, device_id, kind, decided_on, reason, decided_by, finding_ids, "
                          "problem_ids, created_at) VALUES (1, 1, 'rectify', '2024-07-01', '未设置标识', 'auditor', "
                          "'[]', '[]', '2024-07-01')"))
        conn.execute(text("INSERT INTO ledger_item (id, device_id, decision_id, department, problem, category, rules, "
                          "measure, requirement, deadline, responsible, status, closed_on, closed_by, close_evidence, "
                          "created_at) VALUES (1, 1, 1, '将乐县公安局交通管理大队', '未设置标识', '其他问题', '[]', "
                          "'设置标识', '设置标识牌', '2024-08-31', '李四', '已销号', '2024-08-20', '赵六', '现场照片', "
                          "'2024-07-01')"))
    assert "closed_reason" not in {c["name"] for c in inspect(db_engine).get_columns("ledger_item")}
    init_db(db_engine)
    assert version(db_engine) == HEAD
    assert "ix_problem_resolved_on" in {i["name"] for i in inspect(db_engine).get_indexes("problem")}
    with session_factory(db_engine)() as session:
        from audit.registry.models import LedgerItem

        item = session.get(LedgerItem, 1)
        assert (item.status, item.closed_by, item.closed_reason, item.rectified) == ("已销号", "赵六", None, True)


def test_0012_closes_the_open_items_of_devices_already_removed_as_removal_does(db_engine):
    """A database at 0011 whose JL-2 was registered 拆除 with its item 2 still open (整改中): the upgrade closes it
    for that reason, as of the upgrade day, by 系统升级, with its event and change-log row; its problem, freed, is
    resolved as a removal resolves it. The rectified item 1 of JL-2 and the open item 3 of JL-1, in use, stay as
    they were."""
    from audit.registry.models import ChangeLog, LedgerItem

    with db_engine.begin() as conn:
        conn.execute(text("ALTER TABLE ledger_item DROP COLUMN closed_reason"))
        conn.execute(text("UPDATE alembic_version SET version_num = '0011_store'"))
        _one_device(conn)
        conn.execute(text("UPDATE device SET status = '在用'"))
        conn.execute(text("INSERT INTO device (id, device_code, department_id, device_type, status) "
                          "VALUES (2, 'JL-2', 1, '闯红灯', '拆除')"))
        conn.execute(text("INSERT INTO audit_run (id, as_of, profile, ruleset_version, batch_ids, device_count, "
                          "finding_count, \"user\", layers, created_at) VALUES (1, '2024-06-30', 'national', '1', '[]', "
                          "2, 1, 'auditor', '{}', '2024-07-01')"))
        for device, status, closed in ((2, "已销号", ("'2024-08-20'", "'赵六'", "'现场照片'")),
                                       (2, "整改中", ("NULL",) * 3), (1, "待整改", ("NULL",) * 3)):
            conn.execute(text(f"INSERT INTO decision (device_id, kind, decided_on, reason, decided_by, finding_ids, "
                              f"problem_ids, created_at) VALUES ({device}, 'rectify', '2024-07-01', '未设置标识', "
                              "'auditor', '[]', '[]', '2024-07-01')"))
            conn.execute(text(f"INSERT INTO ledger_item (device_id, decision_id, department, problem, category, "
                              "rules, measure, requirement, deadline, responsible, status, closed_on, closed_by, "
                              f"close_evidence, created_at) VALUES ({device}, (SELECT max(id) FROM decision), "
                              "'将乐县公安局交通管理大队', '未设置标识', '其他问题', '[]', '设置标识', '设置标识牌', "
                              f"'2024-08-31', '李四', '{status}', {', '.join(closed)}, '2024-07-01')"))
        conn.execute(text("INSERT INTO problem (identity, device_id, rule, key, department, device_code, severity, "
                          "action, message, material, first_run_id, last_run_id, first_seen_on, last_seen_on, "
                          "last_check, checked_run_id, stale, open_item_id, created_at) VALUES ('2|SGN01|', 2, 'SGN01', "
                          "'', '将乐县公安局交通管理大队', 'JL-2', '高', '整改', '未设置标识', '{}', 1, 1, '2024-06-30', "
                          "'2024-06-30', 'observed', 1, false, 2, '2024-07-01')"))
    init_db(db_engine)
    assert version(db_engine) == HEAD
    today = dt.datetime.now(dt.timezone.utc).date()
    basis = "系统升级时该设备已登记为拆除"
    with session_factory(db_engine)() as session:
        rectified, removed, in_use = (session.get(LedgerItem, i) for i in (1, 2, 3))
        assert (rectified.status, rectified.closed_by, rectified.closed_reason) == ("已销号", "赵六", None)
        assert (removed.status, removed.closed_on, removed.closed_by, removed.close_evidence, removed.closed_reason,
                removed.rectified) == ("已销号", today, "系统升级", basis, "设备已拆除", False)
        assert [(e.from_status, e.to_status, e.user, e.note) for e in removed.events] == \
            [("整改中", "已销号", "系统升级", f"设备已拆除（{basis}）")]
        assert (in_use.status, in_use.closed_on, in_use.events) == ("待整改", None, [])
        problem = session.scalar(select(Problem))
        assert (problem.open_item_id, problem.resolved_run_id, problem.resolved_on, problem.resolved_reason) == \
            (None, None, today, "设备已拆除")
        assert [(c.user, c.entity_id, c.device_code, c.before, c.after) for c in session.scalars(select(ChangeLog))] \
            == [("系统升级", 2, "JL-2", "整改中", f"已销号：设备已拆除（{basis}）")]
