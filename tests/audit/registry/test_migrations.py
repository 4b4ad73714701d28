"""Upgrading: a database made by an earlier release keeps its data and gains the new columns (audit/migrations)."""
from __future__ import annotations

import datetime as dt

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text

from audit.registry.db import MIGRATIONS, init_db, session_factory
from audit.registry.models import Department
from audit.registry.models import AuditRun

HEAD = ScriptDirectory(str(MIGRATIONS)).get_current_head()


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
