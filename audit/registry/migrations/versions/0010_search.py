"""The device list's text search from an index (audit.registry.search): on SQLite an FTS5 table of trigrams of
the devices' code, name, road and site, kept by triggers on `device` and built here from the devices already
stored; on PostgreSQL the pg_trgm extension and GIN indexes on the four columns (none where the extension is not
available: the search then scans). Only what is missing is created.

Revision ID: 0010_search
"""
import sqlalchemy as sa
from alembic import op

from audit.registry import search

revision = "0010_search"
down_revision = "0009_partition"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if sa.inspect(bind).has_table("device"):  # no tables yet: init_db creates them and the index
        search.install(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for name in search.PG_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
        return
    for name in search.TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute(f"DROP TABLE IF EXISTS {search.TABLE}")
