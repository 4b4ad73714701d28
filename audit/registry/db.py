"""Database connection: the URL comes from CAMAUDIT_DATABASE_URL, else an SQLite file in the instance folder."""
from __future__ import annotations

import contextvars
import os
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from . import search
from .guards import install_append_only
from .models import Base

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BASELINE = "0001"  # the schema of the releases before migrations
WRITE_LOCK = 7270415  # PostgreSQL advisory lock key of begin_exclusive (7270412 is init_db's)
_IMMEDIATE: contextvars.ContextVar[bool] = contextvars.ContextVar("camaudit_begin_immediate", default=False)


def instance_path() -> Path:
    """The instance folder (Flask's convention: beside the packages), overridable by CAMAUDIT_INSTANCE_PATH."""
    return Path(os.environ.get("CAMAUDIT_INSTANCE_PATH") or PROJECT_ROOT / "instance")


def private_folder(folder: Path) -> Path:
    """`folder`, created if need be, readable by its owner only (0700): it holds the database, the secret key and
    uploaded files."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.chmod(folder, 0o700)
    except OSError:  # not ours to change (a shared mount): leave it
        pass
    return folder


def database_url() -> str:
    url = os.environ.get("CAMAUDIT_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{private_folder(instance_path()) / 'camaudit.sqlite3'}"


def _private_sqlite_file(url: str) -> None:
    """Create an SQLite database file 0600 before SQLite does (it would follow the umask); its -wal and -shm
    files take the same mode."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.exists() and path.parent.is_dir():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


def make_engine(url: str | None = None) -> Engine:
    url = url or database_url()
    if url.startswith("sqlite"):
        _private_sqlite_file(url)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            # Let SQLAlchemy, not pysqlite, issue BEGIN, so that savepoints work (SQLAlchemy's pysqlite recipe).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA cache_size=-65536")  # 64 MiB: bulk imports update large indexes
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # type: ignore[no-untyped-def]
            conn.exec_driver_sql("BEGIN IMMEDIATE" if _IMMEDIATE.get() else "BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=True)


DEVICE_GEOM_VIEW = """
CREATE OR REPLACE VIEW device_geom AS
SELECT id, device_code, department_id, device_type, status,
       ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geometry(Point, 4326) AS geom
FROM device WHERE lon IS NOT NULL AND lat IS NOT NULL
"""


def _migrations(connection: Connection) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def init_db(engine: Engine) -> None:
    """Create the tables, or bring an existing database's up to date (idempotent); on PostgreSQL with PostGIS,
    also a point view for GIS clients.

    A new database gets every table from the models and is stamped with the latest migration (audit/migrations);
    a database stamped earlier is migrated; one created before migrations existed is stamped as the baseline
    and migrated from there.
    """
    with engine.begin() as conn:
        _serialise(conn)
        tables = inspect(conn)
        versioned = tables.has_table("alembic_version")
        unversioned = not versioned and tables.has_table("device")
        if unversioned:
            command.stamp(_migrations(conn), BASELINE)
        if versioned or unversioned:
            command.upgrade(_migrations(conn), "head")
        Base.metadata.create_all(conn)
        install_append_only(conn)
        search.install(conn)
        if not (versioned or unversioned):
            command.stamp(_migrations(conn), "head")
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            _serialise(conn)
            has_postgis = conn.execute(
                text("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")).first()
            if has_postgis and conn.execute(text("SELECT to_regclass('device_geom')")).scalar() is None:
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
                conn.execute(text(DEVICE_GEOM_VIEW))


def _serialise(conn: Connection) -> None:
    """On PostgreSQL, one process at a time sets the schema up: processes starting together (several CLI commands,
    web workers) would otherwise change the catalogue at once ("tuple concurrently updated")."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(7270412)"))


def begin_exclusive(session: Session) -> None:
    """Start the session's next transaction holding the database's write lock, so that writers in several
    processes (web workers, the command line) take turns: SQLite's BEGIN IMMEDIATE (others wait up to the busy
    timeout), on PostgreSQL an advisory lock held until the transaction ends. The session must have no transaction
    in progress (roll it back first)."""
    if session.get_bind().dialect.name == "sqlite":
        token = _IMMEDIATE.set(True)
        try:
            session.connection()
        finally:
            _IMMEDIATE.reset(token)
    else:
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK})


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
