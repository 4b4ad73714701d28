"""`camaudit demo` loads into the configured database, PostgreSQL+PostGIS too, and never wipes other data unasked."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from audit.cli import main
from audit.registry.db import session_factory
from audit.registry.users import add_user


def test_demo_loads_into_the_configured_postgis_database_twice(db_engine, monkeypatch):
    if db_engine.dialect.name != "postgresql":
        pytest.skip("the SQLite demo is tests/audit/cli/test_demo_audit.py")
    monkeypatch.setenv("CAMAUDIT_DATABASE_URL", db_engine.url.render_as_string(hide_password=False))
    for _ in range(2):  # the second run resets a database whose device_geom view depends on device
        result = CliRunner().invoke(main, ["demo"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    with db_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM device_geom")).scalar() > 300
    assert db_engine.url.render_as_string(hide_password=True).split("@")[-1] in result.output


def test_demo_refuses_to_reset_a_database_with_other_users(db_engine, monkeypatch):
    with session_factory(db_engine)() as session:
        add_user(session, "zhangsan", "auditor", "a-long-enough-secret")
        session.commit()
    monkeypatch.setenv("CAMAUDIT_DATABASE_URL", db_engine.url.render_as_string(hide_password=False))
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 2 and "zhangsan" in result.output and "--replace" in result.output
    with db_engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM app_user")).scalars().all() == ["zhangsan"]
