"""Scale: violation_stat without foreign keys, whose per-row checks made up two thirds of a bulk insert on
PostgreSQL (its ids come from the registry in the import's transaction; devices and batches are never deleted).

PostgreSQL drops the constraints by the names the catalogue gives them; SQLite, which cannot drop a constraint,
copies the table into one of the same shape without them (clustered on its key, WITHOUT ROWID) and renames it.
Nothing is done where the table has no foreign key (a database created by this release, or upgraded already).

Revision ID: 0008_scale
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_scale"
down_revision = "0007_plan"
branch_labels = None
depends_on = None

TABLE = "violation_stat"
SQLITE_TABLE = """CREATE TABLE {name} (
    device_id INTEGER NOT NULL,
    period VARCHAR(5) NOT NULL,
    period_start DATE NOT NULL,
    count INTEGER NOT NULL,
    fine_yuan NUMERIC(14, 2),
    batch_id INTEGER,
    PRIMARY KEY (device_id, period, period_start)
) WITHOUT ROWID"""
COLUMNS = "device_id, period, period_start, count, fine_yuan, batch_id"


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    if TABLE not in inspector.get_table_names():
        return  # no tables yet: init_db creates them from the models
    keys = inspector.get_foreign_keys(TABLE)
    if not keys:
        return
    if bind.dialect.name == "postgresql":
        for key in keys:
            if key.get("name"):
                op.drop_constraint(key["name"], TABLE, type_="foreignkey")
        return
    op.execute(SQLITE_TABLE.format(name=f"{TABLE}_0008"))
    op.execute(f"INSERT INTO {TABLE}_0008 ({COLUMNS}) SELECT {COLUMNS} FROM {TABLE}")
    op.execute(f"DROP TABLE {TABLE}")
    op.execute(f"ALTER TABLE {TABLE}_0008 RENAME TO {TABLE}")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.create_foreign_key(None, TABLE, "device", ["device_id"], ["id"])
        op.create_foreign_key(None, TABLE, "import_batch", ["batch_id"], ["id"])
