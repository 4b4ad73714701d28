"""Shared fixtures: a database session on SQLite and, where a server is given, on PostgreSQL+PostGIS."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import text

from audit.registry.db import init_db, make_engine, session_factory
from audit.registry.models import Base

ROOT = Path(__file__).resolve().parents[1]
REAL_DATA = ROOT.parent / "shared" / "data" / "real"


def real_data(*parts: str) -> Path:
    """A file of ../shared/data/real; the test is skipped where that folder is absent."""
    path = REAL_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not available: {path}")
    return path


def _pg_url() -> str | None:
    url = os.environ.get("CAMAUDIT_TEST_PG_URL")
    if not url and os.environ.get("CAMAUDIT_REQUIRE_PG"):
        pytest.fail("CAMAUDIT_REQUIRE_PG is set but CAMAUDIT_TEST_PG_URL is not")
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_engine(request, tmp_path):
    """An empty database on each backend; PostgreSQL is skipped unless CAMAUDIT_TEST_PG_URL names a server."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'test.sqlite3'}")
    else:
        url = _pg_url()
        if not url:
            pytest.skip("no PostgreSQL server (set CAMAUDIT_TEST_PG_URL)")
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP VIEW IF EXISTS device_geom"))
            # made with foreign keys by releases before migration 0008, which the models no longer know of
            conn.execute(text("DROP TABLE IF EXISTS violation_stat"))
        Base.metadata.drop_all(engine)
        with engine.begin() as conn:  # an empty database: no stamp of an earlier run's schema either
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    init_db(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(db_engine):
    with session_factory(db_engine)() as s:
        yield s
